#include "eos_py.h"

/* eos.Error, and per OSError subclass the class that is both (eos.FileNotFoundError is an
 * eos.Error and a FileNotFoundError), so that callers catch either. */
static PyObject *eos_error;
static PyObject *combined;   /* {OSError subclass: eos.<its name>} */

static int add_combined(PyObject *m, PyObject *base)
{
	const char *name = ((PyTypeObject *)base)->tp_name;
	char qual[128];
	snprintf(qual, sizeof(qual), "eos.%s", name);
	PyObject *bases = PyTuple_Pack(2, eos_error, base);
	PyObject *cls = bases ? PyErr_NewException(qual, bases, NULL) : NULL;
	Py_XDECREF(bases);
	int r = cls && PyDict_SetItem(combined, base, cls) == 0 && PyModule_AddObjectRef(m, name, cls) == 0
		? 0 : -1;
	Py_XDECREF(cls);
	return r;
}

int eos_py_errors_init(PyObject *m)
{
	PyObject *subclasses[] = {
		PyExc_FileNotFoundError, PyExc_FileExistsError, PyExc_PermissionError,
		PyExc_IsADirectoryError, PyExc_NotADirectoryError, PyExc_TimeoutError,
		PyExc_InterruptedError, PyExc_BlockingIOError, PyExc_ChildProcessError,
		PyExc_ProcessLookupError, PyExc_BrokenPipeError, PyExc_ConnectionAbortedError,
		PyExc_ConnectionRefusedError, PyExc_ConnectionResetError,
	};
	if (!eos_error) {
		eos_error = PyErr_NewExceptionWithDoc(
			"eos.Error",
			"An OSError from the eos library: errno, the message naming the failing call, the path\n"
			"(filename) and, where an operation has two, the second path (filename2).",
			PyExc_OSError, NULL);
		combined = PyDict_New();
		if (!eos_error || !combined)
			return -1;
	}
	if (PyModule_AddObjectRef(m, "Error", eos_error) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(subclasses) / sizeof(subclasses[0]); i++)
		if (add_combined(m, subclasses[i]) < 0)
			return -1;
	return 0;
}

PyObject *eos_py_raise(const struct eos_err *e)
{
	/* OSError(errno, strerror, filename, winerror, filename2) picks the subclass for errno by
	 * itself; the error raised is that subclass's eos twin, with the same arguments. */
	PyObject *args;
	if (e->path2[0])
		args = Py_BuildValue("(isO&OO&)", e->code, e->msg, PyUnicode_DecodeFSDefault, e->path, Py_None,
				     PyUnicode_DecodeFSDefault, e->path2);
	else if (e->path[0])
		args = Py_BuildValue("(isO&)", e->code, e->msg, PyUnicode_DecodeFSDefault, e->path);
	else
		args = Py_BuildValue("(is)", e->code, e->msg);
	if (!args)
		return NULL;
	PyObject *probe = PyObject_Call(PyExc_OSError, args, NULL);
	PyObject *cls = probe ? PyDict_GetItemWithError(combined, (PyObject *)Py_TYPE(probe)) : NULL;
	Py_XDECREF(probe);
	if (!cls && PyErr_Occurred()) {
		Py_DECREF(args);
		return NULL;
	}
	PyObject *exc = PyObject_Call(cls ? cls : eos_error, args, NULL);
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
