#include "eos/drivers/btrfs/btrfs.h"

#include "eos/drivers/btrfs/btrfs_ioctl.h"

#include <btrfsutil.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#define COMPRESSION_XATTR "btrfs.compression"

/* A libbtrfsutil failure as an eos error: the library's own description, then errno's. */
static int util_fail(struct eos_err *e, enum btrfs_util_error err, int saved_errno,
		     const char *call, const char *path)
{
	int code;
	switch (err) {
	case BTRFS_UTIL_ERROR_NO_MEMORY:
		code = ENOMEM;
		break;
	case BTRFS_UTIL_ERROR_NOT_BTRFS:
	case BTRFS_UTIL_ERROR_NOT_SUBVOLUME:
	case BTRFS_UTIL_ERROR_INVALID_ARGUMENT:
		code = EINVAL;
		break;
	case BTRFS_UTIL_ERROR_SUBVOLUME_NOT_FOUND:
		code = ENOENT;
		break;
	default:
		code = saved_errno ? saved_errno : EIO;
	}
	if (saved_errno && code == saved_errno)
		return eos_fail_sys(e, code, path, "%s(%s): %s", call, path, btrfs_util_strerror(err));
	return eos_fail(e, code, path, "%s(%s): %s", call, path, btrfs_util_strerror(err));
}

int eos_btrfs_check(const char *path, struct eos_err *e)
{
	struct statfs sf;
	if (statfs(path, &sf) < 0)
		return eos_fail_sys(e, errno, path, "statfs(%s)", path);
	if (sf.f_type != BTRFS_SUPER_MAGIC)
		return eos_fail(e, EINVAL, path, "%s is not on a btrfs filesystem (filesystem magic 0x%lx)",
				path, (unsigned long)sf.f_type);
	return 0;
}

/* Split path into its parent directory and last component, checking the component is a plain
 * name. parent is "." for a bare name. */
static int split_new_path(const char *path, char *parent, size_t plen, const char **name,
			  struct eos_err *e)
{
	size_t n = strlen(path);
	if (n == 0)
		return eos_fail(e, EINVAL, path, "empty path");
	if (n >= plen)
		return eos_fail(e, ENAMETOOLONG, path, "path too long: '%s'", path);
	if (path[n - 1] == '/')
		return eos_fail(e, EINVAL, path, "'%s' ends with '/': give the subvolume's own name", path);
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return eos_fail(e, EINVAL, path, "'%s' does not name a new entry ('%s')", path, base);
	if (strlen(base) > 255)
		return eos_fail(e, ENAMETOOLONG, path, "name longer than 255 bytes in '%s'", path);
	if (!slash)
		snprintf(parent, plen, ".");
	else if (slash == path)
		snprintf(parent, plen, "/");
	else
		snprintf(parent, plen, "%.*s", (int)(slash - path), path);
	*name = base;
	return 0;
}

/* The parent of a new subvolume or snapshot must be a directory on btrfs; the message quotes
 * the path asked for. */
static int check_parent(const char *path, const char *parent, struct eos_err *e)
{
	int r = eos_btrfs_check(parent, e);
	if (r) {
		char msg[EOS_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", e->msg);
		return eos_fail(e, -r, path, "cannot create '%s': %s", path, msg);
	}
	return 0;
}

/* path must exist, be on btrfs and be a subvolume. */
static int check_subvol(const char *path, struct eos_err *e)
{
	int r = eos_btrfs_check(path, e);
	if (r)
		return r;
	enum btrfs_util_error err = btrfs_util_is_subvolume(path);
	if (err == BTRFS_UTIL_ERROR_NOT_SUBVOLUME)
		return eos_fail(e, EINVAL, path, "%s is not a btrfs subvolume", path);
	if (err)
		return util_fail(e, err, errno, "btrfs_util_is_subvolume", path);
	return 0;
}

int eos_btrfs_subvol_create(const char *path, struct eos_err *e)
{
	char parent[EOS_PATH_MAX];
	const char *name;
	int r = split_new_path(path, parent, sizeof(parent), &name, e);
	if (r)
		return r;
	r = check_parent(path, parent, e);
	if (r)
		return r;
	struct stat st;
	if (lstat(path, &st) == 0)
		return eos_fail(e, EEXIST, path, "%s already exists", path);
	enum btrfs_util_error err = btrfs_util_create_subvolume(path, 0, NULL, NULL);
	if (err)
		return util_fail(e, err, errno, "btrfs_util_create_subvolume", path);
	return 0;
}

int eos_btrfs_subvol_delete(const char *path, int recursive, struct eos_err *e)
{
	int r = check_subvol(path, e);
	if (r)
		return r;
	uint64_t id = 0;
	enum btrfs_util_error err = btrfs_util_subvolume_id(path, &id);
	if (err)
		return util_fail(e, err, errno, "btrfs_util_subvolume_id", path);
	if (id == BTRFS_FS_TREE_OBJECTID)
		return eos_fail(e, EINVAL, path, "%s is the top-level subvolume, which cannot be deleted", path);
	err = btrfs_util_delete_subvolume(path, recursive ? BTRFS_UTIL_DELETE_SUBVOLUME_RECURSIVE : 0);
	if (err && errno == ENOTEMPTY && !recursive)
		return eos_fail(e, ENOTEMPTY, path,
				"%s has subvolumes below it: delete them first or pass recursive=True", path);
	if (err)
		return util_fail(e, err, errno, "btrfs_util_delete_subvolume", path);
	return 0;
}

static void uuid_str(const uint8_t u[16], char out[37])
{
	int zero = 1;
	for (int i = 0; i < 16; i++)
		zero &= u[i] == 0;
	if (zero) {
		out[0] = '\0';
		return;
	}
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
}

static void fill_subvol(struct eos_btrfs_subvol *s, const struct btrfs_util_subvolume_info *i)
{
	s->id = i->id;
	s->parent_id = i->parent_id;
	s->dir_id = i->dir_id;
	s->flags = i->flags;
	s->generation = i->generation;
	s->ctransid = i->ctransid;
	s->otransid = i->otransid;
	s->read_only = (i->flags & BTRFS_ROOT_SUBVOL_RDONLY) != 0;
	uuid_str(i->uuid, s->uuid);
	uuid_str(i->parent_uuid, s->parent_uuid);
	uuid_str(i->received_uuid, s->received_uuid);
	s->otime = i->otime.tv_sec;
	s->ctime = i->ctime.tv_sec;
}

void eos_btrfs_subvol_clear(struct eos_btrfs_subvol *s)
{
	free(s->path);
	s->path = NULL;
}

int eos_btrfs_subvol_show(const char *path, struct eos_btrfs_subvol *out, struct eos_err *e)
{
	memset(out, 0, sizeof(*out));
	int r = check_subvol(path, e);
	if (r)
		return r;
	struct btrfs_util_subvolume_info info;
	enum btrfs_util_error err = btrfs_util_subvolume_info(path, 0, &info);
	if (err)
		return util_fail(e, err, errno, "btrfs_util_subvolume_info", path);
	fill_subvol(out, &info);
	err = btrfs_util_subvolume_path(path, 0, &out->path);
	if (err)
		return util_fail(e, err, errno, "btrfs_util_subvolume_path", path);
	return 0;
}

void eos_btrfs_subvol_list_free(struct eos_btrfs_subvol_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int eos_btrfs_subvol_list(const char *path, struct eos_btrfs_subvol_list *out, struct eos_err *e)
{
	out->v = NULL;
	out->n = 0;
	struct btrfs_util_subvolume_iterator *it = NULL;
	size_t cap = 0;
	int r = eos_btrfs_check(path, e);
	if (r)
		return r;
	enum btrfs_util_error err =
		btrfs_util_create_subvolume_iterator(path, BTRFS_FS_TREE_OBJECTID, 0, &it);
	if (err) {
		r = util_fail(e, err, errno, "btrfs_util_create_subvolume_iterator", path);
		goto error;
	}
	for (;;) {
		char *p = NULL;
		struct btrfs_util_subvolume_info info;
		err = btrfs_util_subvolume_iterator_next_info(it, &p, &info);
		if (err == BTRFS_UTIL_ERROR_STOP_ITERATION)
			break;
		if (err) {
			r = util_fail(e, err, errno, "btrfs_util_subvolume_iterator_next_info", path);
			goto error;
		}
		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct eos_btrfs_subvol *nv = realloc(out->v, ncap * sizeof(*nv));
			if (!nv) {
				free(p);
				r = eos_fail(e, ENOMEM, path, "out of memory listing subvolumes");
				goto error;
			}
			out->v = nv;
			cap = ncap;
		}
		struct eos_btrfs_subvol *s = &out->v[out->n++];
		memset(s, 0, sizeof(*s));
		fill_subvol(s, &info);
		s->path = p;
	}
	btrfs_util_destroy_subvolume_iterator(it);
	return (int)out->n;
error:
	if (it)
		btrfs_util_destroy_subvolume_iterator(it);
	eos_btrfs_subvol_list_free(out);
	return r;
}

int eos_btrfs_subvol_set_read_only(const char *path, int read_only, struct eos_err *e)
{
	int r = check_subvol(path, e);
	if (r)
		return r;
	enum btrfs_util_error err = btrfs_util_set_subvolume_read_only(path, read_only != 0);
	if (err)
		return util_fail(e, err, errno, "btrfs_util_set_subvolume_read_only", path);
	return 0;
}

int eos_btrfs_snapshot(const char *source, const char *dest, int read_only, struct eos_err *e)
{
	char parent[EOS_PATH_MAX];
	const char *name;
	int r = check_subvol(source, e);
	if (r)
		return r;
	r = split_new_path(dest, parent, sizeof(parent), &name, e);
	if (r)
		return r;
	r = check_parent(dest, parent, e);
	if (r)
		return r;
	struct stat st;
	if (lstat(dest, &st) == 0) {
		eos_fail(e, EEXIST, source, "snapshot of %s: %s already exists", source, dest);
		return eos_err_path2(e, dest);
	}
	enum btrfs_util_error err = btrfs_util_create_snapshot(
		source, dest, read_only ? BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY : 0, NULL, NULL);
	if (err) {
		/* As os.rename: filename the source, filename2 the new snapshot. */
		util_fail(e, err, errno, "btrfs_util_create_snapshot", dest);
		snprintf(e->path, sizeof(e->path), "%s", source);
		return eos_err_path2(e, dest);
	}
	return 0;
}

int eos_btrfs_compression_check(const char *value, struct eos_err *e)
{
	static const struct {
		const char *name;
		int max_level;  /* 0: no level accepted */
	} algos[] = {{"zstd", 15}, {"zlib", 9}, {"lzo", 0}, {"none", 0}};
	if (!value)
		return eos_fail(e, EINVAL, "", "no compression given");
	for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++) {
		size_t n = strlen(algos[i].name);
		if (strncmp(value, algos[i].name, n) != 0)
			continue;
		if (value[n] == '\0')
			return 0;
		if (value[n] != ':' || !algos[i].max_level)
			break;
		const char *lv = value + n + 1;
		char *end;
		errno = 0;
		long level = strtol(lv, &end, 10);
		if (lv[0] >= '0' && lv[0] <= '9' && *end == '\0' && errno == 0 && level >= 1 &&
		    level <= algos[i].max_level)
			return 0;
		return eos_fail(e, EINVAL, "", "invalid compression level in '%s': %s takes 1..%d", value,
				algos[i].name, algos[i].max_level);
	}
	return eos_fail(e, EINVAL, "", "invalid compression '%s': expected zstd[:1-15], zlib[:1-9], lzo or none",
			value);
}

int eos_btrfs_compression_get(const char *path, char *buf, size_t len, struct eos_err *e)
{
	int r = eos_btrfs_check(path, e);
	if (r)
		return r;
	if (len == 0)
		return eos_fail(e, EINVAL, path, "no room for the compression value");
	ssize_t n = getxattr(path, COMPRESSION_XATTR, buf, len - 1);
	if (n < 0) {
		if (errno == ENODATA) {
			buf[0] = '\0';
			return 0;
		}
		return eos_fail_sys(e, errno, path, "getxattr(%s, " COMPRESSION_XATTR ")", path);
	}
	buf[n] = '\0';
	return 0;
}

int eos_btrfs_compression_set(const char *path, const char *value, struct eos_err *e)
{
	int r;
	if (value && value[0]) {
		r = eos_btrfs_compression_check(value, e);
		if (r) {
			snprintf(e->path, sizeof(e->path), "%s", path);
			return r;
		}
	}
	r = eos_btrfs_check(path, e);
	if (r)
		return r;
	if (!value || !value[0]) {
		if (removexattr(path, COMPRESSION_XATTR) < 0 && errno != ENODATA)
			return eos_fail_sys(e, errno, path, "removexattr(%s, " COMPRESSION_XATTR ")", path);
		return 0;
	}
	if (setxattr(path, COMPRESSION_XATTR, value, strlen(value), 0) < 0)
		return eos_fail_sys(e, errno, path, "setxattr(%s, " COMPRESSION_XATTR ", %s)", path, value);
	return 0;
}

static void space_names(struct eos_btrfs_chunk_space *s)
{
	uint64_t f = s->flags;
	if (f & BTRFS_SPACE_INFO_GLOBAL_RSV)
		s->type = "globalreserve";
	else if ((f & BTRFS_BLOCK_GROUP_DATA) && (f & BTRFS_BLOCK_GROUP_METADATA))
		s->type = "data+metadata";
	else if (f & BTRFS_BLOCK_GROUP_DATA)
		s->type = "data";
	else if (f & BTRFS_BLOCK_GROUP_METADATA)
		s->type = "metadata";
	else if (f & BTRFS_BLOCK_GROUP_SYSTEM)
		s->type = "system";
	else
		s->type = "unknown";
	s->ratio = 1;
	if (f & BTRFS_BLOCK_GROUP_RAID0)
		s->profile = "raid0";
	else if (f & BTRFS_BLOCK_GROUP_RAID1)
		s->profile = "raid1", s->ratio = 2;
	else if (f & BTRFS_BLOCK_GROUP_RAID1C3)
		s->profile = "raid1c3", s->ratio = 3;
	else if (f & BTRFS_BLOCK_GROUP_RAID1C4)
		s->profile = "raid1c4", s->ratio = 4;
	else if (f & BTRFS_BLOCK_GROUP_DUP)
		s->profile = "dup", s->ratio = 2;
	else if (f & BTRFS_BLOCK_GROUP_RAID10)
		s->profile = "raid10", s->ratio = 2;
	else if (f & BTRFS_BLOCK_GROUP_RAID5)
		s->profile = "raid5";
	else if (f & BTRFS_BLOCK_GROUP_RAID6)
		s->profile = "raid6";
	else
		s->profile = "single";
}

void eos_btrfs_usage_free(struct eos_btrfs_usage *u)
{
	free(u->spaces);
	free(u->devices);
	u->spaces = NULL;
	u->devices = NULL;
	u->n_spaces = u->n_devices = 0;
}

int eos_btrfs_usage(const char *path, struct eos_btrfs_usage *u, struct eos_err *e)
{
	memset(u, 0, sizeof(*u));
	struct btrfs_ioctl_space_args *sa = NULL;
	struct eos_btrfs_member *bm = NULL;
	size_t nbm = 0;
	int fd = -1, r = eos_btrfs_check(path, e);
	if (r)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return eos_fail_sys(e, errno, path, "open(%s)", path);

	struct btrfs_ioctl_fs_info_args fi;
	memset(&fi, 0, sizeof(fi));
	fi.flags = BTRFS_FS_INFO_FLAG_GENERATION;
	if (ioctl(fd, BTRFS_IOC_FS_INFO, &fi) < 0) {
		r = eos_fail_sys(e, errno, path, "ioctl(%s, BTRFS_IOC_FS_INFO)", path);
		goto error;
	}
	uuid_str(fi.fsid, u->fsid);
	u->num_devices = fi.num_devices;
	u->nodesize = fi.nodesize;
	u->sectorsize = fi.sectorsize;
	u->generation = (fi.flags & BTRFS_FS_INFO_FLAG_GENERATION) ? fi.generation : 0;

	r = eos_btrfs_space_info(fd, path, &sa, e);
	if (r)
		goto error;
	u->n_spaces = sa->total_spaces;
	u->spaces = calloc(u->n_spaces ? u->n_spaces : 1, sizeof(*u->spaces));
	if (!u->spaces) {
		r = eos_fail(e, ENOMEM, path, "out of memory for space info");
		goto error;
	}
	unsigned data_ratio = 1;
	for (size_t i = 0; i < u->n_spaces; i++) {
		struct eos_btrfs_chunk_space *s = &u->spaces[i];
		s->flags = sa->spaces[i].flags;
		s->total = sa->spaces[i].total_bytes;
		s->used = sa->spaces[i].used_bytes;
		space_names(s);
		if (s->flags & BTRFS_SPACE_INFO_GLOBAL_RSV)
			continue;
		if (s->flags & BTRFS_BLOCK_GROUP_DATA) {
			u->data_total += s->total;
			u->data_used += s->used;
			if (s->ratio > data_ratio)
				data_ratio = s->ratio;
		} else if (s->flags & BTRFS_BLOCK_GROUP_METADATA) {
			u->metadata_total += s->total;
			u->metadata_used += s->used;
		} else if (s->flags & BTRFS_BLOCK_GROUP_SYSTEM) {
			u->system_total += s->total;
			u->system_used += s->used;
		}
	}

	r = eos_btrfs_members(path, &bm, &nbm, e);
	if (r)
		goto error;
	u->devices = calloc(nbm ? nbm : 1, sizeof(*u->devices));
	if (!u->devices) {
		r = eos_fail(e, ENOMEM, path, "out of memory for device info");
		goto error;
	}
	for (size_t i = 0; i < nbm; i++) {
		struct eos_btrfs_device *d = &u->devices[u->n_devices++];
		d->devid = bm[i].devid;
		d->size = bm[i].total_bytes;
		d->allocated = bm[i].bytes_used;
		snprintf(d->path, sizeof(d->path), "%s", bm[i].path);
		u->device_size += d->size;
		u->device_allocated += d->allocated;
	}
	u->device_unallocated = u->device_size > u->device_allocated ? u->device_size - u->device_allocated : 0;
	u->free_estimated = (u->data_total > u->data_used ? u->data_total - u->data_used : 0) +
			    u->device_unallocated / data_ratio;
	r = 0;
	goto out;
error:
	eos_btrfs_usage_free(u);
out:
	free(sa);
	free(bm);
	if (fd >= 0)
		close(fd);
	return r;
}

/* A set of extent start addresses, to count each extent once. */
struct bytenr_set {
	uint64_t *v;
	size_t cap, n;
};

static int bytenr_add(struct bytenr_set *s, uint64_t b)  /* 1 new, 0 seen, -ENOMEM */
{
	if (2 * (s->n + 1) > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		uint64_t *nv = calloc(ncap, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->v[i])
				continue;
			size_t k = (size_t)((s->v[i] * 0x9E3779B97F4A7C15ULL) >> 20) & (ncap - 1);
			while (nv[k])
				k = (k + 1) & (ncap - 1);
			nv[k] = s->v[i];
		}
		free(s->v);
		s->v = nv;
		s->cap = ncap;
	}
	size_t k = (size_t)((b * 0x9E3779B97F4A7C15ULL) >> 20) & (s->cap - 1);
	for (; s->v[k]; k = (k + 1) & (s->cap - 1))
		if (s->v[k] == b)
			return 0;
	s->v[k] = b;
	s->n++;
	return 1;
}

static uint64_t le64_at(const char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

int eos_btrfs_extent_stats(const char *path, struct eos_btrfs_extent_stats *s, struct eos_err *e)
{
	memset(s, 0, sizeof(*s));
	struct bytenr_set seen = {NULL, 0, 0};
	int r = eos_btrfs_check(path, e);
	if (r)
		return r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return eos_fail_sys(e, errno, path, "open(%s)", path);
	struct btrfs_ioctl_search_args args;
	memset(&args, 0, sizeof(args));
	struct btrfs_ioctl_search_key *sk = &args.key;
	sk->tree_id = 0;  /* the subvolume of fd */
	sk->min_objectid = 0;
	sk->max_objectid = UINT64_MAX;
	sk->min_type = BTRFS_EXTENT_DATA_KEY;
	sk->max_type = BTRFS_EXTENT_DATA_KEY;
	sk->min_offset = 0;
	sk->max_offset = UINT64_MAX;
	sk->min_transid = 0;
	sk->max_transid = UINT64_MAX;
	const size_t head = 21;  /* generation, ram_bytes, compression, encryption, other_encoding, type */
	for (;;) {
		sk->nr_items = 4096;
		if (ioctl(fd, BTRFS_IOC_TREE_SEARCH, &args) < 0) {
			r = eos_fail_sys(e, errno, path, "ioctl(%s, BTRFS_IOC_TREE_SEARCH)", path);
			goto out;
		}
		if (sk->nr_items == 0)
			break;
		size_t off = 0;
		struct btrfs_ioctl_search_header sh;
		for (uint32_t i = 0; i < sk->nr_items; i++) {
			memcpy(&sh, args.buf + off, sizeof(sh));
			const char *item = args.buf + off + sizeof(sh);
			off += sizeof(sh) + sh.len;
			/* The key range is (objectid, type, offset) as one number: other item types
			 * of the objectids in between come back too. */
			if (sh.type != BTRFS_EXTENT_DATA_KEY || sh.len < head)
				continue;
			uint64_t ram = le64_at(item + 8);
			uint8_t compression = (uint8_t)item[16], type = (uint8_t)item[20];
			if (type == BTRFS_FILE_EXTENT_INLINE) {
				s->inline_extents++;
				s->extents++;
				s->disk_bytes += sh.len - head;
				s->uncompressed_bytes += ram;
				s->referenced_bytes += ram;
				if (compression)
					s->compressed_disk_bytes += sh.len - head;
				continue;
			}
			if (type != BTRFS_FILE_EXTENT_REG || sh.len < head + 32)
				continue;  /* preallocated: no data yet */
			uint64_t bytenr = le64_at(item + head), disk = le64_at(item + head + 8);
			uint64_t num = le64_at(item + head + 24);
			if (bytenr == 0)
				continue;  /* a hole */
			s->referenced_bytes += num;
			int fresh = bytenr_add(&seen, bytenr);
			if (fresh < 0) {
				r = eos_fail(e, ENOMEM, path, "out of memory counting extents");
				goto out;
			}
			if (!fresh)
				continue;
			s->extents++;
			s->disk_bytes += disk;
			s->uncompressed_bytes += compression ? ram : disk;
			if (compression)
				s->compressed_disk_bytes += disk;
		}
		/* Continue after the last key returned. */
		sk->min_objectid = sh.objectid;
		sk->min_type = sh.type;
		sk->min_offset = sh.offset;
		if (sk->min_offset < UINT64_MAX) {
			sk->min_offset++;
		} else if (sk->min_type < 255) {
			sk->min_type++;
			sk->min_offset = 0;
		} else if (sk->min_objectid < UINT64_MAX) {
			sk->min_objectid++;
			sk->min_type = 0;
			sk->min_offset = 0;
		} else {
			break;
		}
		if (sk->min_objectid > sk->max_objectid)
			break;
	}
	r = 0;
out:
	free(seen.v);
	close(fd);
	return r;
}
