/* Binding of expand (csrc/lib/ops/expand) and of the growers it uses, for tests and benchmarks. */
#include "eos_py.h"
#include "eos/ops/expand.h"
#include "eos/drivers/ext4.h"
#include "eos/drivers/loopdev.h"
#include "eos/drivers/lvm/lvm_change.h"
#include "eos/drivers/xfs.h"

#define S(m, t) EOS_PY_F(struct eos_expand_step, m, t)
static const struct eos_py_field step_fields[] = {
	EOS_PY_FLATER("step"), EOS_PY_FLATER("kind"), S(object, FSSTR), S(before, U64), S(after, U64),
	EOS_PY_FLATER("status"), S(elapsed_ms, LONG), S(note, STR0),
};
#undef S

static PyObject *step_dict(const struct eos_expand_step *s, size_t index)
{
	PyObject *d = EOS_PY_DICT(s, step_fields);
	if (d && (eos_py_set_u64(d, "step", index + 1) ||
		  eos_py_set_str(d, "kind", eos_expand_step_name(s->kind)) ||
		  eos_py_set_str(d, "status", eos_expand_status_name(s->status))))
		Py_CLEAR(d);
	return d;
}

#define P(m, t) EOS_PY_F(struct eos_expand_plan, m, t)
static const struct eos_py_field plan_fields[] = {
	P(target, FSSTR), EOS_PY_FK("size", struct eos_expand_plan, request, STR), EOS_PY_FLATER("test"),
	P(kind, STR), P(mountpoint, FSSTR0), P(device, FSSTR0), P(fstype, STR0), P(vg, STR0), P(lv, STR0),
	P(top, STR), EOS_PY_FK("before", struct eos_expand_plan, size_before, U64),
	EOS_PY_FK("after", struct eos_expand_plan, size_after, U64), P(changed, BOOL),
	EOS_PY_FLATER("pending"), EOS_PY_FK("lock_key", struct eos_expand_plan, key, STR),
	P(journal, FSSTR), P(lock_wait_ms, LONG), P(resumed, BOOL), EOS_PY_FLATER("resume_info"),
};
#undef P

static PyObject *plan_list(const struct eos_expand_plan *p, size_t *pending)
{
	PyObject *steps = PyList_New((Py_ssize_t)p->nsteps);
	for (size_t i = 0; steps && i < p->nsteps; i++) {
		PyObject *s = step_dict(&p->steps[i], i);
		if (!s)
			Py_CLEAR(steps);
		else
			PyList_SET_ITEM(steps, (Py_ssize_t)i, s);
		*pending += p->steps[i].status == EOS_STEP_PLANNED;
	}
	return steps;
}

static PyObject *notes_list(const struct eos_expand_plan *p)
{
	PyObject *notes = PyList_New((Py_ssize_t)p->nnotes);
	for (size_t i = 0; notes && i < p->nnotes; i++) {
		PyObject *s = PyUnicode_DecodeUTF8(p->notes[i], (Py_ssize_t)strlen(p->notes[i]),
						   "surrogateescape");
		if (!s)
			Py_CLEAR(notes);
		else
			PyList_SET_ITEM(notes, (Py_ssize_t)i, s);
	}
	return notes;
}

static PyObject *plan_dict(const struct eos_expand_plan *p, int test)
{
	size_t pending = 0;
	PyObject *d = EOS_PY_DICT(p, plan_fields);
	if (d && (eos_py_set_bool(d, "test", test) || eos_py_set(d, "plan", plan_list(p, &pending)) ||
		  eos_py_set_u64(d, "pending", test ? pending : 0) ||
		  eos_py_set_str(d, "resume_info", p->resumed ? p->resume_info : NULL) ||
		  eos_py_set(d, "notes", notes_list(p))))
		Py_CLEAR(d);
	return d;
}

/* Called from the library with the GIL released: take it to call the Python callback.
 * Exceptions in the callback are reported as unraisable and do not stop the expansion. */
static void on_event(void *ctx, const char *phase, const struct eos_expand_plan *p,
		     const struct eos_expand_step *step, const struct eos_err *err)
{
	PyGILState_STATE g = PyGILState_Ensure();
	PyObject *cb = ctx, *data = plan_dict(p, 0), *res = NULL;
	if (!data)
		goto out;
	if (step) {
		size_t idx = (size_t)(step - p->steps);
		if (eos_py_set(data, "current", step_dict(step, idx)))
			goto out;
	}
	if (eos_py_set_str(data, "error", err ? err->msg : NULL))
		goto out;
	res = PyObject_CallFunction(cb, "sO", phase, data);
out:
	if (!res && PyErr_Occurred())
		PyErr_WriteUnraisable(cb);
	Py_XDECREF(res);
	Py_XDECREF(data);
	PyGILState_Release(g);
}

static PyObject *py_expand(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"target", "size", "test", "state_dir", "warn_pct", "margin_pct",
				 "lock_timeout", "on_event", "legacy_dir", NULL};
	PyObject *target = NULL, *state_dir = NULL, *legacy = NULL, *cb = Py_None;
	const char *size = NULL;
	int test = 0;
	unsigned warn = 60, margin = 5;
	double lock_timeout = 600.0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|zpO&IIdOO&:expand", kwlist, eos_py_path, &target,
					 &size, &test, eos_py_path, &state_dir, &warn, &margin,
					 &lock_timeout, &cb, eos_py_path, &legacy))
		goto error;
	if (!state_dir) {
		PyErr_SetString(PyExc_TypeError, "expand: state_dir is required");
		goto error;
	}
	if (cb != Py_None && !PyCallable_Check(cb)) {
		PyErr_SetString(PyExc_TypeError, "expand: on_event must be callable or None");
		goto error;
	}
	struct eos_expand_opts o = {
		.target = PyBytes_AS_STRING(target),
		.size = size,
		.test = test,
		.state_dir = PyBytes_AS_STRING(state_dir),
		.legacy_dir = legacy ? PyBytes_AS_STRING(legacy) : NULL,
		.warn_pct = warn,
		.margin_pct = margin,
		.lock_timeout_ms = (int)(lock_timeout * 1000),
		.on_event = cb != Py_None ? on_event : NULL,
		.ctx = cb,
	};
	struct eos_expand_plan p;
	struct eos_err e;
	int r;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	r = eos_expand(&o, &p, &e);
	Py_END_ALLOW_THREADS
	Py_DECREF(target);
	Py_DECREF(state_dir);
	Py_XDECREF(legacy);
	if (r) {
		eos_expand_plan_free(&p);
		return eos_py_raise(&e);
	}
	PyObject *d = plan_dict(&p, test);
	eos_expand_plan_free(&p);
	return d;
error:
	Py_XDECREF(target);
	Py_XDECREF(state_dir);
	Py_XDECREF(legacy);
	return NULL;
}

static PyObject *py_xfs_geometry(PyObject *self, PyObject *arg)
{
	(void)self;
	PyObject *path = NULL;
	if (!eos_py_path(arg, &path))
		return NULL;
	struct eos_xfs_geom g;
	struct eos_err e;
	int r;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	r = eos_xfs_geometry(PyBytes_AS_STRING(path), &g, &e);
	Py_END_ALLOW_THREADS
	Py_DECREF(path);
	if (r)
		return eos_py_raise(&e);
	return Py_BuildValue("{sIsKsIsI}", "blocksize", g.blocksize, "datablocks",
			     (unsigned long long)g.datablocks, "agblocks", g.agblocks, "agcount", g.agcount);
}

static PyObject *py_xfs_grow(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *path = NULL;
	unsigned long long blocks;
	if (!PyArg_ParseTuple(args, "O&K:xfs_grow", eos_py_path, &path, &blocks))
		return NULL;
	struct eos_err e;
	int r;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	r = eos_xfs_grow(PyBytes_AS_STRING(path), blocks, &e);
	Py_END_ALLOW_THREADS
	Py_DECREF(path);
	if (r)
		return eos_py_raise(&e);
	Py_RETURN_NONE;
}

static PyObject *py_loop_set_capacity(PyObject *self, PyObject *arg)
{
	(void)self;
	PyObject *path = NULL;
	if (!eos_py_path(arg, &path))
		return NULL;
	uint64_t bytes = 0;
	struct eos_err e;
	int r;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	r = eos_loop_set_capacity(PyBytes_AS_STRING(path), &bytes, &e);
	Py_END_ALLOW_THREADS
	Py_DECREF(path);
	if (r)
		return eos_py_raise(&e);
	return PyLong_FromUnsignedLongLong(bytes);
}

static PyObject *py_ext4_can_grow_online(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	char why[300] = "";
	struct eos_err e;
	eos_err_clear(&e);
	int r = eos_ext4_can_grow_online(why, sizeof(why), &e);
	if (r < 0)
		return eos_py_raise(&e);
	return Py_BuildValue("(Os)", r ? Py_True : Py_False, why);
}

static PyObject *py_lvm_dm_available(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	char why[300] = "";
	int r = eos_lvm_dm_available(why, sizeof(why));
	return Py_BuildValue("(Os)", r ? Py_True : Py_False, why);
}

static PyMethodDef methods[] = {
	{"expand", (PyCFunction)(void (*)(void))py_expand, METH_VARARGS | METH_KEYWORDS,
	 "expand(target, size=None, test=False, *, state_dir, warn_pct=60, margin_pct=5,\n"
	 "       lock_timeout=600.0, on_event=None, legacy_dir=None) -> dict\n\n"
	 "Grow target (mount point, block device or 'vg/lv') and everything under it: the plan,\n"
	 "what was done, sizes before and after. on_event(phase, data) is called at 'started',\n"
	 "'step', 'done' and 'failed'. Lock and journal live in state_dir/expand; a journal\n"
	 "an older version left in legacy_dir is moved there. Raises OSError quoting the input."},
	{"xfs_geometry", py_xfs_geometry, METH_O, "xfs_geometry(mountpoint) -> dict"},
	{"xfs_grow", py_xfs_grow, METH_VARARGS,
	 "xfs_grow(mountpoint, newblocks): XFS_IOC_FSGROWFSDATA."},
	{"loop_set_capacity", py_loop_set_capacity, METH_O,
	 "loop_set_capacity(device) -> new size in bytes (LOOP_SET_CAPACITY)."},
	{"ext4_can_grow_online", py_ext4_can_grow_online, METH_NOARGS,
	 "ext4_can_grow_online() -> (bool, reason): whether this process has CAP_SYS_RESOURCE."},
	{"lvm_dm_available", py_lvm_dm_available, METH_NOARGS,
	 "lvm_dm_available() -> (bool, reason): whether the kernel has device-mapper."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_expand(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
