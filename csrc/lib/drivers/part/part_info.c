/* Partitions, reading: which disk a partition is on, and how far it may grow there. */
#include "part_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "eos/core/buf.h"
#include "eos/drivers/loopdev.h"

/* A sysfs attribute of dev's block device as a number. */
static int sys_u64(dev_t rdev, const char *attr, uint64_t *v)
{
	char path[160];
	struct eos_buf b = EOS_BUF_INIT;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s", major(rdev), minor(rdev), attr);
	int r = eos_buf_read_file(&b, AT_FDCWD, path);
	if (r == 0) {
		char *end;
		errno = 0;
		unsigned long long x = strtoull(b.data, &end, 10);
		r = errno || end == b.data ? -EPROTO : 0;
		*v = x;
	}
	eos_buf_free(&b);
	return r;
}

/* 1 when dev is a partition: its disk (/dev/<name>), its number and kernel start. */
static int part_sysfs(const char *dev, char *disk, size_t n, unsigned *partno, uint64_t *start,
		      struct eos_err *e)
{
	struct stat st;
	char sys[160], real[PATH_MAX];
	uint64_t no = 0;
	if (stat(dev, &st))
		return eos_fail_sys(e, errno, dev, "stat %s", dev);
	if (!S_ISBLK(st.st_mode))
		return eos_fail(e, ENOTBLK, dev, "%s is not a block device", dev);
	int r = sys_u64(st.st_rdev, "partition", &no);
	if (r == -ENOENT)
		return 0;
	if (r == 0)
		r = sys_u64(st.st_rdev, "start", start);
	if (r)
		return eos_fail_sys(e, -r, dev, "read the partition number and start of %s in /sys", dev);
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/..", major(st.st_rdev), minor(st.st_rdev));
	if (!realpath(sys, real))
		return eos_fail_sys(e, errno, dev, "find the disk of partition %s (%s)", dev, sys);
	const char *base = strrchr(real, '/');
	if ((size_t)snprintf(disk, n, "/dev/%s", base ? base + 1 : real) >= n)
		return eos_fail(e, ENAMETOOLONG, dev, "the disk name of %s is too long", dev);
	*partno = (unsigned)no;
	return 1;
}

int eos_part_parent(const char *dev, char *disk, size_t n, struct eos_err *e)
{
	unsigned no;
	uint64_t start;
	return part_sysfs(dev, disk, n, &no, &start, e);
}

int part_open(const char *disk, int fd, struct fdisk_context **out, struct eos_err *e)
{
	struct fdisk_context *cxt = fdisk_new_context();
	if (!cxt)
		return eos_fail(e, ENOMEM, disk, "out of memory");
	int r = fd >= 0 ? fdisk_assign_device_by_fd(cxt, fd, disk, 0) : fdisk_assign_device(cxt, disk, 1);
	if (r) {
		fdisk_unref_context(cxt);
		return eos_fail_sys(e, r < 0 ? -r : EIO, disk, "libfdisk: open the partition table of %s",
				    disk);
	}
	if (!fdisk_has_label(cxt) || !(fdisk_is_label(cxt, GPT) || fdisk_is_label(cxt, DOS))) {
		struct fdisk_label *lb = fdisk_get_label(cxt, NULL);
		r = eos_fail(e, EOPNOTSUPP, disk, "%s has %s%s partition table; eos grows partitions of "
			     "GPT and MBR (dos) tables only", disk, fdisk_has_label(cxt) ? "a " : "no",
			     fdisk_has_label(cxt) && lb ? fdisk_label_get_name(lb) : "");
	} else if (fdisk_is_label(cxt, GPT) && fdisk_gpt_is_hybrid(cxt)) {
		r = eos_fail(e, EOPNOTSUPP, disk, "%s has a hybrid GPT (its MBR lists partitions too); "
			     "eos does not grow partitions of hybrid tables", disk);
	}
	if (r) {
		fdisk_deassign_device(cxt, 1);
		fdisk_unref_context(cxt);
		return r;
	}
	*out = cxt;
	return 0;
}

void part_close(struct fdisk_context *cxt)
{
	fdisk_deassign_device(cxt, 1);
	fdisk_unref_context(cxt);
}

/* Start and size of table entry partno (1-based); -ENOENT when unused. */
int part_entry(struct fdisk_context *cxt, unsigned partno, uint64_t *start, uint64_t *size)
{
	struct fdisk_partition *pa = NULL;
	int r = fdisk_get_partition(cxt, partno - 1, &pa);
	if (r == 0 && (!fdisk_partition_is_used(pa) || !fdisk_partition_has_start(pa) ||
		       !fdisk_partition_has_size(pa)))
		r = -ENOENT;
	if (r == 0) {
		*start = fdisk_partition_get_start(pa);
		*size = fdisk_partition_get_size(pa);
	}
	fdisk_unref_partition(pa);
	return r < 0 ? r : (r ? -EIO : 0);
}

/* The last sector a partition may use on a disk of sectors: GPT keeps its backup entries and
 * header at the end; MBR's LBAs are 32 bits. */
uint64_t part_last_usable(struct fdisk_context *cxt, uint64_t sectors, uint64_t sector, int *capped)
{
	*capped = 0;
	if (fdisk_is_label(cxt, GPT)) {
		uint64_t nents = 128;
		struct fdisk_labelitem *it = fdisk_new_labelitem();
		if (it && fdisk_get_disklabel_item(cxt, GPT_LABELITEM_ENTRIESALLOC, it) == 0)
			fdisk_labelitem_get_data_u64(it, &nents);
		fdisk_unref_labelitem(it);
		uint64_t esects = (nents * 128 + sector - 1) / sector;
		return sectors > esects + 2 ? sectors - esects - 2 : 0;
	}
	if (sectors - 1 > UINT32_MAX) {
		*capped = 1;
		return UINT32_MAX;
	}
	return sectors - 1;
}

/* Which partition follows partno, and where the table's last partition ends. */
static void part_neighbours(struct fdisk_context *cxt, struct eos_part_info *pi, uint64_t *last_end)
{
	size_t n = fdisk_get_npartitions(cxt);
	*last_end = pi->start + pi->size - 1;
	for (size_t i = 0; i < n; i++) {
		struct fdisk_partition *pa = NULL;
		if (fdisk_get_partition(cxt, i, &pa) == 0 && fdisk_partition_is_used(pa) &&
		    fdisk_partition_has_start(pa) && i + 1 != pi->partno) {
			uint64_t s = fdisk_partition_get_start(pa);
			uint64_t z = fdisk_partition_has_size(pa) ? fdisk_partition_get_size(pa) : 0;
			if (s > pi->start && (!pi->next_partno || s < pi->next_start)) {
				pi->next_partno = (unsigned)i + 1;
				pi->next_start = s;
			}
			if (z && s + z - 1 > *last_end)
				*last_end = s + z - 1;
		}
		fdisk_unref_partition(pa);
	}
}

static int part_measure(struct fdisk_context *cxt, const char *dev, uint64_t disk_bytes,
			struct eos_part_info *pi, struct eos_err *e)
{
	snprintf(pi->label, sizeof(pi->label), "%s", fdisk_is_label(cxt, GPT) ? "gpt" : "dos");
	pi->sector = fdisk_get_sector_size(cxt);
	if (!strcmp(pi->label, "dos") && pi->partno > 4)
		return eos_fail(e, EOPNOTSUPP, dev, "%s is logical partition %u of %s (inside an MBR "
				"extended partition); eos grows primary MBR and GPT partitions only", dev,
				pi->partno, pi->disk);
	int r = part_entry(cxt, pi->partno, &pi->start, &pi->size);
	if (r)
		return eos_fail_sys(e, -r, dev, "partition %u of %s (%s) is not in its %s table", pi->partno,
				    pi->disk, dev, pi->label);
	/* The kernel counts 512-byte units in sysfs, the table logical sectors. */
	pi->kernel_start = pi->kernel_start * 512 / pi->sector;
	if (pi->kernel_start != pi->start)
		return eos_fail(e, EBUSY, dev, "the kernel has %s start at sector %llu, its %s table on %s "
				"at %llu: the table changed under the kernel; refusing to grow it", dev,
				(unsigned long long)pi->kernel_start, pi->label, pi->disk,
				(unsigned long long)pi->start);
	uint64_t last_end, sectors = (disk_bytes ? disk_bytes : fdisk_get_nsectors(cxt) * pi->sector) /
				     pi->sector;
	part_neighbours(cxt, pi, &last_end);
	uint64_t usable = part_last_usable(cxt, sectors, pi->sector, &pi->mbr_capped);
	pi->max_size = usable >= pi->start + pi->size - 1 ? usable - pi->start + 1 : pi->size;
	if (pi->next_partno)
		pi->max_size = pi->size;  /* only the last partition grows */
	pi->free_after = usable > last_end ? (usable - last_end) * pi->sector : 0;
	return 0;
}

int eos_part_info(const char *dev, uint64_t disk_bytes, struct eos_part_info *pi, struct eos_err *e)
{
	memset(pi, 0, sizeof(*pi));
	int r = part_sysfs(dev, pi->disk, sizeof(pi->disk), &pi->partno, &pi->kernel_start, e);
	if (r <= 0)
		return r;
	r = eos_bdev_size(dev, &pi->kernel_bytes, NULL, e);
	if (r)
		return r;
	struct fdisk_context *cxt;
	r = part_open(pi->disk, -1, &cxt, e);
	if (r)
		return r;
	r = part_measure(cxt, dev, disk_bytes, pi, e);
	part_close(cxt);
	return r ? r : 1;
}
