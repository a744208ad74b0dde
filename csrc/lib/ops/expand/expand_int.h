/* Private to expand: resolve (target -> chain of objects), plan (measure, size, steps) and run
 * (lock, journal, carry out) share these. */
#ifndef EOS_EXPAND_INT_H
#define EOS_EXPAND_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "eos/core/size.h"
#include "eos/drivers/btrfs/btrfs_ioctl.h"
#include "eos/drivers/ext4.h"
#include "eos/drivers/loopdev.h"
#include "eos/drivers/part.h"
#include "eos/drivers/xfs.h"
#include "eos/ops/expand.h"

#define BTRFS_SECTOR 4096ULL

struct bottom {
	char path[4096];
	uint64_t size_now, size_new;
	int is_loop;
	struct eos_loop_info li;
	int is_part;                /* a partition: pi describes it and its disk */
	struct eos_part_info pi;
	int is_pv;
	uint64_t pv_size, pe_start, pe_count, extent_size;
};

struct chain {
	struct bottom *b;
	size_t nb;
	int has_lv;
	uint64_t lv_size, vg_free, extent_size;
	char lv_path[4096];
	uint64_t vg_free_new;
	char fs_dev[4096];          /* where the filesystem is, "" when unreachable */
	struct eos_xfs_geom xg;
	struct eos_ext4_sb sb;
	struct eos_btrfs_member *bm;
	size_t nbm;
	uint64_t fs_bytes;
};

extern const char *const expand_step_names[];

void expand_note(struct eos_expand_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct eos_expand_step *expand_add_step(struct eos_expand_plan *p, enum eos_expand_step_kind k,
					const char *object, uint64_t before, uint64_t after,
					struct eos_err *e);
const char *expand_fmt_size(uint64_t b, char *buf);   /* buf: 32 bytes */

int expand_fs_supported(const char *fstype);
int expand_is_ext(const char *fstype);
/* TYPE of what is on dev (libblkid), "" when nothing recognized. */
int expand_probe_type(const char *dev, char *type, size_t n, struct eos_err *e);
void expand_key_for_dev(struct eos_expand_plan *p, dev_t rdev);

/* Target (mount point, device, VG/LV) to the plan's kind, device, fstype, vg/lv and key. */
int expand_resolve(const char *target, struct eos_expand_plan *p, struct eos_err *e);
/* Measure the chain and plan the steps that bring the top object to rq. */
int expand_plan(struct eos_expand_plan *p, const struct eos_size_req *rq, const struct eos_expand_opts *o,
		struct eos_err *e);

#endif
