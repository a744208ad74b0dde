#include "eos/drivers/loopdev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "eos/core/buf.h"

int eos_bdev_size(const char *dev, uint64_t *bytes, int *read_only, struct eos_err *e)
{
	int r = 0;
	int fd = open(dev, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return eos_fail_sys(e, errno, dev, "open %s", dev);
	struct stat st;
	if (fstat(fd, &st)) {
		r = eos_fail_sys(e, errno, dev, "fstat %s", dev);
		goto out;
	}
	if (!S_ISBLK(st.st_mode)) {
		r = eos_fail(e, ENOTBLK, dev, "%s is not a block device", dev);
		goto out;
	}
	if (ioctl(fd, BLKGETSIZE64, bytes)) {
		r = eos_fail_sys(e, errno, dev, "ioctl BLKGETSIZE64 on %s", dev);
		goto out;
	}
	if (read_only) {
		int ro = 0;
		if (ioctl(fd, BLKROGET, &ro)) {
			r = eos_fail_sys(e, errno, dev, "ioctl BLKROGET on %s", dev);
			goto out;
		}
		*read_only = ro != 0;
	}
out:
	close(fd);
	return r;
}

int eos_loop_info(const char *dev, struct eos_loop_info *li, struct eos_err *e)
{
	struct stat st;
	int r = 0;
	struct eos_buf b = EOS_BUF_INIT;
	memset(li, 0, sizeof(*li));
	if (stat(dev, &st))
		return eos_fail_sys(e, errno, dev, "stat %s", dev);
	if (!S_ISBLK(st.st_mode))
		return eos_fail(e, ENOTBLK, dev, "%s is not a block device", dev);
	char sys[128];
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/loop/backing_file",
		 major(st.st_rdev), minor(st.st_rdev));
	if (access(sys, F_OK))
		return 0;  /* not a loop device, or a loop device with nothing attached */
	int rr = eos_buf_read_file(&b, AT_FDCWD, sys);
	if (rr) {
		r = eos_fail_sys(e, -rr, sys, "read %s", sys);
		goto out;
	}
	while (b.len && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	snprintf(li->backing, sizeof(li->backing), "%s", b.data);
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = eos_fail_sys(e, errno, dev, "open %s", dev);
		goto out;
	}
	struct loop_info64 info;
	if (ioctl(fd, LOOP_GET_STATUS64, &info)) {
		r = eos_fail_sys(e, errno, dev, "ioctl LOOP_GET_STATUS64 on %s", dev);
		close(fd);
		goto out;
	}
	close(fd);
	li->offset = info.lo_offset;
	li->sizelimit = info.lo_sizelimit;
	r = eos_bdev_size(dev, &li->dev_bytes, &li->read_only, e);
	if (r)
		goto out;
	if (info.lo_flags & LO_FLAGS_READ_ONLY)
		li->read_only = 1;
	struct stat bst;
	if (stat(li->backing, &bst)) {
		r = eos_fail_sys(e, errno, li->backing, "stat backing file %s of %s", li->backing, dev);
		goto out;
	}
	if (S_ISBLK(bst.st_mode)) {
		r = eos_bdev_size(li->backing, &li->backing_bytes, NULL, e);
		if (r)
			goto out;
	} else {
		li->backing_bytes = (uint64_t)bst.st_size;
	}
	r = 1;
out:
	eos_buf_free(&b);
	return r;
}

uint64_t eos_loop_capacity_target(const struct eos_loop_info *li)
{
	uint64_t cap = li->backing_bytes > li->offset ? li->backing_bytes - li->offset : 0;
	if (li->sizelimit && cap > li->sizelimit)
		cap = li->sizelimit;
	return cap & ~(uint64_t)511;
}

int eos_loop_set_capacity(const char *dev, uint64_t *new_bytes, struct eos_err *e)
{
	int r = 0;
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return eos_fail_sys(e, errno, dev, "open %s", dev);
	if (ioctl(fd, LOOP_SET_CAPACITY, 0)) {
		r = eos_fail_sys(e, errno, dev, "ioctl LOOP_SET_CAPACITY on %s", dev);
		goto out;
	}
	if (new_bytes && ioctl(fd, BLKGETSIZE64, new_bytes))
		r = eos_fail_sys(e, errno, dev, "ioctl BLKGETSIZE64 on %s", dev);
out:
	close(fd);
	return r;
}
