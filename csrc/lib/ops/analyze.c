#include "eos/ops/analyze.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/btrfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <xfs/xfs.h>

#include "eos/drivers/btrfs/btrfs_ioctl.h"
#include "eos/core/buf.h"
#include "eos/drivers/lvm/lvm_read.h"
#include "eos/drivers/lvm/lvm_report.h"
#include "eos/core/size.h"

#define MAX_DEPTH 6  /* device stacking depth we follow (loop on partition on LV ...) */

static const char *const xpath_names[] = {
	[EOS_XPATH_FILESYSTEM] = "filesystem",
	[EOS_XPATH_BTRFS_DEVICE] = "btrfs_device",
	[EOS_XPATH_LOOP_BACKING] = "loop_backing",
	[EOS_XPATH_PARTITION] = "partition",
	[EOS_XPATH_PV_RESIZE] = "pv_resize",
	[EOS_XPATH_VG_FREE] = "vg_free",
};

const char *eos_xpath_kind_name(enum eos_xpath_kind k)
{
	return (unsigned)k < sizeof(xpath_names) / sizeof(xpath_names[0]) ? xpath_names[k] : NULL;
}

const char *eos_action_name(enum eos_action a)
{
	switch (a) {
	case EOS_ACTION_NONE: return "none";
	case EOS_ACTION_EXPAND: return "expand";
	case EOS_ACTION_CLEANUP: return "cleanup";
	}
	return NULL;
}

/* ---- sysfs reading for one device, /sys/dev/block/MAJ:MIN ---- */

struct xp_ctx {
	const struct eos_analyze_opts *o;
	const struct eos_mount *m;
	struct eos_xpath *v;
	size_t n, cap;
	struct eos_err *e;
	struct lvm_cache *lvm; /* shared by all mounts of one analysis */
};

static int sys_read(unsigned maj, unsigned min, const char *attr, struct eos_buf *b)
{
	char p[128];
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/%s", maj, min, attr);
	int r = eos_buf_read_file(b, AT_FDCWD, p);
	if (r)
		return r;
	while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' '))
		b->data[--b->len] = '\0';
	return 0;
}

static int sys_u64(unsigned maj, unsigned min, const char *attr, uint64_t *out)
{
	struct eos_buf b = EOS_BUF_INIT;
	int r = sys_read(maj, min, attr, &b);
	if (r == 0) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(b.data, &end, 10);
		if (errno || end == b.data || *end)
			r = -EINVAL;
		else
			*out = v;
	}
	eos_buf_free(&b);
	return r;
}

/* The kernel's name for a device ("loop3", "vda1", "dm-0") from its uevent. */
static int sys_devname(unsigned maj, unsigned min, char *out, size_t n)
{
	struct eos_buf b = EOS_BUF_INIT;
	int r = sys_read(maj, min, "uevent", &b);
	if (r)
		goto out;
	r = -ENOENT;
	char *save = NULL;
	for (char *l = strtok_r(b.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "DEVNAME=", 8) == 0) {
			snprintf(out, n, "/dev/%s", l + 8);
			r = 0;
			break;
		}
	}
out:
	eos_buf_free(&b);
	return r;
}

static int add_path(struct xp_ctx *c, enum eos_xpath_kind kind, const char *device,
		    const char *target, uint64_t avail, uint64_t devid)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4;
		struct eos_xpath *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return eos_fail(c->e, ENOMEM, device, "out of memory");
		c->v = v;
		c->cap = cap;
	}
	struct eos_xpath *x = &c->v[c->n++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	snprintf(x->device, sizeof(x->device), "%s", device);
	snprintf(x->target, sizeof(x->target), "%s", target ? target : "");
	x->available = avail;
	x->devid = devid;
	return 0;
}

/* A loop device whose backing file is now larger than the device (losetup -c would grow it). */
static int loop_path(struct xp_ctx *c, unsigned maj, unsigned min, const char *dev,
		     uint64_t dev_size)
{
	struct eos_buf b = EOS_BUF_INIT;
	uint64_t offset = 0, sizelimit = 0;
	int r = sys_read(maj, min, "loop/backing_file", &b);
	if (r) {
		r = 0;  /* not a loop device, or not attached */
		goto out;
	}
	sys_u64(maj, min, "loop/offset", &offset);
	sys_u64(maj, min, "loop/sizelimit", &sizelimit);
	struct stat st;
	/* A deleted backing file reads "<path> (deleted)": stat fails and there is no path. */
	if (sizelimit || stat(b.data, &st) || !S_ISREG(st.st_mode))
		goto out;
	uint64_t fsize = (uint64_t)st.st_size;
	if (fsize > offset && fsize - offset >= dev_size + EOS_XPATH_MIN_BYTES)
		r = add_path(c, EOS_XPATH_LOOP_BACKING, dev, b.data, fsize - offset - dev_size, 0);
out:
	eos_buf_free(&b);
	return r;
}

/* Free space after a partition, up to the next partition or the end of the disk (less the
 * 33 sectors a GPT keeps at the end). */
static int partition_path(struct xp_ctx *c, unsigned maj, unsigned min, const char *dev)
{
	uint64_t start, size, disk_size, pno;
	char link[PATH_MAX], disk_dir[PATH_MAX + 8];
	if (sys_u64(maj, min, "partition", &pno) || sys_u64(maj, min, "start", &start) ||
	    sys_u64(maj, min, "size", &size))
		return 0;
	char p[128];
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/..", maj, min);
	if (!realpath(p, link))
		return 0;
	snprintf(disk_dir, sizeof(disk_dir), "%s/size", link);
	struct eos_buf b = EOS_BUF_INIT;
	if (eos_buf_read_file(&b, AT_FDCWD, disk_dir)) {
		eos_buf_free(&b);
		return 0;
	}
	disk_size = strtoull(b.data, NULL, 10);
	eos_buf_free(&b);
	uint64_t end = start + size, next = disk_size > 33 ? disk_size - 33 : disk_size;
	DIR *d = opendir(link);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char sp[PATH_MAX + 300];
		snprintf(sp, sizeof(sp), "%s/%s/start", link, de->d_name);
		struct eos_buf s = EOS_BUF_INIT;
		if (eos_buf_read_file(&s, AT_FDCWD, sp) == 0) {
			uint64_t st = strtoull(s.data, NULL, 10);
			if (st >= end && st < next)
				next = st;
		}
		eos_buf_free(&s);
	}
	closedir(d);
	if (next <= end || (next - end) * 512 < EOS_XPATH_MIN_BYTES)
		return 0;
	unsigned dmaj, dmin;
	char disk[256];
	snprintf(disk_dir, sizeof(disk_dir), "%s/dev", link);
	struct eos_buf db = EOS_BUF_INIT;
	int ok = eos_buf_read_file(&db, AT_FDCWD, disk_dir) == 0 &&
		 sscanf(db.data, "%u:%u", &dmaj, &dmin) == 2 &&
		 sys_devname(dmaj, dmin, disk, sizeof(disk)) == 0;
	eos_buf_free(&db);
	if (!ok)
		return 0;
	return add_path(c, EOS_XPATH_PARTITION, dev, disk, (next - end) * 512, 0);
}

/* ---- LVM: an LV's VG with free extents, PVs that can grow, and the devices below them ---- */

struct lvm_cache {
	int tried;
	int rc;                         /* the report's result */
	struct eos_lvm_report rep;
	struct eos_err err;
};

static void lvm_cache_free(struct lvm_cache *l)
{
	if (l->tried && l->rc == 0)
		eos_lvm_report_free(&l->rep);
	l->tried = 0;
}

/* Read LVM once per analysis (in-process where lvm's view is the default one). */
static int lvm_get(struct xp_ctx *c, const struct eos_lvm_report **out)
{
	struct lvm_cache *l = c->lvm;
	if (!l->tried) {
		struct eos_lvm_opts lo = {.config = c->o->lvm_config};
		const char *reader;
		l->tried = 1;
		eos_err_clear(&l->err);
		l->rc = eos_lvm_scan(&lo, &l->rep, &reader, &l->err);
	}
	if (l->rc) {
		*c->e = l->err;
		return l->rc;
	}
	*out = &l->rep;
	return 0;
}

static int walk_device(struct xp_ctx *c, unsigned maj, unsigned min, uint64_t share,
		       enum eos_xpath_kind upper, const char *upper_target, uint64_t devid, int depth);

/* The paths of an LV: free extents in its VG, PVs of the VG whose device has grown, and what
 * is below each PV (a loop file, a partition's disk). */
static int lv_paths(struct xp_ctx *c, const struct eos_lvm_report *rep, const struct eos_lvm_lv *lv,
		    int depth)
{
	const struct eos_lvm_vg *vg = lv->vg_name ? eos_lvm_find_vg(rep, lv->vg_name) : NULL;
	int r;
	if (!vg)
		return 0;
	const char *lvdev = lv->path ? lv->path : lv->full_name;
	if (vg->free >= EOS_XPATH_MIN_BYTES) {
		r = add_path(c, EOS_XPATH_VG_FREE, lvdev ? lvdev : "", vg->name, vg->free, 0);
		if (r)
			return r;
	}
	for (size_t i = 0; i < rep->n_pvs; i++) {
		const struct eos_lvm_pv *pv = &rep->pvs[i];
		if (!pv->vg_name || strcmp(pv->vg_name, vg->name) != 0 || !pv->name)
			continue;
		/* pvresize adds whole extents: those that fit in the device after pe_start. */
		if (vg->extent_size && pv->dev_size > pv->pe_start) {
			uint64_t fit = (pv->dev_size - pv->pe_start) / vg->extent_size;
			if (fit > pv->pe_count &&
			    (fit - pv->pe_count) * vg->extent_size >= EOS_XPATH_MIN_BYTES) {
				r = add_path(c, EOS_XPATH_PV_RESIZE, pv->name, vg->name,
					     (fit - pv->pe_count) * vg->extent_size, 0);
				if (r)
					return r;
			}
		}
		struct stat st;
		if (stat(pv->name, &st) == 0 && S_ISBLK(st.st_mode)) {
			r = walk_device(c, major(st.st_rdev), minor(st.st_rdev), 0, EOS_XPATH_PV_RESIZE,
					vg->name, 0, depth + 1);
			if (r)
				return r;
		}
	}
	return 0;
}

/* A device-mapper device made by LVM (dm/uuid "LVM-..."): find its LV by dm name. */
static int lvm_paths(struct xp_ctx *c, unsigned maj, unsigned min, const char *dev, int depth)
{
	struct eos_buf uuid = EOS_BUF_INIT, name = EOS_BUF_INIT;
	const struct eos_lvm_report *rep;
	int r = 0;
	(void)dev;
	if (!c->o->use_lvm || sys_read(maj, min, "dm/uuid", &uuid) || strncmp(uuid.data, "LVM-", 4) ||
	    sys_read(maj, min, "dm/name", &name))
		goto out;
	r = lvm_get(c, &rep);
	if (r || !rep->available)
		goto out;
	char dm_path[512];
	snprintf(dm_path, sizeof(dm_path), "/dev/mapper/%s", name.data);
	for (size_t i = 0; i < rep->n_lvs; i++) {
		const struct eos_lvm_lv *lv = &rep->lvs[i];
		if (lv->dm_path && strcmp(lv->dm_path, dm_path) == 0) {
			r = lv_paths(c, rep, lv, depth);
			break;
		}
	}
out:
	eos_buf_free(&uuid);
	eos_buf_free(&name);
	return r;
}

int eos_xpaths_for_lv(const char *vg, const char *lv, const char *lvm_config,
		      struct eos_xpath **out, size_t *n, struct eos_err *e)
{
	struct eos_analyze_opts o = {.lvm_config = lvm_config, .use_lvm = 1};
	struct lvm_cache lvm = {0};
	struct xp_ctx c = {.o = &o, .e = e, .lvm = &lvm};
	const struct eos_lvm_report *rep;
	*out = NULL;
	*n = 0;
	int r = lvm_get(&c, &rep);
	if (r)
		goto out;
	if (!rep->available) {
		r = eos_fail(e, ENOENT, "lvm", "the lvm tool is not installed (Debian package lvm2)");
		goto out;
	}
	const struct eos_lvm_lv *l = eos_lvm_find_lv(rep, vg, lv);
	if (!l) {
		r = eos_fail(e, ENOENT, NULL, "no logical volume '%s/%s' in the lvm report", vg, lv);
		goto out;
	}
	r = lv_paths(&c, rep, l, 0);
out:
	lvm_cache_free(&lvm);
	if (r) {
		free(c.v);
		return r;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

/* Walk one device: room between the layer above and the device, then the device's own
 * container (loop file, disk, VG). share is what the layer above uses (0: unknown). */
static int walk_device(struct xp_ctx *c, unsigned maj, unsigned min, uint64_t share,
		       enum eos_xpath_kind upper, const char *upper_target, uint64_t devid, int depth)
{
	char dev[256];
	uint64_t sectors;
	if (depth > MAX_DEPTH || sys_u64(maj, min, "size", &sectors))
		return 0;  /* no such block device (virtual fs, network fs) */
	if (sys_devname(maj, min, dev, sizeof(dev)))
		snprintf(dev, sizeof(dev), "%u:%u", maj, min);
	uint64_t dev_size = sectors * 512;
	int r;
	if (share && dev_size >= share + EOS_XPATH_MIN_BYTES) {
		r = add_path(c, upper, dev, upper_target, dev_size - share, devid);
		if (r)
			return r;
	}
	r = loop_path(c, maj, min, dev, dev_size);
	if (r)
		return r;
	r = partition_path(c, maj, min, dev);
	if (r)
		return r;
	return lvm_paths(c, maj, min, dev, depth);
}

/* Bytes the filesystem uses of its device, from the filesystem itself (0: unknown). */
static uint64_t fs_share(const struct eos_mount *m, unsigned maj, unsigned min)
{
	if (strcmp(m->fstype, "xfs") == 0) {
		int fd = open(m->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return 0;
		struct xfs_fsop_geom g;
		memset(&g, 0, sizeof(g));
		int r = ioctl(fd, XFS_IOC_FSGEOMETRY, &g);
		close(fd);
		return r ? 0 : g.datablocks * g.blocksize;
	}
	if (strcmp(m->fstype, "ext4") == 0 || strcmp(m->fstype, "ext3") == 0 ||
	    strcmp(m->fstype, "ext2") == 0) {
		char dev[256];
		unsigned char sb[1024];
		if (sys_devname(maj, min, dev, sizeof(dev)))
			return 0;
		int fd = open(dev, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 0;
		struct stat st;
		ssize_t n = -1;
		/* Only the device the mount is on: the node must be that block device. */
		if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode) && major(st.st_rdev) == maj &&
		    minor(st.st_rdev) == min)
			n = pread(fd, sb, sizeof(sb), 1024);
		close(fd);
		if (n != (ssize_t)sizeof(sb))
			return 0;
		uint16_t magic;
		uint32_t lo, log_bs, incompat, hi = 0;
		memcpy(&magic, sb + 0x38, 2);
		memcpy(&lo, sb + 0x4, 4);
		memcpy(&log_bs, sb + 0x18, 4);
		memcpy(&incompat, sb + 0x60, 4);
		if (le16toh(magic) != 0xEF53 || le32toh(log_bs) > 6)
			return 0;
		if (le32toh(incompat) & 0x80)  /* INCOMPAT_64BIT */
			memcpy(&hi, sb + 0x150, 4);
		uint64_t blocks = ((uint64_t)le32toh(hi) << 32) | le32toh(lo);
		return blocks * (1024ULL << le32toh(log_bs));
	}
	return 0;
}

static int btrfs_paths(struct xp_ctx *c)
{
	struct eos_btrfs_member *bm = NULL;
	size_t n = 0;
	int r = eos_btrfs_members(c->m->target, &bm, &n, c->e);
	for (size_t i = 0; !r && i < n; i++) {
		struct stat st;
		if (stat(bm[i].path, &st) || !S_ISBLK(st.st_mode))
			continue;  /* missing device */
		r = walk_device(c, major(st.st_rdev), minor(st.st_rdev), bm[i].total_bytes,
				EOS_XPATH_BTRFS_DEVICE, c->m->target, bm[i].devid, 0);
	}
	free(bm);
	return r;
}

static int xpaths(const struct eos_mount *m, const struct eos_analyze_opts *o,
		  struct lvm_cache *lvm, struct eos_xpath **out, size_t *n, struct eos_err *e)
{
	struct xp_ctx c = {.o = o, .m = m, .e = e, .lvm = lvm};
	int r;
	*out = NULL;
	*n = 0;
	if (strcmp(m->fstype, "btrfs") == 0)
		r = btrfs_paths(&c);
	else if (m->major == 0)
		r = 0;  /* no block device: tmpfs, overlay, network filesystems */
	else
		r = walk_device(&c, m->major, m->minor, fs_share(m, m->major, m->minor),
				EOS_XPATH_FILESYSTEM, m->target, 0, 0);
	if (r) {
		free(c.v);
		return r;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

int eos_xpaths_for_mount(const struct eos_mount *m, const struct eos_analyze_opts *o,
			 struct eos_xpath **out, size_t *n, struct eos_err *e)
{
	struct lvm_cache lvm = {0};
	int r = xpaths(m, o, &lvm, out, n, e);
	lvm_cache_free(&lvm);
	return r;
}

/* ---- the analysis ---- */

static void report_free(struct eos_mount_report *r)
{
	free(r->target);
	free(r->source);
	free(r->fstype);
	free(r->root);
	free(r->error_msg);
	free(r->paths);
	free(r->paths_error);
}

void eos_analysis_free(struct eos_analysis *a)
{
	for (size_t i = 0; i < a->n; i++)
		report_free(&a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

static void recommend(struct eos_mount_report *r, const struct eos_thresholds *th)
{
	char room[32];
	r->action = EOS_ACTION_NONE;
	r->action_path = -1;
	if (r->level < EOS_LEVEL_WARNING) {
		snprintf(r->reason, sizeof(r->reason), "below the warning level (%g%%)",
			 th->pct[EOS_LEVEL_WARNING]);
		return;
	}
	/* The path with the most room; on a tie the one nearest the filesystem (found first). */
	for (size_t i = 0; i < r->n_paths; i++)
		if (r->action_path < 0 || r->paths[i].available > r->paths[r->action_path].available)
			r->action_path = (int)i;
	if (r->action_path >= 0) {
		const struct eos_xpath *x = &r->paths[r->action_path];
		r->action = EOS_ACTION_EXPAND;
		eos_size_format(x->available, room, sizeof(room));
		snprintf(r->reason, sizeof(r->reason), "level %s; %s %s has %s more",
			 eos_level_name(r->level), eos_xpath_kind_name(x->kind), x->device, room);
	} else if (r->level >= EOS_LEVEL_CLEANUP) {
		r->action = EOS_ACTION_CLEANUP;
		snprintf(r->reason, sizeof(r->reason), "level %s and no expansion path",
			 eos_level_name(r->level));
	} else {
		snprintf(r->reason, sizeof(r->reason), "level %s, below cleanup (%g%%), no expansion path",
			 eos_level_name(r->level), th->pct[EOS_LEVEL_CLEANUP]);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000.0;
}

static char *xstrdup(const char *s, int *oom)
{
	char *d = strdup(s ? s : "");
	if (!d)
		*oom = 1;
	return d;
}

static int analyze_one(const struct eos_analyze_opts *o, const struct eos_mount *m,
		       struct lvm_cache *lvm, struct eos_mount_report *r, struct eos_err *e)
{
	int oom = 0, rc;
	struct eos_err me;
	memset(r, 0, sizeof(*r));
	r->target = xstrdup(m->target, &oom);
	r->source = xstrdup(m->source, &oom);
	r->fstype = xstrdup(m->fstype, &oom);
	r->root = xstrdup(m->root, &oom);
	r->major = m->major;
	r->minor = m->minor;
	r->action_path = -1;
	if (oom)
		return eos_fail(e, ENOMEM, m->target, "out of memory");
	eos_err_clear(&me);
	if (eos_usage_eval(m->target, m->fstype, &r->u, &me)) {
		r->error = me.code;
		r->error_msg = xstrdup(me.msg, &oom);
		return oom ? eos_fail(e, ENOMEM, m->target, "out of memory") : 0;
	}
	const struct eos_usage *u = &r->u.usage;
	r->level_bytes = eos_level_eval(o->th, r->u.bytes_pct);
	r->level_inodes = r->u.has_inodes ? eos_level_eval(o->th, r->u.inodes_pct) : EOS_LEVEL_OK;
	r->level = r->level_bytes > r->level_inodes ? r->level_bytes : r->level_inodes;

	if (o->cachedir) {
		struct eos_sample *v = NULL;
		size_t n = 0;
		if (o->record) {
			struct eos_sample s = {now_s(), u->used, u->size};
			rc = eos_samples_append(o->cachedir, m->target, &s, e);
			if (rc)
				return rc;
		}
		rc = eos_samples_read(o->cachedir, m->target, &v, &n, e);
		if (rc)
			return rc;
		eos_growth_compute(v, n, o->window, u->avail, &r->growth);
		free(v);
	}

	eos_err_clear(&me);
	if (xpaths(m, o, lvm, &r->paths, &r->n_paths, &me)) {
		if (me.code == ENOMEM)
			return eos_fail(e, ENOMEM, m->target, "out of memory");
		r->paths_error = xstrdup(me.msg, &oom);
		if (oom)
			return eos_fail(e, ENOMEM, m->target, "out of memory");
	}
	recommend(r, o->th);
	return 0;
}

int eos_analyze(const struct eos_analyze_opts *o, struct eos_analysis *out, struct eos_err *e)
{
	struct eos_mount_list l = {NULL, 0};
	struct lvm_cache lvm = {0};
	size_t *pick = NULL, n = 0;
	int r;
	out->v = NULL;
	out->n = 0;
	r = eos_mounts_read(o->mountinfo, &l, e);
	if (r)
		return r;
	pick = calloc(l.n ? l.n : 1, sizeof(*pick));
	if (!pick) {
		r = eos_fail(e, ENOMEM, NULL, "out of memory");
		goto out;
	}
	if (o->path) {
		const struct eos_mount *m = eos_mounts_find(&l, o->path, NULL, 0, e);
		if (!m) {
			r = -e->code;
			goto out;
		}
		pick[n++] = (size_t)(m - l.v);
	} else {
		n = eos_mounts_select(&l, pick);
	}
	out->v = calloc(n ? n : 1, sizeof(*out->v));
	if (!out->v) {
		r = eos_fail(e, ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		r = analyze_one(o, &l.v[pick[i]], &lvm, &out->v[i], e);
		out->n = i + 1;
		if (r) {
			eos_analysis_free(out);
			goto out;
		}
	}
	r = 0;
out:
	lvm_cache_free(&lvm);
	free(pick);
	eos_mounts_free(&l);
	return r;
}
