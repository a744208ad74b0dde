/* A VG from the tree of its metadata text (see lvm_meta.h): what is required is checked, what
 * is valid but not modelled marks the VG unsupported, everything else is an error. */
#include "eos/drivers/lvm/lvm_meta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR 512u
#define MAX_STRIPES 128u
#define MAX_SEGMENTS 65536u

static int need(const struct eos_lvm_node *sec, const char *key, enum eos_lvm_meta_type t,
		const struct eos_lvm_node **out, int required, struct eos_err *e)
{
	static const char *names[] = {"a number", "a string", "a list", "a section"};
	const struct eos_lvm_node *n = eos_lvm_meta_get(sec, key);
	*out = n;
	if (!n && !required)
		return 0;
	if (!n)
		return eos_fail(e, EINVAL, NULL, "LVM metadata, section '%s' (line %u): no '%s'",
				sec->key ? sec->key : "", sec->line, key);
	if (n->type != t)
		return eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: '%s' is not %s", n->line, key, names[t]);
	return 0;
}

/* A number in [0, max]; missing and not required: 0. */
static int get_u64(const struct eos_lvm_node *sec, const char *key, uint64_t max, int required,
		   uint64_t *v, struct eos_err *e)
{
	const struct eos_lvm_node *n;
	int r = need(sec, key, EOS_LVM_META_INT, &n, required, e);
	*v = 0;
	if (r || !n)
		return r;
	if (n->num < 0 || (uint64_t)n->num > max)
		return eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: %s = %lld is out of range",
				n->line, key, (long long)n->num);
	*v = (uint64_t)n->num;
	return 0;
}

static int get_str(const struct eos_lvm_node *sec, const char *key, int required, char **v,
		   struct eos_err *e)
{
	const struct eos_lvm_node *n;
	int r = need(sec, key, EOS_LVM_META_STR_T, &n, required, e);
	*v = NULL;
	if (r || !n)
		return r;
	return (*v = strdup(n->str)) ? 0 : eos_fail(e, ENOMEM, NULL, "out of memory");
}

/* Set *bits[i] for each of names[i] in the list key; another word marks the VG unsupported. */
static int get_flags(const struct eos_lvm_node *sec, const char *key, const char *const *names,
		     int *const *bits, struct eos_lvm_meta_vg *vg, struct eos_err *e)
{
	const struct eos_lvm_node *n;
	int r = need(sec, key, EOS_LVM_META_LIST, &n, 0, e);
	for (const struct eos_lvm_node *it = n ? n->child : NULL; !r && it; it = it->next) {
		if (it->type != EOS_LVM_META_STR_T)
			return eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: %s holds a number", it->line, key);
		size_t i = 0;
		while (names[i] && strcmp(names[i], it->str) != 0)
			i++;
		if (names[i]) {
			if (bits[i])
				*bits[i] = 1;
		} else if (!vg->unsupported) {
			vg->unsupported = "a status or flag eos does not model";
		}
	}
	return r;
}

static int alloc_char(const struct eos_lvm_node *sec, char dflt, char *out, struct eos_lvm_meta_vg *vg,
		      struct eos_err *e)
{
	static const char *const names[] = {"inherit", "contiguous", "cling", "normal", "anywhere"};
	static const char chars[] = "iclna";
	const struct eos_lvm_node *n;
	int r = need(sec, "allocation_policy", EOS_LVM_META_STR_T, &n, 0, e);
	*out = dflt;
	for (size_t i = 0; !r && n && i < 5; i++)
		if (strcmp(n->str, names[i]) == 0)
			*out = chars[i];
	if (!r && n && *out == dflt && strcmp(n->str, dflt == 'i' ? "inherit" : "normal") != 0)
		vg->unsupported = "an allocation policy eos does not model";
	return r;
}

static int parse_pv(const struct eos_lvm_node *s, struct eos_lvm_meta_vg *vg, struct eos_lvm_meta_pv *pv,
		    struct eos_err *e)
{
	static const char *const st[] = {"ALLOCATABLE", "EXPORTED", NULL};
	static const char *const fl[] = {"MISSING", NULL};
	int *stb[] = {&pv->allocatable, &pv->exported}, *flb[] = {&pv->missing};
	uint64_t dev_size, pe_start;
	if (s->type != EOS_LVM_META_SECTION)
		return eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: '%s' in physical_volumes is not a "
				"section", s->line, s->key);
	if (!(pv->key = strdup(s->key)))
		return eos_fail(e, ENOMEM, NULL, "out of memory");
	int r;
	if ((r = get_str(s, "id", 1, &pv->id, e)) || (r = get_flags(s, "status", st, stb, vg, e)) ||
	    (r = get_flags(s, "flags", fl, flb, vg, e)) ||
	    (r = get_u64(s, "dev_size", UINT64_MAX / SECTOR, 0, &dev_size, e)) ||
	    (r = get_u64(s, "pe_start", UINT64_MAX / SECTOR, 1, &pe_start, e)) ||
	    (r = get_u64(s, "pe_count", UINT32_MAX, 1, &pv->pe_count, e)))
		return r;
	pv->dev_size = dev_size * SECTOR;
	pv->pe_start = pe_start * SECTOR;
	if (pv->missing)
		vg->unsupported = "a PV is missing";
	return 0;
}

static int find_pv(const struct eos_lvm_meta_vg *vg, const char *key, size_t *idx)
{
	for (size_t i = 0; i < vg->n_pvs; i++)
		if (strcmp(vg->pvs[i].key, key) == 0) {
			*idx = i;
			return 0;
		}
	return -1;
}

/* The stripes list of a striped segment: ["pv0", 0, "pv1", 0]. */
static int parse_stripes(const struct eos_lvm_node *s, struct eos_lvm_meta_vg *vg,
			 struct eos_lvm_meta_seg *g, struct eos_err *e)
{
	const struct eos_lvm_node *l;
	int r = need(s, "stripes", EOS_LVM_META_LIST, &l, 1, e);
	if (r)
		return r;
	if (g->extent_count % g->stripe_count)
		return eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: %llu extents over %llu stripes",
				s->line, (unsigned long long)g->extent_count, (unsigned long long)g->stripe_count);
	uint64_t len = g->extent_count / g->stripe_count;
	if (!(g->areas = calloc(g->stripe_count, sizeof(*g->areas))))
		return eos_fail(e, ENOMEM, NULL, "out of memory");
	const struct eos_lvm_node *it = l->child;
	for (uint64_t i = 0; i < g->stripe_count; i++) {
		const struct eos_lvm_node *pvn = it, *start = it ? it->next : NULL;
		if (!pvn || !start || pvn->type != EOS_LVM_META_STR_T || start->type != EOS_LVM_META_INT)
			return eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: stripes must be %llu pairs of "
					"\"pvN\", extent", l->line, (unsigned long long)g->stripe_count);
		size_t k;
		if (find_pv(vg, pvn->str, &k))
			return eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: stripe on '%s', which is not "
					"in physical_volumes", pvn->line, pvn->str);
		struct eos_lvm_meta_pv *pv = &vg->pvs[k];
		if (start->num < 0 || (uint64_t)start->num > pv->pe_count || len > pv->pe_count - (uint64_t)start->num)
			return eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: extents %lld+%llu are past the "
					"%llu of %s", start->line, (long long)start->num, (unsigned long long)len,
					(unsigned long long)pv->pe_count, pvn->str);
		g->areas[i].pv = k;
		g->areas[i].start = (uint64_t)start->num;
		pv->pe_alloc += len;
		if (pv->pe_alloc > pv->pe_count)
			return eos_fail(e, EINVAL, NULL, "LVM metadata: %s has more extents in use than its %llu",
					pvn->str, (unsigned long long)pv->pe_count);
		it = start->next;
	}
	if (it)
		return eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: more stripes than stripe_count", l->line);
	return 0;
}

static int parse_seg(const struct eos_lvm_node *s, struct eos_lvm_meta_vg *vg, struct eos_lvm_meta_lv *lv,
		     struct eos_lvm_meta_seg *g, struct eos_err *e)
{
	int r;
	if ((r = get_u64(s, "start_extent", UINT32_MAX, 1, &g->start_extent, e)) ||
	    (r = get_u64(s, "extent_count", UINT32_MAX, 1, &g->extent_count, e)) ||
	    (r = get_str(s, "type", 1, &g->type, e)))
		return r;
	if (g->start_extent != lv->extents || g->extent_count == 0)
		return eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: segment of %s starts at extent %llu "
				"with %llu extents, expected to start at %llu", s->line, lv->name,
				(unsigned long long)g->start_extent, (unsigned long long)g->extent_count,
				(unsigned long long)lv->extents);
	lv->extents += g->extent_count;
	if (strcmp(g->type, "striped") != 0) {
		vg->unsupported = "a segment type other than linear or striped";
		return 0;
	}
	uint64_t ss;
	if ((r = get_u64(s, "stripe_count", MAX_STRIPES, 1, &g->stripe_count, e)) ||
	    (r = get_u64(s, "stripe_size", UINT32_MAX, g->stripe_count > 1, &ss, e)))
		return r;
	if (g->stripe_count == 0)
		return eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: stripe_count = 0", s->line);
	g->stripe_size = g->stripe_count > 1 ? ss * SECTOR : 0;
	return parse_stripes(s, vg, g, e);
}

static int parse_lv(const struct eos_lvm_node *s, struct eos_lvm_meta_vg *vg, struct eos_lvm_meta_lv *lv,
		    struct eos_err *e)
{
	static const char *const st[] = {"READ", "WRITE", "VISIBLE", NULL};
	static const char *const fl[] = {"ACTIVATION_SKIP", NULL};
	int *stb[] = {&lv->read, &lv->write, &lv->visible}, *flb[] = {&lv->skip_activation};
	uint64_t count, minor;
	if (s->type != EOS_LVM_META_SECTION)
		return eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: '%s' in logical_volumes is not a "
				"section", s->line, s->key);
	if (!(lv->name = strdup(s->key)))
		return eos_fail(e, ENOMEM, NULL, "out of memory");
	int r;
	if ((r = get_str(s, "id", 1, &lv->id, e)) || (r = get_flags(s, "status", st, stb, vg, e)) ||
	    (r = get_flags(s, "flags", fl, flb, vg, e)) || (r = alloc_char(s, 'i', &lv->alloc, vg, e)) ||
	    (r = get_u64(s, "minor", UINT32_MAX, 0, &minor, e)) ||
	    (r = get_u64(s, "segment_count", MAX_SEGMENTS, 1, &count, e)))
		return r;
	lv->fixed_minor = eos_lvm_meta_get(s, "minor") != NULL;
	if (!lv->visible)
		vg->unsupported = "a hidden LV (part of a RAID, mirror, thin or cache LV)";
	if (count == 0 || !(lv->segs = calloc(count, sizeof(*lv->segs))))
		return count ? eos_fail(e, ENOMEM, NULL, "out of memory")
			     : eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: %s has no segment", s->line, lv->name);
	for (uint64_t i = 0; i < count; i++) {
		char key[32];
		const struct eos_lvm_node *g;
		snprintf(key, sizeof(key), "segment%llu", (unsigned long long)(i + 1));
		if ((r = need(s, key, EOS_LVM_META_SECTION, &g, 1, e)))
			return r;
		lv->n_segs++;
		if ((r = parse_seg(g, vg, lv, &lv->segs[i], e)))
			return r;
	}
	return 0;
}

/* Each child section of key through fn into a new array of size-byte elements. */
static int each_section(const struct eos_lvm_node *vgs, const char *key, void **arr, size_t *n,
			size_t size, struct eos_lvm_meta_vg *vg, struct eos_err *e,
			int (*fn)(const struct eos_lvm_node *, struct eos_lvm_meta_vg *, void *, struct eos_err *))
{
	const struct eos_lvm_node *sec;
	int r = need(vgs, key, EOS_LVM_META_SECTION, &sec, 0, e);
	size_t count = 0;
	for (const struct eos_lvm_node *c = sec ? sec->child : NULL; c; c = c->next)
		count++;
	if (r || !count)
		return r;
	if (!(*arr = calloc(count, size)))
		return eos_fail(e, ENOMEM, NULL, "out of memory");
	for (const struct eos_lvm_node *c = sec->child; c; c = c->next) {
		void *el = (char *)*arr + *n * size;
		(*n)++;
		if ((r = fn(c, vg, el, e)))
			return r;
	}
	return 0;
}

static int pv_fn(const struct eos_lvm_node *s, struct eos_lvm_meta_vg *vg, void *el, struct eos_err *e)
{
	return parse_pv(s, vg, el, e);
}

static int lv_fn(const struct eos_lvm_node *s, struct eos_lvm_meta_vg *vg, void *el, struct eos_err *e)
{
	return parse_lv(s, vg, el, e);
}

static int parse_vg(const struct eos_lvm_node *s, struct eos_lvm_meta_vg *vg, struct eos_err *e)
{
	static const char *const st[] = {"READ", "WRITE", "RESIZEABLE", "EXPORTED", NULL};
	static const char *const fl[] = {"NOAUTOACTIVATE", NULL};
	int *stb[] = {&vg->read, &vg->write, &vg->resizeable, &vg->exported}, *flb[] = {NULL};
	uint64_t es;
	char *sysid = NULL, *lock = NULL;
	if (!(vg->name = strdup(s->key)))
		return eos_fail(e, ENOMEM, NULL, "out of memory");
	int r;
	if ((r = get_str(s, "id", 1, &vg->id, e)) || (r = get_u64(s, "seqno", UINT32_MAX, 1, &vg->seqno, e)) ||
	    (r = get_flags(s, "status", st, stb, vg, e)) || (r = get_flags(s, "flags", fl, flb, vg, e)) ||
	    (r = get_u64(s, "extent_size", UINT32_MAX, 1, &es, e)) || (r = alloc_char(s, 'n', &vg->alloc, vg, e)) ||
	    (r = get_str(s, "system_id", 0, &sysid, e)) || (r = get_str(s, "lock_type", 0, &lock, e)))
		goto out;
	if (es == 0) {
		r = eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: extent_size = 0", s->line);
		goto out;
	}
	vg->extent_size = es * SECTOR;
	if ((sysid && *sysid) || lock)
		vg->unsupported = "a VG with a system id or a lock type";
	if ((r = each_section(s, "physical_volumes", (void **)&vg->pvs, &vg->n_pvs, sizeof(*vg->pvs), vg, e,
			      pv_fn)))
		goto out;
	r = each_section(s, "logical_volumes", (void **)&vg->lvs, &vg->n_lvs, sizeof(*vg->lvs), vg, e, lv_fn);
out:
	free(sysid);
	free(lock);
	return r;
}

int eos_lvm_vg_from_meta(const struct eos_lvm_node *root, struct eos_lvm_meta_vg *vg, struct eos_err *e)
{
	const struct eos_lvm_node *sec = NULL;
	memset(vg, 0, sizeof(*vg));
	for (const struct eos_lvm_node *n = root->child; n; n = n->next) {
		if (n->type != EOS_LVM_META_SECTION)
			continue;
		if (sec)
			return eos_fail(e, EINVAL, NULL, "LVM metadata, line %u: a second VG section '%s'",
					n->line, n->key);
		sec = n;
	}
	if (!sec)
		return eos_fail(e, EINVAL, NULL, "LVM metadata: no VG section");
	int r = parse_vg(sec, vg, e);
	if (r)
		eos_lvm_vg_free(vg);
	return r;
}

int eos_lvm_vg_parse(const char *text, size_t len, struct eos_lvm_meta_vg *vg, struct eos_err *e)
{
	struct eos_lvm_node *root;
	memset(vg, 0, sizeof(*vg));
	int r = eos_lvm_meta_parse(text, len, &root, e);
	if (r)
		return r;
	r = eos_lvm_vg_from_meta(root, vg, e);
	eos_lvm_meta_free(root);
	return r;
}

void eos_lvm_vg_free(struct eos_lvm_meta_vg *vg)
{
	for (size_t i = 0; i < vg->n_pvs; i++) {
		free(vg->pvs[i].key);
		free(vg->pvs[i].id);
	}
	for (size_t i = 0; i < vg->n_lvs; i++) {
		struct eos_lvm_meta_lv *lv = &vg->lvs[i];
		for (size_t k = 0; k < lv->n_segs; k++) {
			free(lv->segs[k].type);
			free(lv->segs[k].areas);
		}
		free(lv->segs);
		free(lv->name);
		free(lv->id);
	}
	free(vg->pvs);
	free(vg->lvs);
	free(vg->name);
	free(vg->id);
	memset(vg, 0, sizeof(*vg));
}
