/* Declarative LVM: PVs, VGs and LVs made to match a request (csrc/lib/ops/lvm_ensure.c). */
#include "eos_py.h"
#include "eos/ops/lvm_ensure.h"

static const struct eos_py_field step_fields[] = {
	EOS_PY_F(struct eos_lvm_step, action, STR),
	EOS_PY_F(struct eos_lvm_step, detail, FSSTR),
};

static const struct eos_py_field result_fields[] = {
	EOS_PY_F(struct eos_lvm_ensure, changed, BOOL),
	EOS_PY_F(struct eos_lvm_ensure, before, U64),
	EOS_PY_F(struct eos_lvm_ensure, after, U64),
	EOS_PY_F(struct eos_lvm_ensure, note, STR),
};

static PyObject *result_dict(const struct eos_lvm_ensure *res, int dry_run)
{
	PyObject *d = EOS_PY_DICT(res, result_fields), *steps = PyList_New(0);
	if (!d || !steps)
		goto error;
	for (size_t i = 0; i < res->n_steps; i++) {
		PyObject *s = EOS_PY_DICT(&res->steps[i], step_fields);
		int r = s ? PyList_Append(steps, s) : -1;
		Py_XDECREF(s);
		if (r < 0)
			goto error;
	}
	if (eos_py_set_bool(d, "test", dry_run) || eos_py_set(d, "steps", steps))
		goto error_d;
	return d;
error:
	Py_XDECREF(steps);
error_d:
	Py_XDECREF(d);
	return NULL;
}

static PyObject *py_pv_ensure(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"device", "dry_run", NULL};
	PyObject *dev = NULL;
	int dry_run = 0, r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|p:lvm_pv_ensure", kwlist, eos_py_path, &dev, &dry_run))
		return NULL;
	struct eos_lvm_ensure res;
	struct eos_err e;
	eos_err_clear(&e);
	EOS_PY_CALL(r, &e, dev, NULL, eos_lvm_pv_ensure(PyBytes_AS_STRING(dev), dry_run, &res, &e));
	return result_dict(&res, dry_run);
}

/* devices: a list or tuple of paths, 1 to EOS_LVM_MAX_DEVS, into held bytes objects. */
static int devices_arg(PyObject *seq, PyObject **held, const char **devs, size_t *n)
{
	*n = 0;
	if (!PyList_Check(seq) && !PyTuple_Check(seq)) {
		eos_py_einval("devices must be a list of block device paths, not %s", seq);
		return -1;
	}
	Py_ssize_t len = PySequence_Fast_GET_SIZE(seq);
	if (len < 1 || len > EOS_LVM_MAX_DEVS) {
		eos_py_einval("devices must list 1 to 16 block devices: %s", seq);
		return -1;
	}
	for (Py_ssize_t i = 0; i < len; i++) {
		if (!eos_py_path(PySequence_Fast_GET_ITEM(seq, i), &held[i]))
			return -1;
		devs[(*n)++] = PyBytes_AS_STRING(held[i]);
	}
	return 0;
}

static PyObject *py_vg_ensure(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"vg", "devices", "extent_size", "dry_run", NULL};
	const char *vg, *extent = NULL, *devs[EOS_LVM_MAX_DEVS];
	PyObject *seq, *held[EOS_LVM_MAX_DEVS] = {NULL}, *result = NULL;
	int dry_run = 0, r = 0;
	size_t n = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "sO|zp:lvm_vg_ensure", kwlist, &vg, &seq, &extent, &dry_run))
		return NULL;
	if (devices_arg(seq, held, devs, &n) == 0) {
		struct eos_lvm_ensure res;
		struct eos_err e;
		eos_err_clear(&e);
		Py_BEGIN_ALLOW_THREADS
		r = eos_lvm_vg_ensure(vg, devs, n, extent, dry_run, &res, &e);
		Py_END_ALLOW_THREADS
		result = r < 0 ? eos_py_raise(&e) : result_dict(&res, dry_run);
	}
	for (size_t i = 0; i < EOS_LVM_MAX_DEVS; i++)
		Py_XDECREF(held[i]);
	return result;
}

static PyObject *py_lv_ensure(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"vg", "lv", "size", "shrink", "dry_run", NULL};
	struct eos_lvm_lv_req q = {0};
	int r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "sss|pp:lvm_lv_ensure", kwlist, &q.vg, &q.lv, &q.size,
					 &q.shrink, &q.dry_run))
		return NULL;
	struct eos_lvm_ensure res;
	struct eos_err e;
	eos_err_clear(&e);
	EOS_PY_CALL(r, &e, NULL, NULL, eos_lvm_lv_ensure(&q, &res, &e));
	return result_dict(&res, q.dry_run);
}

static PyMethodDef methods[] = {
	{"lvm_pv_ensure", (PyCFunction)(void (*)(void))py_pv_ensure, METH_VARARGS | METH_KEYWORDS,
	 "lvm_pv_ensure(device, dry_run=False) -> {'steps', 'changed', 'before', 'after', 'note', 'test'}\n\n"
	 "Make a free block device an LVM physical volume (nothing when it is one)."},
	{"lvm_vg_ensure", (PyCFunction)(void (*)(void))py_vg_ensure, METH_VARARGS | METH_KEYWORDS,
	 "lvm_vg_ensure(vg, devices, extent_size=None, dry_run=False) -> dict\n\n"
	 "The volume group exists and holds every device (new PVs made, vgextend)."},
	{"lvm_lv_ensure", (PyCFunction)(void (*)(void))py_lv_ensure, METH_VARARGS | METH_KEYWORDS,
	 "lvm_lv_ensure(vg, lv, size, shrink=False, dry_run=False) -> dict\n\n"
	 "The logical volume exists with size (absolute, N%FREE at creation, max); grown, never "
	 "shrunk unless shrink=True (inactive only)."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_lvm_ensure(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
