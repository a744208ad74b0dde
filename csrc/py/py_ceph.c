/* Ceph through librados and libcephfs. Every function takes the connection as keyword-only
 * arguments conf=, keyring=, name= ("client.admin"), mon_host=, timeout= (seconds, 10), and
 * connects, works and disconnects with the GIL released. */
#include "eos_py.h"
#include "eos/ops/ceph_deploy.h"
#include "eos/ops/ceph_osd_remove.h"
#include "eos/drivers/ceph/cephfs.h"
#include "eos/drivers/ceph/rados.h"

#define CONN_KW "conf", "keyring", "name", "mon_host", "timeout"
#define CONN_FMT_KW "zzzzi"
#define CONN_FMT "$" CONN_FMT_KW
#define CONN_ARGS(o) &(o).conf, &(o).keyring, &(o).name, &(o).mon_host, &(o).timeout_s

static int conn_open(struct eos_ceph_opts *o, struct eos_rados **c)
{
	struct eos_err e;
	int r;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	r = eos_rados_connect(o, c, &e);
	Py_END_ALLOW_THREADS
	if (r < 0)
		eos_py_raise(&e);
	return r;
}

#define ST(key, m, t) EOS_PY_FK(key, struct eos_ceph_status, m, t)
static const struct eos_py_field status_fields[] = {
	ST("fsid", fsid, STR), ST("health", health, STR), EOS_PY_FLATER("checks"), EOS_PY_FLATER("mons"),
	EOS_PY_FLATER("osds"), EOS_PY_FLATER("pgs"), EOS_PY_FLATER("usage"),
	ST("mgr_available", mgr_available, BOOL), EOS_PY_FLATER("mds"),
};
static const struct eos_py_field mons_fields[] = {ST("total", num_mons, U64), EOS_PY_FLATER("quorum")};
static const struct eos_py_field osds_fields[] = {
	ST("total", osds, U64), ST("up", osds_up, U64), ST("in", osds_in, U64),
};
static const struct eos_py_field pgs_fields[] = {
	ST("total", pgs, U64), ST("pools", pools, U64), ST("objects", objects, U64), EOS_PY_FLATER("states"),
};
static const struct eos_py_field usage_fields[] = {
	ST("total_bytes", bytes_total, U64), ST("used_bytes", bytes_used, U64),
	ST("avail_bytes", bytes_avail, U64), ST("data_bytes", data_bytes, U64),
};
static const struct eos_py_field mds_fields[] = {
	ST("up", mds_up, U64), ST("in", mds_in, U64), ST("max", mds_max, U64), ST("standby", mds_standby, U64),
};
#undef ST

static const struct eos_py_field check_fields[] = {
	EOS_PY_F(struct eos_ceph_check, name, STR), EOS_PY_F(struct eos_ceph_check, severity, STR),
	EOS_PY_F(struct eos_ceph_check, message, STR),
};

/* {state: count} of the placement groups. */
static PyObject *pgstates_dict(const struct eos_ceph_status *st)
{
	PyObject *d = PyDict_New();
	for (size_t i = 0; d && i < st->n_pgstates; i++)
		if (eos_py_set_u64(d, st->pgstates[i].state, st->pgstates[i].count))
			Py_CLEAR(d);
	return d;
}

/* The sub-dict of table, with its one late key (when given) set to value (stolen). */
static PyObject *sub_dict(const struct eos_ceph_status *st, const struct eos_py_field *t, size_t n,
			  const char *late, PyObject *value)
{
	PyObject *d = eos_py_fields_dict(st, t, n);
	if (!late)
		return d;
	if (!d)
		Py_XDECREF(value);
	else if (eos_py_set(d, late, value))
		Py_CLEAR(d);
	return d;
}
#define SUB(t, late, value) sub_dict(st, (t), sizeof(t) / sizeof((t)[0]), (late), (value))

static PyObject *status_dict(const struct eos_ceph_status *st)
{
	PyObject *d = EOS_PY_DICT(st, status_fields);
	if (d && (eos_py_set(d, "checks", EOS_PY_LIST(st->checks, st->n_checks, check_fields)) ||
		  eos_py_set(d, "mons", SUB(mons_fields, "quorum", EOS_PY_FSSTR_LIST(st->quorum, st->n_quorum))) ||
		  eos_py_set(d, "osds", SUB(osds_fields, NULL, NULL)) ||
		  eos_py_set(d, "pgs", SUB(pgs_fields, "states", pgstates_dict(st))) ||
		  eos_py_set(d, "usage", SUB(usage_fields, NULL, NULL)) ||
		  eos_py_set(d, "mds", SUB(mds_fields, NULL, NULL))))
		Py_CLEAR(d);
	return d;
}
#undef SUB

static PyObject *py_ceph_status(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {CONN_KW, NULL};
	struct eos_ceph_opts o = {0};
	struct eos_rados *c = NULL;
	struct eos_err e;
	PyObject *d = NULL;
	int r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|" CONN_FMT ":ceph_status", kwlist, CONN_ARGS(o)))
		return NULL;
	struct eos_ceph_status *st = PyMem_Calloc(1, sizeof(*st));
	if (!st)
		return PyErr_NoMemory();
	if (conn_open(&o, &c) < 0)
		goto out;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	r = eos_ceph_status(c, st, &e);
	eos_rados_close(c);
	Py_END_ALLOW_THREADS
	if (r < 0) {
		eos_py_raise(&e);
		goto out;
	}
	d = status_dict(st);
out:
	PyMem_Free(st);
	return d;
}

#define P(key, m, t) EOS_PY_FK(key, struct eos_ceph_pool, m, t)
static const struct eos_py_field pool_fields[] = {
	P("name", name, STR), P("id", id, I64), P("size", size, U64), P("min_size", min_size, U64),
	P("pg_num", pg_num, U64), P("application", application, STR0), P("stored_bytes", stored, U64),
	P("objects", objects, U64), P("used_bytes", bytes_used, U64), P("max_avail_bytes", max_avail, U64),
};
#undef P

static PyObject *py_ceph_pools(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {CONN_KW, NULL};
	struct eos_ceph_opts o = {0};
	struct eos_rados *c = NULL;
	struct eos_ceph_pool *pools = NULL;
	struct eos_err e;
	PyObject *lst;
	int n;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|" CONN_FMT ":ceph_pools", kwlist, CONN_ARGS(o)))
		return NULL;
	if (conn_open(&o, &c) < 0)
		return NULL;
	eos_err_clear(&e);
	EOS_PY_CALL_THEN(n, &e, eos_ceph_pools(c, &pools, &e), eos_rados_close(c));
	lst = EOS_PY_LIST(pools, (size_t)n, pool_fields);
	free(pools);
	return lst;
}

static PyObject *py_ceph_fs_status(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {CONN_KW, NULL};
	struct eos_ceph_opts o = {0};
	struct eos_rados *c = NULL;
	struct eos_ceph_fsmap m = {0};
	struct eos_err e;
	PyObject *res = NULL, *lst, *d, *sub, *s;
	int n;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|" CONN_FMT ":ceph_fs_status", kwlist, CONN_ARGS(o)))
		return NULL;
	if (conn_open(&o, &c) < 0)
		return NULL;
	eos_err_clear(&e);
	EOS_PY_CALL_THEN(n, &e, eos_ceph_fs_dump(c, &m, &e), eos_rados_close(c));
	if (!(res = PyDict_New()) || eos_py_set_u64(res, "standbys", m.standbys) ||
	    !(lst = PyList_New(0)) || eos_py_set(res, "filesystems", lst))
		goto error;
	for (size_t i = 0; i < m.n_fs; i++) {
		struct eos_ceph_fs *fs = &m.fs[i];
		if (!(d = PyDict_New()) || PyList_Append(lst, d)) {
			Py_XDECREF(d);
			goto error;
		}
		Py_DECREF(d);
		if (eos_py_set_str(d, "name", fs->name) || eos_py_set_i64(d, "id", fs->id) ||
		    eos_py_set_str(d, "metadata_pool", fs->metadata_pool) ||
		    eos_py_set_u64(d, "max_mds", fs->max_mds) || !(sub = PyList_New(0)) ||
		    eos_py_set(d, "data_pools", sub))
			goto error;
		for (size_t k = 0; k < fs->n_data_pools; k++) {
			if (!(s = PyUnicode_FromString(fs->data_pools[k])) || PyList_Append(sub, s)) {
				Py_XDECREF(s);
				goto error;
			}
			Py_DECREF(s);
		}
		if (!(sub = PyList_New(0)) || eos_py_set(d, "mds", sub))
			goto error;
		for (size_t k = 0; k < fs->n_mds; k++) {
			if (!(s = PyDict_New()) || PyList_Append(sub, s)) {
				Py_XDECREF(s);
				goto error;
			}
			Py_DECREF(s);
			if (eos_py_set_str(s, "name", fs->mds[k].name) ||
			    eos_py_set_i64(s, "rank", fs->mds[k].rank) ||
			    eos_py_set_str(s, "state", fs->mds[k].state))
				goto error;
		}
	}
	goto out;
error:
	Py_CLEAR(res);
out:
	eos_ceph_fsmap_free(&m);
	return res;
}

static PyObject *py_ceph_mon_command(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"command", CONN_KW, NULL};
	struct eos_ceph_opts o = {0};
	struct eos_rados *c = NULL;
	struct eos_buf out = EOS_BUF_INIT;
	struct eos_err e;
	const char *cmd;
	PyObject *res = NULL;
	int r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|" CONN_FMT ":ceph_mon_command", kwlist, &cmd,
					 CONN_ARGS(o)))
		return NULL;
	if (conn_open(&o, &c) < 0)
		return NULL;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	r = eos_rados_mon_command(c, cmd, &out, &e);
	eos_rados_close(c);
	Py_END_ALLOW_THREADS
	if (r < 0)
		eos_py_raise(&e);
	else
		res = PyUnicode_DecodeUTF8(out.data ? out.data : "", (Py_ssize_t)out.len, "replace");
	eos_buf_free(&out);
	return res;
}

static PyObject *py_ceph_cluster_stat(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {CONN_KW, NULL};
	struct eos_ceph_opts o = {0};
	struct eos_rados *c = NULL;
	struct eos_rados_usage u;
	struct eos_err e;
	int r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|" CONN_FMT ":ceph_cluster_stat", kwlist, CONN_ARGS(o)))
		return NULL;
	if (conn_open(&o, &c) < 0)
		return NULL;
	eos_err_clear(&e);
	EOS_PY_CALL_THEN(r, &e, eos_rados_cluster_stat(c, &u, &e), eos_rados_close(c));
	static const struct eos_py_field fields[] = {
#define U(m) EOS_PY_F(struct eos_rados_usage, m, U64)
		U(total_bytes), U(used_bytes), U(avail_bytes), U(objects),
#undef U
	};
	return EOS_PY_DICT(&u, fields);
}

static PyObject *py_ceph_pool_list(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {CONN_KW, NULL};
	struct eos_ceph_opts o = {0};
	struct eos_rados *c = NULL;
	struct eos_buf b = EOS_BUF_INIT;
	struct eos_err e;
	PyObject *lst = NULL;
	int n;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|" CONN_FMT ":ceph_pool_list", kwlist, CONN_ARGS(o)))
		return NULL;
	if (conn_open(&o, &c) < 0)
		return NULL;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	n = eos_rados_pool_list(c, &b, &e);
	eos_rados_close(c);
	Py_END_ALLOW_THREADS
	if (n < 0) {
		eos_py_raise(&e);
		goto out;
	}
	if (!(lst = PyList_New(0)))
		goto out;
	const char *p = b.data;
	for (int i = 0; i < n; i++, p += strlen(p) + 1) {
		PyObject *s = PyUnicode_FromString(p);
		if (!s || PyList_Append(lst, s)) {
			Py_XDECREF(s);
			Py_CLEAR(lst);
			goto out;
		}
		Py_DECREF(s);
	}
out:
	eos_buf_free(&b);
	return lst;
}

static PyObject *py_ceph_pool_create(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"pool", CONN_KW, NULL};
	struct eos_ceph_opts o = {0};
	struct eos_rados *c = NULL;
	struct eos_err e;
	const char *pool;
	int r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|" CONN_FMT ":ceph_pool_create", kwlist, &pool,
					 CONN_ARGS(o)))
		return NULL;
	if (conn_open(&o, &c) < 0)
		return NULL;
	eos_err_clear(&e);
	EOS_PY_CALL_THEN(r, &e, eos_rados_pool_create(c, pool, &e), eos_rados_close(c));
	return PyBool_FromLong(r == 0);
}

/* ---- libcephfs ------------------------------------------------------------------------ */

static int fs_mount(struct eos_ceph_opts *o, const char *fs_name, struct eos_cephfs **fs)
{
	struct eos_err e;
	int r;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	r = eos_cephfs_mount(o, fs_name, fs, &e);
	Py_END_ALLOW_THREADS
	if (r < 0)
		eos_py_raise(&e);
	return r;
}

static PyObject *py_cephfs_statfs(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"path", "fs_name", CONN_KW, NULL};
	struct eos_ceph_opts o = {0};
	struct eos_cephfs *fs;
	struct eos_cephfs_statfs st;
	struct eos_err e;
	const char *path = "/", *fs_name = NULL;
	int r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|sz" CONN_FMT ":cephfs_statfs", kwlist, &path,
					 &fs_name, CONN_ARGS(o)))
		return NULL;
	if (fs_mount(&o, fs_name, &fs) < 0)
		return NULL;
	eos_err_clear(&e);
	EOS_PY_CALL_THEN(r, &e, eos_cephfs_statfs(fs, path, &st, &e), eos_cephfs_unmount(fs));
	static const struct eos_py_field fields[] = {
#define S(m) EOS_PY_F(struct eos_cephfs_statfs, m, U64)
		S(total_bytes), S(free_bytes), S(avail_bytes), S(files),
#undef S
	};
	return EOS_PY_DICT(&st, fields);
}

static PyObject *py_cephfs_write(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"path", "data", "fs_name", CONN_KW, NULL};
	struct eos_ceph_opts o = {0};
	struct eos_cephfs *fs;
	struct eos_err e;
	const char *path, *fs_name = NULL;
	Py_buffer data;
	int r = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "sy*|z" CONN_FMT ":cephfs_write", kwlist, &path,
					 &data, &fs_name, CONN_ARGS(o)))
		return NULL;
	if (fs_mount(&o, fs_name, &fs) < 0) {
		PyBuffer_Release(&data);
		return NULL;
	}
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	/* The parent directories, then the file itself. */
	char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
	if (!dir)
		r = eos_fail_sys(&e, ENOMEM, path, "cephfs_write");
	if (slash && slash != dir) {
		*slash = '\0';
		r = eos_cephfs_mkdirs(fs, dir, &e);
	}
	free(dir);
	if (r == 0)
		r = eos_cephfs_write(fs, path, data.buf, (size_t)data.len, &e);
	eos_cephfs_unmount(fs);
	Py_END_ALLOW_THREADS
	PyBuffer_Release(&data);
	if (r < 0)
		return eos_py_raise(&e);
	return PyLong_FromSsize_t(data.len);
}

static PyObject *py_cephfs_read(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"path", "max_bytes", "fs_name", CONN_KW, NULL};
	struct eos_ceph_opts o = {0};
	struct eos_cephfs *fs;
	struct eos_buf b = EOS_BUF_INIT;
	struct eos_err e;
	const char *path, *fs_name = NULL;
	Py_ssize_t max = 1 << 20;
	PyObject *res = NULL;
	int r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|nz" CONN_FMT ":cephfs_read", kwlist, &path,
					 &max, &fs_name, CONN_ARGS(o)))
		return NULL;
	if (max < 0) {
		PyErr_Format(PyExc_ValueError, "max_bytes must be >= 0, not %zd", max);
		return NULL;
	}
	if (fs_mount(&o, fs_name, &fs) < 0)
		return NULL;
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	r = eos_cephfs_read(fs, path, (size_t)max, &b, &e);
	eos_cephfs_unmount(fs);
	Py_END_ALLOW_THREADS
	if (r < 0)
		eos_py_raise(&e);
	else
		res = PyBytes_FromStringAndSize(b.data ? b.data : "", (Py_ssize_t)b.len);
	eos_buf_free(&b);
	return res;
}

static PyObject *py_cephfs_unlink(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"path", "fs_name", CONN_KW, NULL};
	struct eos_ceph_opts o = {0};
	struct eos_cephfs *fs;
	struct eos_err e;
	const char *path, *fs_name = NULL;
	int r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|z" CONN_FMT ":cephfs_unlink", kwlist, &path,
					 &fs_name, CONN_ARGS(o)))
		return NULL;
	if (fs_mount(&o, fs_name, &fs) < 0)
		return NULL;
	eos_err_clear(&e);
	EOS_PY_CALL_THEN(r, &e, eos_cephfs_unlink(fs, path, &e), eos_cephfs_unmount(fs));
	Py_RETURN_NONE;
}

/* ---- adding daemons ------------------------------------------------------------------- */

enum deploy_kind { DEPLOY_OSD, DEPLOY_MON, DEPLOY_MDS, DEPLOY_MGR };

static PyObject *deploy(enum deploy_kind kind, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"target", "data_root", "public_addr", "crush_weight", "test", "wait",
				 CONN_KW, NULL};
	struct eos_ceph_opts o = {0};
	struct eos_ceph_deploy d = EOS_CEPH_DEPLOY_INIT;
	struct eos_ceph_deploy_result res;
	struct eos_err e;
	PyObject *target, *dict;
	int r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|$zzdpi" CONN_FMT_KW ":ceph_deploy", kwlist,
					 eos_py_path, &target, &d.data_root, &d.public_addr,
					 &d.crush_weight, &d.test, &d.wait_s, CONN_ARGS(o)))
		return NULL;
	const char *t = PyBytes_AS_STRING(target);
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	if (kind == DEPLOY_OSD)
		r = eos_ceph_osd_add(&o, t, &d, &res, &e);
	else if (kind == DEPLOY_MON)
		r = eos_ceph_mon_add(&o, t, &d, &res, &e);
	else if (kind == DEPLOY_MGR)
		r = eos_ceph_mgr_add(&o, t, &d, &res, &e);
	else
		r = eos_ceph_mds_add(&o, t, &d, &res, &e);
	Py_END_ALLOW_THREADS
	Py_DECREF(target);
	if (r < 0)
		return eos_py_raise(&e);
	dict = PyDict_New();
	if (!dict || eos_py_set_str(dict, "daemon", res.daemon) ||
	    eos_py_set_str(dict, "action", res.action) || eos_py_set_fsstr(dict, "data", res.data) ||
	    eos_py_set_bool(dict, "test", d.test))
		Py_CLEAR(dict);
	return dict;
}

static PyObject *py_ceph_fs_add(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"fs_name", "metadata_pool", "data_pool", "test", CONN_KW, NULL};
	struct eos_ceph_opts o = {0};
	struct eos_ceph_deploy d = EOS_CEPH_DEPLOY_INIT;
	struct eos_ceph_deploy_result res;
	struct eos_err e;
	const char *name, *meta, *data;
	PyObject *dict;
	int r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "sss|$p" CONN_FMT_KW ":ceph_fs_add", kwlist, &name,
					 &meta, &data, &d.test, CONN_ARGS(o)))
		return NULL;
	eos_err_clear(&e);
	EOS_PY_CALL(r, &e, NULL, NULL, eos_ceph_fs_add(&o, name, meta, data, &d, &res, &e));
	dict = PyDict_New();
	if (!dict || eos_py_set_str(dict, "fs", res.daemon + 3) ||
	    eos_py_set_str(dict, "action", res.action) || eos_py_set_str(dict, "pools", res.data) ||
	    eos_py_set_bool(dict, "test", d.test))
		Py_CLEAR(dict);
	return dict;
}

static PyObject *py_ceph_osd_add(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	return deploy(DEPLOY_OSD, args, kw);
}

static PyObject *py_ceph_mon_add(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	return deploy(DEPLOY_MON, args, kw);
}

static PyObject *py_ceph_mds_add(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	return deploy(DEPLOY_MDS, args, kw);
}

static PyObject *py_ceph_mgr_add(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	return deploy(DEPLOY_MGR, args, kw);
}

static PyObject *py_ceph_bootstrap(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"mon_id", "public_addr", "conf", "admin_keyring", "mon_root",
				 "run_dir", "log_dir", "extra", "test", "wait", NULL};
	struct eos_ceph_bootstrap b = {0};
	struct eos_ceph_deploy_result res;
	struct eos_err e;
	char fsid[64];
	PyObject *dict;
	int r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "ssss|$zzzzpi:ceph_bootstrap", kwlist, &b.mon_id,
					 &b.public_addr, &b.conf, &b.admin_keyring, &b.mon_root,
					 &b.run_dir, &b.log_dir, &b.extra, &b.test, &b.wait_s))
		return NULL;
	eos_err_clear(&e);
	EOS_PY_CALL(r, &e, NULL, NULL, eos_ceph_bootstrap(&b, &res, fsid, sizeof(fsid), &e));
	dict = PyDict_New();
	if (!dict || eos_py_set_str(dict, "daemon", res.daemon) ||
	    eos_py_set_str(dict, "action", res.action) || eos_py_set_fsstr(dict, "data", res.data) ||
	    eos_py_set_str(dict, "fsid", fsid[0] ? fsid : NULL) || eos_py_set_bool(dict, "test", b.test))
		Py_CLEAR(dict);
	return dict;
}

static PyObject *py_ceph_write_client(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"conf", "conf_text", "keyring", "keyring_text", "test", NULL};
	const char *conf, *conf_text, *keyring, *keyring_text;
	struct eos_err e;
	int test = 0, r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "ssss|$p:ceph_write_client", kwlist, &conf,
					 &conf_text, &keyring, &keyring_text, &test))
		return NULL;
	eos_err_clear(&e);
	EOS_PY_CALL(r, &e, NULL, NULL, eos_ceph_write_client(conf, conf_text, keyring, keyring_text, test, &e));
	return PyBool_FromLong(r);
}

static PyObject *py_ceph_osd_remove(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"osd_id", "data_root", "test", "wait", CONN_KW, NULL};
	struct eos_ceph_opts o = {0};
	struct eos_ceph_osd_drain d = {0};
	struct eos_ceph_osd_removed res;
	struct eos_err e;
	long id;
	PyObject *dict;
	int r;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "l|$zpi" CONN_FMT_KW ":ceph_osd_remove", kwlist, &id,
					 &d.data_root, &d.test, &d.wait_s, CONN_ARGS(o)))
		return NULL;
	eos_err_clear(&e);
	EOS_PY_CALL(r, &e, NULL, NULL, eos_ceph_osd_remove(&o, id, &d, &res, &e));
	dict = PyDict_New();
	if (!dict || eos_py_set_str(dict, "daemon", res.daemon) ||
	    eos_py_set_str(dict, "action", res.action) || eos_py_set_i64(dict, "drain_ms", res.drain_ms) ||
	    eos_py_set_i64(dict, "pgs_at_start", res.pgs_at_start) || eos_py_set_bool(dict, "test", d.test))
		Py_CLEAR(dict);
	return dict;
}

static PyObject *py_ceph_local_osds(PyObject *self, PyObject *args)
{
	(void)self;
	struct eos_ceph_local_osd *osds = NULL;
	struct eos_err e;
	PyObject *root, *list;
	int n;
	if (!PyArg_ParseTuple(args, "O&:ceph_local_osds", eos_py_path, &root))
		return NULL;
	const char *path = PyBytes_AS_STRING(root);
	eos_err_clear(&e);
	Py_BEGIN_ALLOW_THREADS
	n = eos_ceph_local_osds(path, &osds, &e);
	Py_END_ALLOW_THREADS
	Py_DECREF(root);
	if (n < 0)
		return eos_py_raise(&e);
	list = PyList_New(0);
	for (int i = 0; list && i < n; i++) {
		PyObject *d = PyDict_New();
		if (!d || eos_py_set_i64(d, "id", osds[i].id) || eos_py_set_fsstr(d, "data", osds[i].data) ||
		    eos_py_set_fsstr(d, "device", osds[i].device[0] ? osds[i].device : NULL) ||
		    PyList_Append(list, d) < 0)
			Py_CLEAR(list);
		Py_XDECREF(d);
	}
	free(osds);
	return list;
}

#define CONN_DOC "Connection (keyword-only): conf=, keyring=, name='client.admin', mon_host=, timeout=10 (s)."
#define M(n, f, doc) {n, (PyCFunction)(void (*)(void))f, METH_VARARGS | METH_KEYWORDS, doc "\n\n" CONN_DOC}

static PyMethodDef methods[] = {
	M("ceph_status", py_ceph_status,
	  "ceph_status(*, conn...) -> dict: health, checks, mons, osds, pgs, usage, mds (librados)."),
	M("ceph_pools", py_ceph_pools,
	  "ceph_pools(*, conn...) -> [dict]: name, id, size, pg_num, application, usage per pool."),
	M("ceph_fs_status", py_ceph_fs_status,
	  "ceph_fs_status(*, conn...) -> {filesystems: [...], standbys}: CephFS and MDS states."),
	M("ceph_mon_command", py_ceph_mon_command,
	  "ceph_mon_command(command_json, *, conn...) -> str: one monitor command's output."),
	M("ceph_cluster_stat", py_ceph_cluster_stat,
	  "ceph_cluster_stat(*, conn...) -> dict: total/used/avail bytes, objects (rados_cluster_stat)."),
	M("ceph_pool_list", py_ceph_pool_list, "ceph_pool_list(*, conn...) -> [str]: pool names."),
	M("ceph_pool_create", py_ceph_pool_create,
	  "ceph_pool_create(pool, *, conn...) -> bool: True when created, False when it existed."),
	M("cephfs_statfs", py_cephfs_statfs,
	  "cephfs_statfs(path='/', fs_name=None, *, conn...) -> dict: CephFS capacity (libcephfs)."),
	M("cephfs_write", py_cephfs_write,
	  "cephfs_write(path, data, fs_name=None, *, conn...) -> int: write a small file (libcephfs)."),
	M("cephfs_read", py_cephfs_read,
	  "cephfs_read(path, max_bytes=1MiB, fs_name=None, *, conn...) -> bytes (libcephfs)."),
	M("cephfs_unlink", py_cephfs_unlink,
	  "cephfs_unlink(path, fs_name=None, *, conn...): remove a file (libcephfs)."),
	M("ceph_osd_add", py_ceph_osd_add,
	  "ceph_osd_add(device, *, data_root='/var/lib/ceph/osd', crush_weight=-1, test=False,\n"
	  "             wait=60, conn...) -> {daemon, action, data}: a bluestore OSD on a device\n"
	  "or file, created or started unless it runs (action 'create', 'start' or 'none')."),
	M("ceph_mon_add", py_ceph_mon_add,
	  "ceph_mon_add(id, *, public_addr, data_root='/var/lib/ceph/mon', test=False, wait=60,\n"
	  "             conn...) -> {daemon, action, data}: a monitor joined to the quorum."),
	M("ceph_mds_add", py_ceph_mds_add,
	  "ceph_mds_add(id, *, data_root='/var/lib/ceph/mds', test=False, wait=60, conn...)\n"
	  "-> {daemon, action, data}: an MDS (active or standby)."),
	M("ceph_mgr_add", py_ceph_mgr_add,
	  "ceph_mgr_add(id, *, data_root='/var/lib/ceph/mgr', test=False, wait=60, conn...)\n"
	  "-> {daemon, action, data}: a manager (active or standby)."),
	{"ceph_bootstrap", (PyCFunction)(void (*)(void))py_ceph_bootstrap, METH_VARARGS | METH_KEYWORDS,
	 "ceph_bootstrap(mon_id, public_addr, conf, admin_keyring, *, mon_root, run_dir, log_dir,\n"
	 "               extra=None, test=False, wait=60) -> {daemon, action, data, fsid}\n\n"
	 "The first monitor of a new cluster: fsid, conf, keys (0600), monmap, mkfs, start, quorum."},
	{"ceph_write_client", (PyCFunction)(void (*)(void))py_ceph_write_client,
	 METH_VARARGS | METH_KEYWORDS,
	 "ceph_write_client(conf, conf_text, keyring, keyring_text, *, test=False) -> bool\n\n"
	 "Write this host's ceph.conf (0644) and client keyring (0600); True when changed."},
	M("ceph_fs_add", py_ceph_fs_add,
	  "ceph_fs_add(fs_name, metadata_pool, data_pool, *, test=False, conn...)\n"
	  "-> {fs, action, pools, test}: a CephFS with its pools, created unless it exists."),
	M("ceph_osd_remove", py_ceph_osd_remove,
	  "ceph_osd_remove(osd_id, *, data_root='/var/lib/ceph/osd', test=False, wait=600, conn...)\n"
	  "-> {daemon, action, drain_ms, pgs_at_start, test}: out, drained (bounded wait until no PG\n"
	  "is on it and all are active+clean), stopped, safe-to-destroy, purged, data removed."),
	{"ceph_local_osds", (PyCFunction)py_ceph_local_osds, METH_VARARGS,
	 "ceph_local_osds(data_root) -> [{id, data, device}]: the OSD data directories on this host."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_ceph(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
