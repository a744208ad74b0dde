#include "eos/core/fsutil.h"
#include "eos/drivers/btrfs/btrfs_ioctl.h"

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
	int fd = eos_open_dir(mountpoint, e);
	if (fd < 0)
		return fd;
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
				continue;  /* a removed device leaves a hole in the ids */
			r = eos_fail_sys(e, errno, mountpoint, "ioctl BTRFS_IOC_DEV_INFO devid %llu on %s",
					 (unsigned long long)id, mountpoint);
			goto error;
		}
		v[cnt].devid = di.devid;
		v[cnt].total_bytes = di.total_bytes;
		v[cnt].bytes_used = di.bytes_used;
		snprintf(v[cnt].path, sizeof(v[cnt].path), "%.*s", (int)sizeof(di.path),
			 (const char *)di.path);
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

int eos_btrfs_space_info(int fd, const char *path, struct btrfs_ioctl_space_args **out,
			 struct eos_err *e)
{
	struct btrfs_ioctl_space_args *sa = NULL;
	*out = NULL;
	for (int attempt = 0; attempt < 4; attempt++) {
		struct btrfs_ioctl_space_args probe = {0, 0};
		if (ioctl(fd, BTRFS_IOC_SPACE_INFO, &probe))
			goto fail;
		uint64_t slots = probe.total_spaces + 2;
		free(sa);
		sa = calloc(1, sizeof(*sa) + slots * sizeof(sa->spaces[0]));
		if (!sa)
			return eos_fail(e, ENOMEM, path, "out of memory for BTRFS space info");
		sa->space_slots = slots;
		if (ioctl(fd, BTRFS_IOC_SPACE_INFO, sa))
			goto fail;
		if (sa->total_spaces <= slots)
			break;
	}
	if (sa->total_spaces > sa->space_slots)
		sa->total_spaces = sa->space_slots;
	*out = sa;
	return 0;
fail:;
	int err = errno;
	free(sa);
	return eos_fail_sys(e, err, path, "ioctl BTRFS_IOC_SPACE_INFO on %s", path);
}
