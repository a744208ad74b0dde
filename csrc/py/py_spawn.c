#include "eos_py.h"
#include "eos/core/spawn.h"

/* run(argv, timeout_ms=60000) -> (status, stdout bytes, stderr bytes)
 * Exposed so the glue never needs subprocess or a shell for the few tools it calls. */
static PyObject *py_run(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"argv", "timeout_ms", NULL};
	PyObject *seq;
	int timeout_ms = 60000;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|i:run", kwlist, &seq, &timeout_ms))
		return NULL;
	PyObject *fast = PySequence_Fast(seq, "argv must be a sequence of str or bytes");
	if (!fast)
		return NULL;
	Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
	if (n < 1) {
		Py_DECREF(fast);
		PyErr_SetString(PyExc_ValueError, "argv is empty");
		return NULL;
	}
	PyObject **items = PySequence_Fast_ITEMS(fast);
	PyObject *bytes = PyList_New(n);
	const char **argv = PyMem_Calloc((size_t)n + 1, sizeof(*argv));
	PyObject *result = NULL;
	if (!bytes || !argv)
		goto out;
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *b = NULL;
		if (!PyUnicode_FSConverter(items[i], &b))
			goto out;
		PyList_SET_ITEM(bytes, i, b);
		argv[i] = PyBytes_AS_STRING(b);
	}
	struct eos_run run = EOS_RUN_INIT;
	struct eos_err e;
	eos_err_clear(&e);
	run.timeout_ms = timeout_ms;
	int r;
	Py_BEGIN_ALLOW_THREADS
	r = eos_spawn(argv, &run, &e);
	Py_END_ALLOW_THREADS
	if (r)
		eos_py_raise(&e);
	else
		result = Py_BuildValue("(iy#y#)", run.status, run.out.data ? run.out.data : "",
				       (Py_ssize_t)run.out.len, run.err.data ? run.err.data : "",
				       (Py_ssize_t)run.err.len);
	eos_run_free(&run);
out:
	PyMem_Free(argv);
	Py_XDECREF(bytes);
	Py_DECREF(fast);
	return result;
}

static PyMethodDef methods[] = {
	{"run", (PyCFunction)(void (*)(void))py_run, METH_VARARGS | METH_KEYWORDS,
	 "run(argv, timeout_ms=60000) -> (status, stdout, stderr)\n\n"
	 "Run a program with an argv vector (posix_spawn, no shell) and a timeout."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_spawn(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
