/* Mounts from /proc/self/mountinfo and their usage from statvfs. */
#ifndef EOS_MOUNTS_H
#define EOS_MOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

struct eos_mount {
	int id;
	int parent_id;
	unsigned major, minor;  /* st_dev of the mounted filesystem */
	char *root;             /* root of the mount within the filesystem */
	char *target;           /* mount point, unescaped */
	char *options;          /* per-mount options */
	char *fstype;
	char *source;           /* unescaped; "none" etc. for virtual filesystems */
	char *super_options;
};

struct eos_mount_list {
	struct eos_mount *v;
	size_t n;
};

struct eos_usage {
	uint64_t size, used, free, avail;               /* bytes; avail is what non-root can use */
	uint64_t files, files_used, files_free;         /* inodes */
	uint64_t bsize;
};

/* Parse a mountinfo file (NULL: /proc/self/mountinfo). */
int eos_mounts_read(const char *path, struct eos_mount_list *out, struct eos_err *e);
/* Parse mountinfo text (NUL-terminated, modified in place); what names it in messages.
 * Lines that are not mount entries are skipped. */
int eos_mounts_parse(char *text, const char *what, struct eos_mount_list *out, struct eos_err *e);
void eos_mounts_free(struct eos_mount_list *l);

/* The mount a path lives on: the last (most recently mounted) entry whose target is the longest
 * prefix of the canonical path. NULL when none. canon receives realpath(path). */
const struct eos_mount *eos_mounts_find(const struct eos_mount_list *l, const char *path,
					char *canon, size_t canon_len, struct eos_err *e);

/* The mount on top at target exactly (the last such entry in mountinfo), or NULL. */
const struct eos_mount *eos_mounts_at(const struct eos_mount_list *l, const char *target);

/* statvfs in bytes. used = (blocks - bfree) * frsize, as df computes it. */
int eos_usage_get(const char *path, struct eos_usage *u, struct eos_err *e);

/* True for filesystems without storage of their own (proc, sysfs, cgroup, tmpfs is NOT virtual). */
int eos_fstype_is_virtual(const char *fstype);

#endif
