/* Binding for thresholds, growth samples and the storage analysis. */
#include "eos_py.h"
#include "eos/ops/analyze.h"
#include "eos/core/growth.h"
#include "eos/core/thresholds.h"
#include "eos/ops/watch.h"

static double round2(double x)
{
	return (double)(long long)(x * 100.0 + (x < 0 ? -0.5 : 0.5)) / 100.0;
}

/* eos_py_path that lets None through as "not given". */
static int opt_path(PyObject *o, void *result)
{
	if (o == Py_None) {
		*(PyObject **)result = NULL;
		return 1;
	}
	return eos_py_path(o, result);
}

/* node_count: a positive int (not a bool); an integer-valued string as pillar may hold it. */
static int node_count_arg(PyObject *o, long *out)
{
	if (!o || o == Py_None) {
		*out = 1;
		return 0;
	}
	if (PyLong_Check(o) && !PyBool_Check(o)) {
		int overflow = 0;
		long v = PyLong_AsLongAndOverflow(o, &overflow);
		if (v == -1 && PyErr_Occurred())
			return -1;
		if (!overflow && v >= 1) {
			*out = v;
			return 0;
		}
	}
	eos_py_einval("eos:cluster:node_count must be a whole number >= 1, got %s", o);
	return -1;
}

/* The tier's defaults for node_count merged with a dict of overrides, into t. */
static int thresholds_arg(PyObject *node_count, PyObject *ov, struct eos_thresholds *t)
{
	long nodes;
	struct eos_err e;
	eos_err_clear(&e);
	if (node_count_arg(node_count, &nodes))
		return -1;
	if (eos_thresholds_for_nodes(nodes, t, &e)) {
		eos_py_raise(&e);
		return -1;
	}
	if (!ov || ov == Py_None)
		return 0;
	if (!PyDict_Check(ov)) {
		eos_py_einval("eos:storage:thresholds must be a mapping of level to percent, got %s", ov);
		return -1;
	}
	Py_ssize_t n = PyDict_Size(ov), pos = 0, i = 0;
	struct eos_threshold_override *v = PyMem_Calloc(n ? (size_t)n : 1, sizeof(*v));
	PyObject **keep = PyMem_Calloc(n ? (size_t)n : 1, sizeof(*keep));
	PyObject *key, *val;
	int r = -1;
	if (!v || !keep) {
		PyErr_NoMemory();
		goto out;
	}
	while (PyDict_Next(ov, &pos, &key, &val)) {
		if (!PyUnicode_Check(key)) {
			eos_py_einval("eos:storage:thresholds: keys must be level names, got %s", key);
			goto out;
		}
		int number = (PyLong_Check(val) || PyFloat_Check(val)) && !PyBool_Check(val);
		/* Numbers as written; anything else quoted by repr, so 'high' reads as a string. */
		keep[i] = number ? PyObject_Str(val) : PyObject_Repr(val);
		if (!keep[i])
			goto out;
		v[i].key = PyUnicode_AsUTF8(key);
		v[i].text = PyUnicode_AsUTF8(keep[i]);
		if (!v[i].key || !v[i].text)
			goto out;
		v[i].is_number = number;
		if (number) {
			v[i].value = PyFloat_AsDouble(val);
			if (v[i].value == -1.0 && PyErr_Occurred()) {
				PyErr_Clear();
				v[i].is_number = 0;  /* an int too large for a double */
			}
		}
		i++;
	}
	if (eos_thresholds_apply(t, v, (size_t)i, &e)) {
		eos_py_raise(&e);
		goto out;
	}
	r = 0;
out:
	if (keep)
		for (Py_ssize_t k = 0; k < n; k++)
			Py_XDECREF(keep[k]);
	PyMem_Free(keep);
	PyMem_Free(v);
	return r;
}

static PyObject *thresholds_dict(const struct eos_thresholds *t)
{
	PyObject *d = PyDict_New();
	if (!d)
		return NULL;
	if (eos_py_set_i64(d, "node_count", t->node_count) ||
	    eos_py_set_str(d, "tier", eos_tier_name(t->tier)))
		goto fail;
	for (int l = EOS_LEVEL_WARNING; l < EOS_LEVEL_COUNT; l++)
		if (eos_py_set_double(d, eos_level_name((enum eos_level)l), t->pct[l]))
			goto fail;
	if (eos_py_set_u64(d, "check_interval", t->check_interval) ||
	    eos_py_set_double(d, "hysteresis", t->hysteresis))
		goto fail;
	return d;
fail:
	Py_DECREF(d);
	return NULL;
}

static PyObject *py_thresholds(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"node_count", "thresholds", NULL};
	PyObject *nodes = NULL, *ov = NULL;
	struct eos_thresholds t;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO:thresholds", kwlist, &nodes, &ov))
		return NULL;
	if (thresholds_arg(nodes, ov, &t))
		return NULL;
	return thresholds_dict(&t);
}

static int level_arg(PyObject *o, enum eos_level *out)
{
	if (o == NULL || o == Py_None) {
		*out = EOS_LEVEL_COUNT;  /* no previous level */
		return 0;
	}
	const char *s = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
	struct eos_err e;
	eos_err_clear(&e);
	if (!s) {
		if (!PyErr_Occurred())
			eos_py_einval("a level name is a string, got %s", o);
		return -1;
	}
	if (eos_level_parse(s, out, &e)) {
		eos_py_raise(&e);
		return -1;
	}
	return 0;
}

static PyObject *py_level(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"pct", "node_count", "thresholds", "previous", "band", NULL};
	double pct, band = -1;
	PyObject *nodes = NULL, *ov = NULL, *prev = NULL, *bando = NULL;
	struct eos_thresholds t;
	enum eos_level p, l;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "d|OOOO:level", kwlist, &pct, &nodes, &ov, &prev,
					 &bando))
		return NULL;
	if (thresholds_arg(nodes, ov, &t) || level_arg(prev, &p))
		return NULL;
	if (bando && bando != Py_None) {
		band = PyFloat_AsDouble(bando);
		if (band == -1.0 && PyErr_Occurred())
			return NULL;
		if (!(band >= 0 && band <= 50))
			return eos_py_einval("hysteresis band must be 0..50 points, got %s", bando);
	}
	l = p == EOS_LEVEL_COUNT ? eos_level_eval(&t, pct) : eos_level_eval_hyst(&t, pct, p, band);
	return PyUnicode_FromString(eos_level_name(l));
}

static PyObject *growth_dict(const struct eos_growth *g)
{
	PyObject *d = PyDict_New();
	if (!d)
		return NULL;
	if (eos_py_set_u64(d, "samples", g->samples) ||
	    eos_py_set_double(d, "span_seconds", round2(g->span)) ||
	    eos_py_set(d, "bytes_per_hour", g->has_rate ? PyFloat_FromDouble(round2(g->bytes_per_hour))
							: Py_NewRef(Py_None)) ||
	    eos_py_set(d, "seconds_to_full", g->has_eta ? PyLong_FromDouble(g->seconds_to_full)
							: Py_NewRef(Py_None))) {
		Py_DECREF(d);
		return NULL;
	}
	return d;
}

static PyObject *py_growth(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"samples", "avail", "window", NULL};
	PyObject *seq;
	unsigned long long avail = 0;
	double window = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|Kd:growth", kwlist, &seq, &avail, &window))
		return NULL;
	PyObject *fast = PySequence_Fast(seq, "samples must be a sequence of (time, used_bytes)");
	if (!fast)
		return NULL;
	Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
	struct eos_sample *v = PyMem_Calloc(n ? (size_t)n : 1, sizeof(*v));
	if (!v) {
		Py_DECREF(fast);
		return PyErr_NoMemory();
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "dK:sample", &v[i].t, &v[i].used)) {
			PyMem_Free(v);
			Py_DECREF(fast);
			return NULL;
		}
	}
	struct eos_growth g;
	eos_growth_compute(v, (size_t)n, window, avail, &g);
	PyMem_Free(v);
	Py_DECREF(fast);
	return growth_dict(&g);
}

static PyObject *py_record_sample(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"cachedir", "target", "used", "size", "time", NULL};
	PyObject *cachedir = NULL, *target = NULL;
	struct eos_sample s;
	struct eos_err e;
	int r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&KKd:record_sample", kwlist, eos_py_path,
					 &cachedir, eos_py_path, &target, &s.used, &s.size, &s.t))
		goto fail;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	r = eos_samples_append(PyBytes_AS_STRING(cachedir), PyBytes_AS_STRING(target), &s, &e);
	Py_END_ALLOW_THREADS
	Py_DECREF(cachedir);
	Py_DECREF(target);
	if (r)
		return eos_py_raise(&e);
	Py_RETURN_NONE;
fail:
	Py_XDECREF(cachedir);
	Py_XDECREF(target);
	return NULL;
}

static PyObject *xpath_dict(const struct eos_xpath *x)
{
	static const struct eos_py_field fields[] = {
		EOS_PY_F(struct eos_xpath, device, FSSTR), EOS_PY_F(struct eos_xpath, target, FSSTR),
		EOS_PY_F(struct eos_xpath, available, U64),
	};
	PyObject *d = EOS_PY_DICT(x, fields);
	if (!d)
		return NULL;
	if (eos_py_set_str(d, "kind", eos_xpath_kind_name(x->kind)) ||
	    (x->kind == EOS_XPATH_BTRFS_DEVICE && eos_py_set_u64(d, "devid", x->devid))) {
		Py_DECREF(d);
		return NULL;
	}
	return d;
}

static PyObject *py_lv_expansion_paths(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"vg", "lv", "lvm_config", NULL};
	const char *vg, *lv, *config = NULL;
	struct eos_xpath *v = NULL;
	size_t n = 0;
	struct eos_err e;
	int r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "ss|z:lv_expansion_paths", kwlist, &vg, &lv, &config))
		return NULL;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	r = eos_xpaths_for_lv(vg, lv, config, &v, &n, &e);
	Py_END_ALLOW_THREADS
	if (r)
		return eos_py_raise(&e);
	PyObject *list = PyList_New((Py_ssize_t)n);
	for (size_t i = 0; list && i < n; i++) {
		PyObject *x = xpath_dict(&v[i]);
		if (!x) {
			Py_CLEAR(list);
			break;
		}
		PyList_SET_ITEM(list, (Py_ssize_t)i, x);
	}
	free(v);
	return list;
}

#define BS(m) EOS_PY_F(struct eos_btrfs_space, m, U64)
static const struct eos_py_field btrfs_fields[] = {
	BS(device_bytes), BS(allocated), BS(unallocated), BS(data_total), BS(data_used),
	BS(metadata_total), BS(metadata_used), BS(system_total), BS(system_used),
};
#undef BS

static PyObject *btrfs_dict(const struct eos_btrfs_space *b)
{
	PyObject *d = EOS_PY_DICT(b, btrfs_fields);
	if (!d)
		return NULL;
	if (eos_py_set_double(d, "data_pct", round2(b->data_pct)) ||
	    eos_py_set_double(d, "metadata_pct", round2(b->metadata_pct))) {
		Py_DECREF(d);
		return NULL;
	}
	return d;
}

/* The usage figures shared by analyze and watch. */
static const struct eos_py_field usage_fields[] = {
	EOS_PY_F(struct eos_usage, size, U64), EOS_PY_F(struct eos_usage, used, U64),
	EOS_PY_F(struct eos_usage, free, U64), EOS_PY_F(struct eos_usage, avail, U64),
	EOS_PY_FK("inodes", struct eos_usage, files, U64),
	EOS_PY_FK("inodes_used", struct eos_usage, files_used, U64),
	EOS_PY_FK("inodes_free", struct eos_usage, files_free, U64),
};

static int usage_into(PyObject *d, const struct eos_usage_eval *ue)
{
	return EOS_PY_SET_FIELDS(d, &ue->usage, usage_fields) ||
	       eos_py_set_double(d, "used_pct", round2(ue->used_pct)) ||
	       eos_py_set(d, "inodes_pct", ue->has_inodes ? PyFloat_FromDouble(round2(ue->inodes_pct))
							  : Py_NewRef(Py_None)) ||
	       eos_py_set(d, "btrfs", ue->has_btrfs ? btrfs_dict(&ue->btrfs) : Py_NewRef(Py_None)) ||
	       eos_py_set_double(d, "bytes_pct", round2(ue->bytes_pct)) ? -1 : 0;
}

static PyObject *mount_dict(const struct eos_mount_report *r)
{
	PyObject *d = PyDict_New(), *paths = NULL, *rec = NULL;
	char dev[32];
	if (!d)
		return NULL;
	snprintf(dev, sizeof(dev), "%u:%u", r->major, r->minor);
	if (eos_py_set_fsstr(d, "target", r->target) || eos_py_set_fsstr(d, "source", r->source) ||
	    eos_py_set_str(d, "fstype", r->fstype) || eos_py_set_fsstr(d, "root", r->root) ||
	    eos_py_set_str(d, "device", dev) || eos_py_set_str(d, "error", r->error_msg))
		goto fail;
	if (r->error)
		return d;
	if (usage_into(d, &r->u) ||
	    eos_py_set_str(d, "level", eos_level_name(r->level)) ||
	    eos_py_set_str(d, "level_bytes", eos_level_name(r->level_bytes)) ||
	    eos_py_set_str(d, "level_inodes", r->u.has_inodes ? eos_level_name(r->level_inodes) : NULL) ||
	    eos_py_set(d, "growth", growth_dict(&r->growth)))
		goto fail;
	paths = PyList_New((Py_ssize_t)r->n_paths);
	if (!paths)
		goto fail;
	for (size_t i = 0; i < r->n_paths; i++) {
		PyObject *x = xpath_dict(&r->paths[i]);
		if (!x)
			goto fail;
		PyList_SET_ITEM(paths, (Py_ssize_t)i, x);
	}
	if (eos_py_set(d, "expansion_paths", Py_NewRef(paths)) ||
	    eos_py_set_str(d, "expansion_error", r->paths_error))
		goto fail;
	rec = PyDict_New();
	if (!rec || eos_py_set_str(rec, "action", eos_action_name(r->action)) ||
	    eos_py_set(rec, "path", r->action_path >= 0 ? Py_NewRef(PyList_GET_ITEM(paths, r->action_path))
							: Py_NewRef(Py_None)) ||
	    eos_py_set_fsstr(rec, "reason", r->reason) ||
	    eos_py_set(d, "recommendation", Py_NewRef(rec)))
		goto fail;
	Py_DECREF(rec);
	Py_DECREF(paths);
	return d;
fail:
	Py_XDECREF(rec);
	Py_XDECREF(paths);
	Py_DECREF(d);
	return NULL;
}

static PyObject *py_analyze(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"cachedir", "node_count", "thresholds", "record", "path", "window",
				 "mountinfo", "lvm_config", NULL};
	PyObject *cachedir = NULL, *path = NULL, *mountinfo = NULL, *nodes = NULL, *ov = NULL;
	PyObject *res = NULL, *mounts = NULL;
	const char *lvm_config = NULL;
	int record = 1, rc;
	double window = 0;
	struct eos_thresholds t;
	struct eos_analysis a = {NULL, 0};
	struct eos_err e;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O&OOpO&dO&z:analyze", kwlist, opt_path,
					 &cachedir, &nodes, &ov, &record, opt_path, &path, &window,
					 opt_path, &mountinfo, &lvm_config))
		goto out;
	if (thresholds_arg(nodes, ov, &t))
		goto out;
	struct eos_analyze_opts o = {
		.th = &t,
		.cachedir = cachedir ? PyBytes_AS_STRING(cachedir) : NULL,
		.record = record,
		.window = window,
		.path = path ? PyBytes_AS_STRING(path) : NULL,
		.mountinfo = mountinfo ? PyBytes_AS_STRING(mountinfo) : NULL,
		.lvm_config = lvm_config,
		.use_lvm = 1,
	};
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	rc = eos_analyze(&o, &a, &e);
	Py_END_ALLOW_THREADS
	if (rc) {
		eos_py_raise(&e);
		goto out;
	}
	mounts = PyList_New((Py_ssize_t)a.n);
	if (!mounts)
		goto out;
	for (size_t i = 0; i < a.n; i++) {
		PyObject *m = mount_dict(&a.v[i]);
		if (!m)
			goto out;
		PyList_SET_ITEM(mounts, (Py_ssize_t)i, m);
	}
	res = PyDict_New();
	if (!res || eos_py_set(res, "thresholds", thresholds_dict(&t)) ||
	    eos_py_set(res, "mounts", Py_NewRef(mounts)))
		Py_CLEAR(res);
out:
	eos_analysis_free(&a);
	Py_XDECREF(mounts);
	Py_XDECREF(cachedir);
	Py_XDECREF(path);
	Py_XDECREF(mountinfo);
	return res;
}

static PyObject *watch_item_dict(const struct eos_watch_item *it)
{
	PyObject *d = PyDict_New();
	if (!d)
		return NULL;
	if (eos_py_set_fsstr(d, "target", it->target) || eos_py_set_fsstr(d, "source", it->source) ||
	    eos_py_set_str(d, "fstype", it->fstype) ||
	    eos_py_set_str(d, "level", eos_level_name(it->level)) ||
	    eos_py_set_str(d, "previous", it->known ? eos_level_name(it->previous) : NULL) ||
	    eos_py_set_bool(d, "changed", it->changed) ||
	    eos_py_set_str(d, "error", it->error_msg))
		goto fail;
	if (!it->error &&
	    (eos_py_set_str(d, "level_bytes", eos_level_name(it->level_bytes)) ||
	     eos_py_set_str(d, "level_inodes", it->u.has_inodes ? eos_level_name(it->level_inodes) : NULL) ||
	     usage_into(d, &it->u)))
		goto fail;
	return d;
fail:
	Py_DECREF(d);
	return NULL;
}

static PyObject *py_watch(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"previous", "node_count", "thresholds", "band", "mounts", "mountinfo",
				 NULL};
	PyObject *prev = NULL, *nodes = NULL, *ov = NULL, *bando = NULL, *mounts = NULL;
	PyObject *mountinfo = NULL, *res = NULL, *keep = NULL;
	struct eos_watch_prev *pv = NULL;
	const char **only = NULL;
	Py_ssize_t n_prev = 0, n_only = 0;
	struct eos_thresholds t;
	struct eos_watch_list wl = {NULL, 0};
	struct eos_err e;
	double band = -1;
	int rc;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOOOOO&:watch", kwlist, &prev, &nodes, &ov,
					 &bando, &mounts, opt_path, &mountinfo))
		return NULL;
	if (thresholds_arg(nodes, ov, &t))
		goto out;
	if (bando && bando != Py_None) {
		band = PyFloat_AsDouble(bando);
		if (band == -1.0 && PyErr_Occurred())
			goto out;
		if (!(band >= 0 && band <= 50)) {
			eos_py_einval("hysteresis band must be 0..50 points, got %s", bando);
			goto out;
		}
	}
	keep = PyList_New(0);  /* owns the encoded mount points while the C code runs */
	if (!keep)
		goto out;
	if (prev && prev != Py_None) {
		if (!PyDict_Check(prev)) {
			eos_py_einval("previous must be a dict of mount point to level, got %s", prev);
			goto out;
		}
		Py_ssize_t pos = 0, i = 0;
		PyObject *k, *v;
		n_prev = PyDict_Size(prev);
		pv = PyMem_Calloc(n_prev ? (size_t)n_prev : 1, sizeof(*pv));
		if (!pv) {
			PyErr_NoMemory();
			goto out;
		}
		while (PyDict_Next(prev, &pos, &k, &v)) {
			PyObject *b = NULL;
			if (!eos_py_path(k, &b) || PyList_Append(keep, b)) {
				Py_XDECREF(b);
				goto out;
			}
			Py_DECREF(b);
			pv[i].target = PyBytes_AS_STRING(b);
			if (level_arg(v, &pv[i].level))
				goto out;
			if (pv[i].level == EOS_LEVEL_COUNT) {  /* None: not known */
				pv[i].target = NULL;
			}
			i++;
		}
	}
	if (mounts && mounts != Py_None) {
		PyObject *fast = PySequence_Fast(mounts, "mounts must be a list of mount points");
		if (!fast)
			goto out;
		n_only = PySequence_Fast_GET_SIZE(fast);
		only = PyMem_Calloc(n_only ? (size_t)n_only : 1, sizeof(*only));
		for (Py_ssize_t i = 0; only && i < n_only; i++) {
			PyObject *b = NULL;
			if (!eos_py_path(PySequence_Fast_GET_ITEM(fast, i), &b) || PyList_Append(keep, b)) {
				Py_XDECREF(b);
				Py_DECREF(fast);
				goto out;
			}
			Py_DECREF(b);
			only[i] = PyBytes_AS_STRING(b);
		}
		Py_DECREF(fast);
		if (!only) {
			PyErr_NoMemory();
			goto out;
		}
	}
	struct eos_watch_opts o = {
		.th = &t, .band = band, .prev = pv, .n_prev = (size_t)n_prev,
		.only = only, .n_only = (size_t)n_only,
		.mountinfo = mountinfo ? PyBytes_AS_STRING(mountinfo) : NULL,
	};
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	rc = eos_watch(&o, &wl, &e);
	Py_END_ALLOW_THREADS
	if (rc) {
		eos_py_raise(&e);
		goto out;
	}
	res = PyList_New((Py_ssize_t)wl.n);
	for (size_t i = 0; res && i < wl.n; i++) {
		PyObject *d = watch_item_dict(&wl.v[i]);
		if (!d) {
			Py_CLEAR(res);
			break;
		}
		PyList_SET_ITEM(res, (Py_ssize_t)i, d);
	}
out:
	eos_watch_list_free(&wl);
	PyMem_Free(pv);
	PyMem_Free(only);
	Py_XDECREF(keep);
	Py_XDECREF(mountinfo);
	return res;
}

static PyMethodDef methods[] = {
	{"watch", (PyCFunction)(void (*)(void))py_watch, METH_VARARGS | METH_KEYWORDS,
	 "watch(previous=None, node_count=1, thresholds=None, band=None, mounts=None,\n"
	 "      mountinfo=None) -> [{'target', 'level', 'previous', 'changed', usage...}]\n\n"
	 "Every real mount's threshold level (bytes, inodes, BTRFS allocation), with hysteresis\n"
	 "against previous ({mount point: level}); changed tells the beacon what to fire."},
	{"analyze", (PyCFunction)(void (*)(void))py_analyze, METH_VARARGS | METH_KEYWORDS,
	 "analyze(cachedir=None, node_count=1, thresholds=None, record=True, path=None, window=0,\n"
	 "        mountinfo=None, lvm_config=None) -> {'thresholds': {...}, 'mounts': [...]}\n\n"
	 "Per mount of a real filesystem (or only the one holding path): usage and inode percent,\n"
	 "threshold level for the node count's scale tier (thresholds: pillar overrides), growth\n"
	 "from the samples under <cachedir>/eos/samples (record=True appends one first; window in\n"
	 "seconds, default 24 h), expansion paths and a recommendation (expand, cleanup, none)."},
	{"thresholds", (PyCFunction)(void (*)(void))py_thresholds, METH_VARARGS | METH_KEYWORDS,
	 "thresholds(node_count=1, thresholds=None) -> dict\n\n"
	 "The scale tier's levels merged with overrides; OSError(EINVAL) quoting a bad value."},
	{"level", (PyCFunction)(void (*)(void))py_level, METH_VARARGS | METH_KEYWORDS,
	 "level(pct, node_count=1, thresholds=None, previous=None, band=None) -> level name\n\n"
	 "With previous, hysteresis applies: a level is left only band points below it."},
	{"growth", (PyCFunction)(void (*)(void))py_growth, METH_VARARGS | METH_KEYWORDS,
	 "growth(samples, avail=0, window=0) -> {'samples', 'span_seconds', 'bytes_per_hour',\n"
	 "'seconds_to_full'}\n\nLeast-squares growth over [(unix_time, used_bytes), ...]."},
	{"lv_expansion_paths", (PyCFunction)(void (*)(void))py_lv_expansion_paths,
	 METH_VARARGS | METH_KEYWORDS,
	 "lv_expansion_paths(vg, lv, lvm_config=None) -> [{'kind', 'device', 'target', 'available'}]\n\n"
	 "Where LV vg/lv can get room: free extents in the VG (vg_free), PVs whose device grew\n"
	 "(pv_resize), loop files or disks below the PVs. Works on inactive LVs too."},
	{"record_sample", (PyCFunction)(void (*)(void))py_record_sample, METH_VARARGS | METH_KEYWORDS,
	 "record_sample(cachedir, target, used, size, time) -> None\n\n"
	 "Append a usage sample for the mount point target to the minion's sample file."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_analyze(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
