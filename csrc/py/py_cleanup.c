/* Binding for the safe cleanup: plan and apply. */
#include "eos_py.h"
#include "eos/ops/cleanup.h"

#include <time.h>

#define I(m, t) EOS_PY_F(struct eos_cleanup_item, m, t)
static const struct eos_py_field item_fields[] = {
	I(path, FSSTRP), I(bytes, U64), I(dev, U64), I(ino, U64), I(rule, SIZE),
};
#undef I

#define P(m, t) EOS_PY_F(struct eos_cleanup_plan, m, t)
static const struct eos_py_field plan_fields[] = {
	EOS_PY_FLATER("items"), P(bytes, U64), P(skipped_open, SIZE), P(skipped_symlinks, SIZE),
	P(skipped_mounts, SIZE), P(skipped_links, SIZE),
};
#undef P

#define A(m, t) EOS_PY_F(struct eos_cleanup_result, m, t)
static const struct eos_py_field apply_fields[] = {
	A(removed, SIZE), A(removed_bytes, U64), A(changed, SIZE), A(missing, SIZE), A(open_now, SIZE),
};
#undef A

#define Z(m, t) EOS_PY_F(struct eos_compress_result, m, t)
static const struct eos_py_field compress_fields[] = {
	Z(compressed, SIZE), Z(bytes_before, U64), Z(bytes_after, U64), Z(changed, SIZE),
	Z(missing, SIZE), Z(open_now, SIZE), Z(exists, SIZE),
};
#undef Z

/* The sequence seq as *fast (PySequence_Fast, what names it in the TypeError) and a zeroed
 * array of *n elements of size elem for it (PyMem_Free it); NULL with an exception. */
static void *seq_array(PyObject *seq, const char *what, size_t elem, PyObject **fast, Py_ssize_t *n)
{
	*fast = PySequence_Fast(seq, what);
	if (!*fast)
		return NULL;
	*n = PySequence_Fast_GET_SIZE(*fast);
	void *v = PyMem_Calloc(*n ? (size_t)*n : 1, elem);
	if (!v) {
		Py_CLEAR(*fast);
		PyErr_NoMemory();
	}
	return v;
}

/* The str o encoded (eos_py_path), kept alive by keep; NULL with an exception. */
static char *kept_path(PyObject *o, PyObject *keep)
{
	PyObject *b = NULL;
	if (!eos_py_path(o, &b) || PyList_Append(keep, b)) {
		Py_XDECREF(b);
		return NULL;
	}
	Py_DECREF(b);
	return PyBytes_AS_STRING(b);
}

/* rules: [{"path": str, "match": str, "older_than_days": int, "recursive": bool}, ...].
 * keep owns the encoded strings. */
static int rules_arg(PyObject *rules, struct eos_cleanup_rule **out, Py_ssize_t *n, PyObject *keep)
{
	*out = NULL;
	if (!PyList_Check(rules) && !PyTuple_Check(rules)) {
		eos_py_einval("eos:storage:cleanup must be a list of {path, match, older_than_days, "
		       "recursive}, got %s", rules);
		return -1;
	}
	PyObject *fast;
	struct eos_cleanup_rule *v = seq_array(rules, "rules", sizeof(*v), &fast, n);
	if (!v)
		return -1;
	for (Py_ssize_t i = 0; i < *n; i++) {
		PyObject *d = PySequence_Fast_GET_ITEM(fast, i), *o;
		v[i].recursive = 1;
		if (!PyDict_Check(d)) {
			eos_py_einval("eos:storage:cleanup: each entry is a mapping with a path, got %s", d);
			goto fail;
		}
		Py_ssize_t pos = 0;
		PyObject *k;
		while (PyDict_Next(d, &pos, &k, &o)) {
			const char *key = PyUnicode_Check(k) ? PyUnicode_AsUTF8(k) : NULL;
			if (!key || (strcmp(key, "path") && strcmp(key, "match") &&
				     strcmp(key, "older_than_days") && strcmp(key, "recursive"))) {
				PyErr_Clear();
				eos_py_einval("eos:storage:cleanup: unknown key %s (expected path, match, "
				       "older_than_days, recursive)", k);
				goto fail;
			}
		}
		o = PyDict_GetItemString(d, "path");
		if (!o || !PyUnicode_Check(o)) {
			eos_py_einval("eos:storage:cleanup: an entry needs a path (a string): %s", d);
			goto fail;
		}
		if (!(v[i].path = kept_path(o, keep)))
			goto fail;
		o = PyDict_GetItemString(d, "match");
		if (o && o != Py_None) {
			if (!PyUnicode_Check(o)) {
				eos_py_einval("eos:storage:cleanup: match must be a file name pattern, got %s", o);
				goto fail;
			}
			if (!(v[i].match = kept_path(o, keep)))
				goto fail;
		}
		o = PyDict_GetItemString(d, "older_than_days");
		if (o && o != Py_None) {
			long days = PyLong_Check(o) && !PyBool_Check(o) ? PyLong_AsLong(o) : -1;
			if (days < 0 || days > 36500) {
				PyErr_Clear();
				eos_py_einval("eos:storage:cleanup: older_than_days must be a whole number of days "
				       "0..36500, got %s", o);
				goto fail;
			}
			v[i].older_than_days = (unsigned)days;
		}
		o = PyDict_GetItemString(d, "recursive");
		if (o && o != Py_None) {
			if (!PyBool_Check(o)) {
				eos_py_einval("eos:storage:cleanup: recursive must be true or false, got %s", o);
				goto fail;
			}
			v[i].recursive = o == Py_True;
		}
	}
	Py_DECREF(fast);
	*out = v;
	return 0;
fail:
	Py_DECREF(fast);
	PyMem_Free(v);
	return -1;
}

/* allow: None or [str] (pillar eos:storage:cleanup_allow), into a NULL-terminated array. */
static int allow_arg(PyObject *allow, const char ***out, PyObject *keep)
{
	*out = NULL;
	if (allow == Py_None)
		return 0;
	if (!PyList_Check(allow) && !PyTuple_Check(allow)) {
		eos_py_einval("eos:storage:cleanup_allow must be a list of directory paths, got %s", allow);
		return -1;
	}
	Py_ssize_t n = PySequence_Size(allow);
	const char **v = PyMem_Calloc((size_t)n + 1, sizeof(*v));
	if (!v) {
		PyErr_NoMemory();
		return -1;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *o = PySequence_GetItem(allow, i), *b = NULL;
		if (!o || !PyUnicode_Check(o) || !eos_py_path(o, &b) || PyList_Append(keep, b)) {
			if (o && !PyUnicode_Check(o))
				eos_py_einval("eos:storage:cleanup_allow: each entry is a directory path, "
					      "got %s", o);
			Py_XDECREF(o);
			Py_XDECREF(b);
			PyMem_Free(v);
			return -1;
		}
		Py_DECREF(o);
		Py_DECREF(b);
		v[i] = PyBytes_AS_STRING(b);
	}
	*out = v;
	return 0;
}

static PyObject *py_cleanup_plan(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"rules", "now", "allow", NULL};
	PyObject *rules, *allow_o = Py_None, *keep = NULL, *res = NULL, *items = NULL;
	double now = -1;
	struct eos_cleanup_rule *v = NULL;
	const char **allow = NULL;
	Py_ssize_t n = 0;
	struct eos_cleanup_plan p = {0};
	struct eos_err e;
	int rc;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|dO:cleanup_plan", kwlist, &rules, &now, &allow_o))
		return NULL;
	keep = PyList_New(0);
	if (!keep || rules_arg(rules, &v, &n, keep) || allow_arg(allow_o, &allow, keep))
		goto out;
	int64_t t = now >= 0 ? (int64_t)now : (int64_t)time(NULL);
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	rc = eos_cleanup_plan(v, (size_t)n, allow, t, &p, &e);
	Py_END_ALLOW_THREADS
	if (rc) {
		eos_py_raise(&e);
		goto out;
	}
	items = EOS_PY_LIST(p.v, p.n, item_fields);
	if (!items)
		goto out;
	res = EOS_PY_DICT(&p, plan_fields);
	if (res && eos_py_set(res, "items", Py_NewRef(items)))
		Py_CLEAR(res);
out:
	eos_cleanup_plan_free(&p);
	PyMem_Free(v);
	PyMem_Free(allow);
	Py_XDECREF(items);
	Py_XDECREF(keep);
	return res;
}

/* The plan's items back from Python: path, dev, ino (keep owns the encoded paths). */
static int items_arg(PyObject *arg, struct eos_cleanup_item **out, Py_ssize_t *n, PyObject *keep)
{
	PyObject *fast;
	*out = NULL;
	struct eos_cleanup_item *v = seq_array(arg, "expected the plan's items", sizeof(*v), &fast, n);
	if (!v)
		return -1;
	for (Py_ssize_t i = 0; i < *n; i++) {
		PyObject *d = PySequence_Fast_GET_ITEM(fast, i);
		PyObject *path = PyDict_Check(d) ? PyDict_GetItemString(d, "path") : NULL;
		PyObject *dev = PyDict_Check(d) ? PyDict_GetItemString(d, "dev") : NULL;
		PyObject *ino = PyDict_Check(d) ? PyDict_GetItemString(d, "ino") : NULL;
		if (!path || !dev || !ino || !PyLong_Check(dev) || !PyLong_Check(ino)) {
			eos_py_einval("a plan item has path, dev and ino as cleanup_plan gives them: %s", d);
			goto fail;
		}
		if (!(v[i].path = kept_path(path, keep)))
			goto fail;
		v[i].dev = PyLong_AsUnsignedLongLong(dev);
		v[i].ino = PyLong_AsUnsignedLongLong(ino);
		if (PyErr_Occurred())
			goto fail;
	}
	Py_DECREF(fast);
	*out = v;
	return 0;
fail:
	Py_DECREF(fast);
	PyMem_Free(v);
	return -1;
}

/* cleanup_apply and compress_apply: the same items in, each its own counts out. */
static PyObject *apply(PyObject *arg, int compress)
{
	PyObject *keep = PyList_New(0), *res = NULL;
	struct eos_cleanup_item *v = NULL;
	Py_ssize_t n = 0;
	struct eos_cleanup_result c;
	struct eos_compress_result z;
	struct eos_err e;
	int rc;
	if (!keep || items_arg(arg, &v, &n, keep))
		goto out;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	rc = compress ? eos_compress_apply(v, (size_t)n, &z, &e) : eos_cleanup_apply(v, (size_t)n, &c, &e);
	Py_END_ALLOW_THREADS
	if (rc) {
		eos_py_raise(&e);
		goto out;
	}
	res = compress ? EOS_PY_DICT(&z, compress_fields) : EOS_PY_DICT(&c, apply_fields);
out:
	PyMem_Free(v);
	Py_XDECREF(keep);
	return res;
}

static PyObject *py_cleanup_apply(PyObject *self, PyObject *arg)
{
	(void)self;
	return apply(arg, 0);
}

static PyObject *py_compress_apply(PyObject *self, PyObject *arg)
{
	(void)self;
	return apply(arg, 1);
}

static PyMethodDef methods[] = {
	{"cleanup_plan", (PyCFunction)(void (*)(void))py_cleanup_plan, METH_VARARGS | METH_KEYWORDS,
	 "cleanup_plan(rules, now=None, allow=None) -> {'items': [{'path', 'bytes', 'dev', 'ino',\n"
	 "'rule'}], 'bytes', 'skipped_open', 'skipped_symlinks', 'skipped_mounts', 'skipped_links'}\n\n"
	 "The regular files the rules select ([{'path', 'match', 'older_than_days', 'recursive'}]),\n"
	 "sorted by path. Never follows symlinks, never leaves a rule's filesystem, skips files open\n"
	 "for writing and files with other hard links. Bad rules (a path through a symlink, '/', a\n"
	 "system tree such as /usr or /home or below it, no age and no pattern) are refused; allow\n"
	 "lists exact directories below system trees that may be cleaned nonetheless."},
	{"cleanup_apply", py_cleanup_apply, METH_O,
	 "cleanup_apply(items) -> {'removed', 'removed_bytes', 'changed', 'missing', 'open_now'}\n\n"
	 "Remove the plan's files, each only if it is still the planned one (device and inode)."},
	{"compress_apply", py_compress_apply, METH_O,
	 "compress_apply(items) -> {'compressed', 'bytes_before', 'bytes_after', 'changed', 'missing',\n"
	 "'open_now', 'exists'}\n\n"
	 "gzip each planned file F to F.gz (mode, owner, times kept; never replacing an existing\n"
	 "F.gz) and remove F, each only if it is still the planned file and not open for writing."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_cleanup(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
