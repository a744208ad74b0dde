/* Mounted BTRFS filesystems and their member devices from /sys/fs/btrfs/<fsid>/. */
#ifndef EOS_BTRFS_SYSFS_H
#define EOS_BTRFS_SYSFS_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

struct eos_btrfs_fs {
	char *uuid;          /* the fsid (directory name) */
	char *label;         /* "" when none */
	char **devices;      /* block device names under devices/, sorted */
	size_t n_devices;
	uint64_t nodesize, sectorsize;
};

struct eos_btrfs_fs_list {
	struct eos_btrfs_fs *v;
	size_t n;
};

/* Scan dir (NULL: /sys/fs/btrfs). A missing directory (btrfs not in the kernel) is an empty
 * list. Returns the count or -errno. */
int eos_btrfs_sysfs_scan(const char *dir, struct eos_btrfs_fs_list *out, struct eos_err *e);
void eos_btrfs_fs_list_free(struct eos_btrfs_fs_list *l);

#endif
