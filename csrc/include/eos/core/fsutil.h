/* Small file-system steps several concerns take: creating a directory with its parents,
 * replacing a file atomically, and telling whether two paths name the same file. */
#ifndef EOS_FSUTIL_H
#define EOS_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "eos/core/err.h"

/* mkdir -p: missing parents 0755, path itself with mode; existing ones are left as they are. */
int eos_mkdir_p(const char *path, mode_t mode, struct eos_err *e);

/* Replace path atomically with data: a temp file in the same directory (mode and owner of the
 * existing file kept, 0644 for a new one), fsync, rename, fsync of the directory. A symlink
 * is followed: the file it names is the one replaced. */
int eos_file_write_atomic(const char *path, const char *data, size_t len, struct eos_err *e);

/* write(2) all of data to fd, again after EINTR and short writes; 0 or -errno. */
int eos_write_all(int fd, const char *data, size_t len);

/* open(2) the directory path for ioctls and *at() calls (read-only, close-on-exec): the fd, or
 * -errno with e naming the path. */
int eos_open_dir(const char *path, struct eos_err *e);

/* fsync the directory dir (a rename in it made durable); 0 or -errno. */
int eos_fsync_dir(const char *dir);

/* True when a (an absolute path) and b resolve (realpath) to the same path: a mount's source
 * and a device named through a symlink. False when either cannot be resolved. */
int eos_same_path(const char *a, const char *b);

/* A record of getdents64(2), called directly for its large buffers (libc's readdir reads in
 * 32 KiB steps and costs fstat and fcntl calls per directory). */
struct eos_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

#endif
