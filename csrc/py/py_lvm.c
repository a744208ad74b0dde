/* eos.lvm_segments(): the LV segments the in-process LVM reader finds on given devices (what
 * eos.probe() reads for its PVs, VGs and LVs, down to the segments). */
#include "eos_py.h"
#include "eos/drivers/lvm/lvm_read.h"

#define SEG(m, t) EOS_PY_F(struct eos_lvm_seg, m, t)
static const struct eos_py_field seg_fields[] = {
	SEG(lv_uuid, STRP), SEG(type, STRP), SEG(start, U64), SEG(size, U64), SEG(start_pe, U64),
	SEG(size_pe, U64), SEG(stripes, U64), SEG(stripe_size, U64), SEG(devices, FSSTRP),
};
#undef SEG

static PyObject *segs_list(const struct eos_lvm_report *r)
{
	PyObject *l = PyList_New((Py_ssize_t)r->n_segs);
	for (size_t i = 0; l && i < r->n_segs; i++) {
		PyObject *x = EOS_PY_DICT(&r->segs[i], seg_fields);
		if (!x) {
			Py_CLEAR(l);
			break;
		}
		PyList_SET_ITEM(l, (Py_ssize_t)i, x);
	}
	return l;
}

static PyObject *py_lvm_segments(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *seq, *fast, *result = NULL;
	if (!PyArg_ParseTuple(args, "O:lvm_segments", &seq) || !(fast = PySequence_Fast(seq, "devices must be a list")))
		return NULL;
	Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
	PyObject **paths = PyMem_Calloc((size_t)n + 1, sizeof(*paths));
	struct eos_lvm_dev *devs = PyMem_Calloc((size_t)n + 1, sizeof(*devs));
	Py_ssize_t got = 0;
	if (!paths || !devs) {
		PyErr_NoMemory();
		goto out;
	}
	for (; got < n; got++) {
		if (!eos_py_path(PySequence_Fast_GET_ITEM(fast, got), &paths[got]))
			goto out;
		devs[got].path = PyBytes_AS_STRING(paths[got]);
	}
	struct eos_lvm_report r;
	struct eos_err e;
	int rc;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	rc = eos_lvm_read(devs, (size_t)n, &r, &e);
	Py_END_ALLOW_THREADS
	if (rc) {
		eos_py_raise(&e);
		goto out;
	}
	result = segs_list(&r);
	eos_lvm_report_free(&r);
out:
	for (Py_ssize_t i = 0; paths && i < got; i++)
		Py_XDECREF(paths[i]);
	PyMem_Free(paths);
	PyMem_Free(devs);
	Py_DECREF(fast);
	return result;
}

static PyMethodDef methods[] = {
	{"lvm_segments", py_lvm_segments, METH_VARARGS,
	 "lvm_segments(devices) -> [{'lv_uuid', 'type', 'start', 'size', 'start_pe', 'size_pe',\n"
	 "                           'stripes', 'stripe_size', 'devices'}]\n\n"
	 "The LV segments of the VGs on these devices, read in-process from their LVM labels and\n"
	 "metadata (as eos.probe() reads PVs, VGs and LVs). OSError ENOTSUP for what the reader does\n"
	 "not model (RAID, thin, a missing PV ...), EINVAL for corrupt metadata."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_lvm(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
