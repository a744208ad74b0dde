#include "eos_py.h"

int eos_py_path(PyObject *o, void *result)
{
	int r = PyUnicode_FSConverter(o, result);
	/* "embedded null byte" says neither which argument nor what it held: quote it. */
	if (!r && o && PyErr_ExceptionMatches(PyExc_ValueError)) {
		PyErr_Clear();
		eos_py_einval("a path holds a NUL byte: %s", o);
	}
	return r;
}

PyObject *eos_py_fsstr(const char *s)
{
	return PyUnicode_DecodeFSDefault(s);
}

int eos_py_set(PyObject *d, const char *key, PyObject *value)
{
	if (!value)
		return -1;
	int r = PyDict_SetItemString(d, key, value);
	Py_DECREF(value);
	return r;
}

int eos_py_set_u64(PyObject *d, const char *key, unsigned long long v)
{
	return eos_py_set(d, key, PyLong_FromUnsignedLongLong(v));
}

int eos_py_set_i64(PyObject *d, const char *key, long long v)
{
	return eos_py_set(d, key, PyLong_FromLongLong(v));
}

int eos_py_set_str(PyObject *d, const char *key, const char *s)
{
	if (!s)
		return eos_py_set(d, key, Py_NewRef(Py_None));
	return eos_py_set(d, key, PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "surrogateescape"));
}

int eos_py_set_fsstr(PyObject *d, const char *key, const char *s)
{
	if (!s)
		return eos_py_set(d, key, Py_NewRef(Py_None));
	return eos_py_set(d, key, eos_py_fsstr(s));
}

int eos_py_set_bool(PyObject *d, const char *key, int v)
{
	return eos_py_set(d, key, PyBool_FromLong(v));
}

int eos_py_set_double(PyObject *d, const char *key, double v)
{
	return eos_py_set(d, key, PyFloat_FromDouble(v));
}

PyObject *eos_py_fsstr_list(const char *v, size_t stride, size_t n)
{
	PyObject *l = PyList_New((Py_ssize_t)n);
	for (size_t i = 0; l && i < n; i++) {
		PyObject *s = eos_py_fsstr(v + i * stride);
		if (!s)
			Py_CLEAR(l);
		else
			PyList_SET_ITEM(l, (Py_ssize_t)i, s);
	}
	return l;
}
