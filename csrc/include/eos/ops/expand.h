/* expand: grow a volume and the filesystem on it, safely.
 *
 * The target (a mount point, a block device or "vg/lv") is resolved to the chain under it:
 * loop backing file -> loop device -> partition (the disk's last) -> PV -> LV -> filesystem. A plan
 * lists every step with the bytes before and after; the steps run under one lock per target
 * (flock on <state_dir>/expand/<key>.lock) and a journal (<state_dir>/expand/<key>.journal: the
 * plan and its aim, made durable with one fdatasync before the first change, then each step
 * recorded before and after). A rerun after a crash reads the journal, keeps the sizes the
 * interrupted run aimed at, measures the real state again and finishes what is missing. Nothing
 * ever shrinks. */
#ifndef EOS_EXPAND_H
#define EOS_EXPAND_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

enum eos_expand_step_kind {
	EOS_STEP_LOOP_CAPACITY,  /* LOOP_SET_CAPACITY: the loop device follows its backing file */
	EOS_STEP_PART_GROW,      /* the last partition to its disk's end: table, then BLKPG */
	EOS_STEP_PVRESIZE,       /* pvresize: the PV follows its device */
	EOS_STEP_LVEXTEND,       /* lvextend -L */
	EOS_STEP_XFS_GROW,       /* XFS_IOC_FSGROWFSDATA */
	EOS_STEP_EXT4_ONLINE,    /* EXT4_IOC_RESIZE_FS */
	EOS_STEP_EXT4_OFFLINE,   /* e2fsck -fy; resize2fs */
	EOS_STEP_BTRFS_RESIZE,   /* BTRFS_IOC_RESIZE devid:bytes|max */
	EOS_STEP_FS_ON_LV,       /* the filesystem on an LV that cannot be reached: always skipped */
};

enum eos_expand_status {
	EOS_STEP_PLANNED,
	EOS_STEP_DONE,
	EOS_STEP_FAILED,
	EOS_STEP_SKIPPED,
};

struct eos_expand_step {
	enum eos_expand_step_kind kind;
	enum eos_expand_status status;
	char object[4096];      /* device, vg/lv or mount point the step changes */
	char note[512];         /* e.g. "devid 2", or why it is skipped */
	uint64_t before, after; /* bytes */
	uint64_t arg;           /* blocks (xfs, ext4), devid (btrfs), sectors (partition) */
	uint64_t arg2;          /* btrfs: bytes, 0 for max; ext4: block size; partition: start */
	long elapsed_ms;
};

#define EOS_EXPAND_NOTES 8

struct eos_expand_plan {
	char target[4096];
	char request[128];
	char kind[16];          /* "mount", "device", "lv" */
	char mountpoint[4096];  /* "" when not mounted */
	char device[4096];      /* the device the filesystem (or PV) is on; "" for an LV without node */
	char fstype[32];        /* "" when none (a PV, an LV without node) */
	char vg[128], lv[128];
	char top[4];            /* what SIZE applies to: "fs" or "lv" */
	char key[600];          /* lock and journal name */
	char journal[4200];
	uint64_t size_before, size_after;   /* of the top object, bytes */
	struct eos_expand_step *steps;
	size_t nsteps;
	char notes[EOS_EXPAND_NOTES][512];
	size_t nnotes;
	int resumed;            /* an interrupted run's journal was found and finished */
	char resume_info[512];
	long lock_wait_ms;
	int changed;
};

/* Called at "started" (plan made, about to change), "step" (a step finished), "done" and
 * "failed" (step is the failed one or NULL, err the error). Runs on the calling thread. */
typedef void (*eos_expand_event_fn)(void *ctx, const char *phase, const struct eos_expand_plan *p,
				    const struct eos_expand_step *step, const struct eos_err *err);

struct eos_expand_opts {
	const char *target;
	const char *size;        /* NULL or "": "max" */
	int test;                /* plan only, change nothing, take no lock */
	const char *state_dir;   /* the state root: lock and journal in <state_dir>/expand (created
				  * 0700; see eos/core/journal.h) */
	const char *legacy_dir;  /* NULL, or where an older version kept its journals: one found
				  * there for this target is moved under state_dir */
	unsigned warn_pct;       /* for "auto": the warning level of the scale tier (1..99) */
	unsigned margin_pct;     /* for "auto": points below warn_pct to aim for */
	int lock_timeout_ms;     /* <= 0: 10 minutes */
	eos_expand_event_fn on_event;
	void *ctx;
};

/* Resolve, plan and (unless test) carry out. p is filled in every case where resolution got
 * far enough; free it with eos_expand_plan_free. Test hooks, read from the environment in a
 * test build only (-DEOS_TEST_HOOKS; the default build ignores them):
 * EOS_TEST_CRASH_AFTER_STEP=N kills the process (SIGKILL) right after step N is journaled as
 * done (crash convergence); EOS_TEST_FAIL_STEP=N makes step N fail with EIO instead of
 * running it (the failure path, the "failed" event, the journal of a failed run). */
int eos_expand(const struct eos_expand_opts *o, struct eos_expand_plan *p, struct eos_err *e);
void eos_expand_plan_free(struct eos_expand_plan *p);

const char *eos_expand_step_name(enum eos_expand_step_kind k);
const char *eos_expand_status_name(enum eos_expand_status s);

#endif
