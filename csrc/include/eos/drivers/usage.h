/* The usage of one mount as analyze and the eos_storage beacon evaluate it (statvfs, and
 * BTRFS_IOC_SPACE_INFO on BTRFS), and which mounts are worth evaluating. */
#ifndef EOS_USAGE_H
#define EOS_USAGE_H

#include <stddef.h>

#include "eos/core/err.h"
#include "eos/drivers/btrfs/btrfs_space.h"
#include "eos/drivers/mounts.h"

/* The usage figures of one mount, as analyze and the beacon evaluate them. */
struct eos_usage_eval {
	struct eos_usage usage;      /* statvfs */
	double used_pct;             /* used / (used + avail) * 100, as df's Use% */
	int has_inodes;              /* the filesystem reports an inode count (BTRFS does not) */
	double inodes_pct;
	int has_btrfs;               /* BTRFS: the allocation below was read */
	struct eos_btrfs_space btrfs;
	double bytes_pct;            /* what the bytes level is taken from: the worse of used_pct
				      * and, on BTRFS, btrfs.pct */
};

/* statvfs (and BTRFS_IOC_SPACE_INFO on BTRFS) for the mount at target. */
int eos_usage_eval(const char *target, const char *fstype, struct eos_usage_eval *u,
		   struct eos_err *e);

/* The mounts worth evaluating, as indexes into l written to pick (room for l->n): real
 * filesystems only (virtual ones skipped), a mount hidden by a later one on the same mount
 * point skipped, one entry per filesystem (of bind mounts the one with the shortest root).
 * Returns the count. */
size_t eos_mounts_select(const struct eos_mount_list *l, size_t *pick);

#endif
