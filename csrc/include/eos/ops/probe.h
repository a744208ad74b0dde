/* One in-process storage inventory: block devices (sysfs), their signatures (libblkid), mounts
 * with statvfs usage, mounted BTRFS filesystems and LVM. Plain data, no Python: the binding
 * collects with the GIL released and converts afterwards. */
#ifndef EOS_PROBE_H
#define EOS_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "eos/drivers/blkid_probe.h"
#include "eos/drivers/blockdev.h"
#include "eos/drivers/btrfs/btrfs_sysfs.h"
#include "eos/core/err.h"
#include "eos/drivers/lvm/lvm_read.h"
#include "eos/drivers/lvm/lvm_report.h"
#include "eos/drivers/mounts.h"

enum eos_probe_lvm_mode {
	EOS_PROBE_LVM_NEVER = 0,
	EOS_PROBE_LVM_ALWAYS = 1,
	/* Only when some device carries an LVM2_member signature, is ambivalent, or could not be
	 * read for a reason the lvm tool would not share (it runs with our credentials and scans
	 * /dev, so EACCES, EPERM, ENOENT, ENXIO, ENOMEDIUM do not count): without one there is no
	 * PV, hence no VG or LV, and the lvm tool is not started. */
	EOS_PROBE_LVM_AUTO = 2,
};

struct eos_probe_opts {
	int blkid;                 /* probe signatures */
	int blkid_unused_only;     /* ... only of devices that could be unused (for the grain) */
	int usage;                 /* statvfs every mount with storage */
	enum eos_probe_lvm_mode lvm;
	struct eos_lvm_opts lvm_opts;
	const char *classdir;      /* NULL: /sys/class/block */
	const char *mountinfo;     /* NULL: /proc/self/mountinfo */
	const char *btrfsdir;      /* NULL: /sys/fs/btrfs */
};

#define EOS_PROBE_OPTS_INIT {1, 0, 1, EOS_PROBE_LVM_AUTO, {NULL, NULL, 0}, NULL, NULL, NULL}

/* Per-item errors do not fail the probe: they are kept next to the item. */
struct eos_probe_error {
	int code;                  /* 0: none */
	char *msg;
};

struct eos_probe {
	struct eos_blockdev_list devs;
	struct eos_blkid_result *sb;         /* devs.n results (status NOTHING when not probed) */
	struct eos_probe_error *sb_err;      /* devs.n */
	int *probed;                         /* devs.n: 1 when libblkid was run on it */
	struct eos_mount_list mounts;
	struct eos_usage *usage;             /* mounts.n */
	int *has_usage;                      /* mounts.n: 0 for virtual or shadowed mounts */
	int *shadowed;                       /* mounts.n: a later mount sits on the same target */
	struct eos_probe_error *usage_err;   /* mounts.n */
	struct eos_btrfs_fs_list btrfs;
	struct eos_lvm_report lvm;
	int lvm_ran;
	const char *lvm_reader;              /* "in-process" or "lvm" (the tool), NULL: not run */
	const char *lvm_skipped;             /* static reason when not run */
	struct eos_probe_error lvm_err;
};

/* 0 or -errno (sysfs or mountinfo unreadable, out of memory). */
int eos_probe_collect(const struct eos_probe_opts *o, struct eos_probe *p, struct eos_err *e);
void eos_probe_free(struct eos_probe *p);

/* Whether device i is mounted (a mount of its major:minor or of its path, or a member of a
 * mounted BTRFS). */
int eos_probe_dev_mounted(const struct eos_probe *p, size_t i);

/* Whether device i is unused: size > 0, writable, probed with no signature and no partition
 * table, no holders, no partitions, not mounted. */
int eos_probe_dev_unused(const struct eos_probe *p, size_t i);

/* Whether mount i is a filesystem with storage of its own (on a block device, or BTRFS; not
 * network, FUSE, overlay or tmpfs), counted once per major:minor (the first such mount wins). */
int eos_probe_mount_is_storage(const struct eos_probe *p, size_t i);

/* Sum of size and of avail (what non-root can still write) over eos_probe_mount_is_storage. */
void eos_probe_totals(const struct eos_probe *p, uint64_t *total, uint64_t *avail);

#endif
