/* Shared pieces of the Python binding. Each concern lives in its own py_<concern>.c and
 * exposes eos_py_add_<concern>(module), called from module.c. */
#ifndef EOS_PY_H
#define EOS_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "eos/core/err.h"

/* Raise the OSError subclass matching e->code (FileNotFoundError, PermissionError, ...)
 * with errno, message and path; returns NULL for "return eos_py_raise(&e);". */
PyObject *eos_py_raise(const struct eos_err *e);

/* Raise OSError(EINVAL) with fmt, whose one %s is repr(obj): bad input quoted as given.
 * Returns NULL. */
PyObject *eos_py_einval(const char *fmt, PyObject *obj);

/* PyArg "O&" converter: str, bytes or os.PathLike to a bytes object (like
 * PyUnicode_FSConverter, which it wraps); use PyBytes_AS_STRING on the result. */
int eos_py_path(PyObject *o, void *result);

/* Build a str from file system bytes without failing on non-UTF-8 names
 * (surrogateescape, as os.fsdecode does). */
PyObject *eos_py_fsstr(const char *s);

/* Dict helpers that steal the value reference; return -1 on error. */
int eos_py_set(PyObject *d, const char *key, PyObject *value);
int eos_py_set_u64(PyObject *d, const char *key, unsigned long long v);
int eos_py_set_i64(PyObject *d, const char *key, long long v);
int eos_py_set_str(PyObject *d, const char *key, const char *s);     /* NULL -> None */
int eos_py_set_fsstr(PyObject *d, const char *key, const char *s);   /* NULL -> None */
int eos_py_set_bool(PyObject *d, const char *key, int v);
int eos_py_set_double(PyObject *d, const char *key, double v);

int eos_py_add_size(PyObject *m);
int eos_py_add_spawn(PyObject *m);
int eos_py_add_ceph(PyObject *m);
int eos_py_add_probe(PyObject *m);
int eos_py_add_walk(PyObject *m);
int eos_py_add_analyze(PyObject *m);
int eos_py_add_cleanup(PyObject *m);
int eos_py_add_expand(PyObject *m);
int eos_py_add_roles(PyObject *m);
int eos_py_add_health(PyObject *m);
int eos_py_add_btrfs(PyObject *m);
int eos_py_add_provision(PyObject *m);
int eos_py_add_copy(PyObject *m);
int eos_py_add_convert(PyObject *m);

#endif
