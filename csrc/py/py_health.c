/* Binding for the pre-join health facts. */
#include "eos_py.h"

#include "eos/ops/health.h"
#include "eos/drivers/mounts.h"

static PyObject *py_health_clock(PyObject *self, PyObject *noargs)
{
	(void)self;
	(void)noargs;
	struct eos_clock c;
	struct eos_err e;
	eos_err_clear(&e);
	if (eos_health_clock(&c, &e))
		return eos_py_raise(&e);
	PyObject *d = PyDict_New();
	if (!d || eos_py_set_bool(d, "synchronized", c.synchronized) ||
	    eos_py_set_i64(d, "state", c.state) || eos_py_set_i64(d, "offset_ns", c.offset_ns) ||
	    eos_py_set_i64(d, "maxerror_us", c.maxerror_us) ||
	    eos_py_set_i64(d, "esterror_us", c.esterror_us)) {
		Py_XDECREF(d);
		return NULL;
	}
	return d;
}

static PyObject *py_health_disk(PyObject *self, PyObject *arg)
{
	(void)self;
	PyObject *path = NULL;
	if (!eos_py_path(arg, &path))
		return NULL;
	struct eos_usage u;
	struct eos_err e;
	int rc;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	rc = eos_usage_get(PyBytes_AS_STRING(path), &u, &e);
	Py_END_ALLOW_THREADS
	Py_DECREF(path);
	if (rc)
		return eos_py_raise(&e);
	PyObject *d = PyDict_New();
	if (!d || eos_py_set_u64(d, "size", u.size) || eos_py_set_u64(d, "avail", u.avail) ||
	    eos_py_set_u64(d, "free", u.free) || eos_py_set_u64(d, "used", u.used)) {
		Py_XDECREF(d);
		return NULL;
	}
	return d;
}

static PyMethodDef methods[] = {
	{"health_clock", py_health_clock, METH_NOARGS,
	 "health_clock() -> {'synchronized', 'state', 'offset_ns', 'maxerror_us', 'esterror_us'}\n\n"
	 "The kernel clock discipline state (adjtimex, read only)."},
	{"health_disk", py_health_disk, METH_O,
	 "health_disk(path) -> {'size', 'avail', 'free', 'used'} in bytes (statvfs)."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_health(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
