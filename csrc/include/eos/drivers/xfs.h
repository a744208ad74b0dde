/* XFS: geometry and online grow of the data section (XFS_IOC_FSGROWFSDATA). */
#ifndef EOS_XFS_H
#define EOS_XFS_H

#include <stdint.h>

#include "eos/core/err.h"

struct eos_xfs_geom {
	uint32_t blocksize;
	uint64_t datablocks;
	uint32_t agblocks;
	uint32_t agcount;
	uint32_t imaxpct;
};

/* Geometry of the XFS mounted at mountpoint (any path inside it). */
int eos_xfs_geometry(const char *mountpoint, struct eos_xfs_geom *g, struct eos_err *e);

/* The data block count a grow to fill dev_bytes gives, with the kernel's rule that a last
 * allocation group smaller than 64 blocks is left out. */
uint64_t eos_xfs_max_blocks(const struct eos_xfs_geom *g, uint64_t dev_bytes);

/* Grow the data section to newblocks (> current). Growing past the device: EIO. */
int eos_xfs_grow(const char *mountpoint, uint64_t newblocks, struct eos_err *e);

#endif
