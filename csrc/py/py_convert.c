/* Converting a mounted filesystem to BTRFS (csrc/lib/ops/convert.c). */
#include "eos_py.h"
#include "eos/ops/convert.h"

PyObject *eos_py_copy_stats(const struct eos_copy_stats *s);  /* py_copy.c */

static int path_or_none(PyObject *o, void *result)
{
	if (o == Py_None) {
		*(PyObject **)result = NULL;
		return 1;
	}
	return eos_py_path(o, result);
}

static const char *opt(PyObject *b)
{
	return b ? PyBytes_AS_STRING(b) : NULL;
}

#define R(m, t) EOS_PY_F(struct eos_convert_result, m, t)
static const struct eos_py_field result_fields[] = {
	EOS_PY_FLATER("steps"), EOS_PY_FLATER("open_files"), R(path, FSSTR0), R(target, FSSTR0),
	R(uuid, STR0), R(old_source, FSSTR0), R(old_fstype, STR0),
	EOS_PY_FK("old_mounted_at", struct eos_convert_result, hold, FSSTR0), R(mount_options, STR0),
	EOS_PY_FLATER("step"), R(resumed, BOOL), R(changed, BOOL), EOS_PY_FLATER("test"),
	EOS_PY_FLATER("copied"), EOS_PY_FLATER("verified"), EOS_PY_FLATER("bytes_before"),
	EOS_PY_FK("bytes_after", struct eos_convert_result, data_after, U64), R(used_before, U64),
};
#undef R

static PyObject *result_dict(const struct eos_convert_result *r, int dry_run)
{
	PyObject *d = EOS_PY_DICT(r, result_fields);
	if (!d)
		return NULL;
	PyObject *steps = PyList_New(0), *files = PyList_New(0);
	if (!steps || !files)
		goto error_lists;
	for (int i = 0; i < EOS_CONV_NSTEPS; i++) {
		PyObject *x = Py_BuildValue("{s:s,s:O}", "step", eos_convert_step_names[i], "done",
					    i <= r->step ? Py_True : Py_False);
		if (!x || PyList_Append(steps, x) < 0) {
			Py_XDECREF(x);
			goto error_lists;
		}
		Py_DECREF(x);
	}
	for (int i = 0; i < r->n_open; i++) {
		PyObject *s = eos_py_fsstr(r->open_files[i]);
		if (!s || PyList_Append(files, s) < 0) {
			Py_XDECREF(s);
			goto error_lists;
		}
		Py_DECREF(s);
	}
	int rc = eos_py_set(d, "steps", steps);
	steps = NULL;
	if (rc || eos_py_set(d, "open_files", files)) {
		files = NULL;
		goto error;
	}
	double ratio = r->data_after ? (double)r->copied.data_bytes / (double)r->data_after : 0.0;
	if (eos_py_set_str(d, "step", r->step >= 0 ? eos_convert_step_names[r->step] : NULL) ||
	    eos_py_set_bool(d, "test", dry_run) || eos_py_set(d, "copied", eos_py_copy_stats(&r->copied)) ||
	    eos_py_set(d, "verified", eos_py_copy_stats(&r->verified)) ||
	    eos_py_set_u64(d, "bytes_before", r->copied.data_bytes) ||
	    eos_py_set_double(d, "compression_ratio", ratio))
		goto error;
	return d;
error_lists:
	Py_XDECREF(steps);
	Py_XDECREF(files);
error:
	Py_DECREF(d);
	return NULL;
}

static PyObject *py_convert(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"path", "target", "compression", "fstab", "state_dir", "force", "dry_run",
				 "crash_after", NULL};
	PyObject *path = NULL, *target = NULL, *fstab = NULL, *state = NULL, *result = NULL;
	const char *comp = NULL, *crash = NULL;
	int force = 0, dry = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&|zO&O&ppz:convert", kwlist, eos_py_path, &path,
					 eos_py_path, &target, &comp, path_or_none, &fstab, path_or_none, &state,
					 &force, &dry, &crash))
		return NULL;
	struct eos_convert_result *res = calloc(1, sizeof(*res));
	if (!res) {
		PyErr_NoMemory();
		goto out;
	}
#ifndef EOS_TEST_HOOKS
	if (crash) {
		/* Crash injection is for the test build only (see setup.py). */
		PyErr_Format(PyExc_ValueError, "convert: crash_after='%s' needs the test build of eos "
			     "(EOS_TEST_HOOKS=1); this build has no crash injection", crash);
		goto out;
	}
#endif
	struct eos_convert_req req = {PyBytes_AS_STRING(path), PyBytes_AS_STRING(target), comp, opt(fstab),
				      opt(state), force, dry, crash};
	struct eos_err e;
	eos_err_clear(&e);
	int r;
	Py_BEGIN_ALLOW_THREADS
	r = eos_convert(&req, res, &e);
	Py_END_ALLOW_THREADS
	result = r < 0 ? eos_py_raise(&e) : result_dict(res, dry);
out:
	free(res);
	Py_XDECREF(path);
	Py_XDECREF(target);
	Py_XDECREF(fstab);
	Py_XDECREF(state);
	return result;
}

static PyObject *py_finalize_or_rollback(PyObject *args, PyObject *kw, int rollback)
{
	static char *kwlist[] = {"path", "fstab", "state_dir", NULL};
	PyObject *path = NULL, *fstab = NULL, *state = NULL, *result = NULL;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|O&O&", kwlist, eos_py_path, &path, path_or_none, &fstab,
					 path_or_none, &state))
		return NULL;
	struct eos_convert_result *res = calloc(1, sizeof(*res));
	if (!res) {
		PyErr_NoMemory();
		goto out;
	}
	struct eos_err e;
	eos_err_clear(&e);
	int r;
	Py_BEGIN_ALLOW_THREADS
	if (rollback)
		r = eos_convert_rollback(PyBytes_AS_STRING(path), opt(fstab), opt(state), res, &e);
	else
		r = eos_convert_finalize(PyBytes_AS_STRING(path), opt(state), res, &e);
	Py_END_ALLOW_THREADS
	result = r < 0 ? eos_py_raise(&e) : result_dict(res, 0);
out:
	free(res);
	Py_XDECREF(path);
	Py_XDECREF(fstab);
	Py_XDECREF(state);
	return result;
}

static PyObject *py_finalize(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	return py_finalize_or_rollback(args, kw, 0);
}

static PyObject *py_rollback(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	return py_finalize_or_rollback(args, kw, 1);
}

#define KW METH_VARARGS | METH_KEYWORDS
#define FN(f) (PyCFunction)(void (*)(void))(f)

static PyMethodDef methods[] = {
	{"convert", FN(py_convert), KW,
	 "convert(path, target, compression='zstd', fstab=None, state_dir=None, force=False, dry_run=False,\n"
	 "        crash_after=None) -> dict\n\nMove the mounted filesystem at path onto a new BTRFS on target "
	 "(journaled, resumable)."},
	{"convert_finalize", FN(py_finalize), KW,
	 "convert_finalize(path, state_dir=None) -> dict\n\nRelease the old filesystem of a finished "
	 "conversion."},
	{"convert_rollback", FN(py_rollback), KW,
	 "convert_rollback(path, fstab=None, state_dir=None) -> dict\n\nReturn path to its old filesystem."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_convert(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
