/* ext2/3/4: size from the superblock, online grow (EXT4_IOC_RESIZE_FS, needs
 * CAP_SYS_RESOURCE) and offline grow (e2fsck -fy, then resize2fs, run with an argv). */
#ifndef EOS_EXT4_H
#define EOS_EXT4_H

#include <stdint.h>

#include "eos/core/err.h"

struct eos_ext4_sb {
	uint32_t blocksize;
	uint64_t blocks;
	uint32_t blocks_per_group;
	uint32_t first_data_block;
};

/* Read the superblock from the device (works mounted or not). */
int eos_ext4_read_sb(const char *dev, struct eos_ext4_sb *sb, struct eos_err *e);

/* 1 when this process may resize a mounted ext4 (CAP_SYS_RESOURCE in its effective set),
 * 0 when not (why says so), or -errno. */
int eos_ext4_can_grow_online(char *why, size_t why_len, struct eos_err *e);

/* Grow the mounted ext4 at mountpoint to newblocks. */
int eos_ext4_grow_online(const char *mountpoint, uint64_t newblocks, struct eos_err *e);

/* Check (e2fsck -fy) and grow (resize2fs) the unmounted filesystem on dev to newblocks
 * (0: fill the device). */
int eos_ext4_grow_offline(const char *dev, uint64_t newblocks, uint32_t blocksize,
			  struct eos_err *e);

#endif
