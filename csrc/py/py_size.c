#include "eos_py.h"
#include "eos/core/size.h"

static const char *const kind_names[] = {
	[EOS_SIZE_ABSOLUTE] = "absolute",
	[EOS_SIZE_GROW_BY] = "grow_by",
	[EOS_SIZE_PCT_FREE] = "pct_free",
	[EOS_SIZE_MAX] = "max",
	[EOS_SIZE_AUTO] = "auto",
};

static PyObject *py_parse_size(PyObject *self, PyObject *arg)
{
	(void)self;
	const char *s = PyUnicode_AsUTF8(arg);
	if (!s)
		return NULL;
	struct eos_size_req req;
	struct eos_err e;
	eos_err_clear(&e);
	if (eos_size_parse(s, &req, &e))
		return eos_py_raise(&e);
	PyObject *d = PyDict_New();
	if (!d)
		return NULL;
	if (eos_py_set_str(d, "kind", kind_names[req.kind]) ||
	    eos_py_set_u64(d, "bytes", req.bytes) ||
	    eos_py_set_u64(d, "pct", req.pct)) {
		Py_DECREF(d);
		return NULL;
	}
	return d;
}

static PyMethodDef methods[] = {
	{"parse_size", py_parse_size, METH_O,
	 "parse_size(text) -> {'kind', 'bytes', 'pct'}\n\n"
	 "Parse a size request (+50G, 200GiB, 100%FREE, max, auto). Raises OSError(EINVAL)\n"
	 "quoting the input when it is not one."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_size(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
