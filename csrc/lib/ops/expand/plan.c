/* expand, planning: measure the chain, choose sizes, list the steps. */
#include "expand_int.h"


#include <blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "eos/drivers/btrfs/btrfs_ioctl.h"
#include "eos/drivers/btrfs/btrfs_resize.h"
#include "eos/core/buf.h"
#include "eos/drivers/ext4.h"
#include "eos/drivers/loopdev.h"
#include "eos/drivers/lvm/lvm_change.h"
#include "eos/drivers/lvm/lvm_read.h"
#include "eos/drivers/lvm/lvm_report.h"
#include "eos/drivers/mounts.h"
#include "eos/core/size.h"
#include "eos/drivers/xfs.h"

const char *const expand_step_names[] = {
	[EOS_STEP_LOOP_CAPACITY] = "loop_capacity",
	[EOS_STEP_PART_GROW] = "part_grow",
	[EOS_STEP_PVRESIZE] = "pvresize",
	[EOS_STEP_LVEXTEND] = "lvextend",
	[EOS_STEP_XFS_GROW] = "xfs_grow",
	[EOS_STEP_EXT4_ONLINE] = "ext4_grow_online",
	[EOS_STEP_EXT4_OFFLINE] = "ext4_grow_offline",
	[EOS_STEP_BTRFS_RESIZE] = "btrfs_resize",
	[EOS_STEP_FS_ON_LV] = "fs_on_lv",
};

static const char *const status_names[] = {
	[EOS_STEP_PLANNED] = "planned",
	[EOS_STEP_DONE] = "done",
	[EOS_STEP_FAILED] = "failed",
	[EOS_STEP_SKIPPED] = "skipped",
};

const char *eos_expand_step_name(enum eos_expand_step_kind k)
{
	return expand_step_names[k];
}

const char *eos_expand_status_name(enum eos_expand_status s)
{
	return status_names[s];
}

void eos_expand_plan_free(struct eos_expand_plan *p)
{
	free(p->steps);
	p->steps = NULL;
	p->nsteps = 0;
}

void expand_note(struct eos_expand_plan *p, const char *fmt, ...)
{
	if (p->nnotes >= EOS_EXPAND_NOTES)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->notes[p->nnotes++], sizeof(p->notes[0]), fmt, ap);
	va_end(ap);
}

struct eos_expand_step *expand_add_step(struct eos_expand_plan *p, enum eos_expand_step_kind k,
					       const char *object, uint64_t before, uint64_t after,
					struct eos_err *e)
{
	struct eos_expand_step *v = realloc(p->steps, (p->nsteps + 1) * sizeof(*v));
	if (!v) {
		eos_fail(e, ENOMEM, "", "out of memory");
		return NULL;
	}
	p->steps = v;
	struct eos_expand_step *s = &v[p->nsteps++];
	memset(s, 0, sizeof(*s));
	s->kind = k;
	s->status = EOS_STEP_PLANNED;
	snprintf(s->object, sizeof(s->object), "%s", object);
	s->before = before;
	s->after = after;
	return s;
}

const char *expand_fmt_size(uint64_t b, char *buf)
{
	eos_size_format(b, buf, 32);
	return buf;
}

/* ---- measuring and planning ------------------------------------------------------------- */

static void chain_free(struct chain *c)
{
	free(c->b);
	free(c->bm);
}

static int add_bottom(struct chain *c, const char *path, struct eos_err *e)
{
	struct bottom *v = realloc(c->b, (c->nb + 1) * sizeof(*v));
	if (!v)
		return eos_fail(e, ENOMEM, "", "out of memory");
	c->b = v;
	struct bottom *b = &v[c->nb++];
	memset(b, 0, sizeof(*b));
	snprintf(b->path, sizeof(b->path), "%s", path);
	int ro = 0;
	int r = eos_bdev_size(path, &b->size_now, &ro, e);
	if (r)
		return r;
	if (ro)
		return eos_fail(e, EROFS, path, "device %s is read-only; refusing to grow what is on it",
				path);
	b->size_new = b->size_now;
	r = eos_loop_info(path, &b->li, e);
	if (r < 0)
		return r;
	b->is_loop = r;
	if (b->is_loop && b->li.read_only)
		return eos_fail(e, EROFS, path, "loop device %s (backing %s) is read-only", path,
				b->li.backing);
	return 0;
}

static int has_step(const struct eos_expand_plan *p, enum eos_expand_step_kind k, const char *object)
{
	for (size_t i = 0; i < p->nsteps; i++)
		if (p->steps[i].kind == k && strcmp(p->steps[i].object, object) == 0)
			return 1;
	return 0;
}

/* A partition: its disk's loop device first (when its backing file grew), then the partition
 * to the disk's end, when it is the last one and the disk has grown. */
static int plan_partition(struct eos_expand_plan *p, struct bottom *b, struct eos_err *e)
{
	char disk[4096], a[32], z[32];
	struct eos_loop_info li;
	uint64_t disk_new = 0;
	int r = eos_part_parent(b->path, disk, sizeof(disk), e);
	if (r <= 0)
		return r;
	r = eos_loop_info(disk, &li, e);
	if (r < 0)
		return r;
	if (r && li.read_only)
		return eos_fail(e, EROFS, disk, "loop device %s (backing %s) is read-only", disk, li.backing);
	if (r && eos_loop_capacity_target(&li) > li.dev_bytes) {
		disk_new = eos_loop_capacity_target(&li);
		if (!has_step(p, EOS_STEP_LOOP_CAPACITY, disk) &&
		    !expand_add_step(p, EOS_STEP_LOOP_CAPACITY, disk, li.dev_bytes, disk_new, e))
			return -e->code;
	}
	struct eos_part_info *pi = &b->pi;
	r = eos_part_info(b->path, disk_new, pi, e);
	if (r == -EOPNOTSUPP) {
		/* A table eos does not edit: what is on the partition may still fill it. */
		expand_note(p, "%.400s; the partition keeps its size", e->msg);
		return 0;
	}
	if (r <= 0)
		return r;
	b->is_part = 1;
	if (pi->next_partno && pi->free_after >= EOS_PART_MIN_GROW)
		return eos_fail(e, EBUSY, b->path, "%s is partition %u of %s, and partition %u follows it "
				"(at sector %llu): eos grows only the last partition of a disk, so it cannot "
				"use the %s free at the end of %s", b->path, pi->partno, pi->disk,
				pi->next_partno, (unsigned long long)pi->next_start,
				expand_fmt_size(pi->free_after, a), pi->disk);
	if (pi->mbr_capped)
		expand_note(p, "%s has an MBR table: its partitions end at 2 TiB (32-bit sectors), the "
			    "rest of the disk stays unused", pi->disk);
	uint64_t max_bytes = pi->max_size * pi->sector;
	if (max_bytes < b->size_now + EOS_PART_MIN_GROW)
		return 0;
	struct eos_expand_step *s = expand_add_step(p, EOS_STEP_PART_GROW, b->path, b->size_now,
						     max_bytes, e);
	if (!s)
		return -e->code;
	s->arg = pi->max_size;
	s->arg2 = pi->start;
	snprintf(s->note, sizeof(s->note), "partition %u of %.300s (%s), %s to %s", pi->partno, pi->disk,
		 pi->label, expand_fmt_size(pi->size * pi->sector, a), expand_fmt_size(max_bytes, z));
	b->size_new = max_bytes;
	return 0;
}

/* The bottom layers: loop capacity, partitions, then PVs. */
static int plan_bottom(struct eos_expand_plan *p, struct chain *c, struct eos_err *e)
{
	for (size_t i = 0; i < c->nb; i++) {
		struct bottom *b = &c->b[i];
		int r = plan_partition(p, b, e);
		if (r)
			return r;
		if (b->is_loop) {
			uint64_t cap = eos_loop_capacity_target(&b->li);
			if (cap > b->size_now) {
				if (!expand_add_step(p, EOS_STEP_LOOP_CAPACITY, b->path, b->size_now, cap, e))
					return -e->code;
				b->size_new = cap;
			}
		}
		if (b->is_pv) {
			uint64_t ext = eos_lvm_pv_extents_for(b->pe_start, b->extent_size, b->pe_count,
							      b->size_new);
			if (ext > b->pe_count) {
				uint64_t after = ext * b->extent_size;
				if (!expand_add_step(p, EOS_STEP_PVRESIZE, b->path, b->pv_size, after, e))
					return -e->code;
				c->vg_free_new += after - b->pv_size;
			}
		}
	}
	return 0;
}

/* Turn the request into the top object's target size. cur: now; max: the most the layers
 * below allow; align: unit; fsu: usage for auto (NULL when there is no mounted filesystem). */
static int target_size(const struct eos_expand_plan *p, const struct eos_size_req *rq, uint64_t cur,
		       uint64_t max, uint64_t align, int round_up, const struct eos_usage *fsu,
		       uint64_t fs_cur, unsigned warn, unsigned margin, uint64_t *out,
		       struct eos_expand_plan *pn, struct eos_err *e)
{
	char a[32], b[32], c[32];
	uint64_t t = cur;
	switch (rq->kind) {
	case EOS_SIZE_MAX:
		t = max;
		break;
	case EOS_SIZE_PCT_FREE:
		t = cur + (max > cur ? (max - cur) / align * rq->pct / 100 * align : 0);
		break;
	case EOS_SIZE_GROW_BY:
		if (rq->bytes > UINT64_MAX - cur - align)
			return eos_fail(e, EINVAL, "", "size '%s' is too large", p->request);
		t = cur + rq->bytes;
		break;
	case EOS_SIZE_ABSOLUTE:
		t = rq->bytes;
		if (t < cur)
			return eos_fail(e, EINVAL, "", "size '%s' (%s) is below the current size of %s "
					"(%s); eos never shrinks", p->request, expand_fmt_size(t, a),
					p->target, expand_fmt_size(cur, b));
		break;
	case EOS_SIZE_AUTO: {
		if (!fsu)
			return eos_fail(e, EINVAL, "", "size 'auto' needs a mounted filesystem to measure; "
					"%s has none eos can reach", p->target);
		if (warn <= margin || warn >= 100)
			return eos_fail(e, EINVAL, "", "size 'auto': bad warning level %u%% (margin %u)",
					warn, margin);
		unsigned aim = warn - margin;
		if (fsu->used * 100 < (uint64_t)warn * fsu->size) {
			expand_note(pn, "auto: %s is %llu%% used, under the warning level of %u%%: nothing to do",
			     p->target,
			     (unsigned long long)(fsu->size ? fsu->used * 100 / fsu->size : 0), warn);
			t = cur;
			break;
		}
		/* statvfs size excludes metadata; scale the growth to the filesystem's own size. */
		uint64_t want_usable = (fsu->used * 100 + aim - 1) / aim;
		uint64_t grow = want_usable - fsu->size;
		if (fsu->size && fs_cur > fsu->size)
			grow = (uint64_t)((double)grow * (double)fs_cur / (double)fsu->size);
		t = cur + grow;
		if (t > max) {
			expand_note(pn, "auto: reaching %u%% used needs %s more, only %s is available; growing "
			     "to the maximum", aim, expand_fmt_size(grow, a), expand_fmt_size(max - cur, b));
			t = max;
		}
		break;
	}
	}
	if (align > 1) {
		if (round_up && t % align)
			t += align - t % align;
		else if (!round_up)
			t -= t % align;
	}
	if (t > max)
		return eos_fail(e, ENOSPC, "", "size '%s' needs %s at %s, but only %s is available "
				"(currently %s; grow the device or backing file first)", p->request,
				p->target, expand_fmt_size(t, a), expand_fmt_size(max, b), expand_fmt_size(cur, c));
	if (t < cur)
		t = cur;
	*out = t;
	return 0;
}

static int measure_fs(struct eos_expand_plan *p, struct chain *c, struct eos_err *e)
{
	int r = 0;
	if (strcmp(p->fstype, "xfs") == 0) {
		if (!p->mountpoint[0])
			return eos_fail(e, EOPNOTSUPP, c->fs_dev, "XFS on %s is not mounted; XFS grows only "
					"while mounted: mount it first", c->fs_dev);
		r = eos_xfs_geometry(p->mountpoint, &c->xg, e);
		c->fs_bytes = c->xg.datablocks * c->xg.blocksize;
	} else if (expand_is_ext(p->fstype)) {
		r = eos_ext4_read_sb(c->fs_dev, &c->sb, e);
		c->fs_bytes = c->sb.blocks * c->sb.blocksize;
	} else if (strcmp(p->fstype, "btrfs") == 0) {
		if (!p->mountpoint[0])
			return eos_fail(e, EOPNOTSUPP, c->fs_dev, "btrfs on %s is not mounted; eos grows "
					"btrfs only while mounted: mount it first", c->fs_dev);
		r = eos_btrfs_members(p->mountpoint, &c->bm, &c->nbm, e);
		c->fs_bytes = 0;
		for (size_t i = 0; i < c->nbm; i++)
			c->fs_bytes += c->bm[i].total_bytes;
	}
	return r;
}

/* The most the filesystem can become on a device of dev_bytes. */
static uint64_t fs_max(const struct eos_expand_plan *p, const struct chain *c, uint64_t dev_bytes)
{
	if (strcmp(p->fstype, "xfs") == 0)
		return eos_xfs_max_blocks(&c->xg, dev_bytes) * c->xg.blocksize;
	if (expand_is_ext(p->fstype)) {
		uint64_t nb = dev_bytes / c->sb.blocksize;
		/* Like resize2fs, leave out a last group too small to hold its own metadata. */
		if (c->sb.blocks_per_group && nb > c->sb.first_data_block) {
			uint64_t rem = (nb - c->sb.first_data_block) % c->sb.blocks_per_group;
			if (rem && rem < 256 + c->sb.blocks_per_group / 64)
				nb -= rem;
		}
		if (nb < c->sb.blocks)
			nb = c->sb.blocks;
		return nb * c->sb.blocksize;
	}
	return dev_bytes / BTRFS_SECTOR * BTRFS_SECTOR;
}

static int plan_fs_steps(struct eos_expand_plan *p, struct chain *c, uint64_t fs_target,
			 uint64_t fs_dev_new, int to_max, struct eos_err *e)
{
	char why[300];
	if (fs_target <= c->fs_bytes)
		return 0;
	if (strcmp(p->fstype, "xfs") == 0) {
		struct eos_expand_step *s = expand_add_step(p, EOS_STEP_XFS_GROW, p->mountpoint, c->fs_bytes,
						     fs_target, e);
		if (!s)
			return -e->code;
		s->arg = fs_target / c->xg.blocksize;
		return 0;
	}
	if (expand_is_ext(p->fstype)) {
		enum eos_expand_step_kind k = EOS_STEP_EXT4_OFFLINE;
		if (p->mountpoint[0]) {
			int can = eos_ext4_can_grow_online(why, sizeof(why), e);
			if (can < 0)
				return can;
			if (!can)
				return eos_fail(e, EPERM, p->mountpoint, "cannot grow the mounted %s at '%s': "
						"%s; unmount it and run again to grow it offline",
						p->fstype, p->mountpoint, why);
			k = EOS_STEP_EXT4_ONLINE;
		}
		struct eos_expand_step *s = expand_add_step(p, k, p->mountpoint[0] ? p->mountpoint : c->fs_dev,
						     c->fs_bytes, fs_target, e);
		if (!s)
			return -e->code;
		s->arg = fs_target / c->sb.blocksize;
		s->arg2 = c->sb.blocksize;
		return 0;
	}
	/* btrfs */
	if (c->nbm > 1) {
		if (!to_max)
			return eos_fail(e, EINVAL, "", "btrfs at '%s' spans %zu devices: only 'max' or "
					"'100%%FREE' are supported (each member grows to its device), "
					"not '%s'", p->mountpoint, c->nbm, p->request);
		for (size_t i = 0; i < c->nbm; i++) {
			uint64_t dev_new = 0;
			for (size_t j = 0; j < c->nb; j++)
				if (strcmp(c->b[j].path, c->bm[i].path) == 0)
					dev_new = c->b[j].size_new;
			uint64_t m = dev_new / BTRFS_SECTOR * BTRFS_SECTOR;
			if (m <= c->bm[i].total_bytes)
				continue;
			struct eos_expand_step *s = expand_add_step(p, EOS_STEP_BTRFS_RESIZE, p->mountpoint,
							     c->bm[i].total_bytes, m, e);
			if (!s)
				return -e->code;
			s->arg = c->bm[i].devid;
			s->arg2 = 0;
			snprintf(s->note, sizeof(s->note), "devid %llu (%.400s)",
				 (unsigned long long)c->bm[i].devid, c->bm[i].path);
		}
		return 0;
	}
	struct eos_expand_step *s = expand_add_step(p, EOS_STEP_BTRFS_RESIZE, p->mountpoint, c->fs_bytes,
					     fs_target, e);
	if (!s)
		return -e->code;
	s->arg = c->bm[0].devid;
	s->arg2 = fs_target == fs_max(p, c, fs_dev_new) ? 0 : fs_target;
	snprintf(s->note, sizeof(s->note), "devid %llu (%.400s)", (unsigned long long)c->bm[0].devid,
		 c->bm[0].path);
	return 0;
}

/* LVM's PVs, VGs and LVs to plan with: read in-process from the devices where lvm's view of
 * them is known (lvm_view.h), else from `lvm fullreport`. Either way the steps run lvm itself,
 * which re-reads the metadata under its own lock and refuses what no longer fits. */
static int lvm_facts(struct eos_lvm_report *rep, struct eos_err *e)
{
	struct eos_lvm_opts lo = {.config = eos_lvm_config(), .timeout_ms = 120000};
	const char *reader;
	memset(rep, 0, sizeof(*rep));
	return eos_lvm_scan(&lo, rep, &reader, e);
}

/* An LV at the top: the LV and its VG's PVs from lvm_facts. */
static int chain_lv(struct eos_expand_plan *p, struct chain *c, struct eos_err *e)
{
	c->has_lv = 1;
	struct eos_lvm_report rep;
	int r = lvm_facts(&rep, e);
	const struct eos_lvm_lv *lv = r ? NULL : eos_lvm_find_lv(&rep, p->vg, p->lv);
	const struct eos_lvm_vg *vg = r ? NULL : eos_lvm_find_vg(&rep, p->vg);
	if (!r && (!rep.available || !lv || !vg))
		r = eos_fail(e, ENOENT, "", "no logical volume '%s/%s' (%s)", p->vg, p->lv,
			     rep.available ? "lvm fullreport does not list it"
					   : "the lvm tool is not installed");
	if (!r && !vg->extent_size)
		r = eos_fail(e, EPROTO, "", "lvm fullreport: VG %s has no extent size", p->vg);
	if (!r) {
		c->lv_size = lv->size;
		c->vg_free = c->vg_free_new = vg->free;
		c->extent_size = vg->extent_size;
		snprintf(c->lv_path, sizeof(c->lv_path), "%s", lv->path ? lv->path : "");
	}
	for (size_t i = 0; !r && i < rep.n_pvs; i++) {
		const struct eos_lvm_pv *pv = &rep.pvs[i];
		if (!pv->vg_name || strcmp(pv->vg_name, p->vg) != 0)
			continue;
		r = add_bottom(c, pv->name, e);
		if (r == 0) {
			struct bottom *bt = &c->b[c->nb - 1];
			bt->is_pv = 1;
			bt->pv_size = pv->size;
			bt->pe_start = pv->pe_start;
			bt->pe_count = pv->pe_count;
			bt->extent_size = vg->extent_size;
		}
	}
	eos_lvm_report_free(&rep);
	if (r)
		return r;
	/* The filesystem is reachable only through an active LV's device node. */
	struct stat st;
	if (p->device[0]) {
		snprintf(c->fs_dev, sizeof(c->fs_dev), "%s", p->device);
	} else if (c->lv_path[0] && stat(c->lv_path, &st) == 0 && S_ISBLK(st.st_mode)) {
		snprintf(c->fs_dev, sizeof(c->fs_dev), "%s", c->lv_path);
		snprintf(p->device, sizeof(p->device), "%s", c->lv_path);
		expand_key_for_dev(p, st.st_rdev);
	}
	snprintf(p->top, sizeof(p->top), "lv");
	return 0;
}

/* A PV given as a device: its VG from lvm_facts. */
static int chain_pv(struct eos_expand_plan *p, struct chain *c, struct eos_err *e)
{
	struct eos_lvm_report rep;
	struct stat dst;
	int r = lvm_facts(&rep, e);
	if (r)
		return r;
	const struct eos_lvm_pv *pv = NULL;
	if (stat(p->device, &dst) == 0)
		for (size_t i = 0; i < rep.n_pvs && !pv; i++)
			if (rep.pvs[i].major == major(dst.st_rdev) && rep.pvs[i].minor == minor(dst.st_rdev))
				pv = &rep.pvs[i];
	const struct eos_lvm_vg *vg = pv && pv->vg_name ? eos_lvm_find_vg(&rep, pv->vg_name) : NULL;
	if (!pv || !vg || !vg->extent_size) {
		r = eos_fail(e, EINVAL, p->device, "%s carries an LVM label but lvm does not list it as a "
			     "PV of a volume group", p->device);
	} else {
		c->b[0].is_pv = 1;
		c->b[0].pv_size = pv->size;
		c->b[0].pe_start = pv->pe_start;
		c->b[0].pe_count = pv->pe_count;
		c->b[0].extent_size = vg->extent_size;
		snprintf(p->vg, sizeof(p->vg), "%s", vg->name);
		snprintf(p->top, sizeof(p->top), "pv");
	}
	eos_lvm_report_free(&rep);
	return r;
}

/* What lies at the bottom, and what SIZE applies to (p->top). */
static int build_chain(struct eos_expand_plan *p, struct chain *c, struct eos_err *e)
{
	int r;
	if (p->vg[0])
		return chain_lv(p, c, e);
	if (strcmp(p->fstype, "btrfs") == 0 && p->mountpoint[0]) {
		r = measure_fs(p, c, e);
		for (size_t i = 0; i < c->nbm && r == 0; i++)
			r = add_bottom(c, c->bm[i].path, e);
	} else {
		r = add_bottom(c, p->device, e);
		if (!r && !p->fstype[0])
			return chain_pv(p, c, e);
	}
	if (!r) {
		snprintf(c->fs_dev, sizeof(c->fs_dev), "%s", p->device);
		snprintf(p->top, sizeof(p->top), "fs");
	}
	return r;
}

/* A PV grows to its device, nothing else. */
static int plan_pv_top(struct eos_expand_plan *p, const struct chain *c, const struct eos_size_req *rq,
		       struct eos_err *e)
{
	if (rq->kind != EOS_SIZE_MAX && !(rq->kind == EOS_SIZE_PCT_FREE && rq->pct == 100))
		return eos_fail(e, EINVAL, "", "%s is an LVM PV: only 'max' or '100%%FREE' are supported "
				"(the PV grows to its device), not '%s'", p->device, p->request);
	p->size_before = c->b[0].pv_size;
	p->size_after = p->size_before;
	for (size_t i = 0; i < p->nsteps; i++)
		if (p->steps[i].kind == EOS_STEP_PVRESIZE)
			p->size_after = p->steps[i].after;
	return 0;
}

/* Filesystem measurements, when it can be reached: its size, and its usage when mounted. */
static int measure_top_fs(struct eos_expand_plan *p, struct chain *c, struct eos_usage *fsu,
			  struct eos_usage **fsup, struct eos_err *e)
{
	int r = 0;
	*fsup = NULL;
	if (c->fs_dev[0] && strcmp(p->fstype, "btrfs") != 0) {
		if (!p->fstype[0]) {
			r = expand_probe_type(c->fs_dev, p->fstype, sizeof(p->fstype), e);
			if (!r && !expand_fs_supported(p->fstype))
				r = eos_fail(e, EOPNOTSUPP, c->fs_dev, "%s holds '%s'; eos grows xfs, ext2/3/4 "
					     "and btrfs only", c->fs_dev, p->fstype[0] ? p->fstype : "nothing");
		}
		r = r ? r : measure_fs(p, c, e);
	}
	if (!r && c->fs_dev[0] && p->mountpoint[0]) {
		r = eos_usage_get(p->mountpoint, fsu, e);
		*fsup = r ? NULL : fsu;
	}
	return r;
}

/* An LV at the top: lvextend, then the filesystem on it (when reachable) fills it. */
static int plan_lv_top(struct eos_expand_plan *p, struct chain *c, const struct eos_size_req *rq,
		       const struct eos_expand_opts *o, const struct eos_usage *fsup, struct eos_err *e)
{
	char why[300];
	uint64_t lv_max = c->lv_size + c->vg_free_new, lv_t;
	int r = target_size(p, rq, c->lv_size, lv_max, c->extent_size, 1, fsup, c->fs_bytes,
			    o->warn_pct, o->margin_pct, &lv_t, p, e);
	if (r)
		return r;
	p->size_before = c->lv_size;
	p->size_after = lv_t;
	if (lv_t > c->lv_size) {
		char lvname[300];
		snprintf(lvname, sizeof(lvname), "%s/%s", p->vg, p->lv);
		if (!expand_add_step(p, EOS_STEP_LVEXTEND, lvname, c->lv_size, lv_t, e))
			return -e->code;
	}
	if (c->fs_dev[0])
		return plan_fs_steps(p, c, fs_max(p, c, lv_t), lv_t, 1, e);
	if (eos_lvm_dm_available(why, sizeof(why))) {
		expand_note(p, "LV %s/%s is not active (no device node %s): only its size changes",
			    p->vg, p->lv, c->lv_path);
		return 0;
	}
	char lvname[300];
	snprintf(lvname, sizeof(lvname), "%s/%s", p->vg, p->lv);
	struct eos_expand_step *s = expand_add_step(p, EOS_STEP_FS_ON_LV, lvname, 0, 0, e);
	if (!s)
		return -e->code;
	s->status = EOS_STEP_SKIPPED;
	snprintf(s->note, sizeof(s->note), "%s; a filesystem on it cannot be reached or grown", why);
	return 0;
}

/* A filesystem at the top: its target size within what the devices below can give. */
static int plan_fs_top(struct eos_expand_plan *p, struct chain *c, const struct eos_size_req *rq,
		       const struct eos_expand_opts *o, const struct eos_usage *fsup, struct eos_err *e)
{
	int to_max = rq->kind == EOS_SIZE_MAX || (rq->kind == EOS_SIZE_PCT_FREE && rq->pct == 100);
	uint64_t dev_new = 0;
	for (size_t i = 0; i < c->nb; i++)
		dev_new += c->b[i].size_new;
	uint64_t max = c->nbm > 1 ? 0 : fs_max(p, c, dev_new);
	if (c->nbm > 1)
		for (size_t i = 0; i < c->nb; i++)
			max += c->b[i].size_new / BTRFS_SECTOR * BTRFS_SECTOR;
	if (max < c->fs_bytes)
		max = c->fs_bytes;
	uint64_t align = strcmp(p->fstype, "xfs") == 0 ? c->xg.blocksize
			 : expand_is_ext(p->fstype) ? c->sb.blocksize : BTRFS_SECTOR;
	uint64_t fs_t = max;
	if (!(c->nbm > 1 && to_max)) {
		int r = target_size(p, rq, c->fs_bytes, max, align, 0, fsup, c->fs_bytes, o->warn_pct,
				    o->margin_pct, &fs_t, p, e);
		if (r)
			return r;
		/* XFS leaves out a too-small last AG: a target there means its AG boundary. */
		if (strcmp(p->fstype, "xfs") == 0)
			fs_t = eos_xfs_max_blocks(&c->xg, fs_t) * c->xg.blocksize;
		if (fs_t < c->fs_bytes)
			fs_t = c->fs_bytes;
	}
	p->size_before = c->fs_bytes;
	p->size_after = fs_t;
	return plan_fs_steps(p, c, fs_t, dev_new, to_max || fs_t == max, e);
}

int expand_plan(struct eos_expand_plan *p, const struct eos_size_req *rq, const struct eos_expand_opts *o,
		struct eos_err *e)
{
	struct chain c;
	struct eos_usage fsu, *fsup = NULL;
	memset(&c, 0, sizeof(c));
	eos_expand_plan_free(p);
	int r = build_chain(p, &c, e);
	if (!r)
		r = plan_bottom(p, &c, e);
	if (!r && strcmp(p->top, "pv") == 0)
		r = plan_pv_top(p, &c, rq, e);
	else if (!r)
		r = measure_top_fs(p, &c, &fsu, &fsup, e);
	if (!r && strcmp(p->top, "pv") != 0)
		r = c.has_lv ? plan_lv_top(p, &c, rq, o, fsup, e) : plan_fs_top(p, &c, rq, o, fsup, e);
	chain_free(&c);
	return r;
}
