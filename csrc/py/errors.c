#include "eos_py.h"

PyObject *eos_py_raise(const struct eos_err *e)
{
	/* OSError(errno, strerror, filename) picks the subclass for errno by itself. */
	PyObject *args;
	if (e->path[0])
		args = Py_BuildValue("(isO&)", e->code, e->msg, PyUnicode_DecodeFSDefault, e->path);
	else
		args = Py_BuildValue("(is)", e->code, e->msg);
	if (!args)
		return NULL;
	PyObject *exc = PyObject_Call(PyExc_OSError, args, NULL);
	Py_DECREF(args);
	if (!exc)
		return NULL;
	PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
	Py_DECREF(exc);
	return NULL;
}

PyObject *eos_py_einval(const char *fmt, PyObject *obj)
{
	struct eos_err e;
	PyObject *r = PyObject_Repr(obj);
	const char *s = r ? PyUnicode_AsUTF8(r) : NULL;
	if (!s) {
		Py_XDECREF(r);
		return NULL;  /* repr() itself failed: that exception stands */
	}
	eos_err_clear(&e);
	eos_fail(&e, EINVAL, NULL, fmt, s);
	Py_DECREF(r);
	return eos_py_raise(&e);
}
