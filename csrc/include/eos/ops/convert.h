/* Converting a mounted filesystem to BTRFS without losing a byte:
 * plan -> mkfs.btrfs on a free target -> staging mount and a "data" subvolume -> exact copy
 * (csrc/lib/copy.c) -> verify -> switch (the old filesystem stays mounted read-only at a
 * holding directory) -> fstab. A journal (one file per path, written atomically) and a lock
 * (flock) make a rerun after a crash continue where it stopped; convert_rollback returns the
 * path to the old filesystem, convert_finalize releases it. */
#ifndef EOS_CONVERT_H
#define EOS_CONVERT_H

#include <stdint.h>

#include "eos/core/copy.h"
#include "eos/core/err.h"

enum eos_convert_step {
	EOS_CONV_PLANNED,
	EOS_CONV_MKFS,
	EOS_CONV_STAGED,
	EOS_CONV_COPIED,
	EOS_CONV_VERIFIED,
	EOS_CONV_SWITCHED,
	EOS_CONV_FSTAB,
	EOS_CONV_DONE,
	EOS_CONV_NSTEPS,
};

extern const char *const eos_convert_step_names[EOS_CONV_NSTEPS];

struct eos_convert_req {
	const char *path;         /* the mount point to convert */
	const char *target;       /* a free block device for the new BTRFS */
	const char *compression;  /* zstd[:1-15] | zlib[:1-9] | lzo | none; NULL: zstd */
	const char *fstab;        /* NULL: /etc/fstab */
	const char *state_dir;    /* journal and holding mounts; NULL: /var/lib/eos */
	int force;                /* switch with open files; take a target that is not free */
	int dry_run;
	const char *crash_after;  /* tests: stop as if killed right after this step is journaled */
};

#define EOS_CONV_MAX_OPEN 32

struct eos_convert_result {
	char path[4096];
	char target[1024];
	char uuid[64];
	char old_source[1024];
	char old_fstype[32];
	char hold[4096];            /* where the old filesystem stays mounted read-only */
	char mount_options[160];    /* of the new filesystem at path (and in fstab) */
	int step;                   /* last completed step, -1: none */
	int resumed;                /* a journal from an earlier run was continued */
	int changed;
	struct eos_copy_stats copied, verified;
	uint64_t used_before;       /* bytes used on the old filesystem (statvfs) */
	uint64_t data_after;        /* bytes the copy takes on the BTRFS after compression (its file
				     * extents, inline ones included: eos_btrfs_extent_stats) */
	char open_files[EOS_CONV_MAX_OPEN][512];  /* "pid (comm): path" */
	int n_open;
};

int eos_convert(const struct eos_convert_req *req, struct eos_convert_result *res, struct eos_err *e);

/* Release the old filesystem after a finished conversion: unmount the holding mount, drop the
 * journal. The old device is left as it is (not wiped). */
int eos_convert_finalize(const char *path, const char *state_dir, struct eos_convert_result *res,
			 struct eos_err *e);

/* Return path to the old filesystem from whatever step a conversion reached: unmount the new
 * one, put the old one back read-write, restore fstab, drop staging and the journal. The new
 * BTRFS on the target is left as it is. */
int eos_convert_rollback(const char *path, const char *fstab, const char *state_dir,
			 struct eos_convert_result *res, struct eos_err *e);

#endif
