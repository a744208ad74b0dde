/* top_consumers: the tree walker (csrc/lib/ops/walk.c) with the GIL released during the walk. */
#include "eos_py.h"
#include "eos/ops/walk.h"

static PyObject *item_dict(const struct eos_walk_item *it, int is_dir)
{
	PyObject *d = PyDict_New();
	if (!d)
		return NULL;
	if (eos_py_set_fsstr(d, "path", it->path) || eos_py_set_u64(d, "bytes", it->bytes) ||
	    eos_py_set_u64(d, "apparent_bytes", it->apparent) ||
	    eos_py_set_u64(d, "depth", it->depth) ||
	    (is_dir && eos_py_set_u64(d, "files", it->files))) {
		Py_DECREF(d);
		return NULL;
	}
	return d;
}

static PyObject *items_list(const struct eos_walk_item *v, size_t n, int is_dir)
{
	PyObject *l = PyList_New((Py_ssize_t)n);
	if (!l)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		PyObject *d = item_dict(&v[i], is_dir);
		if (!d) {
			Py_DECREF(l);
			return NULL;
		}
		PyList_SET_ITEM(l, (Py_ssize_t)i, d);
	}
	return l;
}

static PyObject *errors_list(const struct eos_walk_result *r)
{
	PyObject *l = PyList_New((Py_ssize_t)r->n_errors);
	if (!l)
		return NULL;
	for (size_t i = 0; i < r->n_errors; i++) {
		PyObject *d = PyDict_New();
		if (!d || eos_py_set_fsstr(d, "path", r->errors[i].path) ||
		    eos_py_set_i64(d, "errno", r->errors[i].code) ||
		    eos_py_set_str(d, "error", r->errors[i].msg)) {
			Py_XDECREF(d);
			Py_DECREF(l);
			return NULL;
		}
		PyList_SET_ITEM(l, (Py_ssize_t)i, d);
	}
	return l;
}

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
	result = PyDict_New();
	if (!result)
		goto out_free;
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (eos_py_set(result, "path", PyUnicode_DecodeFSDefaultAndSize(path, (Py_ssize_t)len)) ||
	    eos_py_set_u64(result, "bytes", r.bytes) ||
	    eos_py_set_u64(result, "apparent_bytes", r.apparent) ||
	    eos_py_set_u64(result, "files", r.files) || eos_py_set_u64(result, "dirs", r.dirs) ||
	    eos_py_set(result, "top_dirs", items_list(r.top_dirs, r.n_top_dirs, 1)) ||
	    eos_py_set(result, "top_files", items_list(r.top_files, r.n_top_files, 0)) ||
	    eos_py_set(result, "errors", errors_list(&r)) ||
	    eos_py_set_u64(result, "errors_total", r.errors_total)) {
		Py_CLEAR(result);
	}
out_free:
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
