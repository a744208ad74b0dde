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
