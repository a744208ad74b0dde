/* expand: resolve a target to its chain, plan, lock, journal, carry out, converge. */
#include "eos/ops/expand.h"

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
#include "eos/drivers/lvm/lvm_report.h"
#include "eos/drivers/mounts.h"
#include "eos/core/size.h"
#include "eos/drivers/xfs.h"

#define BTRFS_SECTOR 4096ULL

static const char *const step_names[] = {
	[EOS_STEP_LOOP_CAPACITY] = "loop_capacity",
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
	return step_names[k];
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

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void note(struct eos_expand_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct eos_expand_plan *p, const char *fmt, ...)
{
	if (p->nnotes >= EOS_EXPAND_NOTES)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->notes[p->nnotes++], sizeof(p->notes[0]), fmt, ap);
	va_end(ap);
}

static struct eos_expand_step *add_step(struct eos_expand_plan *p, enum eos_expand_step_kind k,
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

static const char *fmt_size(uint64_t b, char *buf)
{
	eos_size_format(b, buf, 32);
	return buf;
}

/* ---- resolution ------------------------------------------------------------------------- */

static int fs_supported(const char *t)
{
	return strcmp(t, "xfs") == 0 || strcmp(t, "ext4") == 0 || strcmp(t, "ext3") == 0 ||
	       strcmp(t, "ext2") == 0 || strcmp(t, "btrfs") == 0;
}

static int is_ext(const char *t)
{
	return strncmp(t, "ext", 3) == 0;
}

static int mount_is_ro(const struct eos_mount *m)
{
	const char *o = m->options;
	size_t n = strlen(o);
	return strcmp(o, "ro") == 0 || strncmp(o, "ro,", 3) == 0 || strstr(o, ",ro,") ||
	       (n > 3 && strcmp(o + n - 3, ",ro") == 0);
}

/* TYPE of what is on dev (libblkid), "" when nothing recognized. */
static int probe_type(const char *dev, char *type, size_t n, struct eos_err *e)
{
	type[0] = '\0';
	blkid_probe pr = blkid_new_probe_from_filename(dev);
	if (!pr)
		return eos_fail_sys(e, errno ? errno : EIO, dev, "blkid_new_probe_from_filename %s", dev);
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	int r = blkid_do_safeprobe(pr);
	if (r == 0) {
		const char *v = NULL;
		if (blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0 && v)
			snprintf(type, n, "%s", v);
	} else if (r == -2) {
		blkid_free_probe(pr);
		return eos_fail(e, EINVAL, dev, "%s carries more than one signature (blkid: ambiguous)",
				dev);
	} else if (r < 0) {
		blkid_free_probe(pr);
		return eos_fail(e, EIO, dev, "blkid_do_safeprobe %s failed", dev);
	}
	blkid_free_probe(pr);
	return 0;
}

/* A mounted device-mapper device: its vg/lv, refusing suspended or non-LVM ones. 1 when dev is
 * a dm device (vg, lv filled), 0 when not. */
static int dm_lv_of(dev_t rdev, const char *dev, char *vg, char *lv, size_t n, struct eos_err *e)
{
	char sys[128];
	struct eos_buf b = EOS_BUF_INIT;
	int r = 0;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/name", major(rdev), minor(rdev));
	if (access(sys, F_OK))
		return 0;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/suspended", major(rdev), minor(rdev));
	if (eos_buf_read_file(&b, AT_FDCWD, sys) == 0 && b.data[0] == '1') {
		r = eos_fail(e, EBUSY, dev, "%s is a suspended device-mapper device; refusing to grow it",
			     dev);
		goto out;
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/uuid", major(rdev), minor(rdev));
	if (eos_buf_read_file(&b, AT_FDCWD, sys) || strncmp(b.data, "LVM-", 4) != 0) {
		r = eos_fail(e, EINVAL, dev, "%s is a device-mapper device that is not an LVM logical "
			     "volume (dm uuid '%s'); eos cannot grow it", dev, b.data ? b.data : "");
		goto out;
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/name", major(rdev), minor(rdev));
	if (eos_buf_read_file(&b, AT_FDCWD, sys)) {
		r = eos_fail_sys(e, errno, sys, "read %s", sys);
		goto out;
	}
	/* dm names are "<vg>-<lv>" with '-' inside either doubled. */
	char *s = b.data, *o = vg;
	size_t k = 0;
	int in_lv = 0;
	for (; *s && *s != '\n'; s++) {
		if (*s == '-' && s[1] == '-') {
			s++;
		} else if (*s == '-' && !in_lv) {
			o[k] = '\0';
			o = lv;
			k = 0;
			in_lv = 1;
			continue;
		}
		if (k + 1 < n)
			o[k++] = *s;
	}
	o[k] = '\0';
	if (!in_lv) {
		r = eos_fail(e, EINVAL, dev, "cannot split the device-mapper name '%s' of %s into vg-lv",
			     b.data, dev);
		goto out;
	}
	r = 1;
out:
	eos_buf_free(&b);
	return r;
}

static void key_for_dev(struct eos_expand_plan *p, dev_t rdev)
{
	snprintf(p->key, sizeof(p->key), "dev-%u-%u", major(rdev), minor(rdev));
}

static int resolve_path(const char *target, struct eos_expand_plan *p,
			const struct eos_mount_list *ml, struct eos_err *e)
{
	struct stat st;
	char canon[PATH_MAX];
	if (stat(target, &st))
		return eos_fail_sys(e, errno, target, "target '%s' does not exist", target);
	if (!realpath(target, canon))
		return eos_fail_sys(e, errno, target, "realpath '%s'", target);
	if (S_ISDIR(st.st_mode)) {
		struct eos_err ignore;
		const struct eos_mount *m = eos_mounts_find(ml, canon, NULL, 0, &ignore);
		if (!m || strcmp(m->target, canon) != 0)
			return eos_fail(e, EINVAL, target, "target '%s' is not a mount point (it is inside "
					"the mount at '%s')", target, m ? m->target : "?");
		snprintf(p->kind, sizeof(p->kind), "mount");
		snprintf(p->mountpoint, sizeof(p->mountpoint), "%s", m->target);
		snprintf(p->fstype, sizeof(p->fstype), "%s", m->fstype);
		struct stat sst;
		if (m->source[0] != '/' || stat(m->source, &sst) || !S_ISBLK(sst.st_mode))
			return eos_fail(e, EINVAL, target, "cannot resolve the source '%s' of the mount at "
					"'%s' (filesystem '%s') to a block device; eos grows only "
					"filesystems on block devices", m->source, m->target, m->fstype);
		if (!fs_supported(m->fstype))
			return eos_fail(e, EOPNOTSUPP, target, "the mount at '%s' is '%s' on %s; eos grows "
					"xfs, ext2/3/4 and btrfs only", m->target, m->fstype, m->source);
		if (mount_is_ro(m))
			return eos_fail(e, EROFS, target, "the mount at '%s' (%s on %s) is read-only; "
					"refusing to grow it", m->target, m->fstype, m->source);
		if (!realpath(m->source, p->device))
			snprintf(p->device, sizeof(p->device), "%s", m->source);
		key_for_dev(p, sst.st_rdev);
		int dm = dm_lv_of(sst.st_rdev, p->device, p->vg, p->lv, sizeof(p->vg), e);
		if (dm < 0)
			return dm;
		return 0;
	}
	if (!S_ISBLK(st.st_mode))
		return eos_fail(e, EINVAL, target, "target '%s' is neither a mount point nor a block "
				"device", target);
	snprintf(p->kind, sizeof(p->kind), "device");
	snprintf(p->device, sizeof(p->device), "%s", canon);
	key_for_dev(p, st.st_rdev);
	int dm = dm_lv_of(st.st_rdev, canon, p->vg, p->lv, sizeof(p->vg), e);
	if (dm < 0)
		return dm;
	/* Mounted? Then grow it online through that mount. */
	for (size_t i = 0; i < ml->n; i++) {
		const struct eos_mount *m = &ml->v[i];
		struct stat sst;
		if (m->source[0] != '/' || stat(m->source, &sst) || !S_ISBLK(sst.st_mode) ||
		    sst.st_rdev != st.st_rdev)
			continue;
		if (!p->mountpoint[0] || strcmp(m->root, "/") == 0) {
			snprintf(p->mountpoint, sizeof(p->mountpoint), "%s", m->target);
			snprintf(p->fstype, sizeof(p->fstype), "%s", m->fstype);
			if (mount_is_ro(m))
				return eos_fail(e, EROFS, target, "%s is mounted read-only at '%s'; refusing "
						"to grow it", canon, m->target);
		}
	}
	if (!p->mountpoint[0]) {
		int r = probe_type(canon, p->fstype, sizeof(p->fstype), e);
		if (r)
			return r;
		if (!p->fstype[0])
			return eos_fail(e, EOPNOTSUPP, target, "found no filesystem and no LVM PV on %s "
					"(blkid); nothing eos knows how to grow", canon);
		if (strcmp(p->fstype, "LVM2_member") == 0) {
			p->fstype[0] = '\0';
			return 0;
		}
	}
	if (!fs_supported(p->fstype))
		return eos_fail(e, EOPNOTSUPP, target, "%s holds a '%s' filesystem; eos grows xfs, "
				"ext2/3/4 and btrfs only", canon, p->fstype);
	return 0;
}

static int resolve_lv(const char *target, struct eos_expand_plan *p, struct eos_err *e)
{
	const char *slash = strchr(target, '/');
	size_t vn = (size_t)(slash - target);
	if (vn == 0 || vn >= sizeof(p->vg) || strchr(slash + 1, '/'))
		return eos_fail(e, EINVAL, "", "invalid target '%s': expected a mount point, a block "
				"device or vg/lv", target);
	memcpy(p->vg, target, vn);
	p->vg[vn] = '\0';
	snprintf(p->lv, sizeof(p->lv), "%s", slash + 1);
	if (!eos_lvm_name_valid(p->vg) || !eos_lvm_name_valid(p->lv))
		return eos_fail(e, EINVAL, "", "invalid target '%s': LVM names may contain only "
				"letters, digits and + _ . - (and may not start with -)", target);
	snprintf(p->kind, sizeof(p->kind), "lv");
	snprintf(p->key, sizeof(p->key), "lv-%s-%s", p->vg, p->lv);
	return 0;
}

static int resolve(const char *target, struct eos_expand_plan *p, struct eos_err *e)
{
	struct eos_mount_list ml = {NULL, 0};
	int r;
	if (!target || !*target)
		return eos_fail(e, EINVAL, "", "empty target: expected a mount point, a block device "
				"or vg/lv");
	snprintf(p->target, sizeof(p->target), "%s", target);
	if (target[0] == '/') {
		r = eos_mounts_read(NULL, &ml, e);
		if (r)
			return r;
		r = resolve_path(target, p, &ml, e);
		eos_mounts_free(&ml);
		return r;
	}
	if (strchr(target, '/'))
		return resolve_lv(target, p, e);
	return eos_fail(e, EINVAL, "", "unknown target '%s': expected a mount point, a block device "
			"or vg/lv", target);
}

/* ---- measuring and planning ------------------------------------------------------------- */

struct bottom {
	char path[4096];
	uint64_t size_now, size_new;
	int is_loop;
	struct eos_loop_info li;
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

static int is_partition(const char *dev, char *parent, size_t n)
{
	struct stat st;
	char sys[128], real[PATH_MAX];
	if (stat(dev, &st) || !S_ISBLK(st.st_mode))
		return 0;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/partition", major(st.st_rdev),
		 minor(st.st_rdev));
	if (access(sys, F_OK))
		return 0;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/..", major(st.st_rdev), minor(st.st_rdev));
	if (realpath(sys, real)) {
		const char *base = strrchr(real, '/');
		snprintf(parent, n, "/dev/%.200s", base ? base + 1 : real);
	} else {
		snprintf(parent, n, "?");
	}
	return 1;
}

/* The bottom layers: loop capacity, then PVs. */
static int plan_bottom(struct eos_expand_plan *p, struct chain *c, struct eos_err *e)
{
	for (size_t i = 0; i < c->nb; i++) {
		struct bottom *b = &c->b[i];
		char parent[300];
		if (is_partition(b->path, parent, sizeof(parent)))
			note(p, "%s is a partition of %s; eos does not grow partitions, it uses the "
			     "partition's current size", b->path, parent);
		if (b->is_loop) {
			uint64_t cap = eos_loop_capacity_target(&b->li);
			if (cap > b->size_now) {
				if (!add_step(p, EOS_STEP_LOOP_CAPACITY, b->path, b->size_now, cap, e))
					return -e->code;
				b->size_new = cap;
			}
		}
		if (b->is_pv) {
			uint64_t ext = eos_lvm_pv_extents_for(b->pe_start, b->extent_size, b->pe_count,
							      b->size_new);
			if (ext > b->pe_count) {
				uint64_t after = ext * b->extent_size;
				if (!add_step(p, EOS_STEP_PVRESIZE, b->path, b->pv_size, after, e))
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
					"(%s); eos never shrinks", p->request, fmt_size(t, a),
					p->target, fmt_size(cur, b));
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
			note(pn, "auto: %s is %llu%% used, under the warning level of %u%%: nothing to do",
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
			note(pn, "auto: reaching %u%% used needs %s more, only %s is available; growing "
			     "to the maximum", aim, fmt_size(grow, a), fmt_size(max - cur, b));
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
				p->target, fmt_size(t, a), fmt_size(max, b), fmt_size(cur, c));
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
	} else if (is_ext(p->fstype)) {
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
	if (is_ext(p->fstype)) {
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
		struct eos_expand_step *s = add_step(p, EOS_STEP_XFS_GROW, p->mountpoint, c->fs_bytes,
						     fs_target, e);
		if (!s)
			return -e->code;
		s->arg = fs_target / c->xg.blocksize;
		return 0;
	}
	if (is_ext(p->fstype)) {
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
		struct eos_expand_step *s = add_step(p, k, p->mountpoint[0] ? p->mountpoint : c->fs_dev,
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
			struct eos_expand_step *s = add_step(p, EOS_STEP_BTRFS_RESIZE, p->mountpoint,
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
	struct eos_expand_step *s = add_step(p, EOS_STEP_BTRFS_RESIZE, p->mountpoint, c->fs_bytes,
					     fs_target, e);
	if (!s)
		return -e->code;
	s->arg = c->bm[0].devid;
	s->arg2 = fs_target == fs_max(p, c, fs_dev_new) ? 0 : fs_target;
	snprintf(s->note, sizeof(s->note), "devid %llu (%.400s)", (unsigned long long)c->bm[0].devid,
		 c->bm[0].path);
	return 0;
}

static int plan(struct eos_expand_plan *p, const struct eos_size_req *rq, const struct eos_expand_opts *o,
		struct eos_err *e)
{
	struct chain c;
	int r = 0;
	char why[300];
	memset(&c, 0, sizeof(c));
	eos_expand_plan_free(p);

	/* What lies at the bottom. */
	if (p->vg[0]) {
		c.has_lv = 1;
		struct eos_lvm_opts lo = {.config = eos_lvm_config(), .timeout_ms = 120000};
		struct eos_lvm_report rep;
		memset(&rep, 0, sizeof(rep));
		r = eos_lvm_report(&lo, &rep, e);
		const struct eos_lvm_lv *lv = r ? NULL : eos_lvm_find_lv(&rep, p->vg, p->lv);
		const struct eos_lvm_vg *vg = r ? NULL : eos_lvm_find_vg(&rep, p->vg);
		if (!r && (!rep.available || !lv || !vg))
			r = eos_fail(e, ENOENT, "", "no logical volume '%s/%s' (%s)", p->vg, p->lv,
				     rep.available ? "lvm fullreport does not list it"
						   : "the lvm tool is not installed");
		if (!r && !vg->extent_size)
			r = eos_fail(e, EPROTO, "", "lvm fullreport: VG %s has no extent size", p->vg);
		if (r) {
			eos_lvm_report_free(&rep);
			goto out;
		}
		c.lv_size = lv->size;
		c.vg_free = c.vg_free_new = vg->free;
		c.extent_size = vg->extent_size;
		snprintf(c.lv_path, sizeof(c.lv_path), "%s", lv->path ? lv->path : "");
		for (size_t i = 0; i < rep.n_pvs && r == 0; i++) {
			const struct eos_lvm_pv *pv = &rep.pvs[i];
			if (!pv->vg_name || strcmp(pv->vg_name, p->vg) != 0)
				continue;
			r = add_bottom(&c, pv->name, e);
			if (r == 0) {
				struct bottom *bt = &c.b[c.nb - 1];
				bt->is_pv = 1;
				bt->pv_size = pv->size;
				bt->pe_start = pv->pe_start;
				bt->pe_count = pv->pe_count;
				bt->extent_size = vg->extent_size;
			}
		}
		eos_lvm_report_free(&rep);
		if (r)
			goto out;
		/* The filesystem is reachable only through an active LV's device node. */
		struct stat st;
		if (p->device[0]) {
			snprintf(c.fs_dev, sizeof(c.fs_dev), "%s", p->device);
		} else if (c.lv_path[0] && stat(c.lv_path, &st) == 0 && S_ISBLK(st.st_mode)) {
			snprintf(c.fs_dev, sizeof(c.fs_dev), "%s", c.lv_path);
			snprintf(p->device, sizeof(p->device), "%s", c.lv_path);
			key_for_dev(p, st.st_rdev);
		}
		snprintf(p->top, sizeof(p->top), "lv");
	} else if (strcmp(p->fstype, "btrfs") == 0 && p->mountpoint[0]) {
		r = measure_fs(p, &c, e);
		if (r)
			goto out;
		for (size_t i = 0; i < c.nbm && r == 0; i++)
			r = add_bottom(&c, c.bm[i].path, e);
		if (r)
			goto out;
		snprintf(c.fs_dev, sizeof(c.fs_dev), "%s", p->device);
		snprintf(p->top, sizeof(p->top), "fs");
	} else {
		r = add_bottom(&c, p->device, e);
		if (r)
			goto out;
		if (!p->fstype[0]) {
			/* A PV given as a device. */
			struct eos_lvm_opts lo = {.config = eos_lvm_config(), .timeout_ms = 120000};
			struct eos_lvm_report rep;
			struct stat dst;
			memset(&rep, 0, sizeof(rep));
			r = eos_lvm_report(&lo, &rep, e);
			if (r)
				goto out;
			const struct eos_lvm_pv *pv = NULL;
			if (stat(p->device, &dst) == 0)
				for (size_t i = 0; i < rep.n_pvs && !pv; i++)
					if (rep.pvs[i].major == major(dst.st_rdev) &&
					    rep.pvs[i].minor == minor(dst.st_rdev))
						pv = &rep.pvs[i];
			const struct eos_lvm_vg *vg = pv && pv->vg_name ? eos_lvm_find_vg(&rep, pv->vg_name)
								      : NULL;
			if (!pv || !vg || !vg->extent_size) {
				r = eos_fail(e, EINVAL, p->device, "%s carries an LVM label but lvm does not "
					     "list it as a PV of a volume group", p->device);
				eos_lvm_report_free(&rep);
				goto out;
			}
			c.b[0].is_pv = 1;
			c.b[0].pv_size = pv->size;
			c.b[0].pe_start = pv->pe_start;
			c.b[0].pe_count = pv->pe_count;
			c.b[0].extent_size = vg->extent_size;
			snprintf(p->vg, sizeof(p->vg), "%s", vg->name);
			eos_lvm_report_free(&rep);
			snprintf(p->top, sizeof(p->top), "pv");
		} else {
			snprintf(c.fs_dev, sizeof(c.fs_dev), "%s", p->device);
			snprintf(p->top, sizeof(p->top), "fs");
		}
	}

	r = plan_bottom(p, &c, e);
	if (r)
		goto out;

	if (strcmp(p->top, "pv") == 0) {
		if (rq->kind != EOS_SIZE_MAX && !(rq->kind == EOS_SIZE_PCT_FREE && rq->pct == 100)) {
			r = eos_fail(e, EINVAL, "", "%s is an LVM PV: only 'max' or '100%%FREE' are "
				     "supported (the PV grows to its device), not '%s'", p->device,
				     p->request);
			goto out;
		}
		p->size_before = c.b[0].pv_size;
		p->size_after = p->size_before;
		for (size_t i = 0; i < p->nsteps; i++)
			if (p->steps[i].kind == EOS_STEP_PVRESIZE)
				p->size_after = p->steps[i].after;
		goto out;
	}

	/* Filesystem measurements, when it can be reached. */
	struct eos_usage fsu, *fsup = NULL;
	if (c.fs_dev[0] && strcmp(p->fstype, "btrfs") != 0) {
		if (!p->fstype[0]) {
			r = probe_type(c.fs_dev, p->fstype, sizeof(p->fstype), e);
			if (r)
				goto out;
			if (!fs_supported(p->fstype)) {
				r = eos_fail(e, EOPNOTSUPP, c.fs_dev, "%s holds '%s'; eos grows xfs, ext2/3/4 "
					     "and btrfs only", c.fs_dev, p->fstype[0] ? p->fstype : "nothing");
				goto out;
			}
		}
		r = measure_fs(p, &c, e);
		if (r)
			goto out;
	}
	if (c.fs_dev[0] && p->mountpoint[0]) {
		r = eos_usage_get(p->mountpoint, &fsu, e);
		if (r)
			goto out;
		fsup = &fsu;
	}

	int to_max = rq->kind == EOS_SIZE_MAX || (rq->kind == EOS_SIZE_PCT_FREE && rq->pct == 100);
	if (c.has_lv) {
		uint64_t lv_max = c.lv_size + c.vg_free_new, lv_t;
		r = target_size(p, rq, c.lv_size, lv_max, c.extent_size, 1, fsup, c.fs_bytes,
				o->warn_pct, o->margin_pct, &lv_t, p, e);
		if (r)
			goto out;
		p->size_before = c.lv_size;
		p->size_after = lv_t;
		if (lv_t > c.lv_size && !add_step(p, EOS_STEP_LVEXTEND, p->vg[0] ? "" : "", c.lv_size,
						       lv_t, e)) {
			r = -e->code;
			goto out;
		}
		if (lv_t > c.lv_size)
			snprintf(p->steps[p->nsteps - 1].object, sizeof(p->steps[0].object), "%s/%s",
				 p->vg, p->lv);
		if (!c.fs_dev[0]) {
			if (!eos_lvm_dm_available(why, sizeof(why))) {
				char lvname[300];
				snprintf(lvname, sizeof(lvname), "%s/%s", p->vg, p->lv);
				struct eos_expand_step *s = add_step(p, EOS_STEP_FS_ON_LV, lvname, 0, 0, e);
				if (!s) {
					r = -e->code;
					goto out;
				}
				s->status = EOS_STEP_SKIPPED;
				snprintf(s->note, sizeof(s->note), "%s; a filesystem on it cannot be "
					 "reached or grown", why);
			} else {
				note(p, "LV %s/%s is not active (no device node %s): only its size changes",
				     p->vg, p->lv, c.lv_path);
			}
			goto out;
		}
		/* The filesystem fills the LV. */
		uint64_t fs_t = fs_max(p, &c, lv_t);
		r = plan_fs_steps(p, &c, fs_t, lv_t, 1, e);
		goto out;
	}
	uint64_t dev_new = 0;
	for (size_t i = 0; i < c.nb; i++)
		dev_new += c.b[i].size_new;
	uint64_t max = c.nbm > 1 ? 0 : fs_max(p, &c, dev_new);
	if (c.nbm > 1) {
		for (size_t i = 0; i < c.nb; i++)
			max += c.b[i].size_new / BTRFS_SECTOR * BTRFS_SECTOR;
	}
	if (max < c.fs_bytes)
		max = c.fs_bytes;
	uint64_t align = strcmp(p->fstype, "xfs") == 0 ? c.xg.blocksize
			 : is_ext(p->fstype) ? c.sb.blocksize : BTRFS_SECTOR;
	uint64_t fs_t;
	if (c.nbm > 1 && to_max) {
		fs_t = max;
	} else {
		r = target_size(p, rq, c.fs_bytes, max, align, 0, fsup, c.fs_bytes, o->warn_pct,
				o->margin_pct, &fs_t, p, e);
		if (r)
			goto out;
		/* XFS leaves out a too-small last AG: a target there means its AG boundary. */
		if (strcmp(p->fstype, "xfs") == 0)
			fs_t = eos_xfs_max_blocks(&c.xg, fs_t) * c.xg.blocksize;
		if (fs_t < c.fs_bytes)
			fs_t = c.fs_bytes;
	}
	p->size_before = c.fs_bytes;
	p->size_after = fs_t;
	r = plan_fs_steps(p, &c, fs_t, dev_new, to_max || fs_t == max, e);
out:
	chain_free(&c);
	return r;
}

/* ---- lock and journal ------------------------------------------------------------------- */

static int mkdir_p(const char *dir, struct eos_err *e)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return eos_fail_sys(e, errno, tmp, "mkdir %s", tmp);
		*s = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return eos_fail_sys(e, errno, tmp, "mkdir %s", tmp);
	return 0;
}

static int take_lock(const struct eos_expand_opts *o, struct eos_expand_plan *p, int *fd_out,
		     struct eos_err *e)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s.lock", o->state_dir, p->key);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return eos_fail_sys(e, errno, path, "open lock file %s", path);
	long start = now_ms();
	long limit = o->lock_timeout_ms > 0 ? o->lock_timeout_ms : 600000;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int r = eos_fail_sys(e, errno, path, "flock %s", path);
			close(fd);
			return r;
		}
		if (now_ms() - start > limit) {
			close(fd);
			return eos_fail(e, ETIMEDOUT, path, "another expand of %s holds %s; gave up after "
					"%ld ms", p->target, path, limit);
		}
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	p->lock_wait_ms = now_ms() - start;
	*fd_out = fd;
	return 0;
}

struct journal_state {
	int found, finished;
	char request[128];
	char top[8];
	int top_max;
	uint64_t top_bytes;
	int last_started, last_done, failed;
};

static int journal_read(const char *path, struct journal_state *js, struct eos_err *e)
{
	struct eos_buf b = EOS_BUF_INIT;
	memset(js, 0, sizeof(*js));
	int r = eos_buf_read_file(&b, AT_FDCWD, path);
	if (r == -ENOENT) {
		eos_buf_free(&b);
		return 0;
	}
	if (r) {
		eos_buf_free(&b);
		return eos_fail_sys(e, -r, path, "read journal %s", path);
	}
	js->found = 1;
	for (char *line = b.data; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		unsigned long long v;
		int i;
		if (strncmp(line, "request ", 8) == 0)
			snprintf(js->request, sizeof(js->request), "%s", line + 8);
		else if (sscanf(line, "top %7s max", js->top) == 1 && strstr(line, " max"))
			js->top_max = 1;
		else if (sscanf(line, "top %7s %llu", js->top, &v) == 2)
			js->top_bytes = v;
		else if (sscanf(line, "start %d", &i) == 1)
			js->last_started = i;
		else if (sscanf(line, "done %d", &i) == 1)
			js->last_done = i;
		else if (sscanf(line, "failed %d", &i) == 1)
			js->failed = i;
		else if (strcmp(line, "end") == 0)
			js->finished = 1;
		line = nl ? nl + 1 : NULL;
	}
	eos_buf_free(&b);
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) ? -errno : 0;
	close(fd);
	return r;
}

static int jwrite(int fd, const char *path, int sync, struct eos_err *e, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int jwrite(int fd, const char *path, int sync, struct eos_err *e, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)strlen(line);
	errno = 0;
	if (write(fd, line, (size_t)n) != n || (sync && fdatasync(fd)))
		return eos_fail_sys(e, errno ? errno : EIO, path, "write journal %s", path);
	return 0;
}

/* The journal starts as a whole: header, the plan with its absolute aim, "begin"; written once,
 * fsync'ed, renamed into place, directory fsync'ed. */
static int journal_begin(const struct eos_expand_opts *o, const struct eos_expand_plan *p,
			 int to_max, int *fd_out, struct eos_err *e)
{
	char tmp[4300], line[4600];
	struct eos_buf b = EOS_BUF_INIT;
	int r = 0, fd = -1;
	snprintf(tmp, sizeof(tmp), "%s.new", p->journal);
#define JADD(...) do { int n_ = snprintf(line, sizeof(line), __VA_ARGS__); \
		if (eos_buf_append(&b, line, (size_t)(n_ < (int)sizeof(line) ? n_ : (int)sizeof(line) - 1))) { \
			r = eos_fail(e, ENOMEM, tmp, "out of memory"); goto out; } } while (0)
	JADD("eos-expand-journal 1\ntarget %.4000s\nrequest %s\n", p->target, p->request);
	if (to_max)
		JADD("top %s max\n", p->top);
	else
		JADD("top %s %llu\n", p->top, (unsigned long long)p->size_after);
	for (size_t i = 0; i < p->nsteps; i++)
		JADD("step %zu %s %llu %llu %.4000s\n", i + 1, step_names[p->steps[i].kind],
		     (unsigned long long)p->steps[i].before, (unsigned long long)p->steps[i].after,
		     p->steps[i].object);
	JADD("begin\n");
#undef JADD
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = eos_fail_sys(e, errno, tmp, "create journal %s", tmp);
		goto out;
	}
	errno = 0;
	if (write(fd, b.data, b.len) != (ssize_t)b.len || fsync(fd)) {
		r = eos_fail_sys(e, errno ? errno : EIO, tmp, "write journal %s", tmp);
		goto out;
	}
	if (rename(tmp, p->journal)) {
		r = eos_fail_sys(e, errno, p->journal, "rename journal to %s", p->journal);
		goto out;
	}
	fsync_dir(o->state_dir);
	*fd_out = fd;
	fd = -1;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	eos_buf_free(&b);
	return r;
}

/* Done: "end", and the journal moves aside as <key>.journal.last. Neither needs to reach the
 * disk: a journal that comes back after a crash here is resumed, re-measured, found complete. */
static int journal_finish(const struct eos_expand_plan *p, int fd, struct eos_err *e)
{
	char last[4300];
	int r = 0;
	if (fd >= 0) {
		r = jwrite(fd, p->journal, 0, e, "end\n");
		close(fd);
		if (r)
			return r;
	}
	snprintf(last, sizeof(last), "%s.last", p->journal);
	if (rename(p->journal, last) && errno != ENOENT)
		return eos_fail_sys(e, errno, p->journal, "rename journal %s", p->journal);
	return 0;
}

/* ---- carrying out ----------------------------------------------------------------------- */

static int run_step(const struct eos_expand_plan *p, struct eos_expand_step *s, struct eos_err *e)
{
	int r;
	uint64_t now = 0;
	switch (s->kind) {
	case EOS_STEP_LOOP_CAPACITY:
		r = eos_loop_set_capacity(s->object, &now, e);
		break;
	/* lvm sizes are whole extents, planned exactly: the tool's success is the measure. */
	case EOS_STEP_PVRESIZE:
		r = eos_lvm_pvresize(s->object, e);
		break;
	case EOS_STEP_LVEXTEND:
		r = eos_lvm_lvextend(p->vg, p->lv, s->after, e);
		break;
	case EOS_STEP_XFS_GROW: {
		r = eos_xfs_grow(s->object, s->arg, e);
		struct eos_xfs_geom g;
		if (!r && eos_xfs_geometry(s->object, &g, e) == 0)
			now = g.datablocks * g.blocksize;
		break;
	}
	case EOS_STEP_EXT4_ONLINE:
	case EOS_STEP_EXT4_OFFLINE: {
		if (s->kind == EOS_STEP_EXT4_ONLINE)
			r = eos_ext4_grow_online(s->object, s->arg, e);
		else
			r = eos_ext4_grow_offline(s->object, s->arg, (uint32_t)s->arg2, e);
		struct eos_ext4_sb sb;
		if (!r && eos_ext4_read_sb(p->device, &sb, e) == 0)
			now = sb.blocks * sb.blocksize;
		break;
	}
	case EOS_STEP_BTRFS_RESIZE: {
		r = eos_btrfs_resize(s->object, s->arg, s->arg2, e);
		struct eos_btrfs_member *bm = NULL;
		size_t n = 0;
		if (!r && eos_btrfs_members(s->object, &bm, &n, e) == 0)
			for (size_t i = 0; i < n; i++)
				if (bm[i].devid == s->arg)
					now = bm[i].total_bytes;
		free(bm);
		break;
	}
	default:
		return 0;
	}
	if (r)
		return r;
	if (now)
		s->after = now;
	return 0;
}

static void emit(const struct eos_expand_opts *o, const char *phase, const struct eos_expand_plan *p,
		 const struct eos_expand_step *s, const struct eos_err *err)
{
	if (o->on_event)
		o->on_event(o->ctx, phase, p, s, err);
}

/* Test hooks (see expand.h): EOS_TEST_CRASH_AFTER_STEP and EOS_TEST_FAIL_STEP. */
static int test_hook(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? atoi(v) : 0;
}

int eos_expand(const struct eos_expand_opts *o, struct eos_expand_plan *p, struct eos_err *e)
{
	struct eos_size_req rq;
	int lock_fd = -1, jfd = -1, r;
	struct journal_state js;
	memset(p, 0, sizeof(*p));
	const char *size = o->size && *o->size ? o->size : "max";
	snprintf(p->request, sizeof(p->request), "%s", size);
	r = eos_size_parse(size, &rq, e);
	if (r)
		return r;
	r = resolve(o->target, p, e);
	if (r)
		return r;
	if (!o->state_dir || !*o->state_dir)
		return eos_fail(e, EINVAL, "", "no state directory for the expand lock and journal");
	snprintf(p->journal, sizeof(p->journal), "%s/%s.journal", o->state_dir, p->key);
	if (!o->test) {
		r = mkdir_p(o->state_dir, e);
		if (r)
			return r;
		r = take_lock(o, p, &lock_fd, e);
		if (r)
			return r;
	}
	/* An interrupted run: finish what it aimed at, whatever the sizes are now. */
	r = journal_read(p->journal, &js, e);
	if (r)
		goto out;
	if (js.found && !js.finished && js.failed && strcmp(js.request, p->request) != 0) {
		/* That run ended with an error, not a crash: a different request starts afresh. */
		note(p, "the previous expand of %.300s with size '%.100s' failed at step %d; its "
		     "journal is set aside and this run plans from the sizes as they are", p->target,
		     js.request, js.failed);
		js.found = 0;
	}
	if (js.found && !js.finished) {
		if (strcmp(js.request, p->request) != 0) {
			r = eos_fail(e, EBUSY, p->journal, "an interrupted expand of %s with size '%s' is "
				     "in the journal %s; run it again with size '%s' to finish it before "
				     "asking for '%s'", p->target, js.request, p->journal, js.request,
				     p->request);
			goto out;
		}
		p->resumed = 1;
		snprintf(p->resume_info, sizeof(p->resume_info), "interrupted run found in %.300s: step %d "
			 "started, %d done; re-measured and finishing it", p->journal, js.last_started,
			 js.last_done);
		if (js.top_max) {
			rq.kind = EOS_SIZE_MAX;
		} else if (js.top_bytes) {
			rq.kind = EOS_SIZE_ABSOLUTE;
			rq.bytes = js.top_bytes;
		}
	}
	int to_max = rq.kind == EOS_SIZE_MAX || (rq.kind == EOS_SIZE_PCT_FREE && rq.pct == 100);
	r = plan(p, &rq, o, e);
	if (r)
		goto out;
	/* When the top does not grow, the layers below stay as they are too. */
	if (p->size_after <= p->size_before) {
		size_t k = 0;
		for (size_t i = 0; i < p->nsteps; i++)
			if (p->steps[i].status != EOS_STEP_PLANNED)
				p->steps[k++] = p->steps[i];
		p->nsteps = k;
		p->size_after = p->size_before;
	}
	int todo = 0;
	for (size_t i = 0; i < p->nsteps; i++)
		todo += p->steps[i].status == EOS_STEP_PLANNED;
	if (o->test)
		goto out;
	if (!todo) {
		if (p->resumed)
			r = journal_finish(p, -1, e);
		goto out;
	}
	r = journal_begin(o, p, to_max, &jfd, e);
	if (r)
		goto out;
	emit(o, "started", p, NULL, NULL);
	int crash = test_hook("EOS_TEST_CRASH_AFTER_STEP");
	int fail = test_hook("EOS_TEST_FAIL_STEP");
	for (size_t i = 0; i < p->nsteps; i++) {
		struct eos_expand_step *s = &p->steps[i];
		if (s->status != EOS_STEP_PLANNED)
			continue;
		r = jwrite(jfd, p->journal, 0, e, "start %zu\n", i + 1);
		if (r)
			goto failed;
		long t0 = now_ms();
		if (fail == (int)(i + 1))
			r = eos_fail(e, EIO, s->object, "injected failure (EOS_TEST_FAIL_STEP=%d)", fail);
		else
			r = run_step(p, s, e);
		s->elapsed_ms = now_ms() - t0;
		if (r) {
			s->status = EOS_STEP_FAILED;
			char msg[EOS_MSG_MAX];
			snprintf(msg, sizeof(msg), "%s", e->msg);
			snprintf(e->msg, sizeof(e->msg), "step %zu of %zu (%s %.300s) failed: %.1500s", i + 1,
				 p->nsteps, step_names[s->kind], s->object, msg);
			jwrite(jfd, p->journal, 1, e, "failed %zu\n", i + 1);
			emit(o, "failed", p, s, e);
			goto out;
		}
		s->status = EOS_STEP_DONE;
		p->changed = 1;
		r = jwrite(jfd, p->journal, 1, e, "done %zu %llu\n", i + 1, (unsigned long long)s->after);
		if (r)
			goto failed;
		emit(o, "step", p, s, NULL);
		if (crash == (int)(i + 1))
			raise(SIGKILL);
	}
	/* The top object's size as it is now. */
	for (size_t i = p->nsteps; i-- > 0;) {
		const struct eos_expand_step *s = &p->steps[i];
		if (s->status == EOS_STEP_DONE &&
		    ((strcmp(p->top, "lv") == 0 && s->kind == EOS_STEP_LVEXTEND) ||
		     (strcmp(p->top, "fs") == 0 && s->kind >= EOS_STEP_XFS_GROW) ||
		     (strcmp(p->top, "pv") == 0 && s->kind == EOS_STEP_PVRESIZE))) {
			if (!(s->kind == EOS_STEP_BTRFS_RESIZE && strcmp(p->fstype, "btrfs") == 0))
				p->size_after = s->after;
			break;
		}
	}
	r = journal_finish(p, jfd, e);
	jfd = -1;
	if (r)
		goto out;
	emit(o, "done", p, NULL, NULL);
	goto out;
failed:
	emit(o, "failed", p, NULL, e);
out:
	if (jfd >= 0)
		close(jfd);
	if (lock_fd >= 0)
		close(lock_fd);
	return r;
}
