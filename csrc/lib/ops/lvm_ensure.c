#include "eos/ops/lvm_ensure.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "eos/core/buf.h"
#include "eos/core/size.h"
#include "eos/drivers/devcheck.h"
#include "eos/drivers/lvm/lvm_change.h"
#include "eos/drivers/lvm/lvm_create.h"
#include "eos/drivers/lvm/lvm_report.h"

static void __attribute__((format(printf, 3, 4)))
add_step(struct eos_lvm_ensure *res, const char *action, const char *fmt, ...)
{
	size_t max = sizeof(res->steps) / sizeof(res->steps[0]);
	struct eos_lvm_step *s = &res->steps[res->n_steps < max ? res->n_steps++ : max - 1];
	snprintf(s->action, sizeof(s->action), "%s", action);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	res->changed = 1;
}

static int load_report(struct eos_lvm_report *rep, struct eos_err *e)
{
	struct eos_lvm_opts lo = {.config = eos_lvm_config(), .timeout_ms = 120000};
	memset(rep, 0, sizeof(*rep));
	int r = eos_lvm_report(&lo, rep, e);
	if (!r && !rep->available)
		r = eos_fail(e, ENOENT, "lvm", "the lvm tool is not installed (Debian package lvm2)");
	return r;
}

/* The PV on the block device dev (matched by device number: dev may be a symlink), or NULL;
 * -errno quoting dev when it is not a block device. */
static int find_pv(const struct eos_lvm_report *rep, const char *dev, const struct eos_lvm_pv **pv,
		   struct eos_err *e)
{
	struct stat st;
	*pv = NULL;
	if (!dev[0] || stat(dev, &st) < 0)
		return eos_fail_sys(e, dev[0] ? errno : ENOENT, dev, "device '%s'", dev);
	if (!S_ISBLK(st.st_mode))
		return eos_fail(e, EINVAL, dev, "'%s' is not a block device", dev);
	for (size_t i = 0; i < rep->n_pvs && !*pv; i++)
		if (rep->pvs[i].major == major(st.st_rdev) && rep->pvs[i].minor == minor(st.st_rdev))
			*pv = &rep->pvs[i];
	return 0;
}

/* A device that is no PV yet must be free: no filesystem, partition table or other signature,
 * not mounted, no holders. */
static int check_free(const char *dev, struct eos_err *e)
{
	struct eos_provision_check *c = calloc(1, sizeof(*c));
	if (!c)
		return eos_fail(e, ENOMEM, dev, "out of memory");
	int r = eos_provision_check(dev, c, e);
	if (!r && c->n_blockers) {
		char msg[EOS_MSG_MAX];
		size_t o = (size_t)snprintf(msg, sizeof(msg), "refusing to make '%s' an LVM physical "
					    "volume: it", dev);
		for (size_t i = 0; i < c->n_blockers && o < sizeof(msg); i++)
			o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s %s", i ? "; it" : "", c->blockers[i]);
		r = eos_fail(e, EBUSY, dev, "%s", msg);
	}
	free(c);
	return r;
}

int eos_lvm_pv_ensure(const char *device, int dry_run, struct eos_lvm_ensure *res,
		      struct eos_err *e)
{
	memset(res, 0, sizeof(*res));
	struct eos_lvm_report rep;
	const struct eos_lvm_pv *pv = NULL;
	int r = load_report(&rep, e);
	if (!r)
		r = find_pv(&rep, device, &pv, e);
	if (!r && pv) {
		res->before = res->after = pv->size;
		snprintf(res->note, sizeof(res->note), "%s is a physical volume%s%s", device,
			 pv->vg_name ? " of volume group " : "", pv->vg_name ? pv->vg_name : "");
	}
	eos_lvm_report_free(&rep);
	if (r || pv)
		return r;
	r = check_free(device, e);
	if (r)
		return r;
	add_step(res, "pvcreate", "%s", device);
	if (dry_run || (r = eos_lvm_pvcreate(device, e)))
		return r;
	if (!load_report(&rep, e)) {
		if (!find_pv(&rep, device, &pv, e) && pv)
			res->after = pv->size;
		eos_lvm_report_free(&rep);
	}
	return 0;
}

/* A requested extent size: a power of two of at least 1 KiB, as LVM takes it. */
static int parse_extent(const char *s, uint64_t *out, struct eos_err *e)
{
	struct eos_size_req q;
	*out = 0;
	if (!s)
		return 0;
	int r = eos_size_parse(s, &q, e);
	if (r)
		return r;
	if (q.kind != EOS_SIZE_ABSOLUTE || q.bytes < 1024 || (q.bytes & (q.bytes - 1)))
		return eos_fail(e, EINVAL, "", "invalid extent size '%s': a power of two of at least 1K "
				"(for example 4M)", s);
	*out = q.bytes;
	return 0;
}

/* Sort the devices of a VG request: already in vg, orphan PVs to add, new PVs to make first. */
static int plan_vg_devices(const struct eos_lvm_report *rep, const char *vg, const char *const *devs,
			   size_t n, const char **add, size_t *n_add, struct eos_lvm_ensure *res,
			   struct eos_err *e)
{
	*n_add = 0;
	for (size_t i = 0; i < n; i++) {
		const struct eos_lvm_pv *pv;
		int r = find_pv(rep, devs[i], &pv, e);
		if (r)
			return r;
		if (pv && pv->vg_name && strcmp(pv->vg_name, vg) == 0)
			continue;
		if (pv && pv->vg_name)
			return eos_fail(e, EBUSY, devs[i], "'%s' is a physical volume of volume group '%s', "
					"not of '%s'", devs[i], pv->vg_name, vg);
		for (size_t j = 0; j < *n_add; j++)
			if (strcmp(add[j], devs[i]) == 0)
				return eos_fail(e, EINVAL, devs[i], "device '%s' is listed twice", devs[i]);
		if (!pv) {
			r = check_free(devs[i], e);
			if (r)
				return r;
			add_step(res, "pvcreate", "%s", devs[i]);
		}
		add[(*n_add)++] = devs[i];
	}
	return 0;
}

static int run_vg_steps(const char *vg, int create, const char **add, size_t n_add,
			uint64_t extent, struct eos_err *e)
{
	/* pvcreate first (orphans are PVs already and pvcreate would refuse them). */
	struct eos_lvm_report rep;
	int r = load_report(&rep, e);
	for (size_t i = 0; !r && i < n_add; i++) {
		const struct eos_lvm_pv *pv;
		r = find_pv(&rep, add[i], &pv, e);
		if (!r && !pv)
			r = eos_lvm_pvcreate(add[i], e);
	}
	eos_lvm_report_free(&rep);
	if (!r && n_add)
		r = create ? eos_lvm_vgcreate(vg, add, n_add, extent, e) : eos_lvm_vgextend(vg, add, n_add, e);
	return r;
}

int eos_lvm_vg_ensure(const char *vg, const char *const *devices, size_t n,
		      const char *extent_size, int dry_run, struct eos_lvm_ensure *res,
		      struct eos_err *e)
{
	memset(res, 0, sizeof(*res));
	uint64_t extent;
	int r = eos_lvm_check_name("volume group", vg, e);
	if (!r && (n == 0 || n > EOS_LVM_MAX_DEVS))
		r = eos_fail(e, EINVAL, vg, "volume group '%s' needs 1 to %d devices, not %zu", vg,
			     EOS_LVM_MAX_DEVS, n);
	if (!r)
		r = parse_extent(extent_size, &extent, e);
	if (r)
		return r;
	struct eos_lvm_report rep;
	const char *add[EOS_LVM_MAX_DEVS];
	size_t n_add = 0;
	r = load_report(&rep, e);
	const struct eos_lvm_vg *v = r ? NULL : eos_lvm_find_vg(&rep, vg);
	if (!r)
		r = plan_vg_devices(&rep, vg, devices, n, add, &n_add, res, e);
	if (!r && v) {
		res->before = res->after = v->size;
		if (extent && extent != v->extent_size)
			snprintf(res->note, sizeof(res->note), "volume group %s keeps its extent size of "
				 "%llu bytes (extent_size applies at creation only)", vg,
				 (unsigned long long)v->extent_size);
	}
	int create = !v;
	eos_lvm_report_free(&rep);
	if (r || !n_add)
		return r;
	char list[EOS_PATH_MAX / 2] = "";
	for (size_t i = 0, o = 0; i < n_add && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? " " : "", add[i]);
	add_step(res, create ? "vgcreate" : "vgextend", "%s %s", vg, list);
	if (dry_run)
		return 0;
	r = run_vg_steps(vg, create, add, n_add, extent, e);
	if (!r && !load_report(&rep, e)) {
		const struct eos_lvm_vg *after = eos_lvm_find_vg(&rep, vg);
		res->after = after ? after->size : 0;
		eos_lvm_report_free(&rep);
	}
	return r;
}

/* The LV's size for a request: bytes rounded up to whole extents. An existing LV's %FREE
 * request is settled (it applied at creation); max adds the VG's free extents. */
static int lv_target(const struct eos_lvm_lv_req *q, const struct eos_lvm_vg *v,
		     const struct eos_lvm_lv *lv, uint64_t *target, struct eos_err *e)
{
	struct eos_size_req s;
	int r = eos_size_parse(q->size, &s, e);
	if (r)
		return r;
	uint64_t ext = v->extent_size, have = lv ? lv->size : 0;
	switch (s.kind) {
	case EOS_SIZE_ABSOLUTE:
		if (s.bytes > UINT64_MAX - ext)
			return eos_fail(e, EINVAL, "", "size '%s' is too large", q->size);
		*target = (s.bytes + ext - 1) / ext * ext;
		return 0;
	case EOS_SIZE_PCT_FREE:
		*target = lv ? have : v->free_count * s.pct / 100 * ext;
		return 0;
	case EOS_SIZE_MAX:
		*target = have + v->free_count * ext;
		return 0;
	default:
		return eos_fail(e, EINVAL, "", "size '%s' does not settle: an LV state takes an absolute "
				"size (40G), N%%FREE (at creation) or max", q->size);
	}
}

/* Plan one LV: create, extend, reduce (shrink, inactive only) or leave it. */
static int plan_lv(const struct eos_lvm_lv_req *q, const struct eos_lvm_vg *v,
		   const struct eos_lvm_lv *lv, uint64_t *target, struct eos_lvm_ensure *res,
		   struct eos_err *e)
{
	char want[32], free_s[32], have[32];
	int r = lv_target(q, v, lv, target, e);
	if (r)
		return r;
	res->before = lv ? lv->size : 0;
	res->after = *target;
	eos_size_format(*target, want, sizeof(want));
	eos_size_format(v->free, free_s, sizeof(free_s));
	eos_size_format(res->before, have, sizeof(have));
	if (*target > res->before && *target - res->before > v->free && q->dry_run)
		snprintf(res->note, sizeof(res->note), "volume group %s has only %s free now; the "
			 "change needs a vg_present before this one to add room", q->vg, free_s);
	else if (*target > res->before && *target - res->before > v->free)
		return eos_fail(e, ENOSPC, q->vg, "logical volume %s/%s needs %s (size '%s') and has %s; "
				"volume group %s has only %s free", q->vg, q->lv, want, q->size, have, q->vg,
				free_s);
	if (!lv) {
		if (!*target)
			return eos_fail(e, ENOSPC, q->vg, "volume group %s has no free extents for '%s'",
					q->vg, q->size);
		add_step(res, "lvcreate", "%s/%s %s", q->vg, q->lv, want);
	} else if (*target > lv->size) {
		add_step(res, "lvextend", "%s/%s from %s to %s", q->vg, q->lv, have, want);
	} else if (*target < lv->size && !q->shrink) {
		res->after = lv->size;
		snprintf(res->note, sizeof(res->note), "%s/%s is %s, larger than the requested '%s'; "
			 "it is not shrunk (shrink=True would reduce it)", q->vg, q->lv, have, q->size);
	} else if (*target < lv->size) {
		if (lv->active == 1)
			return eos_fail(e, EBUSY, q->vg, "refusing to shrink the active logical volume %s/%s: "
					"shrink its filesystem and deactivate it first", q->vg, q->lv);
		add_step(res, "lvreduce", "%s/%s from %s to %s", q->vg, q->lv, have, want);
	}
	return 0;
}

/* The plan of an LV in a VG that does not exist yet: only its creation can be said. */
static int plan_lv_without_vg(const struct eos_lvm_lv_req *q, struct eos_lvm_ensure *res,
			      struct eos_err *e)
{
	struct eos_size_req s;
	int r = eos_size_parse(q->size, &s, e);
	if (r)
		return r;
	if (s.kind != EOS_SIZE_ABSOLUTE && s.kind != EOS_SIZE_PCT_FREE && s.kind != EOS_SIZE_MAX)
		return eos_fail(e, EINVAL, "", "size '%s' does not settle: an LV state takes an absolute "
				"size (40G), N%%FREE (at creation) or max", q->size);
	res->after = s.kind == EOS_SIZE_ABSOLUTE ? s.bytes : 0;
	add_step(res, "lvcreate", "%s/%s %s", q->vg, q->lv, q->size);
	snprintf(res->note, sizeof(res->note), "volume group %s does not exist yet: the LV can be "
		 "made only once it does (a vg_present state before this one)", q->vg);
	return 0;
}

int eos_lvm_lv_ensure(const struct eos_lvm_lv_req *q, struct eos_lvm_ensure *res,
		      struct eos_err *e)
{
	memset(res, 0, sizeof(*res));
	struct eos_lvm_report rep;
	uint64_t target = 0;
	int r = eos_lvm_check_name("volume group", q->vg, e);
	if (!r)
		r = eos_lvm_check_name("logical volume", q->lv, e);
	if (!r)
		r = eos_size_parse(q->size, &(struct eos_size_req){0}, e);
	if (r)
		return r;
	r = load_report(&rep, e);
	if (r)
		return r;
	const struct eos_lvm_vg *v = eos_lvm_find_vg(&rep, q->vg);
	const struct eos_lvm_lv *lv = eos_lvm_find_lv(&rep, q->vg, q->lv);
	if ((!v || !v->extent_size) && q->dry_run)
		r = plan_lv_without_vg(q, res, e);  /* a state before this one may make the VG */
	else if (!v || !v->extent_size)
		r = eos_fail(e, ENOENT, q->vg, "no volume group '%s' for logical volume '%s'", q->vg, q->lv);
	else
		r = plan_lv(q, v, lv, &target, res, e);
	eos_lvm_report_free(&rep);
	if (r || q->dry_run || !res->n_steps)
		return r;
	const char *action = res->steps[0].action;
	if (strcmp(action, "lvcreate") == 0)
		return eos_lvm_lvcreate(q->vg, q->lv, target, e);
	if (strcmp(action, "lvextend") == 0)
		return eos_lvm_lvextend(q->vg, q->lv, target, e);
	return eos_lvm_lvreduce(q->vg, q->lv, target, e);
}
