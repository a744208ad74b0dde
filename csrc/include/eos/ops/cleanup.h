/* Safe cleanup: a deterministic plan of the regular files to remove inside an allowlist of
 * directories, and its execution.
 *
 * Never follows a symlink (every path is opened component by component from "/" with
 * O_NOFOLLOW, entries are examined with AT_SYMLINK_NOFOLLOW), never crosses into another
 * filesystem, never removes a directory, skips files some process has open for writing, and
 * at execution removes an entry only when it is still the very file planned (same device and
 * inode, still a regular file). */
#ifndef EOS_CLEANUP_H
#define EOS_CLEANUP_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

struct eos_cleanup_rule {
	const char *path;          /* absolute directory; "/" and system trees are refused */
	const char *match;         /* fnmatch(3) pattern for file names, NULL: any name */
	unsigned older_than_days;  /* both atime and mtime older than this; 0 needs a match */
	int recursive;             /* also below subdirectories (same filesystem only) */
};

struct eos_cleanup_item {
	char *path;
	uint64_t bytes;            /* st_blocks * 512 (files with other links are never planned) */
	uint64_t dev, ino;
	size_t rule;               /* index of the rule that selected it */
};

struct eos_cleanup_plan {
	struct eos_cleanup_item *v;   /* sorted by path */
	size_t n;
	uint64_t bytes;
	size_t skipped_open;          /* matching files open for writing */
	size_t skipped_symlinks;      /* symlinks met (never followed, never removed) */
	size_t skipped_mounts;        /* subdirectories on another filesystem */
	size_t skipped_links;         /* files with more than one hard link */
};

/* path with "//", "." and ".." resolved lexically and no trailing "/" (".." of "/" is "/").
 * -EINVAL when not absolute, -ENAMETOOLONG when out is too small. */
int eos_cleanup_normalize(const char *path, char *out, size_t len);

/* Check rules: -EINVAL quoting the bad one. Each path is normalised and resolved (realpath of
 * what exists); refused: a path through a symlink, "/", /media, /mnt, /run, /var, /var/cache
 * as a whole, and /bin, /boot, /dev, /etc, /home, /lib*, /opt, /proc, /root, /sbin, /srv,
 * /sys, /usr, /var/lib and everything below them, unless allow (NULL-terminated, may be
 * NULL: pillar eos:storage:cleanup_allow) names that exact directory ("/" never). */
int eos_cleanup_check(const struct eos_cleanup_rule *r, size_t n, const char *const *allow,
		      struct eos_err *e);

/* Check, then build the plan (now: unix time) over the normalised paths. A rule whose
 * directory does not exist selects nothing. */
int eos_cleanup_plan(const struct eos_cleanup_rule *r, size_t n, const char *const *allow,
		     int64_t now, struct eos_cleanup_plan *out, struct eos_err *e);
void eos_cleanup_plan_free(struct eos_cleanup_plan *p);

struct eos_cleanup_result {
	size_t removed;
	uint64_t removed_bytes;    /* the plan's figures for what was removed */
	size_t changed;            /* no longer the planned file (replaced, now a symlink...) */
	size_t missing;            /* already gone */
	size_t open_now;           /* opened for writing since the plan */
};

/* Remove the plan's files (items as planned: path, dev, ino). */
int eos_cleanup_apply(const struct eos_cleanup_item *v, size_t n, struct eos_cleanup_result *res,
		      struct eos_err *e);

struct eos_compress_result {
	size_t compressed;
	uint64_t bytes_before, bytes_after;  /* disk usage of the originals, of the .gz files */
	size_t changed, missing, open_now;
	size_t exists;             /* <name>.gz already there: left alone */
};

/* Compress each planned file F to F.gz with gzip (same directory, mode, owner and times;
 * written to a temporary file, fsync'd, renamed without replacing anything), then remove F;
 * each only if F is still the planned file and nobody has it open for writing. */
int eos_compress_apply(const struct eos_cleanup_item *v, size_t n, struct eos_compress_result *res,
		       struct eos_err *e);

#endif
