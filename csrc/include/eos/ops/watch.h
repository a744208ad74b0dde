/* Threshold watching for the eos_storage beacon: every mount's level, with hysteresis against
 * the level it had at the previous check, and whether it changed. One statvfs per mount (and
 * BTRFS_IOC_SPACE_INFO on BTRFS); no tools, no samples, no expansion paths. */
#ifndef EOS_WATCH_H
#define EOS_WATCH_H

#include <stddef.h>

#include "eos/core/err.h"
#include "eos/core/thresholds.h"
#include "eos/drivers/usage.h"

struct eos_watch_prev {
	const char *target;
	enum eos_level level;
};

struct eos_watch_item {
	char *target, *source, *fstype;
	int error;                 /* errno of a failed statvfs/ioctl; level kept as before */
	char *error_msg;
	struct eos_usage_eval u;
	enum eos_level level;
	enum eos_level level_bytes, level_inodes;  /* each with hysteresis */
	int known;                 /* the mount had a previous level */
	enum eos_level previous;   /* EOS_LEVEL_OK when not known */
	int changed;               /* level differs from previous (a new mount: level is not ok) */
};

struct eos_watch_list {
	struct eos_watch_item *v;
	size_t n;
};

struct eos_watch_opts {
	const struct eos_thresholds *th;
	double band;                          /* hysteresis points; < 0: th->hysteresis */
	const struct eos_watch_prev *prev;    /* levels at the previous check */
	size_t n_prev;
	const char *const *only;              /* only these mount points (NULL: all real ones) */
	size_t n_only;
	const char *mountinfo;                /* NULL: /proc/self/mountinfo */
};

int eos_watch(const struct eos_watch_opts *o, struct eos_watch_list *out, struct eos_err *e);
void eos_watch_list_free(struct eos_watch_list *l);

#endif
