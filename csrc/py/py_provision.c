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

static PyObject *reasons_list(const struct eos_provision_rec *r)
{
	PyObject *l = PyList_New((Py_ssize_t)r->n_reasons);
	for (size_t i = 0; l && i < r->n_reasons; i++) {
		PyObject *s = PyUnicode_FromString(r->reasons[i]);
		if (!s)
			Py_CLEAR(l);
		else
			PyList_SET_ITEM(l, (Py_ssize_t)i, s);
	}
	return l;
}

#define R(m) EOS_PY_F(struct eos_provision_rec, m, STRP)
static const struct eos_py_field rec_fields[] = {
	EOS_PY_FLATER("reasons"), R(workload), R(fstype), R(mount_options), R(handover),
};
#undef R

static const struct eos_py_field lvm_fields[] = {
	EOS_PY_FLATER("used"), EOS_PY_FK("device_mapper", struct eos_provision_rec, lvm_available, BOOL),
	EOS_PY_FK("reason", struct eos_provision_rec, lvm_note, STR),
};

static PyObject *rec_dict(const struct eos_provision_rec *r)
{
	PyObject *d = EOS_PY_DICT(r, rec_fields);
	if (!d || eos_py_set(d, "reasons", reasons_list(r)))
		goto error;
	PyObject *lvm = r->wants_lvm ? EOS_PY_DICT(r, lvm_fields) : Py_NewRef(Py_None);
	if (lvm && lvm != Py_None && eos_py_set_bool(lvm, "used", 0))
		Py_CLEAR(lvm);
	if (eos_py_set(d, "lvm", lvm))
		goto error;
	return d;
error:
	Py_XDECREF(d);
	return NULL;
}

#define G(m, t) EOS_PY_F(struct eos_provision_sig, m, t)
static const struct eos_py_field sig_fields[] = {
	G(type, STR), G(usage, STR), G(label, STR0), G(uuid, STR0), G(offset, U64),
};
#undef G

#define C(key, m, t) EOS_PY_FK(key, struct eos_provision_check, m, t)
static const struct eos_py_field check_fields[] = {
	EOS_PY_FLATER("signatures"), C("device", device, FSSTR), C("size", size, U64),
	C("filesystem", has_fs, BOOL), C("partition_table", has_ptable, BOOL), C("lvm", has_lvm, BOOL),
	EOS_PY_FLATER("mounts"), EOS_PY_FLATER("holders"), C("busy", busy, BOOL),
};
#undef C

static PyObject *check_dict(const struct eos_provision_check *c)
{
	PyObject *d = EOS_PY_DICT(c, check_fields);
	if (d && (eos_py_set(d, "signatures", EOS_PY_LIST(c->sigs, c->n_sigs, sig_fields)) ||
		  eos_py_set(d, "mounts", EOS_PY_FSSTR_LIST(c->mounts, c->n_mounts)) ||
		  eos_py_set(d, "holders", EOS_PY_FSSTR_LIST(c->holders, c->n_holders)) ||
		  eos_py_set(d, "in_use", EOS_PY_FSSTR_LIST(c->blockers, c->n_blockers)) ||
		  eos_py_set_bool(d, "free", c->n_blockers == 0)))
		Py_CLEAR(d);
	return d;
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

static const struct eos_py_field step_fields[] = {
	EOS_PY_FLATER("action"), EOS_PY_F(struct eos_provision_step, detail, FSSTR),
	EOS_PY_F(struct eos_provision_step, done, BOOL),
};

static PyObject *steps_list(const struct eos_provision_result *res)
{
	PyObject *l = EOS_PY_LIST(res->steps, res->n_steps, step_fields);
	for (size_t i = 0; l && i < res->n_steps; i++)
		if (eos_py_set_str(PyList_GET_ITEM(l, (Py_ssize_t)i), "action",
				   action_names[res->steps[i].action]))
			Py_CLEAR(l);
	return l;
}

static const struct eos_py_field result_fields[] = {
	EOS_PY_FLATER("steps"), EOS_PY_FLATER("recommendation"), EOS_PY_FLATER("device"),
	EOS_PY_FLATER("destroys"), EOS_PY_FLATER("mkfs"), EOS_PY_F(struct eos_provision_result, uuid, STR0),
	EOS_PY_F(struct eos_provision_result, fstab_line, FSSTR0),
	EOS_PY_F(struct eos_provision_result, changed, BOOL), EOS_PY_F(struct eos_provision_result, kept, BOOL),
};

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
	PyObject *d;
	if (res->rec.handover) {  /* handed over: nothing of the device's own */
		d = PyDict_New();
		if (d && (eos_py_set(d, "steps", steps_list(res)) ||
			  eos_py_set(d, "recommendation", rec_dict(&res->rec)) || lvm_dict(d, res) ||
			  eos_py_set_bool(d, "changed", 0) || eos_py_set_bool(d, "test", dry_run)))
			Py_CLEAR(d);
		return d;
	}
	d = EOS_PY_DICT(res, result_fields);
	if (!d || eos_py_set(d, "mkfs", res->mkfs_argc ? EOS_PY_FSSTR_LIST(res->mkfs_argv, res->mkfs_argc)
						       : Py_NewRef(Py_None)) ||
	    eos_py_set(d, "steps", steps_list(res)) ||
	    eos_py_set(d, "recommendation", rec_dict(&res->rec)) || lvm_dict(d, res) ||
	    eos_py_set(d, "device", check_dict(&res->check)) ||
	    eos_py_set(d, "destroys", EOS_PY_FSSTR_LIST(res->destroys, res->n_destroys)) ||
	    eos_py_set_bool(d, "test", dry_run))
		Py_CLEAR(d);
	return d;
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
