/* Exact tree copy and verification (csrc/lib/core/copy.c). */
#include "eos_py.h"
#include "eos/core/copy.h"

/* Also used by py_convert.c. */
PyObject *eos_py_copy_stats(const struct eos_copy_stats *s);

#define C(m) EOS_PY_F(struct eos_copy_stats, m, U64)
static const struct eos_py_field stats_fields[] = {
	C(files), C(dirs), C(symlinks), C(hardlinks), C(specials), C(xattrs), C(bytes), C(data_bytes),
};
#undef C

PyObject *eos_py_copy_stats(const struct eos_copy_stats *s)
{
	return EOS_PY_DICT(s, stats_fields);
}

typedef int (*tree_fn)(const char *, const char *, struct eos_copy_stats *, struct eos_err *);

static PyObject *run_tree(PyObject *args, const char *fmt, tree_fn fn)
{
	PyObject *src = NULL, *dst = NULL;
	if (!PyArg_ParseTuple(args, fmt, eos_py_path, &src, eos_py_path, &dst))
		return NULL;
	struct eos_copy_stats st;
	struct eos_err e;
	eos_err_clear(&e);
	int r;
	EOS_PY_CALL(r, &e, src, dst, fn(PyBytes_AS_STRING(src), PyBytes_AS_STRING(dst), &st, &e));
	return eos_py_copy_stats(&st);
}

static PyObject *py_copy_tree(PyObject *self, PyObject *args)
{
	(void)self;
	return run_tree(args, "O&O&:copy_tree", eos_copy_tree);
}

static PyObject *py_copy_verify(PyObject *self, PyObject *args)
{
	(void)self;
	return run_tree(args, "O&O&:copy_verify", eos_copy_verify);
}

static PyMethodDef methods[] = {
	{"copy_tree", py_copy_tree, METH_VARARGS,
	 "copy_tree(src, dst) -> stats\n\nCopy the contents of src into the empty directory dst exactly "
	 "(owners, modes, times, xattrs/ACLs, hard links, sparse files, symlinks, special files)."},
	{"copy_verify", py_copy_verify, METH_VARARGS,
	 "copy_verify(src, dst) -> stats\n\nCompare two trees: metadata, xattrs, hard links and contents "
	 "byte for byte; raises OSError(EIO) naming the first difference."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_copy(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
