#include "eos/core/fsutil.h"
#include "eos/drivers/btrfs/btrfs_resize.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int eos_btrfs_resize(const char *mountpoint, uint64_t devid, uint64_t bytes, struct eos_err *e)
{
	int r = 0;
	int fd = eos_open_dir(mountpoint, e);
	if (fd < 0)
		return fd;
	struct btrfs_ioctl_vol_args va;
	memset(&va, 0, sizeof(va));
	if (bytes)
		snprintf(va.name, sizeof(va.name), "%llu:%llu", (unsigned long long)devid,
			 (unsigned long long)bytes);
	else
		snprintf(va.name, sizeof(va.name), "%llu:max", (unsigned long long)devid);
	if (ioctl(fd, BTRFS_IOC_RESIZE, &va))
		r = eos_fail_sys(e, errno, mountpoint, "ioctl BTRFS_IOC_RESIZE '%s' on %s", va.name,
				 mountpoint);
	close(fd);
	return r;
}
