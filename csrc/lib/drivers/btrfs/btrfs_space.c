#include "eos/core/fsutil.h"
#include "eos/drivers/btrfs/btrfs_space.h"

#include "eos/drivers/btrfs/btrfs_ioctl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Raw bytes per 100 logical bytes for a chunk profile on n devices. */
static uint64_t copies_x100(uint64_t flags, uint64_t n)
{
	if (flags & (BTRFS_BLOCK_GROUP_DUP | BTRFS_BLOCK_GROUP_RAID1 | BTRFS_BLOCK_GROUP_RAID10))
		return 200;
	if (flags & BTRFS_BLOCK_GROUP_RAID1C3)
		return 300;
	if (flags & BTRFS_BLOCK_GROUP_RAID1C4)
		return 400;
	if ((flags & BTRFS_BLOCK_GROUP_RAID5) && n > 1)
		return 100 * n / (n - 1);
	if ((flags & BTRFS_BLOCK_GROUP_RAID6) && n > 2)
		return 100 * n / (n - 2);
	return 100;
}

static double pct_of(uint64_t used, uint64_t total, uint64_t unalloc, uint64_t cx100)
{
	double room = (double)total + (double)unalloc * 100.0 / (double)(cx100 ? cx100 : 100);
	return room > 0 ? (double)used * 100.0 / room : 0;
}

int eos_btrfs_space_get(const char *path, struct eos_btrfs_space *s, struct eos_err *e)
{
	struct btrfs_ioctl_space_args *sa = NULL;
	int r = 0;
	memset(s, 0, sizeof(*s));
	int fd = eos_open_dir(path, e);
	if (fd < 0)
		return fd;
	struct eos_btrfs_member *bm = NULL;
	size_t nbm = 0;
	r = eos_btrfs_members(path, &bm, &nbm, e);
	if (r)
		goto out;
	for (size_t i = 0; i < nbm; i++)
		s->device_bytes += bm[i].total_bytes;
	free(bm);
	r = eos_btrfs_space_info(fd, path, &sa, e);
	if (r)
		goto out;
	uint64_t raw = 0, dcx = 100, mcx = 100;
	for (uint64_t i = 0; i < sa->total_spaces; i++) {
		const struct btrfs_ioctl_space_info *sp = &sa->spaces[i];
		if (sp->flags & BTRFS_SPACE_INFO_GLOBAL_RSV)
			continue;  /* a reservation inside metadata, not an allocation */
		uint64_t cx = copies_x100(sp->flags, nbm);
		raw += sp->total_bytes * cx / 100;
		if (sp->flags & BTRFS_BLOCK_GROUP_DATA) {  /* mixed block groups count as data */
			s->data_total += sp->total_bytes;
			s->data_used += sp->used_bytes;
			dcx = cx > dcx ? cx : dcx;
		} else if (sp->flags & BTRFS_BLOCK_GROUP_METADATA) {
			s->metadata_total += sp->total_bytes;
			s->metadata_used += sp->used_bytes;
			mcx = cx > mcx ? cx : mcx;
		} else if (sp->flags & BTRFS_BLOCK_GROUP_SYSTEM) {
			s->system_total += sp->total_bytes;
			s->system_used += sp->used_bytes;
		}
	}
	s->allocated = raw;
	s->unallocated = s->device_bytes > raw ? s->device_bytes - raw : 0;
	s->data_copies = (unsigned)dcx;
	s->metadata_copies = (unsigned)mcx;
	s->data_pct = pct_of(s->data_used, s->data_total, s->unallocated, dcx);
	s->metadata_pct = pct_of(s->metadata_used, s->metadata_total, s->unallocated, mcx);
	s->pct = s->data_pct > s->metadata_pct ? s->data_pct : s->metadata_pct;
out:
	free(sa);
	close(fd);
	return r;
}
