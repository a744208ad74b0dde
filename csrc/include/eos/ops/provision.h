/* Provisioning a device for a workload: the recommendation (filesystem and its reasons), the
 * device check (eos/drivers/devcheck.h), mkfs with an argv vector, mount(2) and an
 * /etc/fstab entry by UUID written atomically (eos/core/fstab.h). */
#ifndef EOS_PROVISION_H
#define EOS_PROVISION_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"
#include "eos/drivers/devcheck.h"

#define EOS_PROV_MAX_REASONS 6
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
	int lvm;                     /* 1: PV, VG and LV under the filesystem; 0: directly on the
				      * device; -1: as recommended (database, where device-mapper
				      * can activate the LV and the device is no LV itself) */
	const char *vg, *lv;         /* NULL: "eos_<device name>" and the workload */
};

enum eos_provision_action { EOS_PROV_WIPE, EOS_PROV_UNMOUNT, EOS_PROV_MKFS, EOS_PROV_MKDIR,
			    EOS_PROV_MOUNT, EOS_PROV_FSTAB, EOS_PROV_FSTAB_OFF, EOS_PROV_PVCREATE,
			    EOS_PROV_VGCREATE, EOS_PROV_LVCREATE, EOS_PROV_ACTIVATE };

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
	int lvm_used;                /* the filesystem goes on an LV: */
	char vg[128], lv[128];       /* its VG and LV */
	char fs_device[EOS_PATH_MAX];  /* where the filesystem is made: the device or the LV */
};

/* Add one mkfs argument to res->mkfs_argv: -ENAMETOOLONG when it does not fit its slot, -E2BIG
 * past EOS_PROV_MAX_ARGV - 1 arguments (never a cut path on mkfs's command line). */
int eos_provision_add_arg(struct eos_provision_result *res, const char *a, struct eos_err *e);

/* Plan and (unless dry_run) provision. Refusals (-EBUSY, -EEXIST, -EINVAL) happen before
 * anything changes and name every reason. */
int eos_provision(const struct eos_provision_req *req, struct eos_provision_result *res,
		  struct eos_err *e);

#endif
