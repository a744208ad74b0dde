/* Is a block device free? A minimal libblkid check (filesystem, partition table and LVM
 * signatures), its mounts, sysfs holders and an exclusive open, with one sentence per reason
 * it is not. Used by provision and convert before they write to a device. (A fuller prober
 * is eos/drivers/blkid_probe.h.) */
#ifndef EOS_DEVCHECK_H
#define EOS_DEVCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

#define EOS_PROV_MAX_SIGS 16
#define EOS_PROV_MAX_LIST 16

struct eos_provision_sig {
	char type[64];       /* "xfs", "LVM2_member", or the partition table type ("gpt", "dos") */
	char usage[32];      /* "filesystem", "raid", "partition table", ... */
	char label[256];
	char uuid[64];
	uint64_t offset;     /* of the magic, bytes */
};

struct eos_provision_check {
	char device[EOS_PATH_MAX];   /* canonical path */
	unsigned major, minor;
	uint64_t size;
	struct eos_provision_sig sigs[EOS_PROV_MAX_SIGS];
	size_t n_sigs;
	int has_fs, has_ptable, has_lvm;
	char mounts[EOS_PROV_MAX_LIST][EOS_PATH_MAX / 4];  /* "source on target" */
	size_t n_mounts;
	char holders[EOS_PROV_MAX_LIST][64];  /* sysfs holder names, also of partitions */
	size_t n_holders;
	int busy;                    /* open(O_EXCL) said EBUSY */
	char blockers[EOS_PROV_MAX_LIST][512];  /* one human sentence per reason it is not free */
	size_t n_blockers;
};

/* Check a block device. Returns 0 (free or not: see n_blockers), or -errno when it cannot be
 * checked (not a block device, cannot be opened). */
int eos_provision_check(const char *device, struct eos_provision_check *c, struct eos_err *e);

/* A pre-chosen UUID from the kernel (so the fstab line is known before mkfs). */
int eos_provision_new_uuid(char out[37], struct eos_err *e);

/* "an ext4", "an xfs", "a btrfs": the article of a signature type as the name is spoken. */
const char *eos_sig_article(const char *type);

#endif
