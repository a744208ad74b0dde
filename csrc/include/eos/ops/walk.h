/* The tree walker behind top_consumers: disk usage of a directory tree, exact like
 * `du -x -B1` (st_blocks * 512, directories' own blocks included, hard-linked inodes counted
 * once), plus apparent sizes, the largest directories down to a depth and the largest files.
 *
 * It never follows symlinks, stays on the filesystem (device and mount) of the root, walks
 * with openat/getdents64/statx relative to directory fds (no path length limit), uses a small
 * pool of threads with a shared directory stack, and keeps memory proportional to the
 * directories in flight, not to the size of the tree. Unreadable subtrees are recorded as
 * errors and the walk carries on past them, like du (an unreadable directory's own blocks
 * count). A hard-linked inode counts once, in the first directory that meets it (as du; with
 * several threads which one that is may vary). Mounts below the root are not entered: other
 * filesystems (st_dev, as du -x) and also bind mounts of the same one (mount id), which du -x
 * would count a second time. */
#ifndef EOS_WALK_H
#define EOS_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

struct eos_walk_opts {
	unsigned depth;       /* directories at levels 0 (the root) .. depth are candidates */
	size_t limit;         /* how many directories and how many files to keep */
	unsigned threads;     /* 0: 4 per online CPU, at most 16 (metadata reads wait); max 64 */
	size_t max_errors;    /* errors kept in the result (0: 100); more are only counted */
};

struct eos_walk_item {
	char *path;           /* root path as given (trailing slashes dropped) + "/" + relative */
	uint64_t bytes;       /* disk usage: st_blocks * 512, cumulative for directories */
	uint64_t apparent;    /* st_size, cumulative for directories */
	uint64_t files;       /* directories: non-directory inodes below it (cumulative) */
	unsigned depth;       /* levels below the root (0 = the root) */
};

struct eos_walk_error {
	char *path;
	int code;             /* positive errno */
	char *msg;            /* "<call>: <strerror>" */
};

struct eos_walk_result {
	uint64_t bytes, apparent;  /* the whole tree */
	uint64_t files, dirs;      /* inodes counted (hard links once), the root included in dirs */
	struct eos_walk_item *top_dirs;   /* sorted by bytes, largest first */
	size_t n_top_dirs;
	struct eos_walk_item *top_files;  /* sorted by bytes, largest first */
	size_t n_top_files;
	struct eos_walk_error *errors;
	size_t n_errors;
	uint64_t errors_total;     /* n_errors plus the ones not kept */
};

/* Walk path (a directory, not a symlink to one). Returns 0, or -errno with e filled when the
 * root cannot be walked at all (missing, not a directory, a symlink, unreadable) or memory
 * runs out. Errors below the root are reported in r->errors instead. */
int eos_walk_top_consumers(const char *path, const struct eos_walk_opts *o,
			   struct eos_walk_result *r, struct eos_err *e);

void eos_walk_result_free(struct eos_walk_result *r);

#endif
