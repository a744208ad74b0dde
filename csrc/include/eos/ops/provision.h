/* Provisioning a device for a workload: the recommendation (filesystem and its reasons), a
 * minimal libblkid check that the device is free (filesystem, partition table and LVM
 * signatures, mounts, holders, exclusive open), mkfs with an argv vector, mount(2) and an
 * /etc/fstab entry by UUID written atomically.
 *
 * The device check is deliberately small and self-contained; a fuller prober lives elsewhere
 * (csrc/lib/blkid_probe.c) and can replace eos_provision_check later. */
#ifndef EOS_PROVISION_H
#define EOS_PROVISION_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

#define EOS_PROV_MAX_REASONS 6
#define EOS_PROV_MAX_SIGS 16
#define EOS_PROV_MAX_LIST 16
#define EOS_PROV_MAX_ARGV 12

struct eos_provision_rec {
	const char *workload;        /* canonical name */
	const char *fstype;          /* "xfs", "btrfs", "ext4", "cephfs" */
	const char *mount_options;   /* for mount(2) and fstab ("defaults" when none) */
	int fsck_pass;               /* fstab sixth field */
	const char *reasons[EOS_PROV_MAX_REASONS];
	size_t n_reasons;
	int wants_lvm;               /* the recommendation puts the filesystem on LVM ... */
	int lvm_available;           /* ... and device-mapper is there to activate it */
	char lvm_note[512];          /* why the LVM layer is used or skipped */
	const char *handover;        /* non-NULL: not provisioned here, handed to this work */
	uint64_t min_size;           /* smallest device mkfs accepts */
};

/* The recommendation for a workload: database, backup, boot, system, shared, general.
 * -EINVAL quoting anything else. */
int eos_provision_recommend(const char *workload, struct eos_provision_rec *rec, struct eos_err *e);

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

struct eos_provision_req {
	const char *device;
	const char *workload;
	const char *mountpoint;      /* NULL: no mount, no fstab */
	const char *label;           /* NULL: none */
	const char *fstab;           /* NULL: /etc/fstab */
	int force;                   /* destroy signatures, unmount */
	int dry_run;                 /* plan only */
	int keep_matching;           /* a device already holding the recommended filesystem (and
				      * label) is kept: only mount and fstab are ensured (states) */
};

enum eos_provision_action { EOS_PROV_WIPE, EOS_PROV_UNMOUNT, EOS_PROV_MKFS, EOS_PROV_MKDIR,
			    EOS_PROV_MOUNT, EOS_PROV_FSTAB, EOS_PROV_FSTAB_OFF };

struct eos_provision_step {
	enum eos_provision_action action;
	char detail[EOS_PATH_MAX];
	int done;
};

struct eos_provision_result {
	struct eos_provision_rec rec;
	struct eos_provision_check check;
	char destroys[EOS_PROV_MAX_LIST][512];  /* what force destroys */
	size_t n_destroys;
	char mkfs_argv[EOS_PROV_MAX_ARGV][EOS_PATH_MAX / 4];
	size_t mkfs_argc;
	char uuid[64];               /* of the filesystem (planned or existing) */
	char fstab_line[EOS_PATH_MAX + 512];
	struct eos_provision_step steps[24];
	size_t n_steps;
	int changed;                 /* something was (or, dry_run, would be) done */
	int kept;                    /* keep_matching: the existing filesystem was kept */
};

/* Plan and (unless dry_run) provision. Refusals (-EBUSY, -EEXIST, -EINVAL) happen before
 * anything changes and name every reason. */
int eos_provision(const struct eos_provision_req *req, struct eos_provision_result *res,
		  struct eos_err *e);

/* fstab: add "spec target fstype options 0 pass" atomically (temp file + rename, mode and
 * owner kept, other lines kept byte for byte). Returns 1 when written, 0 when the same
 * spec is already there for target, -EEXIST when target has another entry (unless
 * replace_note: then that line is commented out as "# <replace_note>: <line>"). */
int eos_fstab_add(const char *fstab, const char *spec, const char *target, const char *fstype,
		  const char *options, int pass, const char *replace_note, struct eos_err *e);

/* Undo eos_fstab_add with a replace_note: drop the entries of spec for target and restore the
 * lines for target commented out with note. Returns how many lines changed. */
int eos_fstab_undo(const char *fstab, const char *spec, const char *target, const char *note,
		   struct eos_err *e);

/* Replace path atomically with data (temp file in the same directory, fsync, rename, fsync of
 * the directory; mode and owner of an existing file kept). */
int eos_file_write_atomic(const char *path, const char *data, size_t len, struct eos_err *e);

/* Comment out ("# note: line") every entry whose spec is spec. Returns how many. */
int eos_fstab_disable(const char *fstab, const char *spec, const char *note, struct eos_err *e);

/* The spec of the fstab entry for target into buf ("" when none). */
int eos_fstab_find(const char *fstab, const char *target, char *buf, size_t len, struct eos_err *e);

#endif
