/* Struct to dict by table (eos_py.h): one loop instead of a hand-built dict per struct. */
#include "eos_py.h"

static PyObject *field_value(const char *base, const struct eos_py_field *f)
{
	const void *p = base + f->offset;
	switch (f->type) {
	case EOS_PY_U64:
		return PyLong_FromUnsignedLongLong(*(const uint64_t *)p);
	case EOS_PY_U32:
		return PyLong_FromUnsignedLong(*(const uint32_t *)p);
	case EOS_PY_UINT:
		return PyLong_FromUnsignedLong(*(const unsigned *)p);
	case EOS_PY_INT:
		return PyLong_FromLong(*(const int *)p);
	case EOS_PY_I64:
		return PyLong_FromLongLong(*(const int64_t *)p);
	case EOS_PY_LLONG:
		return PyLong_FromLongLong(*(const long long *)p);
	case EOS_PY_LONG:
		return PyLong_FromLong(*(const long *)p);
	case EOS_PY_SIZE:
		return PyLong_FromSize_t(*(const size_t *)p);
	case EOS_PY_BOOL:
		return PyBool_FromLong(*(const int *)p);
	case EOS_PY_CBOOL:
		return PyBool_FromLong(*(const bool *)p);
	case EOS_PY_DOUBLE:
		return PyFloat_FromDouble(*(const double *)p);
	case EOS_PY_STR:
		return PyUnicode_DecodeUTF8((const char *)p, (Py_ssize_t)strlen(p), "surrogateescape");
	case EOS_PY_FSSTR:
		return eos_py_fsstr((const char *)p);
	case EOS_PY_LATER:
		return Py_NewRef(Py_None);
	case EOS_PY_STR0:
	case EOS_PY_FSSTR0:
		if (!*(const char *)p)
			return Py_NewRef(Py_None);
		return f->type == EOS_PY_FSSTR0 ? eos_py_fsstr((const char *)p)
						  : PyUnicode_DecodeUTF8((const char *)p, (Py_ssize_t)strlen(p),
									 "surrogateescape");
	case EOS_PY_STRP:
	case EOS_PY_FSSTRP: {
		const char *s = *(const char *const *)p;
		if (!s)
			return Py_NewRef(Py_None);
		return f->type == EOS_PY_FSSTRP ? eos_py_fsstr(s)
						 : PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "surrogateescape");
	}
	}
	PyErr_Format(PyExc_SystemError, "eos: field %s has an unknown type %d", f->key, (int)f->type);
	return NULL;
}

int eos_py_set_fields(PyObject *d, const void *obj, const struct eos_py_field *table, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (eos_py_set(d, table[i].key, field_value(obj, &table[i])) < 0)
			return -1;
	return 0;
}

PyObject *eos_py_fields_dict(const void *obj, const struct eos_py_field *table, size_t n)
{
	PyObject *d = PyDict_New();
	if (d && eos_py_set_fields(d, obj, table, n) < 0)
		Py_CLEAR(d);
	return d;
}

PyObject *eos_py_fields_list(const void *v, size_t stride, size_t n, const struct eos_py_field *table,
			     size_t nt)
{
	PyObject *l = PyList_New((Py_ssize_t)n);
	for (size_t i = 0; l && i < n; i++) {
		PyObject *d = eos_py_fields_dict((const char *)v + i * stride, table, nt);
		if (!d)
			Py_CLEAR(l);
		else
			PyList_SET_ITEM(l, (Py_ssize_t)i, d);
	}
	return l;
}
