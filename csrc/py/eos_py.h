/* Shared pieces of the Python binding. Each concern lives in its own py_<concern>.c and
 * exposes eos_py_add_<concern>(module), called from module.c. */
#ifndef EOS_PY_H
#define EOS_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

/* eos.Error: an OSError that carries the library's message, its path (filename) and, where
 * an operation has two, the second path (filename2), as libbtrfsutil's binding does. Raised
 * as the subclass of both eos.Error and the OSError subclass for the errno
 * (eos.FileNotFoundError is an eos.Error and a FileNotFoundError). */
int eos_py_errors_init(PyObject *m);

/* Raise that error for e (errno, message, path, path2); returns NULL for
 * "return eos_py_raise(&e);". */
PyObject *eos_py_raise(const struct eos_err *e);

/* Release the GIL around call (an int expression over C values only), drop the argument
 * objects a1, a2 (NULL allowed), and when the result r is negative raise e and return NULL
 * from the calling function. */
#define EOS_PY_CALL(r, e, a1, a2, call)          \
	do {                                      \
		Py_BEGIN_ALLOW_THREADS                \
		(r) = (call);                         \
		Py_END_ALLOW_THREADS                  \
		Py_XDECREF(a1);                       \
		Py_XDECREF(a2);                       \
		if ((r) < 0)                          \
			return eos_py_raise(e);       \
	} while (0)

/* The same for a call followed by C cleanup that also runs without the GIL (closing a
 * connection): r = call; then; and raise e when r is negative. */
#define EOS_PY_CALL_THEN(r, e, call, then)       \
	do {                                      \
		Py_BEGIN_ALLOW_THREADS                \
		(r) = (call);                         \
		then;                                 \
		Py_END_ALLOW_THREADS                  \
		if ((r) < 0)                          \
			return eos_py_raise(e);       \
	} while (0)

/* Struct to dict, by table: each field's key, C type and offset in the struct. The
 * EOS_PY_F/FK macros check at compile time that the member has the C type its entry reads. */
enum eos_py_type {
	EOS_PY_U64,      /* uint64_t */
	EOS_PY_U32,      /* uint32_t */
	EOS_PY_UINT,     /* unsigned */
	EOS_PY_INT,      /* int */
	EOS_PY_I64,      /* int64_t */
	EOS_PY_LONG,     /* long */
	EOS_PY_LLONG,    /* long long */
	EOS_PY_SIZE,     /* size_t */
	EOS_PY_BOOL,     /* int, as True/False */
	EOS_PY_CBOOL,    /* bool, as True/False */
	EOS_PY_DOUBLE,   /* double */
	EOS_PY_STR,      /* char[]: text, surrogateescape */
	EOS_PY_FSSTR,    /* char[]: a path or file name, os.fsdecode */
	EOS_PY_STR0,     /* char[]: text, None when empty */
	EOS_PY_FSSTR0,   /* char[]: a path, None when empty */
	EOS_PY_STRP,     /* const char *: text, None when NULL */
	EOS_PY_FSSTRP,   /* const char *: a path, None when NULL */
	EOS_PY_LATER,    /* no member: None, for the caller to set after (keeps the key's place) */
};

struct eos_py_field {
	const char *key;
	enum eos_py_type type;
	size_t offset;
};

/* Whether the C type T is what an entry of each kind reads. */
#define EOS_PY_IS(T, C) __builtin_types_compatible_p(T, C)
#define EOS_PY_OK_U64(T) EOS_PY_IS(T, uint64_t)
#define EOS_PY_OK_U32(T) EOS_PY_IS(T, uint32_t)
#define EOS_PY_OK_UINT(T) EOS_PY_IS(T, unsigned)
#define EOS_PY_OK_INT(T) EOS_PY_IS(T, int)
#define EOS_PY_OK_I64(T) EOS_PY_IS(T, int64_t)
#define EOS_PY_OK_LONG(T) EOS_PY_IS(T, long)
#define EOS_PY_OK_LLONG(T) EOS_PY_IS(T, long long)
#define EOS_PY_OK_SIZE(T) EOS_PY_IS(T, size_t)
#define EOS_PY_OK_BOOL(T) EOS_PY_IS(T, int)
#define EOS_PY_OK_CBOOL(T) EOS_PY_IS(T, _Bool)
#define EOS_PY_OK_DOUBLE(T) EOS_PY_IS(T, double)
#define EOS_PY_OK_STR(T) EOS_PY_IS(T, char[])
#define EOS_PY_OK_FSSTR(T) EOS_PY_IS(T, char[])
#define EOS_PY_OK_STR0(T) EOS_PY_IS(T, char[])
#define EOS_PY_OK_FSSTR0(T) EOS_PY_IS(T, char[])
#define EOS_PY_OK_STRP(T) (EOS_PY_IS(T, char *) || EOS_PY_IS(T, const char *))
#define EOS_PY_OK_FSSTRP(T) EOS_PY_OK_STRP(T)

/* offsetof(st, member), or a compile error (negative array size) when member's type is not
 * the one an entry of kind type reads. */
#define EOS_PY_OFF(st, member, type) \
	(offsetof(st, member) + \
	 0 * sizeof(char[EOS_PY_OK_##type(__typeof__(((st *)0)->member)) ? 1 : -1]))

/* A field named as its member, or under another key. */
#define EOS_PY_F(st, member, type) {#member, EOS_PY_##type, EOS_PY_OFF(st, member, type)}
#define EOS_PY_FK(key, st, member, type) {key, EOS_PY_##type, EOS_PY_OFF(st, member, type)}
/* A key whose value is not a member: set by the caller after the table (a dict keeps a key's
 * first place when its value is replaced, so the table still gives the order). */
#define EOS_PY_FLATER(key) {key, EOS_PY_LATER, 0}

/* Set every field of table on d from the struct at obj; -1 with an exception on error. */
int eos_py_set_fields(PyObject *d, const void *obj, const struct eos_py_field *table, size_t n);
#define EOS_PY_SET_FIELDS(d, obj, table) \
	eos_py_set_fields((d), (obj), (table), sizeof(table) / sizeof((table)[0]))

/* A new dict of the table's fields; NULL with an exception on error. */
PyObject *eos_py_fields_dict(const void *obj, const struct eos_py_field *table, size_t n);
#define EOS_PY_DICT(obj, table) eos_py_fields_dict((obj), (table), sizeof(table) / sizeof((table)[0]))

/* A new list of n dicts, one per struct of the array at v (each stride bytes apart). */
PyObject *eos_py_fields_list(const void *v, size_t stride, size_t n, const struct eos_py_field *table,
			     size_t nt);
#define EOS_PY_LIST(v, n, table) \
	eos_py_fields_list((v), sizeof(*(v)), (n), (table), sizeof(table) / sizeof((table)[0]))

/* Raise OSError(EINVAL) with fmt, whose one %s is repr(obj): bad input quoted as given.
 * Returns NULL. */
PyObject *eos_py_einval(const char *fmt, PyObject *obj);

/* PyArg "O&" converter: str, bytes or os.PathLike to a bytes object (like
 * PyUnicode_FSConverter, which it wraps); use PyBytes_AS_STRING on the result. */
int eos_py_path(PyObject *o, void *result);

/* Build a str from file system bytes without failing on non-UTF-8 names
 * (surrogateescape, as os.fsdecode does). */
PyObject *eos_py_fsstr(const char *s);

/* A list of the n strings of the array v[n][stride] (char arrays), each as eos_py_fsstr. */
PyObject *eos_py_fsstr_list(const char *v, size_t stride, size_t n);
#define EOS_PY_FSSTR_LIST(arr, n) eos_py_fsstr_list((arr)[0], sizeof((arr)[0]), (n))

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
int eos_py_add_lvm(PyObject *m);
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
int eos_py_add_lvm_ensure(PyObject *m);

#endif
