/* Binding for the pre-join health facts. */
#include "eos_py.h"

#include "eos/ops/health.h"
#include "eos/drivers/mounts.h"

static const struct eos_py_field clock_fields[] = {
	EOS_PY_F(struct eos_clock, synchronized, BOOL), EOS_PY_F(struct eos_clock, state, INT),
	EOS_PY_F(struct eos_clock, offset_ns, LLONG), EOS_PY_F(struct eos_clock, maxerror_us, LLONG),
	EOS_PY_F(struct eos_clock, esterror_us, LLONG),
};

static const struct eos_py_field disk_fields[] = {
	EOS_PY_F(struct eos_usage, size, U64), EOS_PY_F(struct eos_usage, avail, U64),
	EOS_PY_F(struct eos_usage, free, U64), EOS_PY_F(struct eos_usage, used, U64),
};

static PyObject *py_health_clock(PyObject *self, PyObject *noargs)
{
	(void)self;
	(void)noargs;
	struct eos_clock c;
	struct eos_err e;
	eos_err_clear(&e);
	if (eos_health_clock(&c, &e))
		return eos_py_raise(&e);
	return EOS_PY_DICT(&c, clock_fields);
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
	return EOS_PY_DICT(&u, disk_fields);
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
