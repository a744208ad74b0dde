#include "eos/core/fsutil.h"
#include "eos/drivers/ext4.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "eos/core/buf.h"
#include "eos/core/spawn.h"

/* Absent from older uapi headers. */
#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, __u64)
#endif

#define EXT_SB_OFFSET 1024
#define EXT_MAGIC 0xEF53
#define EXT_FEATURE_INCOMPAT_64BIT 0x80
#define CAP_SYS_RESOURCE_BIT 24

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int eos_ext4_read_sb(const char *dev, struct eos_ext4_sb *sb, struct eos_err *e)
{
	unsigned char raw[1024];
	int r = 0;
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return eos_fail_sys(e, errno, dev, "open %s", dev);
	ssize_t n = pread(fd, raw, sizeof(raw), EXT_SB_OFFSET);
	if (n != (ssize_t)sizeof(raw)) {
		r = n < 0 ? eos_fail_sys(e, errno, dev, "read ext superblock of %s", dev)
			  : eos_fail(e, EIO, dev, "short read of the ext superblock of %s", dev);
		goto out;
	}
	if ((raw[56] | raw[57] << 8) != EXT_MAGIC) {
		r = eos_fail(e, EINVAL, dev, "no ext2/3/4 superblock on %s", dev);
		goto out;
	}
	uint32_t log = le32(raw + 24);
	if (log > 6) {
		r = eos_fail(e, EINVAL, dev, "ext superblock of %s: bad block size log %u", dev, log);
		goto out;
	}
	sb->blocksize = 1024u << log;
	sb->blocks = le32(raw + 4);
	if (le32(raw + 96) & EXT_FEATURE_INCOMPAT_64BIT)
		sb->blocks |= (uint64_t)le32(raw + 0x150) << 32;
	sb->first_data_block = le32(raw + 20);
	sb->blocks_per_group = le32(raw + 32);
out:
	close(fd);
	return r;
}

int eos_ext4_can_grow_online(char *why, size_t why_len, struct eos_err *e)
{
	struct eos_buf b = EOS_BUF_INIT;
	int r = eos_buf_read_file(&b, AT_FDCWD, "/proc/self/status");
	if (r) {
		eos_buf_free(&b);
		return eos_fail_sys(e, -r, "/proc/self/status", "read /proc/self/status");
	}
	const char *p = strstr(b.data, "\nCapEff:");
	unsigned long long caps = 0;
	if (!p || sscanf(p + 8, "%llx", &caps) != 1) {
		eos_buf_free(&b);
		return eos_fail(e, EINVAL, "/proc/self/status", "no CapEff line in /proc/self/status");
	}
	eos_buf_free(&b);
	if (caps & (1ULL << CAP_SYS_RESOURCE_BIT))
		return 1;
	snprintf(why, why_len, "online ext4 grow (EXT4_IOC_RESIZE_FS) needs CAP_SYS_RESOURCE, "
		 "which this process lacks (CapEff %llx)", caps);
	return 0;
}

int eos_ext4_grow_online(const char *mountpoint, uint64_t newblocks, struct eos_err *e)
{
	int r = 0;
	int fd = eos_open_dir(mountpoint, e);
	if (fd < 0)
		return fd;
	__u64 n = newblocks;
	if (ioctl(fd, EXT4_IOC_RESIZE_FS, &n))
		r = eos_fail_sys(e, errno, mountpoint, "ioctl EXT4_IOC_RESIZE_FS on %s to %llu blocks",
				 mountpoint, (unsigned long long)newblocks);
	close(fd);
	return r;
}

int eos_ext4_grow_offline(const char *dev, uint64_t newblocks, uint32_t blocksize,
			  struct eos_err *e)
{
	struct eos_run run = EOS_RUN_INIT;
	int r;
	run.timeout_ms = 600000;
	const char *fsck[] = {"e2fsck", "-f", "-y", dev, NULL};
	r = eos_spawn(fsck, &run, e);
	if (r)
		goto out;
	/* 0: clean, 1: errors corrected; anything else leaves the filesystem alone. */
	if (run.status != 0 && run.status != 1) {
		size_t n = run.err.len;
		r = eos_fail(e, EIO, dev, "e2fsck -f -y %s exited with status %d; not resizing: %.*s",
			     dev, run.status, (int)(n > 1500 ? 1500 : n), run.err.data ? run.err.data : "");
		goto out;
	}
	char size[64];
	if (newblocks) {
		/* resize2fs takes a count of KiB with the K suffix, whatever the block size. */
		snprintf(size, sizeof(size), "%lluK",
			 (unsigned long long)(newblocks * (blocksize / 1024)));
	}
	const char *rs[] = {"resize2fs", dev, newblocks ? size : NULL, NULL};
	r = eos_spawn_ok(rs, &run, e);
out:
	eos_run_free(&run);
	return r;
}
