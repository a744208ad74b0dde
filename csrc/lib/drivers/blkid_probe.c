#include "eos/drivers/blkid_probe.h"

#include <blkid.h>
#include <byteswap.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* btrfs superblock: primary copy at 64 KiB; magic at +64, dev_item.devid at +201. */
#define BTRFS_SB_OFFSET 65536
#define BTRFS_MAGIC_OFF 64
#define BTRFS_DEVID_OFF 201

static uint64_t btrfs_devid(int fd)
{
	unsigned char sb[BTRFS_DEVID_OFF + 8];
	if (pread(fd, sb, sizeof(sb), BTRFS_SB_OFFSET) != (ssize_t)sizeof(sb))
		return 0;
	if (memcmp(sb + BTRFS_MAGIC_OFF, "_BHRfS_M", 8) != 0)
		return 0;
	uint64_t v;
	memcpy(&v, sb + BTRFS_DEVID_OFF, sizeof(v));
	return le64toh(v);
}

/* libblkid's zfs_member prober (util-linux libblkid/src/superblocks/zfs.c) reads four whole
 * 256 KiB labels into fresh zeroed buffers on every device: at 0, at 256 KiB and two at the
 * end, aligned down to 256 KiB; it finds ZFS only by the uberblock magic, native or swapped,
 * at 1 KiB steps in the second half of a label. That was a quarter of eos.probe's CPU time.
 * zfs_possible looks at exactly those places (of all four labels, where the prober may skip
 * some) through one small reused buffer; when none has the magic the prober's answer is "not
 * found", so filtering it out changes no value. Any doubt (a device under 1 MiB, a read that
 * fails) keeps the prober, which then meets the same error. */
#define ZFS_LABEL (256 << 10)
#define ZFS_UB_FIRST (128 << 10)
#define ZFS_UB_STEP 1024
#define ZFS_UB_MAGIC 0x00bab10cULL
#define ZFS_CHUNK (32 << 10)

static int zfs_possible(int fd, uint64_t size)
{
	if (size < 4 * ZFS_LABEL)
		return 1;
	uint64_t align = size % ZFS_LABEL;
	const uint64_t labels[4] = {0, ZFS_LABEL, size - 2 * ZFS_LABEL - align, size - ZFS_LABEL - align};
	unsigned char buf[ZFS_CHUNK];
	for (int l = 0; l < 4; l++) {
		for (uint64_t off = ZFS_UB_FIRST; off < ZFS_LABEL; off += ZFS_CHUNK) {
			if (pread(fd, buf, sizeof(buf), (off_t)(labels[l] + off)) != (ssize_t)sizeof(buf))
				return 1;
			for (size_t i = 0; i < sizeof(buf); i += ZFS_UB_STEP) {
				uint64_t v;
				memcpy(&v, buf + i, sizeof(v));
				if (v == ZFS_UB_MAGIC || v == bswap_64(ZFS_UB_MAGIC))
					return 1;
			}
		}
	}
	return 0;
}

/* libblkid reads some 40 small pieces, most of them in the first 256 KiB and the last 512 KiB,
 * with read-ahead turned off (POSIX_FADV_RANDOM); and the kernel drops a block device's page
 * cache at its last close, so every probe of an idle device starts cold and each piece is one
 * I/O. Asking for those two windows at once turns that into two larger reads in flight
 * together; libblkid then finds most pieces in the page cache. The values are the same. */
void eos_blkid_prefetch(int fd, long long size)
{
	const long long head = 256 << 10, tail = 512 << 10;
	if (size <= 0)
		return;
	posix_fadvise(fd, 0, size < head ? size : head, POSIX_FADV_WILLNEED);
	/* the uberblocks of the second ZFS label (zfs_possible) */
	if (size >= 4 * ZFS_LABEL)
		posix_fadvise(fd, ZFS_LABEL + ZFS_UB_FIRST, ZFS_LABEL - ZFS_UB_FIRST, POSIX_FADV_WILLNEED);
	if (size > head + tail)
		posix_fadvise(fd, size - tail, tail, POSIX_FADV_WILLNEED);
}

/* What blkid -p does (util-linux misc-utils/blkid.c, lowprobe_superblocks): a small whole
 * disk that carries a partition table is not probed for filesystems; otherwise superblocks
 * and partition entries, with blkid_do_safeprobe. */
static int lowprobe(blkid_probe pr, int fd)
{
	struct stat st;
	if (fstat(fd, &st))
		return -1;
	blkid_probe_enable_partitions(pr, 1);
	if (!S_ISCHR(st.st_mode) && blkid_probe_get_size(pr) <= 1024 * 1440 &&
	    blkid_probe_is_wholedisk(pr)) {
		blkid_probe_enable_superblocks(pr, 0);
		int rc = blkid_do_fullprobe(pr);
		if (rc < 0)
			return rc;
		if (blkid_probe_lookup_value(pr, "PTTYPE", NULL, NULL) == 0)
			return 0;
	}
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	blkid_probe_enable_superblocks(pr, 1);
	return blkid_do_safeprobe(pr);
}

int eos_blkid_open(const char *path, struct eos_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return eos_fail_sys(e, errno, path, "open %s", path);
	return fd;
}

/* prefetch: ask for libblkid's windows here (eos_blkid_probe); eos_blkid_probe_fd's caller did. */
static int probe_fd(int fd, const char *path, int prefetch, struct eos_blkid_result *out, struct eos_err *e)
{
	int r = 0;
	blkid_probe pr = NULL;
	memset(out, 0, sizeof(*out));
	pr = blkid_new_probe();
	if (!pr) {
		r = eos_fail(e, ENOMEM, path, "blkid_new_probe %s: out of memory", path);
		goto out;
	}
	if (blkid_probe_set_device(pr, fd, 0, 0)) {
		r = eos_fail_sys(e, errno ? errno : EIO, path, "blkid_probe_set_device %s", path);
		goto out;
	}
	if (prefetch)
		eos_blkid_prefetch(fd, blkid_probe_get_size(pr));
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID |
					  BLKID_SUBLKS_TYPE | BLKID_SUBLKS_SECTYPE |
					  BLKID_SUBLKS_USAGE | BLKID_SUBLKS_VERSION);
	static const char *const no_zfs[] = {"zfs_member", NULL};
	if (!zfs_possible(fd, (uint64_t)blkid_probe_get_size(pr)) &&
	    blkid_probe_filter_superblocks_type(pr, BLKID_FLTR_NOTIN, (char **)no_zfs)) {
		r = eos_fail(e, ENOMEM, path, "blkid_probe_filter_superblocks_type %s: out of memory", path);
		goto out;
	}
	errno = 0;
	int rc = lowprobe(pr, fd);
	if (rc == -2) {
		out->status = EOS_BLKID_AMBIVALENT;
		goto out;
	}
	if (rc < 0) {
		r = eos_fail_sys(e, errno ? errno : EIO, path, "blkid_do_safeprobe %s", path);
		goto out;
	}
	if (rc == 1) {
		out->status = EOS_BLKID_NOTHING;
		goto out;
	}
	int nvals = blkid_probe_numof_values(pr);
	if (nvals <= 0) {
		out->status = EOS_BLKID_NOTHING;
		goto out;
	}
	out->tags = calloc((size_t)nvals, sizeof(*out->tags));
	if (!out->tags) {
		r = eos_fail(e, ENOMEM, path, "out of memory");
		goto out;
	}
	for (int i = 0; i < nvals; i++) {
		const char *name, *data;
		size_t len;
		if (blkid_probe_get_value(pr, i, &name, &data, &len))
			continue;
		struct eos_blkid_tag *t = &out->tags[out->n];
		t->name = strdup(name);
		t->value = strndup(data, strnlen(data, len));
		out->n++;
		if (!t->name || !t->value) {
			r = eos_fail(e, ENOMEM, path, "out of memory");
			goto out;
		}
	}
	out->status = out->n ? EOS_BLKID_FOUND : EOS_BLKID_NOTHING;
	const char *type = eos_blkid_get(out, "TYPE");
	if (type && strcmp(type, "btrfs") == 0)
		out->btrfs_devid = btrfs_devid(fd);
out:
	if (pr)
		blkid_free_probe(pr);
	if (r)
		eos_blkid_result_free(out);
	return r;
}

int eos_blkid_probe_fd(int fd, const char *path, struct eos_blkid_result *out, struct eos_err *e)
{
	return probe_fd(fd, path, 0, out, e);
}

int eos_blkid_probe(const char *path, struct eos_blkid_result *out, struct eos_err *e)
{
	memset(out, 0, sizeof(*out));
	int fd = eos_blkid_open(path, e);
	if (fd < 0)
		return fd;
	int r = probe_fd(fd, path, 1, out, e);
	close(fd);
	return r;
}

void eos_blkid_result_free(struct eos_blkid_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->tags[i].name);
		free(r->tags[i].value);
	}
	free(r->tags);
	r->tags = NULL;
	r->n = 0;
}

const char *eos_blkid_get(const struct eos_blkid_result *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->tags[i].name, name) == 0)
			return r->tags[i].value;
	return NULL;
}
