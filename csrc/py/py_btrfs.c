/* BTRFS subvolumes, snapshots, compression and usage (csrc/lib/drivers/btrfs/btrfs.c). */
#include "eos_py.h"
#include "eos/drivers/btrfs/btrfs.h"

static PyObject *subvol_dict(const struct eos_btrfs_subvol *s)
{
	PyObject *d = PyDict_New();
	if (!d)
		return NULL;
	if (eos_py_set_u64(d, "id", s->id) || eos_py_set_u64(d, "parent_id", s->parent_id) ||
	    eos_py_set_u64(d, "dir_id", s->dir_id) || eos_py_set_u64(d, "flags", s->flags) ||
	    eos_py_set_u64(d, "generation", s->generation) ||
	    eos_py_set_u64(d, "ctransid", s->ctransid) || eos_py_set_u64(d, "otransid", s->otransid) ||
	    eos_py_set_bool(d, "read_only", s->read_only) || eos_py_set_str(d, "uuid", s->uuid) ||
	    eos_py_set_str(d, "parent_uuid", s->parent_uuid[0] ? s->parent_uuid : NULL) ||
	    eos_py_set_str(d, "received_uuid", s->received_uuid[0] ? s->received_uuid : NULL) ||
	    eos_py_set_i64(d, "otime", s->otime) || eos_py_set_i64(d, "ctime", s->ctime) ||
	    eos_py_set_fsstr(d, "path", s->path ? s->path : "")) {
		Py_DECREF(d);
		return NULL;
	}
	return d;
}

static PyObject *py_subvolume_create(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *path = NULL;
	if (!PyArg_ParseTuple(args, "O&:btrfs_subvolume_create", eos_py_path, &path))
		return NULL;
	struct eos_err e;
	eos_err_clear(&e);
	int r;
	EOS_PY_CALL(r, &e, path, NULL, eos_btrfs_subvol_create(PyBytes_AS_STRING(path), &e));
	Py_RETURN_NONE;
}

static PyObject *py_subvolume_delete(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"path", "recursive", NULL};
	PyObject *path = NULL;
	int recursive = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|p:btrfs_subvolume_delete", kwlist, eos_py_path,
					 &path, &recursive))
		return NULL;
	struct eos_err e;
	eos_err_clear(&e);
	int r;
	EOS_PY_CALL(r, &e, path, NULL, eos_btrfs_subvol_delete(PyBytes_AS_STRING(path), recursive, &e));
	Py_RETURN_NONE;
}

static PyObject *py_subvolume_show(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *path = NULL;
	if (!PyArg_ParseTuple(args, "O&:btrfs_subvolume_show", eos_py_path, &path))
		return NULL;
	struct eos_err e;
	struct eos_btrfs_subvol s;
	eos_err_clear(&e);
	int r;
	Py_BEGIN_ALLOW_THREADS
	r = eos_btrfs_subvol_show(PyBytes_AS_STRING(path), &s, &e);
	Py_END_ALLOW_THREADS
	Py_DECREF(path);
	PyObject *result = r < 0 ? eos_py_raise(&e) : subvol_dict(&s);
	eos_btrfs_subvol_clear(&s);
	return result;
}

static PyObject *py_subvolume_list(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *path = NULL;
	if (!PyArg_ParseTuple(args, "O&:btrfs_subvolume_list", eos_py_path, &path))
		return NULL;
	struct eos_err e;
	struct eos_btrfs_subvol_list l;
	eos_err_clear(&e);
	int r;
	EOS_PY_CALL(r, &e, path, NULL, eos_btrfs_subvol_list(PyBytes_AS_STRING(path), &l, &e));
	PyObject *list = PyList_New(0);
	for (size_t i = 0; list && i < l.n; i++) {
		PyObject *d = subvol_dict(&l.v[i]);
		if (!d || PyList_Append(list, d) < 0) {
			Py_XDECREF(d);
			Py_CLEAR(list);
			break;
		}
		Py_DECREF(d);
	}
	eos_btrfs_subvol_list_free(&l);
	return list;
}

static PyObject *py_subvolume_set_read_only(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *path = NULL;
	int ro;
	if (!PyArg_ParseTuple(args, "O&p:btrfs_subvolume_set_read_only", eos_py_path, &path, &ro))
		return NULL;
	struct eos_err e;
	eos_err_clear(&e);
	int r;
	EOS_PY_CALL(r, &e, path, NULL, eos_btrfs_subvol_set_read_only(PyBytes_AS_STRING(path), ro, &e));
	Py_RETURN_NONE;
}

static PyObject *py_snapshot(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = {"source", "dest", "read_only", NULL};
	PyObject *src = NULL, *dst = NULL;
	int ro = 1;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&|p:btrfs_snapshot", kwlist, eos_py_path, &src,
					 eos_py_path, &dst, &ro)) {
		Py_XDECREF(src);
		return NULL;
	}
	struct eos_err e;
	eos_err_clear(&e);
	int r;
	EOS_PY_CALL(r, &e, src, dst, eos_btrfs_snapshot(PyBytes_AS_STRING(src), PyBytes_AS_STRING(dst), ro, &e));
	Py_RETURN_NONE;
}

static PyObject *py_compression_check(PyObject *self, PyObject *arg)
{
	(void)self;
	const char *s = PyUnicode_AsUTF8(arg);
	if (!s)
		return NULL;
	struct eos_err e;
	eos_err_clear(&e);
	if (eos_btrfs_compression_check(s, &e) < 0)
		return eos_py_raise(&e);
	Py_RETURN_NONE;
}

static PyObject *py_compression_get(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *path = NULL;
	if (!PyArg_ParseTuple(args, "O&:btrfs_compression_get", eos_py_path, &path))
		return NULL;
	struct eos_err e;
	char buf[64];
	eos_err_clear(&e);
	int r;
	EOS_PY_CALL(r, &e, path, NULL, eos_btrfs_compression_get(PyBytes_AS_STRING(path), buf, sizeof(buf), &e));
	if (!buf[0])
		Py_RETURN_NONE;
	return PyUnicode_DecodeUTF8(buf, (Py_ssize_t)strlen(buf), "surrogateescape");
}

static PyObject *py_compression_set(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *path = NULL;
	const char *value = NULL;
	if (!PyArg_ParseTuple(args, "O&z:btrfs_compression_set", eos_py_path, &path, &value))
		return NULL;
	struct eos_err e;
	eos_err_clear(&e);
	int r;
	EOS_PY_CALL(r, &e, path, NULL, eos_btrfs_compression_set(PyBytes_AS_STRING(path), value, &e));
	Py_RETURN_NONE;
}

static PyObject *usage_dict(const struct eos_btrfs_usage *u)
{
	PyObject *d = PyDict_New(), *spaces = PyList_New(0), *devs = PyList_New(0);
	if (!d || !spaces || !devs)
		goto error;
	for (size_t i = 0; i < u->n_spaces; i++) {
		const struct eos_btrfs_chunk_space *s = &u->spaces[i];
		PyObject *x = PyDict_New();
		if (!x)
			goto error;
		if (eos_py_set_str(x, "type", s->type) || eos_py_set_str(x, "profile", s->profile) ||
		    eos_py_set_u64(x, "total", s->total) || eos_py_set_u64(x, "used", s->used) ||
		    eos_py_set_u64(x, "ratio", s->ratio) || eos_py_set_u64(x, "flags", s->flags) ||
		    PyList_Append(spaces, x) < 0) {
			Py_DECREF(x);
			goto error;
		}
		Py_DECREF(x);
	}
	for (size_t i = 0; i < u->n_devices; i++) {
		const struct eos_btrfs_device *v = &u->devices[i];
		PyObject *x = PyDict_New();
		if (!x)
			goto error;
		if (eos_py_set_u64(x, "devid", v->devid) || eos_py_set_u64(x, "size", v->size) ||
		    eos_py_set_u64(x, "allocated", v->allocated) || eos_py_set_fsstr(x, "path", v->path) ||
		    PyList_Append(devs, x) < 0) {
			Py_DECREF(x);
			goto error;
		}
		Py_DECREF(x);
	}
	if (eos_py_set_str(d, "fsid", u->fsid) || eos_py_set_u64(d, "num_devices", u->num_devices) ||
	    eos_py_set_u64(d, "nodesize", u->nodesize) || eos_py_set_u64(d, "sectorsize", u->sectorsize) ||
	    eos_py_set_u64(d, "generation", u->generation) ||
	    eos_py_set_u64(d, "device_size", u->device_size) ||
	    eos_py_set_u64(d, "device_allocated", u->device_allocated) ||
	    eos_py_set_u64(d, "device_unallocated", u->device_unallocated) ||
	    eos_py_set_u64(d, "data_total", u->data_total) || eos_py_set_u64(d, "data_used", u->data_used) ||
	    eos_py_set_u64(d, "metadata_total", u->metadata_total) ||
	    eos_py_set_u64(d, "metadata_used", u->metadata_used) ||
	    eos_py_set_u64(d, "system_total", u->system_total) ||
	    eos_py_set_u64(d, "system_used", u->system_used) ||
	    eos_py_set_u64(d, "free_estimated", u->free_estimated))
		goto error;
	/* eos_py_set consumes the value whatever happens. */
	int r = eos_py_set(d, "spaces", spaces);
	spaces = NULL;
	if (r)
		goto error;
	r = eos_py_set(d, "devices", devs);
	devs = NULL;
	if (r)
		goto error;
	return d;
error:
	Py_XDECREF(d);
	Py_XDECREF(spaces);
	Py_XDECREF(devs);
	return NULL;
}

static PyObject *py_usage(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *path = NULL;
	if (!PyArg_ParseTuple(args, "O&:btrfs_usage", eos_py_path, &path))
		return NULL;
	struct eos_err e;
	struct eos_btrfs_usage u;
	eos_err_clear(&e);
	int r;
	EOS_PY_CALL(r, &e, path, NULL, eos_btrfs_usage(PyBytes_AS_STRING(path), &u, &e));
	PyObject *d = usage_dict(&u);
	eos_btrfs_usage_free(&u);
	return d;
}

static PyObject *py_extent_stats(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *path = NULL;
	if (!PyArg_ParseTuple(args, "O&:btrfs_extent_stats", eos_py_path, &path))
		return NULL;
	struct eos_err e;
	struct eos_btrfs_extent_stats st;
	eos_err_clear(&e);
	int r;
	EOS_PY_CALL(r, &e, path, NULL, eos_btrfs_extent_stats(PyBytes_AS_STRING(path), &st, &e));
	PyObject *d = PyDict_New();
	if (!d)
		return NULL;
	if (eos_py_set_u64(d, "disk_bytes", st.disk_bytes) ||
	    eos_py_set_u64(d, "uncompressed_bytes", st.uncompressed_bytes) ||
	    eos_py_set_u64(d, "referenced_bytes", st.referenced_bytes) ||
	    eos_py_set_u64(d, "compressed_disk_bytes", st.compressed_disk_bytes) ||
	    eos_py_set_u64(d, "extents", st.extents) || eos_py_set_u64(d, "inline_extents", st.inline_extents)) {
		Py_DECREF(d);
		return NULL;
	}
	return d;
}

static PyObject *py_check(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *path = NULL;
	if (!PyArg_ParseTuple(args, "O&:btrfs_check", eos_py_path, &path))
		return NULL;
	struct eos_err e;
	eos_err_clear(&e);
	int r;
	EOS_PY_CALL(r, &e, path, NULL, eos_btrfs_check(PyBytes_AS_STRING(path), &e));
	Py_RETURN_NONE;
}

#define KW METH_VARARGS | METH_KEYWORDS
#define FN(f) (PyCFunction)(void (*)(void))(f)

static PyMethodDef methods[] = {
	{"btrfs_check", py_check, METH_VARARGS,
	 "btrfs_check(path)\n\nRaise OSError(EINVAL) unless path is on a btrfs filesystem."},
	{"btrfs_subvolume_create", py_subvolume_create, METH_VARARGS,
	 "btrfs_subvolume_create(path)\n\nCreate a subvolume (libbtrfsutil)."},
	{"btrfs_subvolume_delete", FN(py_subvolume_delete), KW,
	 "btrfs_subvolume_delete(path, recursive=False)\n\nDelete a subvolume or snapshot."},
	{"btrfs_subvolume_show", py_subvolume_show, METH_VARARGS,
	 "btrfs_subvolume_show(path) -> dict\n\nid, parent_id, uuid, parent_uuid, read_only, path, ..."},
	{"btrfs_subvolume_list", py_subvolume_list, METH_VARARGS,
	 "btrfs_subvolume_list(path) -> [dict]\n\nEvery subvolume of the filesystem path is on."},
	{"btrfs_subvolume_set_read_only", py_subvolume_set_read_only, METH_VARARGS,
	 "btrfs_subvolume_set_read_only(path, read_only)"},
	{"btrfs_snapshot", FN(py_snapshot), KW,
	 "btrfs_snapshot(source, dest, read_only=True)\n\nSnapshot a subvolume."},
	{"btrfs_compression_check", py_compression_check, METH_O,
	 "btrfs_compression_check(value)\n\nRaise OSError(EINVAL) unless value is zstd[:1-15], "
	 "zlib[:1-9], lzo or none."},
	{"btrfs_compression_get", py_compression_get, METH_VARARGS,
	 "btrfs_compression_get(path) -> str or None\n\nThe btrfs.compression property."},
	{"btrfs_compression_set", py_compression_set, METH_VARARGS,
	 "btrfs_compression_set(path, value)\n\nSet the btrfs.compression property (None removes it)."},
	{"btrfs_extent_stats", py_extent_stats, METH_VARARGS,
	 "btrfs_extent_stats(path) -> dict\n\nDisk, uncompressed and referenced bytes of the file extents of "
	 "the subvolume path is in (as compsize counts them)."},
	{"btrfs_usage", py_usage, METH_VARARGS,
	 "btrfs_usage(path) -> dict\n\nAllocation from BTRFS_IOC_FS_INFO, DEV_INFO and SPACE_INFO."},
	{NULL, NULL, 0, NULL},
};

int eos_py_add_btrfs(PyObject *m)
{
	return PyModule_AddFunctions(m, methods);
}
