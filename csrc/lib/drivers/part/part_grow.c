/* Partitions, growing: the table through libfdisk, then the kernel through BLKPG. */
#include "part_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "eos/drivers/loopdev.h"

/* The whole-disk flock partitioning tools and udev share; a prober holds it only briefly. */
static int lock_disk(int fd, const char *disk, struct eos_err *e)
{
	for (int i = 0; i < 100; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK)
			return eos_fail_sys(e, errno, disk, "flock %s", disk);
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return eos_fail(e, EBUSY, disk, "%s stayed locked (flock) by another program for 10 s; "
			"is a partitioning tool running on it?", disk);
}

/* The table entry to size sectors, written and synced; nothing when it has that size. */
static int grow_table(int fd, const struct eos_part_info *pi, uint64_t size, struct eos_err *e)
{
	struct fdisk_context *cxt;
	uint64_t start, cur;
	int r = part_open(pi->disk, fd, &cxt, e);
	if (r)
		return r;
	r = part_entry(cxt, pi->partno, &start, &cur);
	if (r) {
		r = eos_fail_sys(e, -r, pi->disk, "partition %u of %s", pi->partno, pi->disk);
		goto out;
	}
	if (cur >= size)
		goto out;
	struct fdisk_partition *pa = fdisk_new_partition();
	r = pa ? fdisk_partition_set_size(pa, size) : -ENOMEM;
	if (!r)
		r = fdisk_set_partition(cxt, pi->partno - 1, pa);
	fdisk_unref_partition(pa);
	if (r) {
		r = eos_fail_sys(e, r < 0 ? -r : EINVAL, pi->disk, "libfdisk: set partition %u of %s to %llu "
				 "sectors", pi->partno, pi->disk, (unsigned long long)size);
		goto out;
	}
	/* A GPT's backup header and entries move to the disk's end with this write (libfdisk
	 * relocates them when it finds them short of the end), and its protective MBR grows. */
	r = fdisk_write_disklabel(cxt);
	if (r) {
		r = eos_fail_sys(e, r < 0 ? -r : EIO, pi->disk, "libfdisk: write the %s table of %s",
				 pi->label, pi->disk);
		goto out;
	}
	if (fsync(fd))
		r = eos_fail_sys(e, errno, pi->disk, "fsync %s", pi->disk);
out:
	part_close(cxt);
	return r;
}

/* The kernel's view of partno to start/size sectors; works while it is mounted. */
static int grow_kernel(int fd, const char *dev, const struct eos_part_info *pi, uint64_t size,
		       struct eos_err *e)
{
	struct blkpg_partition bp;
	memset(&bp, 0, sizeof(bp));
	bp.start = (long long)(pi->start * pi->sector);
	bp.length = (long long)(size * pi->sector);
	bp.pno = (int)pi->partno;
	struct blkpg_ioctl_arg a = {.op = BLKPG_RESIZE_PARTITION, .datalen = sizeof(bp), .data = &bp};
	if (ioctl(fd, BLKPG, &a))
		return eos_fail_sys(e, errno, dev, "ioctl BLKPG_RESIZE_PARTITION of %s (partition %u of "
				    "%s) to %llu bytes", dev, pi->partno, pi->disk,
				    (unsigned long long)bp.length);
	return 0;
}

static int check_grow(const char *dev, const struct eos_part_info *pi, uint64_t start,
		      uint64_t size, struct eos_err *e)
{
	if (pi->start != start)
		return eos_fail(e, EBUSY, dev, "%s now starts at sector %llu, not %llu as planned; "
				"refusing to grow it", dev, (unsigned long long)pi->start,
				(unsigned long long)start);
	if (pi->next_partno)
		return eos_fail(e, EBUSY, dev, "%s is partition %u of %s, and partition %u follows it at "
				"sector %llu: eos grows only the last partition", dev, pi->partno,
				pi->disk, pi->next_partno, (unsigned long long)pi->next_start);
	if (size > pi->max_size)
		return eos_fail(e, ENOSPC, dev, "%s cannot have %llu sectors: %s leaves it %llu", dev,
				(unsigned long long)size, pi->disk, (unsigned long long)pi->max_size);
	return 0;
}

int eos_part_grow(const char *dev, uint64_t start, uint64_t size, uint64_t *new_bytes,
		  struct eos_err *e)
{
	char disk[4096];
	struct eos_part_info pi;
	int r = eos_part_parent(dev, disk, sizeof(disk), e);
	if (r == 0)
		return eos_fail(e, EINVAL, dev, "%s is not a partition", dev);
	if (r < 0)
		return r;
	int fd = open(disk, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return eos_fail_sys(e, errno, disk, "open %s", disk);
	r = lock_disk(fd, disk, e);
	if (!r)
		r = eos_part_info(dev, 0, &pi, e) < 0 ? -e->code : 0;
	if (!r)
		r = check_grow(dev, &pi, start, size, e);
	if (!r && pi.size < size)
		r = grow_table(fd, &pi, size, e);
	if (!r && pi.kernel_bytes < size * pi.sector)
		r = grow_kernel(fd, dev, &pi, size, e);
	if (!r && new_bytes)
		r = eos_bdev_size(dev, new_bytes, NULL, e);
	close(fd);
	return r;
}
