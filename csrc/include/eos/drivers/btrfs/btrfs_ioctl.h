/* The BTRFS ioctls several concerns read: the member devices of a mounted filesystem
 * (FS_INFO, then DEV_INFO per devid) and its chunk allocation (SPACE_INFO). */
#ifndef EOS_BTRFS_IOCTL_H
#define EOS_BTRFS_IOCTL_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

struct btrfs_ioctl_space_args;

struct eos_btrfs_member {
	uint64_t devid;
	uint64_t total_bytes;   /* what btrfs uses of the device */
	uint64_t bytes_used;    /* of that, allocated to chunks */
	char path[1024];        /* device path as btrfs knows it */
};

/* Members of the btrfs mounted at mountpoint, by devid (removed devids leave no entry);
 * *out is malloc'ed, free() it. */
int eos_btrfs_members(const char *mountpoint, struct eos_btrfs_member **out, size_t *n,
		      struct eos_err *e);

/* BTRFS_IOC_SPACE_INFO on fd (path names it in errors): every space slot, asked twice (how
 * many, then the slots) and again if chunks of a new kind appeared in between. *out is
 * malloc'ed, free() it; (*out)->total_spaces <= (*out)->space_slots. */
int eos_btrfs_space_info(int fd, const char *path, struct btrfs_ioctl_space_args **out,
			 struct eos_err *e);

#endif
