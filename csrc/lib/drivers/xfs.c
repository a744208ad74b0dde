#include "eos/core/fsutil.h"
#include "eos/drivers/xfs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <xfs/xfs.h>

#define XFS_MIN_AG_BLOCKS 64

/* The mount point opened (the fd, to close) and its XFS_IOC_FSGEOMETRY; -errno when either fails. */
static int open_geometry(const char *mountpoint, struct xfs_fsop_geom *geo, struct eos_err *e)
{
	int fd = eos_open_dir(mountpoint, e);
	if (fd < 0)
		return fd;
	memset(geo, 0, sizeof(*geo));
	if (ioctl(fd, XFS_IOC_FSGEOMETRY, geo)) {
		int r = eos_fail_sys(e, errno, mountpoint, "ioctl XFS_IOC_FSGEOMETRY on %s", mountpoint);
		close(fd);
		return r;
	}
	return fd;
}

int eos_xfs_geometry(const char *mountpoint, struct eos_xfs_geom *g, struct eos_err *e)
{
	struct xfs_fsop_geom geo;
	int fd = open_geometry(mountpoint, &geo, e);
	if (fd < 0)
		return fd;
	close(fd);
	g->blocksize = geo.blocksize;
	g->datablocks = geo.datablocks;
	g->agblocks = geo.agblocks;
	g->agcount = geo.agcount;
	g->imaxpct = geo.imaxpct;
	return 0;
}

uint64_t eos_xfs_max_blocks(const struct eos_xfs_geom *g, uint64_t dev_bytes)
{
	if (!g->blocksize || !g->agblocks)
		return g->datablocks;
	uint64_t nb = dev_bytes / g->blocksize;
	uint64_t rem = nb % g->agblocks;
	if (rem && rem < XFS_MIN_AG_BLOCKS)
		nb -= rem;
	return nb;
}

int eos_xfs_grow(const char *mountpoint, uint64_t newblocks, struct eos_err *e)
{
	int r = 0;
	struct xfs_fsop_geom geo;
	int fd = open_geometry(mountpoint, &geo, e);
	if (fd < 0)
		return fd;
	if (newblocks < geo.datablocks) {
		r = eos_fail(e, EINVAL, mountpoint, "refusing to shrink XFS on %s from %llu to %llu "
			     "blocks", mountpoint, (unsigned long long)geo.datablocks,
			     (unsigned long long)newblocks);
		goto out;
	}
	if (newblocks == geo.datablocks)
		goto out;
	xfs_growfs_data_t in = {.newblocks = newblocks, .imaxpct = geo.imaxpct};
	if (ioctl(fd, XFS_IOC_FSGROWFSDATA, &in))
		r = eos_fail_sys(e, errno, mountpoint, "ioctl XFS_IOC_FSGROWFSDATA on %s to %llu "
				 "blocks", mountpoint, (unsigned long long)newblocks);
out:
	close(fd);
	return r;
}
