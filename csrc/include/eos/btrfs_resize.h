/* BTRFS: member devices of a mounted filesystem and BTRFS_IOC_RESIZE per member. */
#ifndef EOS_BTRFS_RESIZE_H
#define EOS_BTRFS_RESIZE_H

#include <stddef.h>
#include <stdint.h>

#include "eos/err.h"

struct eos_btrfs_member {
	uint64_t devid;
	uint64_t total_bytes;   /* what btrfs uses of the device */
	char path[1024];        /* device path as btrfs knows it */
};

/* Members of the btrfs mounted at mountpoint; *out is malloc'ed, free() it. */
int eos_btrfs_members(const char *mountpoint, struct eos_btrfs_member **out, size_t *n,
		      struct eos_err *e);

/* Resize member devid to bytes (0: "devid:max"). */
int eos_btrfs_resize(const char *mountpoint, uint64_t devid, uint64_t bytes, struct eos_err *e);

#endif
