/* eos.probe(), eos.usage(), eos.storage_facts(): the storage inventory. The collection runs in
 * C with the GIL released; the dicts are built afterwards. */
#include "eos_py.h"
#include "eos/ops/probe.h"

#include <string.h>

static PyObject *str_list(char *const *v, size_t n)
{
	PyObject *l = PyList_New((Py_ssize_t)n);
	for (size_t i = 0; l && i < n; i++) {
		PyObject *s = eos_py_fsstr(v[i]);
		if (!s) {
			Py_CLEAR(l);
			break;
		}
		PyList_SET_ITEM(l, (Py_ssize_t)i, s);
	}
	return l;
}

static int set_error(PyObject *d, const char *key, const struct eos_probe_error *pe)
{
	return eos_py_set_str(d, key, pe->code ? pe->msg : NULL);
}

static const struct eos_py_field usage_fields[] = {
	EOS_PY_F(struct eos_usage, size, U64), EOS_PY_F(struct eos_usage, used, U64),
	EOS_PY_F(struct eos_usage, free, U64), EOS_PY_F(struct eos_usage, avail, U64),
	EOS_PY_F(struct eos_usage, files, U64), EOS_PY_F(struct eos_usage, files_used, U64),
	EOS_PY_F(struct eos_usage, files_free, U64), EOS_PY_FK("block_size", struct eos_usage, bsize, U64),
};

static PyObject *usage_dict(const struct eos_usage *u)
{
	PyObject *d = EOS_PY_DICT(u, usage_fields);
	/* As df computes Use%: used / (used + avail), what non-root users see. */
	uint64_t usable = u->used + u->avail;
	double pct = usable ? 100.0 * (double)u->used / (double)usable : 0.0;
	double ipct = u->files ? 100.0 * (double)u->files_used / (double)u->files : 0.0;
	if (d && (eos_py_set_double(d, "percent", pct) || eos_py_set_double(d, "files_percent", ipct)))
		Py_CLEAR(d);
	return d;
}

static PyObject *blkid_dict(const struct eos_blkid_result *r)
{
	PyObject *d = PyDict_New();
	for (size_t i = 0; d && i < r->n; i++)
		if (eos_py_set_str(d, r->tags[i].name, r->tags[i].value))
			Py_CLEAR(d);
	return d;
}

static const char *blkid_status(const struct eos_probe *p, size_t i)
{
	if (p->sb_err[i].code)
		return "error";
	if (!p->probed[i])
		return "not probed";
	switch (p->sb[i].status) {
	case EOS_BLKID_FOUND:
		return "found";
	case EOS_BLKID_AMBIVALENT:
		return "ambivalent";
	default:
		return "nothing";
	}
}

static PyObject *mountpoints(const struct eos_probe *p, const struct eos_blockdev *d)
{
	PyObject *l = PyList_New(0);
	for (size_t j = 0; l && j < p->mounts.n; j++) {
		const struct eos_mount *m = &p->mounts.v[j];
		if (!((m->major == d->major && m->minor == d->minor) || strcmp(m->source, d->path) == 0))
			continue;
		PyObject *s = eos_py_fsstr(m->target);
		if (!s || PyList_Append(l, s)) {
			Py_XDECREF(s);
			Py_CLEAR(l);
			break;
		}
		Py_DECREF(s);
	}
	return l;
}

/* The blkid tags a device dict names itself: key, tag. */
static const char *const device_tags[][2] = {
	{"type", "TYPE"}, {"uuid", "UUID"}, {"label", "LABEL"}, {"partuuid", "PART_ENTRY_UUID"},
	{"pttype", "PTTYPE"}, {"usage", "USAGE"},
};

static int set_tags(PyObject *o, const struct eos_blkid_result *sb)
{
	for (size_t k = 0; k < sizeof(device_tags) / sizeof(device_tags[0]); k++)
		if (eos_py_set_str(o, device_tags[k][0], eos_blkid_get(sb, device_tags[k][1])))
			return -1;
	return 0;
}

#define D(m, t) EOS_PY_F(struct eos_blockdev, m, t)
static const struct eos_py_field device_fields[] = {
	D(name, FSSTRP), D(path, FSSTRP), D(major, UINT), D(minor, UINT), EOS_PY_FLATER("devno"),
	D(size, U64), D(rotational, BOOL), D(read_only, BOOL), D(removable, BOOL), D(kind, STRP),
	EOS_PY_FLATER("partition"), D(parent, FSSTRP), D(backing_file, FSSTRP), D(dm_name, FSSTRP),
};
#undef D

static PyObject *device_dict(const struct eos_probe *p, size_t i)
{
	const struct eos_blockdev *d = &p->devs.v[i];
	const struct eos_blkid_result *sb = &p->sb[i];
	char devno[32];
	snprintf(devno, sizeof(devno), "%u:%u", d->major, d->minor);
	PyObject *o = EOS_PY_DICT(d, device_fields);
	if (!o)
		return NULL;
	if (eos_py_set_str(o, "devno", devno) ||
	    eos_py_set(o, "partition", d->partition ? PyLong_FromLong(d->partition) : Py_NewRef(Py_None)) ||
	    eos_py_set(o, "holders", str_list(d->holders, d->n_holders)) ||
	    eos_py_set(o, "slaves", str_list(d->slaves, d->n_slaves)) ||
	    set_tags(o, sb) ||
	    eos_py_set(o, "btrfs_devid", sb->btrfs_devid ? PyLong_FromUnsignedLongLong(sb->btrfs_devid)
							 : Py_NewRef(Py_None)) ||
	    eos_py_set(o, "blkid", blkid_dict(sb)) || eos_py_set_str(o, "blkid_status", blkid_status(p, i)) ||
	    set_error(o, "blkid_error", &p->sb_err[i]) ||
	    eos_py_set(o, "mountpoints", mountpoints(p, d)) ||
	    eos_py_set_bool(o, "mounted", eos_probe_dev_mounted(p, i)) ||
	    eos_py_set_bool(o, "unused", eos_probe_dev_unused(p, i))) {
		Py_DECREF(o);
		return NULL;
	}
	return o;
}

static const struct eos_py_field mount_fields[] = {
	EOS_PY_F(struct eos_mount, id, INT), EOS_PY_F(struct eos_mount, parent_id, INT),
	EOS_PY_F(struct eos_mount, major, UINT), EOS_PY_F(struct eos_mount, minor, UINT),
	EOS_PY_F(struct eos_mount, root, FSSTRP), EOS_PY_F(struct eos_mount, target, FSSTRP),
	EOS_PY_F(struct eos_mount, source, FSSTRP), EOS_PY_F(struct eos_mount, fstype, FSSTRP),
	EOS_PY_F(struct eos_mount, options, FSSTRP), EOS_PY_F(struct eos_mount, super_options, FSSTRP),
};

static PyObject *mount_dict(const struct eos_probe *p, size_t i)
{
	const struct eos_mount *m = &p->mounts.v[i];
	char devno[32];
	snprintf(devno, sizeof(devno), "%u:%u", m->major, m->minor);
	PyObject *o = EOS_PY_DICT(m, mount_fields);
	if (!o)
		return NULL;
	if (eos_py_set_str(o, "devno", devno) || eos_py_set_bool(o, "virtual", eos_fstype_is_virtual(m->fstype)) ||
	    eos_py_set_bool(o, "shadowed", p->shadowed[i]) ||
	    eos_py_set_bool(o, "storage", eos_probe_mount_is_storage(p, i)) ||
	    eos_py_set(o, "usage", p->has_usage[i] ? usage_dict(&p->usage[i]) : Py_NewRef(Py_None)) ||
	    set_error(o, "usage_error", &p->usage_err[i])) {
		Py_DECREF(o);
		return NULL;
	}
	return o;
}

static PyObject *btrfs_dict(const struct eos_probe *p, const struct eos_btrfs_fs *f)
{
	PyObject *o = PyDict_New(), *devs = PyList_New(0);
	if (!o || !devs)
		goto error;
	for (size_t k = 0; k < f->n_devices; k++) {
		const struct eos_blockdev *d = eos_blockdev_find(&p->devs, f->devices[k]);
		uint64_t devid = d ? p->sb[d - p->devs.v].btrfs_devid : 0;
		PyObject *x = PyDict_New();
		if (!x || PyList_Append(devs, x)) {
			Py_XDECREF(x);
			goto error;
		}
		Py_DECREF(x);
		if (eos_py_set_fsstr(x, "name", f->devices[k]) ||
		    eos_py_set_fsstr(x, "path", d ? d->path : NULL) ||
		    eos_py_set(x, "devid", devid ? PyLong_FromUnsignedLongLong(devid) : Py_NewRef(Py_None)) ||
		    eos_py_set(x, "size", d ? PyLong_FromUnsignedLongLong(d->size) : Py_NewRef(Py_None)))
			goto error;
	}
	if (eos_py_set_str(o, "uuid", f->uuid) || eos_py_set_fsstr(o, "label", f->label) ||
	    eos_py_set_u64(o, "nodesize", f->nodesize) || eos_py_set_u64(o, "sectorsize", f->sectorsize) ||
	    eos_py_set(o, "devices", Py_NewRef(devs)))
		goto error;
	Py_DECREF(devs);
	return o;
error:
	Py_XDECREF(devs);
	Py_XDECREF(o);
	return NULL;
}

#define PV(m, t) EOS_PY_F(struct eos_lvm_pv, m, t)
static const struct eos_py_field pv_fields[] = {
	PV(name, FSSTRP), PV(uuid, STRP), PV(vg_name, STRP), PV(fmt, STRP), PV(attr, STRP),
	PV(major, UINT), PV(minor, UINT), PV(size, U64), PV(free, U64), PV(used, U64),
	PV(dev_size, U64), PV(pe_start, U64), PV(pe_count, U64), PV(pe_alloc_count, U64),
	PV(allocatable, BOOL), PV(missing, BOOL),
};
#undef PV
#define VG(m, t) EOS_PY_F(struct eos_lvm_vg, m, t)
static const struct eos_py_field vg_fields[] = {
	VG(name, STRP), VG(uuid, STRP), VG(attr, STRP), VG(size, U64), VG(free, U64),
	VG(extent_size, U64), VG(extent_count, U64), VG(free_count, U64), VG(pv_count, U64),
	VG(lv_count, U64),
};
#undef VG
#define LV(m, t) EOS_PY_F(struct eos_lvm_lv, m, t)
static const struct eos_py_field lv_fields[] = {
	LV(name, STRP), LV(vg_name, STRP), LV(uuid, STRP), LV(full_name, STRP), LV(path, FSSTRP),
	LV(dm_path, FSSTRP), LV(attr, STRP), LV(layout, STRP), LV(size, U64),
};
#undef LV

/* A list of n dicts, each the table's fields of one element of v (size bytes apart). */
static int append_dicts(PyObject *list, const void *v, size_t n, size_t size,
			const struct eos_py_field *table, size_t nf)
{
	for (size_t i = 0; i < n; i++) {
		PyObject *x = eos_py_fields_dict((const char *)v + i * size, table, nf);
		if (!x || PyList_Append(list, x)) {
			Py_XDECREF(x);
			return -1;
		}
		Py_DECREF(x);
	}
	return 0;
}

static PyObject *lvm_dict(const struct eos_probe *p)
{
	const struct eos_lvm_report *r = &p->lvm;
	PyObject *o = PyDict_New(), *pvs = PyList_New(0), *vgs = PyList_New(0), *lvs = PyList_New(0);
	if (!o || !pvs || !vgs || !lvs)
		goto error;
#define APPEND(list, v, n, table) \
	append_dicts(list, v, n, sizeof(*(v)), table, sizeof(table) / sizeof((table)[0]))
	if (APPEND(pvs, r->pvs, r->n_pvs, pv_fields) || APPEND(vgs, r->vgs, r->n_vgs, vg_fields) ||
	    APPEND(lvs, r->lvs, r->n_lvs, lv_fields))
		goto error;
#undef APPEND
	for (size_t i = 0; i < r->n_lvs; i++) {
		const struct eos_lvm_lv *v = &r->lvs[i];
		PyObject *x = PyList_GET_ITEM(lvs, (Py_ssize_t)i);
		if (eos_py_set(x, "active", v->active < 0 ? Py_NewRef(Py_None) : PyBool_FromLong(v->active)) ||
		    eos_py_set(x, "devices", str_list(v->devices, v->n_devices)))
			goto error;
	}
	if (eos_py_set_bool(o, "available", r->available) || eos_py_set_bool(o, "ran", p->lvm_ran) ||
	    eos_py_set_str(o, "reader", p->lvm_reader) ||
	    eos_py_set_str(o, "skipped", p->lvm_skipped) || set_error(o, "error", &p->lvm_err))
		goto error;
	if (eos_py_set(o, "pvs", pvs) || eos_py_set(o, "vgs", Py_NewRef(vgs)) ||
	    eos_py_set(o, "lvs", Py_NewRef(lvs))) {
		pvs = NULL;
		goto error;
	}
	Py_DECREF(vgs);
	Py_DECREF(lvs);
	return o;
error:
	Py_XDECREF(pvs);
	Py_XDECREF(vgs);
	Py_XDECREF(lvs);
	Py_XDECREF(o);
	return NULL;
}

/* Build a list from n items made by fn. */
static PyObject *list_of(const struct eos_probe *p, size_t n, PyObject *(*fn)(const struct eos_probe *, size_t))
{
	PyObject *l = PyList_New((Py_ssize_t)n);
	for (size_t i = 0; l && i < n; i++) {
		PyObject *x = fn(p, i);
		if (!x) {
			Py_CLEAR(l);
			break;
		}
		PyList_SET_ITEM(l, (Py_ssize_t)i, x);
	}
	return l;
}

static PyObject *probe_to_dict(const struct eos_probe *p)
{
	PyObject *o = PyDict_New(), *btrfs = PyList_New(0);
	if (!o || !btrfs)
		goto error;
	for (size_t i = 0; i < p->btrfs.n; i++) {
		PyObject *x = btrfs_dict(p, &p->btrfs.v[i]);
		if (!x || PyList_Append(btrfs, x)) {
			Py_XDECREF(x);
			goto error;
		}
		Py_DECREF(x);
	}
	if (eos_py_set(o, "devices", list_of(p, p->devs.n, device_dict)) ||
	    eos_py_set(o, "mounts", list_of(p, p->mounts.n, mount_dict)) ||
	    eos_py_set(o, "btrfs", Py_NewRef(btrfs)) || eos_py_set(o, "lvm", lvm_dict(p)))
		goto error;
	Py_DECREF(btrfs);
	return o;
error:
	Py_XDECREF(btrfs);
	Py_XDECREF(o);
	return NULL;
}

/* lvm=: True, False or "auto" */
static int lvm_mode(PyObject *v, enum eos_probe_lvm_mode *mode)
{
	if (!v || v == Py_None) {
		*mode = EOS_PROBE_LVM_AUTO;
		return 0;
	}
	if (PyUnicode_Check(v) && PyUnicode_CompareWithASCIIString(v, "auto") == 0) {
		*mode = EOS_PROBE_LVM_AUTO;
		return 0;
	}
	if (PyBool_Check(v)) {
		*mode = v == Py_True ? EOS_PROBE_LVM_ALWAYS : EOS_PROBE_LVM_NEVER;
		return 0;
	}
	PyErr_Format(PyExc_ValueError, "lvm must be True, False or 'auto', not %R", v);
	return -1;
}

static PyObject *collect_and(PyObject *args, PyObject *kw, const char *fname,
			     PyObject *(*build)(const struct eos_probe *), int blkid, int usage,
			     enum eos_probe_lvm_mode dflt_lvm, int unused_only)
{
	static char *kwlist[] = {"lvm", "lvm_config", "sysfs_block", "mountinfo", "sysfs_btrfs", "blkid", NULL};
	PyObject *lvm = NULL, *cfg = NULL, *classdir = NULL, *mountinfo = NULL, *btrfsdir = NULL;
	char fmt[64];
	snprintf(fmt, sizeof(fmt), "|$OO&O&O&O&p:%s", fname);
	if (!PyArg_ParseTupleAndKeywords(args, kw, fmt, kwlist, &lvm, eos_py_path, &cfg, eos_py_path,
					 &classdir, eos_py_path, &mountinfo, eos_py_path, &btrfsdir, &blkid))
		return NULL;
	PyObject *result = NULL;
	struct eos_probe_opts o = EOS_PROBE_OPTS_INIT;
	o.blkid = blkid;
	o.blkid_unused_only = unused_only;
	o.usage = usage;
	o.lvm = dflt_lvm;
	if (lvm && lvm_mode(lvm, &o.lvm))
		goto out;
	o.lvm_opts.config = cfg ? PyBytes_AS_STRING(cfg) : NULL;
	o.classdir = classdir ? PyBytes_AS_STRING(classdir) : NULL;
	o.mountinfo = mountinfo ? PyBytes_AS_STRING(mountinfo) : NULL;
	o.btrfsdir = btrfsdir ? PyBytes_AS_STRING(btrfsdir) : NULL;
	struct eos_probe p;
	struct eos_err e;
	eos_err_clear(&e);
	int r;
	Py_BEGIN_ALLOW_THREADS
	r = eos_probe_collect(&o, &p, &e);
	Py_END_ALLOW_THREADS
	if (r) {
		eos_py_raise(&e);
		goto out;
	}
	result = build(&p);
	eos_probe_free(&p);
out:
	Py_XDECREF(cfg);
	Py_XDECREF(classdir);
	Py_XDECREF(mountinfo);
	Py_XDECREF(btrfsdir);
	return result;
}

static PyObject *py_probe(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	return collect_and(args, kw, "probe", probe_to_dict, 1, 1, EOS_PROBE_LVM_AUTO, 0);
}

static PyObject *facts_to_dict(const struct eos_probe *p)
{
	PyObject *o = PyDict_New(), *unused = PyList_New(0);
	uint64_t unused_bytes = 0, total, avail;
	if (!o || !unused)
		goto error;
	for (size_t i = 0; i < p->devs.n; i++) {
		if (!eos_probe_dev_unused(p, i))
			continue;
		const struct eos_blockdev *d = &p->devs.v[i];
		PyObject *x = PyDict_New();
		if (!x || PyList_Append(unused, x)) {
			Py_XDECREF(x);
			goto error;
		}
		Py_DECREF(x);
		if (eos_py_set_fsstr(x, "name", d->name) || eos_py_set_fsstr(x, "path", d->path) ||
		    eos_py_set_u64(x, "size", d->size) || eos_py_set_bool(x, "rotational", d->rotational))
			goto error;
		unused_bytes += d->size;
	}
	eos_probe_totals(p, &total, &avail);
	if (eos_py_set(o, "unused_devices", Py_NewRef(unused)) || eos_py_set_u64(o, "unused_bytes", unused_bytes) ||
	    eos_py_set_u64(o, "total_bytes", total) || eos_py_set_u64(o, "free_bytes", avail))
		goto error;
	Py_DECREF(unused);
	return o;
error:
	Py_XDECREF(unused);
	Py_XDECREF(o);
	return NULL;
}

static PyObject *py_storage_facts(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	return collect_and(args, kw, "storage_facts", facts_to_dict, 1, 1, EOS_PROBE_LVM_NEVER, 1);
}

/* usage(path=None): one path's filesystem, or every mount with storage. */
static PyObject *usage_of(const struct eos_mount *m, const char *canon, const struct eos_usage *u)
{
	PyObject *o = usage_dict(u);
	if (!o)
		return NULL;
	if ((canon && eos_py_set_fsstr(o, "path", canon)) || eos_py_set_fsstr(o, "target", m->target) ||
	    eos_py_set_fsstr(o, "source", m->source) || eos_py_set_fsstr(o, "fstype", m->fstype)) {
		Py_DECREF(o);
		return NULL;
	}
	return o;
}

static PyObject *usage_all(const struct eos_probe *p)
{
	PyObject *l = PyList_New(0);
	for (size_t i = 0; l && i < p->mounts.n; i++) {
		if (!p->has_usage[i])
			continue;
		PyObject *x = usage_of(&p->mounts.v[i], NULL, &p->usage[i]);
		if (x && eos_py_set_bool(x, "storage", eos_probe_mount_is_storage(p, i))) {
			Py_CLEAR(x);
		}
		if (!x || PyList_Append(l, x)) {
			Py_XDECREF(x);
			Py_CLEAR(l);
			break;
		}
		Py_DECREF(x);
	}
	return l;
}

static PyObject *py_usage(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"path", NULL};
	PyObject *path = NULL;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:usage", kwlist, &path))
		return NULL;
	if (!path || path == Py_None) {
		PyObject *none = PyTuple_New(0);
		if (!none)
			return NULL;
		PyObject *r = collect_and(none, NULL, "usage", usage_all, 0, 1, EOS_PROBE_LVM_NEVER, 0);
		Py_DECREF(none);
		return r;
	}
	PyObject *bytes = NULL;
	if (!eos_py_path(path, &bytes))
		return NULL;
	const char *cpath = PyBytes_AS_STRING(bytes);
	struct eos_mount_list l = {NULL, 0};
	struct eos_usage u;
	struct eos_err e;
	char canon[EOS_PATH_MAX];
	const struct eos_mount *m = NULL;
	int r;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	r = eos_mounts_read(NULL, &l, &e);
	if (!r) {
		m = eos_mounts_find(&l, cpath, canon, sizeof(canon), &e);
		r = m ? eos_usage_get(canon, &u, &e) : -e.code;
	}
	Py_END_ALLOW_THREADS
	PyObject *result = NULL;
	if (r)
		eos_py_raise(&e);
	else
		result = usage_of(m, canon, &u);
	eos_mounts_free(&l);
	Py_DECREF(bytes);
	return result;
}

static PyMethodDef methods[] = {
	{"probe", (PyCFunction)(void (*)(void))py_probe, METH_VARARGS | METH_KEYWORDS,
	 "probe(*, lvm='auto', lvm_config=None, sysfs_block=None, mountinfo=None, sysfs_btrfs=None,\n"
	 "      blkid=True) -> dict\n\n"
	 "One in-process storage inventory: {'devices', 'mounts', 'btrfs', 'lvm'}. Block devices from\n"
	 "sysfs with their libblkid signatures (as `blkid -p`), mounts from mountinfo with statvfs\n"
	 "usage, mounted BTRFS filesystems, and LVM as `lvm fullreport` shows it (lvm='auto': only when\n"
	 "a device carries an LVM2_member signature; read in-process from the PVs when lvm runs with\n"
	 "its default configuration, lvm['reader'] says so; lvm=True: always the lvm tool). Per-item\n"
	 "failures are reported next to the item."},
	{"usage", (PyCFunction)(void (*)(void))py_usage, METH_VARARGS | METH_KEYWORDS,
	 "usage(path=None) -> dict or list\n\n"
	 "Bytes and inodes of the filesystem holding path (statvfs), or of every mounted filesystem."},
	{"storage_facts", (PyCFunction)(void (*)(void))py_storage_facts, METH_VARARGS | METH_KEYWORDS,
	 "storage_facts() -> dict\n\n"
	 "The eos_storage grain: unused block devices and total/free bytes of mounted storage."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_probe(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
