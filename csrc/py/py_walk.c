/* top_consumers: the tree walker (csrc/lib/ops/walk.c) with the GIL released during the walk. */
#include "eos_py.h"
#include "eos/ops/walk.h"

#define W(key, m, t) EOS_PY_FK(key, struct eos_walk_item, m, t)
static const struct eos_py_field file_fields[] = {
	W("path", path, FSSTRP), W("bytes", bytes, U64), W("apparent_bytes", apparent, U64),
	W("depth", depth, UINT),
};

/* A directory's entry also counts the files below it. */
static const struct eos_py_field dir_fields[] = {
	W("path", path, FSSTRP), W("bytes", bytes, U64), W("apparent_bytes", apparent, U64),
	W("depth", depth, UINT), W("files", files, U64),
};
#undef W

#define R(key, m) EOS_PY_FK(key, struct eos_walk_result, m, U64)
static const struct eos_py_field result_fields[] = {
	EOS_PY_FLATER("path"), R("bytes", bytes), R("apparent_bytes", apparent), R("files", files),
	R("dirs", dirs), EOS_PY_FLATER("top_dirs"), EOS_PY_FLATER("top_files"), EOS_PY_FLATER("errors"),
	R("errors_total", errors_total),
};
#undef R

static const struct eos_py_field error_fields[] = {
	EOS_PY_F(struct eos_walk_error, path, FSSTRP),
	EOS_PY_FK("errno", struct eos_walk_error, code, INT),
	EOS_PY_FK("error", struct eos_walk_error, msg, STRP),
};

static PyObject *bad_arg(const char *what, Py_ssize_t v)
{
	struct eos_err e;
	eos_fail(&e, EINVAL, "", "top_consumers: %s must be >= 0, got %zd", what, v);
	return eos_py_raise(&e);
}

static PyObject *py_top_consumers(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"path", "depth", "limit", "threads", "max_errors", NULL};
	PyObject *pathb = NULL;
	Py_ssize_t depth = 2, limit = 20, threads = 0, max_errors = 100;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|nnnn:top_consumers", kwlist, eos_py_path,
					 &pathb, &depth, &limit, &threads, &max_errors))
		return NULL;
	PyObject *result = NULL;
	if (depth < 0 || limit < 0 || threads < 0 || max_errors < 0) {
		bad_arg(depth < 0 ? "depth" : limit < 0 ? "limit" : threads < 0 ? "threads" : "max_errors",
			depth < 0 ? depth : limit < 0 ? limit : threads < 0 ? threads : max_errors);
		Py_DECREF(pathb);
		return NULL;
	}
	struct eos_walk_opts o = {
		.depth = depth > 1000000 ? 1000000 : (unsigned)depth,
		.limit = (size_t)limit,
		.threads = threads > 64 ? 64 : (unsigned)threads,
		.max_errors = (size_t)max_errors,   /* 0: the library default */
	};
	struct eos_walk_result r;
	struct eos_err e;
	eos_err_clear(&e);
	const char *path = PyBytes_AS_STRING(pathb);
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = eos_walk_top_consumers(path, &o, &r, &e);
	Py_END_ALLOW_THREADS
	if (rc) {
		eos_py_raise(&e);
		goto out;
	}
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	result = EOS_PY_DICT(&r, result_fields);
	if (result &&
	    (eos_py_set(result, "path", PyUnicode_DecodeFSDefaultAndSize(path, (Py_ssize_t)len)) ||
	     eos_py_set(result, "top_dirs", EOS_PY_LIST(r.top_dirs, r.n_top_dirs, dir_fields)) ||
	     eos_py_set(result, "top_files", EOS_PY_LIST(r.top_files, r.n_top_files, file_fields)) ||
	     eos_py_set(result, "errors", EOS_PY_LIST(r.errors, r.n_errors, error_fields))))
		Py_CLEAR(result);
	eos_walk_result_free(&r);
out:
	Py_DECREF(pathb);
	return result;
}

static PyMethodDef methods[] = {
	{"top_consumers", (PyCFunction)(void (*)(void))py_top_consumers, METH_VARARGS | METH_KEYWORDS,
	 "top_consumers(path, depth=2, limit=20, threads=0, max_errors=100) -> dict\n\n"
	 "Walk the directory tree at path on its own filesystem (never following symlinks, hard\n"
	 "links counted once) and return its disk usage exactly like `du -x -B1`:\n"
	 "{'path', 'bytes', 'apparent_bytes', 'files', 'dirs',\n"
	 " 'top_dirs': [{'path', 'bytes', 'apparent_bytes', 'files', 'depth'}],  # levels 0..depth\n"
	 " 'top_files': [{'path', 'bytes', 'apparent_bytes', 'depth'}],\n"
	 " 'errors': [{'path', 'errno', 'error'}], 'errors_total'}\n"
	 "Lists are the `limit` largest by disk usage, largest first. Unreadable subtrees are\n"
	 "listed in errors and skipped. Raises OSError naming the path when path is missing, is\n"
	 "not a directory or is a symlink. threads=0: 4 per online CPU, at most 16."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_walk(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
