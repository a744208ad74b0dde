/* Storage analysis per mount: usage and inode percentages, threshold level, growth from the
 * minion's samples, the expansion paths that exist below the filesystem, and a recommendation. */
#ifndef EOS_ANALYZE_H
#define EOS_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"
#include "eos/core/growth.h"
#include "eos/drivers/mounts.h"
#include "eos/drivers/usage.h"
#include "eos/core/thresholds.h"

/* Ways to give a filesystem more room without adding a disk. */
enum eos_xpath_kind {
	EOS_XPATH_FILESYSTEM,    /* the device is larger than the filesystem on it (grow the fs) */
	EOS_XPATH_BTRFS_DEVICE,  /* a BTRFS member device is larger than the fs's share of it */
	EOS_XPATH_LOOP_BACKING,  /* a loop device's backing file is larger than the device */
	EOS_XPATH_PARTITION,     /* free space after a partition on its disk */
	EOS_XPATH_PV_RESIZE,     /* an LVM PV's device is larger than the PV (pvresize) */
	EOS_XPATH_VG_FREE,       /* free extents in the VG of the LV the filesystem is on */
};

/* Ignore room smaller than this (alignment tails, metadata). */
#define EOS_XPATH_MIN_BYTES (1ULL << 20)

struct eos_xpath {
	enum eos_xpath_kind kind;
	char device[256];     /* the device that can grow or whose container has room */
	char target[1024];    /* backing file, disk, VG name or filesystem mount point */
	uint64_t available;   /* bytes that can be added */
	uint64_t devid;       /* BTRFS devid for EOS_XPATH_BTRFS_DEVICE, else 0 */
};

enum eos_action { EOS_ACTION_NONE, EOS_ACTION_EXPAND, EOS_ACTION_CLEANUP };

struct eos_mount_report {
	char *target, *source, *fstype, *root;
	unsigned major, minor;
	int error;                   /* 0, or the errno of a failed statvfs (then only names set) */
	char *error_msg;
	struct eos_usage_eval u;
	enum eos_level level, level_bytes, level_inodes;
	struct eos_growth growth;
	struct eos_xpath *paths;
	size_t n_paths;
	char *paths_error;           /* why looking for expansion paths failed, else NULL */
	enum eos_action action;
	int action_path;             /* index in paths for EXPAND, else -1 */
	char reason[768];
};

struct eos_analysis {
	struct eos_mount_report *v;
	size_t n;
};

struct eos_analyze_opts {
	const struct eos_thresholds *th;   /* required */
	const char *cachedir;              /* samples live under <cachedir>/eos/samples; NULL: none */
	int record;                        /* append a sample per mount before computing growth */
	double window;                     /* growth window in seconds, <= 0: 24 h */
	const char *path;                  /* only the mount holding this path; NULL: all */
	const char *mountinfo;             /* NULL: /proc/self/mountinfo */
	const char *lvm_config;            /* --config for lvm(8), or NULL */
	int use_lvm;                       /* look at LVM for dm devices (runs lvm once if needed) */
};

/* Analyse the mounts of real filesystems (virtual ones skipped, one entry per filesystem).
 * Fails only on a bad path (the message names it) or when mountinfo cannot be read; a mount
 * that cannot be examined is reported with its error. */
int eos_analyze(const struct eos_analyze_opts *o, struct eos_analysis *out, struct eos_err *e);
void eos_analysis_free(struct eos_analysis *a);

const char *eos_xpath_kind_name(enum eos_xpath_kind k);
const char *eos_action_name(enum eos_action a);

/* The expansion paths below one mounted filesystem (exposed for tests and the beacon).
 * *out is malloc'd. */
int eos_xpaths_for_mount(const struct eos_mount *m, const struct eos_analyze_opts *o,
			 struct eos_xpath **out, size_t *n, struct eos_err *e);

/* The expansion paths of an LVM logical volume vg/lv, whether or not it is active or mounted:
 * free extents in its VG, PVs whose device grew (pvresize), and the devices below the PVs.
 * lvm_config is passed to lvm(8) as --config (NULL: none). -ENOENT names a missing LV. */
int eos_xpaths_for_lv(const char *vg, const char *lv, const char *lvm_config,
		      struct eos_xpath **out, size_t *n, struct eos_err *e);

#endif
