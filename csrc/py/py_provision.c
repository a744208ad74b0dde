/* Provisioning a device for a workload (csrc/lib/ops/provision.c). */
#include "eos_py.h"
#include "eos/core/fstab.h"
#include "eos/ops/provision.h"

static const char *const action_names[] = {
	[EOS_PROV_WIPE] = "wipe", [EOS_PROV_UNMOUNT] = "unmount", [EOS_PROV_MKFS] = "mkfs",
	[EOS_PROV_MKDIR] = "mkdir", [EOS_PROV_MOUNT] = "mount", [EOS_PROV_FSTAB] = "fstab",
	[EOS_PROV_FSTAB_OFF] = "fstab-disable", [EOS_PROV_PVCREATE] = "pvcreate",
	[EOS_PROV_VGCREATE] = "vgcreate", [EOS_PROV_LVCREATE] = "lvcreate",
	[EOS_PROV_ACTIVATE] = "activate",
};

/* eos_py_path, with None meaning "not given". */
static int path_or_none(PyObject *o, void *result)
{
	if (o == Py_None) {
		*(PyObject **)result = NULL;
		return 1;
	}
	return eos_py_path(o, result);
}

static PyObject *str_list(const char *v, size_t stride, size_t n)
{
	PyObject *l = PyList_New((Py_ssize_t)n);
	for (size_t i = 0; l && i < n; i++) {
		PyObject *s = eos_py_fsstr(v + i * stride);
		if (!s) {
			Py_CLEAR(l);
			break;
		}
		PyList_SET_ITEM(l, (Py_ssize_t)i, s);
	}
	return l;
}

static PyObject *rec_dict(const struct eos_provision_rec *r)
{
	PyObject *d = PyDict_New();
	if (!d)
		return NULL;
	PyObject *reasons = PyList_New((Py_ssize_t)r->n_reasons);
	if (!reasons)
		goto error;
	for (size_t i = 0; i < r->n_reasons; i++) {
		PyObject *s = PyUnicode_FromString(r->reasons[i]);
		if (!s) {
			Py_DECREF(reasons);
			goto error;
		}
		PyList_SET_ITEM(reasons, (Py_ssize_t)i, s);
	}
	if (eos_py_set(d, "reasons", reasons) || eos_py_set_str(d, "workload", r->workload) ||
	    eos_py_set_str(d, "fstype", r->fstype) || eos_py_set_str(d, "mount_options", r->mount_options) ||
	    eos_py_set_str(d, "handover", r->handover))
		goto error;
	if (r->wants_lvm) {
		PyObject *lvm = PyDict_New();
		if (!lvm)
			goto error;
		if (eos_py_set_bool(lvm, "used", 0) || eos_py_set_bool(lvm, "device_mapper", r->lvm_available) ||
		    eos_py_set_str(lvm, "reason", r->lvm_note)) {
			Py_DECREF(lvm);
			goto error;
		}
		if (eos_py_set(d, "lvm", lvm))
			goto error;
	} else if (eos_py_set(d, "lvm", Py_NewRef(Py_None))) {
		goto error;
	}
	return d;
error:
	Py_DECREF(d);
	return NULL;
}

static PyObject *check_dict(const struct eos_provision_check *c)
{
	PyObject *d = PyDict_New(), *sigs = PyList_New(0);
	if (!d || !sigs)
		goto error;
	for (size_t i = 0; i < c->n_sigs; i++) {
		const struct eos_provision_sig *s = &c->sigs[i];
		PyObject *x = PyDict_New();
		if (!x)
			goto error;
		if (eos_py_set_str(x, "type", s->type) || eos_py_set_str(x, "usage", s->usage) ||
		    eos_py_set_str(x, "label", s->label[0] ? s->label : NULL) ||
		    eos_py_set_str(x, "uuid", s->uuid[0] ? s->uuid : NULL) || eos_py_set_u64(x, "offset", s->offset) ||
		    PyList_Append(sigs, x) < 0) {
			Py_DECREF(x);
			goto error;
		}
		Py_DECREF(x);
	}
	int r = eos_py_set(d, "signatures", sigs);
	sigs = NULL;
	if (r || eos_py_set_fsstr(d, "device", c->device) || eos_py_set_u64(d, "size", c->size) ||
	    eos_py_set_bool(d, "filesystem", c->has_fs) || eos_py_set_bool(d, "partition_table", c->has_ptable) ||
	    eos_py_set_bool(d, "lvm", c->has_lvm) ||
	    eos_py_set(d, "mounts", str_list(c->mounts[0], sizeof(c->mounts[0]), c->n_mounts)) ||
	    eos_py_set(d, "holders", str_list(c->holders[0], sizeof(c->holders[0]), c->n_holders)) ||
	    eos_py_set_bool(d, "busy", c->busy) ||
	    eos_py_set(d, "in_use", str_list(c->blockers[0], sizeof(c->blockers[0]), c->n_blockers)) ||
	    eos_py_set_bool(d, "free", c->n_blockers == 0))
		goto error;
	return d;
error:
	Py_XDECREF(d);
	Py_XDECREF(sigs);
	return NULL;
}

static PyObject *py_recommend(PyObject *self, PyObject *arg)
{
	(void)self;
	const char *w = PyUnicode_AsUTF8(arg);
	if (!w)
		return NULL;
	struct eos_provision_rec rec;
	struct eos_err e;
	eos_err_clear(&e);
	int r;
	Py_BEGIN_ALLOW_THREADS  /* reads /proc/misc */
	r = eos_provision_recommend(w, &rec, &e);
	Py_END_ALLOW_THREADS
	if (r < 0)
		return eos_py_raise(&e);
	return rec_dict(&rec);
}

static PyObject *py_check(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *dev = NULL;
	if (!PyArg_ParseTuple(args, "O&:provision_check", eos_py_path, &dev))
		return NULL;
	struct eos_provision_check *c = calloc(1, sizeof(*c));
	struct eos_err e;
	eos_err_clear(&e);
	PyObject *result = NULL;
	if (!c) {
		PyErr_NoMemory();
		goto out;
	}
	int r;
	Py_BEGIN_ALLOW_THREADS
	r = eos_provision_check(PyBytes_AS_STRING(dev), c, &e);
	Py_END_ALLOW_THREADS
	result = r < 0 ? eos_py_raise(&e) : check_dict(c);
out:
	free(c);
	Py_DECREF(dev);
	return result;
}

/* d["lvm"]: the VG and LV the filesystem goes on, or None; recommendation.lvm.used says
 * whether it does. */
static int lvm_dict(PyObject *d, const struct eos_provision_result *res)
{
	PyObject *rec_lvm = PyDict_GetItemString(PyDict_GetItemString(d, "recommendation"), "lvm");
	if (rec_lvm && rec_lvm != Py_None && eos_py_set_bool(rec_lvm, "used", res->lvm_used))
		return -1;
	if (eos_py_set_fsstr(d, "filesystem_device", res->fs_device[0] ? res->fs_device : NULL))
		return -1;
	if (!res->lvm_used)
		return eos_py_set(d, "lvm", Py_NewRef(Py_None));
	PyObject *l = PyDict_New();
	if (!l || eos_py_set_str(l, "vg", res->vg) || eos_py_set_str(l, "lv", res->lv)) {
		Py_XDECREF(l);
		return -1;
	}
	return eos_py_set(d, "lvm", l);
}

static PyObject *result_dict(const struct eos_provision_result *res, int dry_run)
{
	PyObject *d = PyDict_New();
	if (!d)
		return NULL;
	PyObject *steps = PyList_New(0);
	if (!steps)
		goto error;
	for (size_t i = 0; i < res->n_steps; i++) {
		PyObject *x = PyDict_New();
		if (!x || eos_py_set_str(x, "action", action_names[res->steps[i].action]) ||
		    eos_py_set_fsstr(x, "detail", res->steps[i].detail) ||
		    eos_py_set_bool(x, "done", res->steps[i].done) || PyList_Append(steps, x) < 0) {
			Py_XDECREF(x);
			Py_DECREF(steps);
			goto error;
		}
		Py_DECREF(x);
	}
	if (eos_py_set(d, "steps", steps) || eos_py_set(d, "recommendation", rec_dict(&res->rec)) ||
	    lvm_dict(d, res))
		goto error;
	if (res->rec.handover) {
		if (eos_py_set_bool(d, "changed", 0) || eos_py_set_bool(d, "test", dry_run))
			goto error;
		return d;
	}
	PyObject *argv = str_list(res->mkfs_argv[0], sizeof(res->mkfs_argv[0]), res->mkfs_argc);
	if (eos_py_set(d, "device", check_dict(&res->check)) ||
	    eos_py_set(d, "destroys", str_list(res->destroys[0], sizeof(res->destroys[0]), res->n_destroys)) ||
	    eos_py_set(d, "mkfs", res->mkfs_argc ? argv : (Py_XDECREF(argv), Py_NewRef(Py_None))) ||
	    eos_py_set_str(d, "uuid", res->uuid[0] ? res->uuid : NULL) ||
	    eos_py_set_fsstr(d, "fstab_line", res->fstab_line[0] ? res->fstab_line : NULL) ||
	    eos_py_set_bool(d, "changed", res->changed) || eos_py_set_bool(d, "kept", res->kept) ||
	    eos_py_set_bool(d, "test", dry_run))
		goto error;
	return d;
error:
	Py_DECREF(d);
	return NULL;
}

static PyObject *py_provision(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"device", "workload", "mountpoint", "label", "fstab", "force", "dry_run",
				 "keep_matching", "lvm", "vg", "lv", NULL};
	PyObject *dev = NULL, *mnt = NULL, *fstab = NULL, *lvm = Py_None;
	const char *workload, *label = NULL, *vg = NULL, *lv = NULL;
	int force = 0, dry_run = 0, keep = 0;
	PyObject *result = NULL;
	struct eos_provision_result *res = NULL;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&s|O&zO&pppOzz:provision", kwlist, eos_py_path, &dev,
					 &workload, path_or_none, &mnt, &label, path_or_none, &fstab, &force,
					 &dry_run, &keep, &lvm, &vg, &lv))
		goto out;
	if (lvm != Py_None && !PyBool_Check(lvm)) {
		eos_py_einval("lvm must be True, False or None (as recommended), not %s", lvm);
		goto out;
	}
	res = calloc(1, sizeof(*res));
	if (!res) {
		PyErr_NoMemory();
		goto out;
	}
	struct eos_provision_req req = {
		.device = PyBytes_AS_STRING(dev),
		.workload = workload,
		.mountpoint = mnt ? PyBytes_AS_STRING(mnt) : NULL,
		.label = label,
		.fstab = fstab ? PyBytes_AS_STRING(fstab) : NULL,
		.force = force,
		.dry_run = dry_run,
		.keep_matching = keep,
		.lvm = lvm == Py_None ? -1 : lvm == Py_True,
		.vg = vg,
		.lv = lv,
	};
	struct eos_err e;
	eos_err_clear(&e);
	int r;
	Py_BEGIN_ALLOW_THREADS
	r = eos_provision(&req, res, &e);
	Py_END_ALLOW_THREADS
	result = r < 0 ? eos_py_raise(&e) : result_dict(res, dry_run);
out:
	free(res);
	Py_XDECREF(dev);
	Py_XDECREF(mnt);
	Py_XDECREF(fstab);
	return result;
}

static PyObject *py_fstab_add(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"fstab", "spec", "target", "fstype", "options", "passno", "replace", NULL};
	PyObject *fstab = NULL, *target = NULL;
	const char *spec, *fstype, *options = "defaults";
	int pass = 0, replace = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&sO&s|sip:fstab_add", kwlist, eos_py_path, &fstab, &spec,
					 eos_py_path, &target, &fstype, &options, &pass, &replace)) {
		Py_XDECREF(fstab);
		return NULL;
	}
	struct eos_err e;
	eos_err_clear(&e);
	int r;
	Py_BEGIN_ALLOW_THREADS
	r = eos_fstab_add(PyBytes_AS_STRING(fstab), spec, PyBytes_AS_STRING(target), fstype, options, pass,
			  replace ? "eos replaced" : NULL, &e);
	Py_END_ALLOW_THREADS
	Py_DECREF(fstab);
	Py_DECREF(target);
	if (r < 0)
		return eos_py_raise(&e);
	return PyBool_FromLong(r);
}

static PyObject *py_fstab_find(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *fstab = NULL, *target = NULL;
	if (!PyArg_ParseTuple(args, "O&O&:fstab_find", eos_py_path, &fstab, eos_py_path, &target)) {
		Py_XDECREF(fstab);
		return NULL;
	}
	struct eos_err e;
	char buf[1024];
	eos_err_clear(&e);
	int r;
	EOS_PY_CALL(r, &e, fstab, target, eos_fstab_find(PyBytes_AS_STRING(fstab), PyBytes_AS_STRING(target), buf, sizeof(buf), &e));
	if (!buf[0])
		Py_RETURN_NONE;
	return eos_py_fsstr(buf);
}

static PyMethodDef methods[] = {
	{"provision_recommend", py_recommend, METH_O,
	 "provision_recommend(workload) -> dict\n\nFilesystem, mount options and reasons for a workload "
	 "(database, backup, boot, system, shared, general)."},
	{"provision_check", py_check, METH_VARARGS,
	 "provision_check(device) -> dict\n\nlibblkid signatures, partition table, LVM, mounts, holders and "
	 "busy state of a block device; 'in_use' lists every reason it is not free."},
	{"provision", (PyCFunction)(void (*)(void))py_provision, METH_VARARGS | METH_KEYWORDS,
	 "provision(device, workload, mountpoint=None, label=None, fstab=None, force=False, dry_run=False,\n"
	 "          keep_matching=False, lvm=None, vg=None, lv=None) -> dict\n\nPlan and (unless "
	 "dry_run) make the recommended filesystem (on a new PV, VG and LV with lvm=True, or as "
	 "recommended with None), mount it and add it to fstab by UUID."},
	{"fstab_add", (PyCFunction)(void (*)(void))py_fstab_add, METH_VARARGS | METH_KEYWORDS,
	 "fstab_add(fstab, spec, target, fstype, options='defaults', passno=0, replace=False) -> bool\n\n"
	 "Add an entry atomically; False when the same entry is already there."},
	{"fstab_find", py_fstab_find, METH_VARARGS,
	 "fstab_find(fstab, target) -> str or None\n\nThe spec of the entry for target."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_provision(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
