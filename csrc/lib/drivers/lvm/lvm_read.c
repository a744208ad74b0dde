/* Devices → labels and metadata texts → VGs → the rows of an eos_lvm_report (see lvm_read.h).
 * The values follow what `lvm fullreport` prints (LVM 2.03): an orphan PV's size is the size
 * its label records, a PV in a VG has pe_count extents, rows are sorted by VG then name. */
#include "eos/drivers/lvm/lvm_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eos/core/buf.h"
#include "eos/drivers/blockdev.h"
#include "eos/drivers/lvm/lvm_label.h"
#include "eos/drivers/lvm/lvm_meta.h"
#include "eos/drivers/lvm/lvm_view.h"
#include "eos/drivers/lvm/lvm_change.h"

struct pvdev {
	const struct eos_lvm_dev *dev;
	struct eos_lvm_label label;
	int vg;                   /* index in vgs, -1: orphan */
	int has_meta;             /* its areas hold a VG's metadata */
	char *vg_id;              /* that VG's id */
};

struct ctx {
	struct pvdev *pvs;
	size_t n_pvs;
	struct eos_lvm_meta_vg *vgs;
	size_t n_vgs;
	struct eos_err *e;
};

static int nope(struct ctx *c, const char *fmt, const char *a, const char *b)
{
	return eos_fail(c->e, ENOTSUP, NULL, fmt, a, b);
}

/* One metadata text of PV p: a VG, merged with the copies already seen. */
static int add_text(struct ctx *c, struct pvdev *p, const char *text, size_t len)
{
	struct eos_lvm_meta_vg vg;
	int r = eos_lvm_vg_parse(text, len, &vg, c->e);
	if (r) {
		char m[EOS_MSG_MAX];
		snprintf(m, sizeof(m), "%s", c->e->msg);
		return eos_fail(c->e, -r, p->dev->path, "%s: %s", p->dev->path, m);
	}
	if (vg.unsupported) {
		r = nope(c, "VG %s: %s", vg.name, vg.unsupported);
		eos_lvm_vg_free(&vg);
		return r;
	}
	if (p->vg_id && strcmp(p->vg_id, vg.id) != 0)
		r = nope(c, "%s: its metadata areas name two VGs (%s)", p->dev->path, vg.name);
	for (size_t i = 0; !r && i < c->n_vgs; i++) {
		const struct eos_lvm_meta_vg *o = &c->vgs[i];
		if (strcmp(o->id, vg.id) == 0 && o->seqno != vg.seqno)
			r = nope(c, "VG %s: copies of its metadata disagree (%s)", vg.name, "seqno");
		else if (strcmp(o->id, vg.id) != 0 && strcmp(o->name, vg.name) == 0)
			r = nope(c, "two VGs are named %s%s", vg.name, "");
		if (!r && strcmp(o->id, vg.id) == 0) {
			p->vg = (int)i;
			p->vg_id = o->id;
			eos_lvm_vg_free(&vg);
			return 0;
		}
	}
	if (r) {
		eos_lvm_vg_free(&vg);
		return r;
	}
	struct eos_lvm_meta_vg *v = realloc(c->vgs, (c->n_vgs + 1) * sizeof(*v));
	if (!v) {
		eos_lvm_vg_free(&vg);
		return eos_fail(c->e, ENOMEM, NULL, "out of memory");
	}
	c->vgs = v;
	v[c->n_vgs] = vg;
	p->vg = (int)c->n_vgs++;
	p->vg_id = v[p->vg].id;
	return 0;
}

static int read_devices(struct ctx *c, const struct eos_lvm_dev *devs, size_t n)
{
	if (!(c->pvs = calloc(n ? n : 1, sizeof(*c->pvs))))
		return eos_fail(c->e, ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct pvdev *p = &c->pvs[c->n_pvs];
		char *texts[EOS_LVM_MAX_AREAS];
		size_t lens[EOS_LVM_MAX_AREAS];
		int r = eos_lvm_read_dev(devs[i].path, &p->label, texts, lens, c->e);
		/* Not a PV, or a device lvm (our credentials, the same /dev) cannot open either. */
		if (r == 1 || r == -EACCES || r == -EPERM || r == -ENOENT || r == -ENXIO || r == -ENOMEDIUM ||
		    r == -ENODEV)
			continue;
		if (r)
			return r;
		p->dev = &devs[i];
		p->vg = -1;
		c->n_pvs++;
		for (size_t k = 0; k < EOS_LVM_MAX_AREAS; k++) {
			if (!r && texts[k])
				r = add_text(c, p, texts[k], lens[k]);
			free(texts[k]);
		}
		if (r)
			return r;
		for (size_t j = 0; j + 1 < c->n_pvs; j++)
			if (strcmp(c->pvs[j].label.uuid, p->label.uuid) == 0)
				return nope(c, "PV %s is on two devices (%s)", p->label.uuid, devs[i].path);
	}
	return 0;
}

static struct pvdev *pv_by_uuid(struct ctx *c, const char *uuid)
{
	for (size_t i = 0; i < c->n_pvs; i++)
		if (strcmp(c->pvs[i].label.uuid, uuid) == 0)
			return &c->pvs[i];
	return NULL;
}

static int cmp_vg(const void *a, const void *b)
{
	return strcmp(((const struct eos_lvm_meta_vg *)a)->name, ((const struct eos_lvm_meta_vg *)b)->name);
}

static int cmp_pv(const void *a, const void *b)
{
	const struct eos_lvm_pv *x = a, *y = b;
	if (!x->vg_name != !y->vg_name)
		return x->vg_name ? -1 : 1;  /* orphans last */
	int r = x->vg_name ? strcmp(x->vg_name, y->vg_name) : 0;
	return r ? r : strcmp(x->name, y->name);
}

static int cmp_lv(const void *a, const void *b)
{
	const struct eos_lvm_lv *x = a, *y = b;
	int r = strcmp(x->vg_name, y->vg_name);
	return r ? r : strcmp(x->name, y->name);
}

/* x * y bytes, refusing what does not fit 64 bits. */
static int bytes(struct ctx *c, uint64_t x, uint64_t y, uint64_t *out)
{
	if (__builtin_mul_overflow(x, y, out))
		return eos_fail(c->e, EINVAL, NULL, "LVM metadata: %llu extents of %llu bytes overflow",
				(unsigned long long)x, (unsigned long long)y);
	return 0;
}

static char *xstrdup(const char *s, int *oom)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		*oom = 1;
	return d;
}

static int pv_row(struct ctx *c, const struct pvdev *p, const struct eos_lvm_meta_vg *vg,
		  const struct eos_lvm_meta_pv *mp, struct eos_lvm_pv *row)
{
	int oom = 0, r = 0;
	row->name = xstrdup(p->dev->path, &oom);
	row->uuid = xstrdup(p->label.uuid, &oom);
	row->vg_name = xstrdup(vg ? vg->name : NULL, &oom);
	row->fmt = xstrdup("lvm2", &oom);
	row->major = p->dev->major;
	row->minor = p->dev->minor;
	row->dev_size = p->dev->size;
	if (mp) {
		char attr[4] = {mp->allocatable ? 'a' : '-', vg->exported ? 'x' : '-', '-', 0};
		row->attr = xstrdup(attr, &oom);
		row->allocatable = mp->allocatable;
		row->pe_start = mp->pe_start;
		row->pe_count = mp->pe_count;
		row->pe_alloc_count = mp->pe_alloc;
		if ((r = bytes(c, mp->pe_count, vg->extent_size, &row->size)) ||
		    (r = bytes(c, mp->pe_alloc, vg->extent_size, &row->used)))
			return r;
		row->free = row->size - row->used;
	} else {
		row->attr = xstrdup("---", &oom);
		row->size = row->free = p->label.device_size;
		row->pe_start = p->label.n_data ? p->label.data[0].offset : 0;
	}
	return oom ? eos_fail(c->e, ENOMEM, NULL, "out of memory") : 0;
}

static int vg_row(struct ctx *c, const struct eos_lvm_meta_vg *vg, struct eos_lvm_vg *row)
{
	int oom = 0, r;
	char attr[7] = {vg->write ? 'w' : 'r', vg->resizeable ? 'z' : '-', vg->exported ? 'x' : '-', '-',
			vg->alloc, '-', 0};
	row->name = xstrdup(vg->name, &oom);
	row->uuid = xstrdup(vg->id, &oom);
	row->attr = xstrdup(attr, &oom);
	row->extent_size = vg->extent_size;
	row->pv_count = vg->n_pvs;
	uint64_t used = 0;
	for (size_t i = 0; i < vg->n_pvs; i++) {
		row->extent_count += vg->pvs[i].pe_count;
		used += vg->pvs[i].pe_alloc;
	}
	row->free_count = row->extent_count - used;
	for (size_t i = 0; i < vg->n_lvs; i++)
		row->lv_count += vg->lvs[i].visible;
	if ((r = bytes(c, row->extent_count, vg->extent_size, &row->size)) ||
	    (r = bytes(c, row->free_count, vg->extent_size, &row->free)))
		return r;
	return oom ? eos_fail(c->e, ENOMEM, NULL, "out of memory") : 0;
}

/* "/dev/mapper/" + vg + "-" + lv, each '-' doubled as device-mapper names do. */
static char *dm_path(const char *vg, const char *lv)
{
	size_t n = strlen("/dev/mapper/") + 2 * (strlen(vg) + strlen(lv)) + 2;
	char *s = malloc(n), *o = s;
	if (!s)
		return NULL;
	o += sprintf(o, "/dev/mapper/");
	for (const char *p = vg; *p; p++)
		o += sprintf(o, *p == '-' ? "--" : "%c", *p);
	*o++ = '-';
	for (const char *p = lv; *p; p++)
		o += sprintf(o, *p == '-' ? "--" : "%c", *p);
	*o = '\0';
	return s;
}

/* The segment's stripes as lvm prints "devices": "/dev/loop4(5),/dev/loop5(0)". */
static char *seg_devices(const struct eos_lvm_meta_seg *g, struct pvdev *const *map)
{
	size_t n = 1;
	for (uint64_t i = 0; i < g->stripe_count; i++)
		n += strlen(map[g->areas[i].pv]->dev->path) + 24;
	char *s = malloc(n), *o = s;
	for (uint64_t i = 0; s && i < g->stripe_count; i++)
		o += sprintf(o, "%s%s(%llu)", i ? "," : "", map[g->areas[i].pv]->dev->path,
			     (unsigned long long)g->areas[i].start);
	if (s && !g->stripe_count)
		*s = '\0';
	return s;
}

static int add_device(struct eos_lvm_lv *row, const char *path)
{
	for (size_t i = 0; i < row->n_devices; i++)
		if (strcmp(row->devices[i], path) == 0)
			return 0;
	char **v = realloc(row->devices, (row->n_devices + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	row->devices = v;
	if (!(v[row->n_devices] = strdup(path)))
		return -ENOMEM;
	row->n_devices++;
	return 0;
}

static int seg_rows(struct ctx *c, const struct eos_lvm_meta_vg *vg, const struct eos_lvm_meta_lv *lv,
		    struct pvdev *const *map, struct eos_lvm_lv *row, struct eos_lvm_report *out)
{
	struct eos_lvm_seg *v = realloc(out->segs, (out->n_segs + lv->n_segs) * sizeof(*v));
	if (!v)
		return eos_fail(c->e, ENOMEM, NULL, "out of memory");
	out->segs = v;
	for (size_t k = 0; k < lv->n_segs; k++) {
		const struct eos_lvm_meta_seg *g = &lv->segs[k];
		struct eos_lvm_seg *s = &out->segs[out->n_segs++];
		int oom = 0, r;
		memset(s, 0, sizeof(*s));
		s->lv_uuid = xstrdup(lv->id, &oom);
		s->type = xstrdup(g->stripe_count == 1 ? "linear" : "striped", &oom);
		s->devices = seg_devices(g, map);
		s->start_pe = g->start_extent;
		s->size_pe = g->extent_count;
		s->stripes = g->stripe_count;
		s->stripe_size = g->stripe_size;
		if ((r = bytes(c, g->start_extent, vg->extent_size, &s->start)) ||
		    (r = bytes(c, g->extent_count, vg->extent_size, &s->size)))
			return r;
		for (uint64_t i = 0; !oom && i < g->stripe_count; i++)
			oom = add_device(row, map[g->areas[i].pv]->dev->path) != 0;
		if (oom || !s->devices)
			return eos_fail(c->e, ENOMEM, NULL, "out of memory");
	}
	return 0;
}

static int lv_row(struct ctx *c, const struct eos_lvm_meta_vg *vg, const struct eos_lvm_meta_lv *lv,
		  struct pvdev *const *map, struct eos_lvm_lv *row, struct eos_lvm_report *out)
{
	int oom = 0, r, striped = 0, linear = 0;
	/* Without device-mapper lvm cannot tell the state or whether it is open: 'X'. */
	char attr[11] = {'-', lv->write ? 'w' : 'r', lv->alloc, lv->fixed_minor ? 'm' : '-', 'X', 'X',
			 '-', '-', '-', lv->skip_activation ? 'k' : '-', 0};
	char full[2 * EOS_LVM_META_STR + 8];
	for (size_t k = 0; k < lv->n_segs; k++) {
		striped |= lv->segs[k].stripe_count > 1;
		linear |= lv->segs[k].stripe_count == 1;
	}
	if (striped && linear)
		return nope(c, "LV %s mixes linear and striped segments (%s)", lv->name, vg->name);
	row->name = xstrdup(lv->name, &oom);
	row->vg_name = xstrdup(vg->name, &oom);
	row->uuid = xstrdup(lv->id, &oom);
	snprintf(full, sizeof(full), "%s/%s", vg->name, lv->name);
	row->full_name = xstrdup(full, &oom);
	snprintf(full, sizeof(full), "/dev/%s/%s", vg->name, lv->name);
	row->path = xstrdup(full, &oom);
	if (!(row->dm_path = dm_path(vg->name, lv->name)))
		oom = 1;
	row->attr = xstrdup(attr, &oom);
	row->layout = xstrdup(striped ? "striped" : "linear", &oom);
	row->active = -1;
	if (oom)
		return eos_fail(c->e, ENOMEM, NULL, "out of memory");
	if ((r = bytes(c, lv->extents, vg->extent_size, &row->size)))
		return r;
	return seg_rows(c, vg, lv, map, row, out);
}

/* The device of each PV in vg's metadata; every one must be present and claimed by no other VG. */
static int map_pvs(struct ctx *c, size_t i, struct pvdev ***map)
{
	const struct eos_lvm_meta_vg *vg = &c->vgs[i];
	*map = calloc(vg->n_pvs ? vg->n_pvs : 1, sizeof(**map));
	if (!*map)
		return eos_fail(c->e, ENOMEM, NULL, "out of memory");
	for (size_t k = 0; k < vg->n_pvs; k++) {
		struct pvdev *p = pv_by_uuid(c, vg->pvs[k].id);
		if (!p)
			return nope(c, "VG %s: PV %s is missing", vg->name, vg->pvs[k].id);
		if (p->vg >= 0 && (size_t)p->vg != i)
			return nope(c, "PV %s: its metadata names another VG than %s", p->dev->path, vg->name);
		if (vg->pvs[k].pe_count == 0)
			return nope(c, "VG %s: PV %s has no extents", vg->name, p->dev->path);
		p->vg = (int)i;
		(*map)[k] = p;
	}
	return 0;
}

static int vg_rows(struct ctx *c, size_t i, struct eos_lvm_report *out)
{
	const struct eos_lvm_meta_vg *vg = &c->vgs[i];
	struct pvdev **map = NULL;
	int r = map_pvs(c, i, &map);
	if (!r)
		r = vg_row(c, vg, &out->vgs[out->n_vgs++]);
	for (size_t k = 0; !r && k < vg->n_pvs; k++)
		r = pv_row(c, map[k], vg, &vg->pvs[k], &out->pvs[out->n_pvs++]);
	if (!r && vg->n_lvs) {
		struct eos_lvm_lv *v = realloc(out->lvs, (out->n_lvs + vg->n_lvs) * sizeof(*v));
		if (!v)
			r = eos_fail(c->e, ENOMEM, NULL, "out of memory");
		else
			out->lvs = v;
	}
	for (size_t k = 0; !r && k < vg->n_lvs; k++) {
		memset(&out->lvs[out->n_lvs], 0, sizeof(*out->lvs));
		r = lv_row(c, vg, &vg->lvs[k], map, &out->lvs[out->n_lvs++], out);
	}
	free(map);
	return r;
}

static int build(struct ctx *c, struct eos_lvm_report *out)
{
	int r = 0;
	if (c->n_vgs)
		qsort(c->vgs, c->n_vgs, sizeof(*c->vgs), cmp_vg);
	/* Sorting moved the VGs: find each PV's VG again by id (vg_id points into the VG). */
	for (size_t i = 0; i < c->n_pvs; i++) {
		struct pvdev *p = &c->pvs[i];
		p->has_meta = p->vg >= 0;
		p->vg = -1;
		for (size_t k = 0; p->has_meta && k < c->n_vgs; k++)
			if (c->vgs[k].id == p->vg_id)
				p->vg = (int)k;
	}
	size_t npv = 0;
	for (size_t i = 0; i < c->n_vgs; i++)
		npv += c->vgs[i].n_pvs;
	out->pvs = calloc(npv + c->n_pvs + 1, sizeof(*out->pvs));
	out->vgs = calloc(c->n_vgs + 1, sizeof(*out->vgs));
	if (!out->pvs || !out->vgs)
		return eos_fail(c->e, ENOMEM, NULL, "out of memory");
	if (c->n_vgs && eos_lvm_dm_loaded())
		for (size_t i = 0; !r && i < c->n_vgs; i++)
			if (c->vgs[i].n_lvs)
				r = nope(c, "device-mapper is loaded: the state of the LVs of %s needs lvm%s",
					 c->vgs[i].name, "");
	for (size_t i = 0; !r && i < c->n_vgs; i++)
		r = vg_rows(c, i, out);
	for (size_t i = 0; !r && i < c->n_pvs; i++) {
		const struct pvdev *p = &c->pvs[i];
		if (p->vg >= 0)
			continue;
		if (p->has_meta)
			return nope(c, "%s holds metadata of a VG that does not list it%s", p->dev->path, "");
		r = pv_row(c, p, NULL, NULL, &out->pvs[out->n_pvs++]);
	}
	if (r)
		return r;
	qsort(out->pvs, out->n_pvs, sizeof(*out->pvs), cmp_pv);
	if (out->n_lvs)
		qsort(out->lvs, out->n_lvs, sizeof(*out->lvs), cmp_lv);
	return 0;
}

int eos_lvm_read(const struct eos_lvm_dev *devs, size_t n, struct eos_lvm_report *out,
		 struct eos_err *e)
{
	struct ctx c = {NULL, 0, NULL, 0, e};
	memset(out, 0, sizeof(*out));
	out->available = 1;
	int r = read_devices(&c, devs, n);
	if (!r)
		r = build(&c, out);
	for (size_t i = 0; i < c.n_vgs; i++)
		eos_lvm_vg_free(&c.vgs[i]);
	free(c.vgs);
	free(c.pvs);
	if (r) {
		eos_lvm_report_free(out);
		out->available = 1;
	}
	return r;
}

int eos_lvm_dm_loaded(void)
{
	struct eos_buf b = EOS_BUF_INIT;
	int r = 0;
	if (eos_buf_read_file(&b, AT_FDCWD, "/proc/misc") == 0)
		r = b.data && memmem(b.data, b.len, "device-mapper", 13) != NULL;
	eos_buf_free(&b);
	return r;
}

int eos_lvm_config_is_default(void)
{
	if (getenv("LVM_SYSTEM_DIR"))
		return 0;
	const struct eos_lvm_view *v = eos_lvm_view_get();
	int r = v && v->n == 0;
	eos_lvm_view_put(v);
	return r;
}

/* The devices lvm would scan for labels: every block device with a size, without partitions
 * (lvm skips a partitioned disk); 1 when one is on device-mapper (lvm names it otherwise). */
static int scan_candidates(const struct eos_blockdev_list *l, struct eos_lvm_dev *devs, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct eos_blockdev *d = &l->v[i];
		int parted = 0;
		for (size_t j = 0; j < l->n; j++)
			parted |= l->v[j].parent && strcmp(l->v[j].parent, d->name) == 0;
		if (d->size == 0 || parted)
			continue;
		if (d->dm_name)
			return 1;
		devs[(*n)++] = (struct eos_lvm_dev){d->path, d->major, d->minor, d->size};
	}
	return 0;
}

int eos_lvm_scan(const struct eos_lvm_opts *o, struct eos_lvm_report *out, const char **reader,
		 struct eos_err *e)
{
	struct eos_blockdev_list l = {NULL, 0};
	struct eos_lvm_dev *devs = NULL;
	size_t n;
	const struct eos_lvm_view *view;
	*reader = "lvm";
	/* eos's own --config (activation off where there is no device-mapper) changes no fact the
	 * reader gives: without device-mapper it reports no LV state. */
	if (o && (o->lvm || (o->config && (o->config != eos_lvm_config() || eos_lvm_dm_loaded()))))
		goto tool;
	if (!(view = eos_lvm_view_get()))
		goto tool;
	if (eos_blockdev_scan(NULL, &l, e) < 0)
		goto tool_view;
	devs = calloc(l.n ? l.n : 1, sizeof(*devs));
	if (devs && !scan_candidates(&l, devs, &n) && eos_lvm_view_apply(view, devs, &n) == 0 &&
	    eos_lvm_read(devs, n, out, e) == 0) {
		*reader = "in-process";
		free(devs);
		eos_blockdev_list_free(&l);
		eos_lvm_view_put(view);
		return 0;
	}
tool_view:
	eos_lvm_view_put(view);
tool:
	free(devs);
	eos_blockdev_list_free(&l);
	eos_err_clear(e);
	return eos_lvm_report(o, out, e);
}
