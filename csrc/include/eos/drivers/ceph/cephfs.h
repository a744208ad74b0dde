/* CephFS checks through libcephfs (needs -D_FILE_OFFSET_BITS=64): mount with a timeout,
 * statfs, small reads and writes. No kernel client is needed. */
#ifndef EOS_CEPHFS_H
#define EOS_CEPHFS_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/buf.h"
#include "eos/core/err.h"
#include "eos/drivers/ceph/rados.h"

struct eos_cephfs;  /* a mounted CephFS client */

/* fs_name NULL: the default file system. Mounts "/". */
int eos_cephfs_mount(const struct eos_ceph_opts *o, const char *fs_name, struct eos_cephfs **out,
		     struct eos_err *e);
void eos_cephfs_unmount(struct eos_cephfs *fs);

struct eos_cephfs_statfs {
	uint64_t total_bytes, free_bytes, avail_bytes, files;
};
int eos_cephfs_statfs(struct eos_cephfs *fs, const char *path, struct eos_cephfs_statfs *st,
		      struct eos_err *e);

/* Write (create/truncate) a whole small file, fsync'ed; read one back (at most max bytes). */
int eos_cephfs_write(struct eos_cephfs *fs, const char *path, const void *data, size_t len,
		     struct eos_err *e);
int eos_cephfs_read(struct eos_cephfs *fs, const char *path, size_t max, struct eos_buf *out,
		    struct eos_err *e);
int eos_cephfs_mkdirs(struct eos_cephfs *fs, const char *path, struct eos_err *e);
int eos_cephfs_unlink(struct eos_cephfs *fs, const char *path, struct eos_err *e);

#endif
