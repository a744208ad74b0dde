#include "eos/drivers/ceph/cephfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <cephfs/libcephfs.h>

struct eos_cephfs {
	struct ceph_mount_info *cmount;
	int mounted;
};

/* "client.admin" -> "admin": ceph_create takes the id without the type. */
static const char *client_id(const char *name)
{
	if (!name || !*name)
		return "admin";
	return strncmp(name, "client.", 7) == 0 ? name + 7 : name;
}

int eos_cephfs_mount(const struct eos_ceph_opts *o, const char *fs_name, struct eos_cephfs **out,
		     struct eos_err *e)
{
	int timeout = o->timeout_s > 0 ? o->timeout_s : 10;
	const char *conf = o->conf ? o->conf : "default ceph.conf";
	struct eos_cephfs *fs = calloc(1, sizeof(*fs));
	char tbuf[32];
	int r;
	*out = NULL;
	if (!fs)
		return eos_fail_sys(e, ENOMEM, o->conf, "eos_cephfs_mount");
	r = ceph_create(&fs->cmount, client_id(o->name));
	if (r < 0) {
		fs->cmount = NULL;
		r = eos_fail_sys(e, r, o->conf, "ceph_create(%s)", client_id(o->name));
		goto error;
	}
	r = ceph_conf_read_file(fs->cmount, o->conf);
	if (r < 0) {
		r = eos_fail_sys(e, r, o->conf, "ceph_conf_read_file(%s)", conf);
		goto error;
	}
	snprintf(tbuf, sizeof(tbuf), "%d", timeout);
	static const char *const timeouts[] = {"client_mount_timeout", "rados_mon_op_timeout",
					       "rados_osd_op_timeout"};
	for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		r = ceph_conf_set(fs->cmount, timeouts[i], tbuf);
		if (r < 0) {
			r = eos_fail_sys(e, r, o->conf, "ceph_conf_set(%s)", timeouts[i]);
			goto error;
		}
	}
	ceph_conf_set(fs->cmount, "log_to_stderr", "false");
	ceph_conf_set(fs->cmount, "err_to_stderr", "false");
	if (o->keyring && *o->keyring) {
		r = ceph_conf_set(fs->cmount, "keyring", o->keyring);
		if (r < 0) {
			r = eos_fail_sys(e, r, o->keyring, "ceph_conf_set(keyring)");
			goto error;
		}
	}
	if (o->mon_host && *o->mon_host) {
		r = ceph_conf_set(fs->cmount, "mon_host", o->mon_host);
		if (r < 0) {
			r = eos_fail_sys(e, r, o->conf, "ceph_conf_set(mon_host=%s)", o->mon_host);
			goto error;
		}
	}
	r = ceph_init(fs->cmount);
	if (r < 0) {
		r = eos_fail_sys(e, r, o->conf, "ceph_init (%s via %s, timeout %d s)",
				 client_id(o->name), conf, timeout);
		goto error;
	}
	if (fs_name && *fs_name) {
		r = ceph_select_filesystem(fs->cmount, fs_name);
		if (r < 0) {
			r = eos_fail_sys(e, r, fs_name, "ceph_select_filesystem(%s)", fs_name);
			goto error;
		}
	}
	r = ceph_mount(fs->cmount, "/");
	if (r < 0) {
		r = eos_fail_sys(e, r, o->conf, "ceph_mount of CephFS %s (%s via %s, timeout %d s)",
				 fs_name && *fs_name ? fs_name : "(default)", client_id(o->name), conf,
				 timeout);
		goto error;
	}
	fs->mounted = 1;
	*out = fs;
	return 0;
error:
	eos_cephfs_unmount(fs);
	return r;
}

void eos_cephfs_unmount(struct eos_cephfs *fs)
{
	if (!fs)
		return;
	if (fs->cmount) {
		if (fs->mounted)
			ceph_unmount(fs->cmount);
		ceph_release(fs->cmount);
	}
	free(fs);
}

int eos_cephfs_statfs(struct eos_cephfs *fs, const char *path, struct eos_cephfs_statfs *st,
		      struct eos_err *e)
{
	struct statvfs sv;
	int r = ceph_statfs(fs->cmount, path, &sv);
	if (r < 0)
		return eos_fail_sys(e, r, path, "ceph_statfs(%s)", path);
	st->total_bytes = (uint64_t)sv.f_blocks * sv.f_frsize;
	st->free_bytes = (uint64_t)sv.f_bfree * sv.f_frsize;
	st->avail_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	st->files = sv.f_files;
	return 0;
}

int eos_cephfs_write(struct eos_cephfs *fs, const char *path, const void *data, size_t len,
		     struct eos_err *e)
{
	const char *p = data;
	size_t done = 0;
	int r, fd = ceph_open(fs->cmount, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return eos_fail_sys(e, fd, path, "ceph_open(%s)", path);
	while (done < len) {
		r = ceph_write(fs->cmount, fd, p + done, (int64_t)(len - done), (int64_t)done);
		if (r < 0) {
			r = eos_fail_sys(e, r, path, "ceph_write(%s)", path);
			goto out;
		}
		if (r == 0) {
			r = eos_fail(e, EIO, path, "ceph_write(%s): wrote 0 bytes", path);
			goto out;
		}
		done += (size_t)r;
	}
	r = ceph_fsync(fs->cmount, fd, 0);
	if (r < 0)
		r = eos_fail_sys(e, r, path, "ceph_fsync(%s)", path);
out:
	ceph_close(fs->cmount, fd);
	return r;
}

int eos_cephfs_read(struct eos_cephfs *fs, const char *path, size_t max, struct eos_buf *out,
		    struct eos_err *e)
{
	int r, fd = ceph_open(fs->cmount, path, O_RDONLY, 0);
	if (fd < 0)
		return eos_fail_sys(e, fd, path, "ceph_open(%s)", path);
	eos_buf_reset(out);
	while (out->len < max) {
		size_t chunk = max - out->len < 65536 ? max - out->len : 65536;
		if (eos_buf_reserve(out, chunk) < 0) {
			r = eos_fail_sys(e, ENOMEM, path, "ceph_read(%s)", path);
			goto out;
		}
		r = ceph_read(fs->cmount, fd, out->data + out->len, (int64_t)chunk, (int64_t)out->len);
		if (r < 0) {
			r = eos_fail_sys(e, r, path, "ceph_read(%s)", path);
			goto out;
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
		out->data[out->len] = '\0';
	}
	r = 0;
out:
	ceph_close(fs->cmount, fd);
	return r;
}

int eos_cephfs_mkdirs(struct eos_cephfs *fs, const char *path, struct eos_err *e)
{
	int r = ceph_mkdirs(fs->cmount, path, 0755);
	if (r < 0 && r != -EEXIST)
		return eos_fail_sys(e, r, path, "ceph_mkdirs(%s)", path);
	return 0;
}

int eos_cephfs_unlink(struct eos_cephfs *fs, const char *path, struct eos_err *e)
{
	int r = ceph_unlink(fs->cmount, path);
	if (r < 0)
		return eos_fail_sys(e, r, path, "ceph_unlink(%s)", path);
	return 0;
}
