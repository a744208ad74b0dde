/* BTRFS subvolumes, snapshots, compression and usage (csrc/lib/drivers/btrfs/btrfs.c). */
#include "eos_py.h"
#include "eos/drivers/btrfs/btrfs.h"

#define SV(m, t) EOS_PY_F(struct eos_btrfs_subvol, m, t)
static const struct eos_py_field subvol_fields[] = {
	SV(id, U64), SV(parent_id, U64), SV(dir_id, U64), SV(flags, U64), SV(generation, U64),
	SV(ctransid, U64), SV(otransid, U64), SV(read_only, BOOL), SV(uuid, STR),
	SV(parent_uuid, STR0), SV(received_uuid, STR0), SV(otime, I64), SV(ctime, I64),
};
#undef SV

static PyObject *subvol_dict(const struct eos_btrfs_subvol *s)
{
	PyObject *d = EOS_PY_DICT(s, subvol_fields);
	if (d && eos_py_set_fsstr(d, "path", s->path ? s->path : "") < 0)  /* "" for the top level */
		Py_CLEAR(d);
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

static const struct eos_py_field space_fields[] = {
	EOS_PY_F(struct eos_btrfs_chunk_space, type, STRP),
	EOS_PY_F(struct eos_btrfs_chunk_space, profile, STRP),
	EOS_PY_F(struct eos_btrfs_chunk_space, total, U64),
	EOS_PY_F(struct eos_btrfs_chunk_space, used, U64),
	EOS_PY_F(struct eos_btrfs_chunk_space, ratio, UINT),
	EOS_PY_F(struct eos_btrfs_chunk_space, flags, U64),
};

static const struct eos_py_field device_fields[] = {
	EOS_PY_F(struct eos_btrfs_device, devid, U64), EOS_PY_F(struct eos_btrfs_device, size, U64),
	EOS_PY_F(struct eos_btrfs_device, allocated, U64), EOS_PY_F(struct eos_btrfs_device, path, FSSTR),
};

#define U(m, t) EOS_PY_F(struct eos_btrfs_usage, m, t)
static const struct eos_py_field usage_fields[] = {
	U(fsid, STR), U(num_devices, U64), U(nodesize, U32), U(sectorsize, U32), U(generation, U64),
	U(device_size, U64), U(device_allocated, U64), U(device_unallocated, U64),
	U(data_total, U64), U(data_used, U64), U(metadata_total, U64), U(metadata_used, U64),
	U(system_total, U64), U(system_used, U64), U(free_estimated, U64),
};
#undef U

static PyObject *usage_dict(const struct eos_btrfs_usage *u)
{
	PyObject *d = EOS_PY_DICT(u, usage_fields);
	if (d && (eos_py_set(d, "spaces", EOS_PY_LIST(u->spaces, u->n_spaces, space_fields)) < 0 ||
		  eos_py_set(d, "devices", EOS_PY_LIST(u->devices, u->n_devices, device_fields)) < 0))
		Py_CLEAR(d);
	return d;
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

#define X(m) EOS_PY_F(struct eos_btrfs_extent_stats, m, U64)
static const struct eos_py_field extent_fields[] = {
	X(disk_bytes), X(uncompressed_bytes), X(referenced_bytes), X(compressed_disk_bytes),
	X(extents), X(inline_extents),
};
#undef X

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
	return EOS_PY_DICT(&st, extent_fields);
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
