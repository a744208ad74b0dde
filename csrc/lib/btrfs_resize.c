#include "eos/btrfs_resize.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int eos_btrfs_members(const char *mountpoint, struct eos_btrfs_member **out, size_t *n,
		      struct eos_err *e)
{
	int r = 0;
	struct eos_btrfs_member *v = NULL;
	size_t cnt = 0;
	*out = NULL;
	*n = 0;
	int fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return eos_fail_sys(e, errno, mountpoint, "open %s", mountpoint);
	struct btrfs_ioctl_fs_info_args fi;
	memset(&fi, 0, sizeof(fi));
	if (ioctl(fd, BTRFS_IOC_FS_INFO, &fi)) {
		r = eos_fail_sys(e, errno, mountpoint, "ioctl BTRFS_IOC_FS_INFO on %s", mountpoint);
		goto error;
	}
	v = calloc(fi.num_devices ? fi.num_devices : 1, sizeof(*v));
	if (!v) {
		r = eos_fail(e, ENOMEM, mountpoint, "out of memory");
		goto error;
	}
	for (uint64_t id = 1; id <= fi.max_id && cnt < fi.num_devices; id++) {
		struct btrfs_ioctl_dev_info_args di;
		memset(&di, 0, sizeof(di));
		di.devid = id;
		if (ioctl(fd, BTRFS_IOC_DEV_INFO, &di)) {
			if (errno == ENODEV)
				continue;
			r = eos_fail_sys(e, errno, mountpoint, "ioctl BTRFS_IOC_DEV_INFO devid %llu on %s",
					 (unsigned long long)id, mountpoint);
			goto error;
		}
		v[cnt].devid = di.devid;
		v[cnt].total_bytes = di.total_bytes;
		snprintf(v[cnt].path, sizeof(v[cnt].path), "%s", (const char *)di.path);
		cnt++;
	}
	close(fd);
	*out = v;
	*n = cnt;
	return 0;
error:
	free(v);
	close(fd);
	return r;
}

int eos_btrfs_resize(const char *mountpoint, uint64_t devid, uint64_t bytes, struct eos_err *e)
{
	int r = 0;
	int fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return eos_fail_sys(e, errno, mountpoint, "open %s", mountpoint);
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
