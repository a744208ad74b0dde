/* Role calculation (see eos/ops/roles.h for the rules). */
#include "eos/ops/roles.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIB (1024ULL * 1024 * 1024)
#define MIB (1024ULL * 1024)

static const char *const role_names[EOS_ROLE_COUNT] = {
	[EOS_ROLE_MONOLITH] = "monolith",
	[EOS_ROLE_EDGE] = "edge",
	[EOS_ROLE_CORE] = "core",
	[EOS_ROLE_DATA] = "data",
	[EOS_ROLE_MESSAGE] = "message",
	[EOS_ROLE_OBSERVE] = "observe",
	[EOS_ROLE_COMPUTE] = "compute",
	[EOS_ROLE_APP] = "app",
};

/* CPU cores / RAM GiB / unused disk GiB. */
static const struct eos_role_min role_mins[EOS_ROLE_COUNT] = {
	[EOS_ROLE_MONOLITH] = {0, 0, 0},
	[EOS_ROLE_EDGE] = {2, 4, 50},
	[EOS_ROLE_CORE] = {4, 8, 100},
	[EOS_ROLE_DATA] = {4, 16, 500},
	[EOS_ROLE_MESSAGE] = {2, 8, 50},
	[EOS_ROLE_OBSERVE] = {4, 8, 200},
	[EOS_ROLE_COMPUTE] = {8, 32, 100},
	[EOS_ROLE_APP] = {2, 4, 0},
};

/* The replicated roles, in the order they are placed. */
static const enum eos_role placed[] = {
	EOS_ROLE_CORE, EOS_ROLE_DATA, EOS_ROLE_EDGE, EOS_ROLE_MESSAGE, EOS_ROLE_OBSERVE,
};

const char *eos_role_name(enum eos_role r)
{
	return (unsigned)r < EOS_ROLE_COUNT ? role_names[r] : "?";
}

int eos_role_parse(const char *name, struct eos_err *e)
{
	for (int r = 0; r < EOS_ROLE_COUNT; r++)
		if (strcmp(name, role_names[r]) == 0)
			return r;
	return eos_fail(e, EINVAL, NULL,
			"unknown role '%s' (roles: monolith, edge, core, data, message, observe, "
			"compute, app)", name);
}

const struct eos_role_min *eos_role_minimum(enum eos_role r)
{
	return &role_mins[(unsigned)r < EOS_ROLE_COUNT ? r : EOS_ROLE_APP];
}

unsigned eos_roles_target(enum eos_role r, size_t n)
{
	if (n <= 1)
		return r == EOS_ROLE_MONOLITH && n == 1;
	switch (r) {
	case EOS_ROLE_CORE:
		return n >= 7 ? 5 : n >= 3 ? 3 : 1;
	case EOS_ROLE_DATA:
		return n >= 3 ? 3 : 1;
	case EOS_ROLE_EDGE:
		return n >= 15 ? 3 : n >= 7 ? 2 : 1;
	case EOS_ROLE_MESSAGE:
		return n >= 15 ? 3 : n >= 6 ? 1 : 0;
	case EOS_ROLE_OBSERVE:
		return n >= 15 ? 2 : n >= 8 ? 1 : 0;
	default:
		return 0;
	}
}

static int eligible(const struct eos_role_node *nd, enum eos_role r)
{
	const struct eos_role_min *m = &role_mins[r];
	/* mem_total is the kernel's MemTotal, a few percent below the installed RAM. */
	return nd->cpus >= m->cpus && nd->mem_bytes >= (uint64_t)m->mem_gib * GIB / 10 * 9 &&
	       nd->disk_bytes >= (uint64_t)m->disk_gib * GIB;
}

struct calc {
	const struct eos_role_node *in;
	size_t n;
	struct eos_role_node *sn;   /* the nodes in sorted order: the placing reads them again and
				     * again, in this order (from the input's order, every read
				     * would wait for memory) */
	unsigned *zone;        /* sorted position -> zone number */
	size_t nzones;
	unsigned *zcount;      /* per zone: nodes of the role being placed */
	unsigned *zfill;       /* per zone: candidates in zbest */
	size_t *zbest;         /* per zone: its best PICK_MAX candidates, best first */
	unsigned *zlist;       /* zones with a candidate, then the best of them */
	unsigned *cur;         /* sorted position -> current roles (monolith expanded) */
	unsigned *raw_cur;     /* sorted position -> current roles as given */
	struct eos_roles_result *res;
	struct eos_buf woff;   /* warning offsets (size_t) */
	/* Per node, for the role being placed (constant while it is placed): */
	unsigned char *tier_a;     /* tier(), see below */
	unsigned char *load_a;     /* roles given so far in this calculation */
	unsigned char *other_a;    /* other roles in the current assignment */
	unsigned char *elig;       /* per node: the roles whose minimums it meets (bits) */
	const char *interned[8];   /* constant reasons shared by many nodes, and their offsets */
	size_t interned_off[8];
	size_t ninterned;
};

/* The most nodes a replicated role has (eos_roles_target): place() keeps that many candidates
 * per zone. */
#define PICK_MAX 5

#define NODE(c, i) (&(c)->sn[i])

static int text_vadd(struct eos_buf *b, size_t *off, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int len = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (len < 0)
		return -EINVAL;
	int r = eos_buf_reserve(b, (size_t)len + 1);
	if (r)
		return r;
	*off = b->len;
	vsnprintf(b->data + b->len, (size_t)len + 1, fmt, ap);
	b->len += (size_t)len + 1;   /* keep the NUL: texts are NUL-separated */
	return 0;
}

static int reason(struct calc *c, size_t i, enum eos_role r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int reason(struct calc *c, size_t i, enum eos_role r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = text_vadd(&c->res->text, &c->res->nodes[i].reason[r], fmt, ap);
	va_end(ap);
	if (rc == 0)
		c->res->nodes[i].roles |= EOS_ROLE_BIT(r);
	return rc;
}

/* A constant reason (a string literal) stored once however many nodes carry it. */
static int reason_const(struct calc *c, size_t i, enum eos_role r, const char *text)
{
	size_t k;
	for (k = 0; k < c->ninterned; k++)
		if (c->interned[k] == text)
			break;
	if (k == c->ninterned) {
		size_t off = c->res->text.len;
		int rc = eos_buf_append(&c->res->text, text, strlen(text) + 1);
		if (rc)
			return rc;
		c->res->text.len = off + strlen(text) + 1;
		if (k < sizeof(c->interned) / sizeof(c->interned[0])) {
			c->interned[k] = text;
			c->interned_off[k] = off;
			c->ninterned++;
		}
		c->res->nodes[i].reason[r] = off;
	} else {
		c->res->nodes[i].reason[r] = c->interned_off[k];
	}
	c->res->nodes[i].roles |= EOS_ROLE_BIT(r);
	return 0;
}

static int warn(struct calc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int warn(struct calc *c, const char *fmt, ...)
{
	size_t off;
	va_list ap;
	va_start(ap, fmt);
	int rc = text_vadd(&c->res->text, &off, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = eos_buf_append(&c->woff, &off, sizeof(off));
	return rc;
}

static unsigned popcount(unsigned x)
{
	unsigned n = 0;
	for (; x; x &= x - 1)   /* role sets have a few bits: no libgcc call */
		n++;
	return n;
}

/* 0 kept and eligible, 1 eligible, 2 kept below minimums, 3 below minimums. */
static int tier(const struct calc *c, size_t i, enum eos_role r)
{
	int kept = (c->cur[i] & EOS_ROLE_BIT(r)) != 0;
	return (c->elig[i] & EOS_ROLE_BIT(r) ? 0 : 2) + !kept;
}

/* Fill the per-node keys of role r (they do not change while r is placed: a node picked for r
 * is not a candidate any more). */
static void prepare(struct calc *c, enum eos_role r)
{
	unsigned other = ~(EOS_ROLE_BIT(r) | EOS_ROLE_BIT(EOS_ROLE_APP) | EOS_ROLE_BIT(EOS_ROLE_MONOLITH));
	for (size_t i = 0; i < c->n; i++) {
		c->tier_a[i] = (unsigned char)tier(c, i, r);
		c->load_a[i] = (unsigned char)popcount(c->res->nodes[i].roles);
		c->other_a[i] = (unsigned char)popcount(c->raw_cur[i] & other);
	}
	memset(c->zcount, 0, c->nzones * sizeof(*c->zcount));
	memset(c->zfill, 0, c->nzones * sizeof(*c->zfill));
}

#define CMP(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

/* < 0 when node a is the better choice for role r than node b (after prepare(c, r)). */
static int better(const struct calc *c, size_t a, size_t b, enum eos_role r)
{
	CMP(c->tier_a[a], c->tier_a[b]);
	CMP(c->zcount[c->zone[a]], c->zcount[c->zone[b]]);
	const struct eos_role_node *na = NODE(c, a), *nb = NODE(c, b);
	if (r == EOS_ROLE_EDGE)
		CMP(!na->public_addr, !nb->public_addr);
	if (r == EOS_ROLE_DATA && na->disk_bytes != nb->disk_bytes)
		return na->disk_bytes > nb->disk_bytes ? -1 : 1;
	CMP(c->load_a[a], c->load_a[b]);
	CMP(c->other_a[a], c->other_a[b]);
	if (na->cpus != nb->cpus)
		return na->cpus > nb->cpus ? -1 : 1;
	if (na->mem_bytes != nb->mem_bytes)
		return na->mem_bytes > nb->mem_bytes ? -1 : 1;
	if (na->disk_bytes != nb->disk_bytes)
		return na->disk_bytes > nb->disk_bytes ? -1 : 1;
	CMP(a, b);   /* sorted by id */
	return 0;
}

static const char *zone_of(const struct eos_role_node *nd)
{
	return nd->zone && nd->zone[0] ? nd->zone : NULL;
}

static int describe_pick(struct calc *c, size_t i, enum eos_role r, unsigned nth, unsigned k)
{
	const struct eos_role_node *nd = NODE(c, i);
	const struct eos_role_min *m = &role_mins[r];
	const char *zone = zone_of(nd);
	char where[EOS_ROLE_ID_MAX + 16] = "";   /* a whole zone: a cut one could split a UTF-8 character */
	if (zone)
		snprintf(where, sizeof(where), ", zone '%s'", zone);
	char has[160];
	snprintf(has, sizeof(has), "%u CPUs, %llu MiB RAM, %llu GiB unused disk", nd->cpus,
		 (unsigned long long)(nd->mem_bytes / MIB), (unsigned long long)(nd->disk_bytes / GIB));
	switch (c->tier_a[i]) {
	case 0:
		return reason(c, i, r, "%s %u of %u: kept, already %s and meets its minimums (%s%s)",
			      role_names[r], nth, k, role_names[r], has, where);
	case 2:
		return reason(c, i, r, "%s %u of %u: kept below its minimums (needs %u CPUs, %u GiB RAM, "
			      "%u GiB unused disk; has %s%s): no eligible node is left",
			      role_names[r], nth, k, m->cpus, m->mem_gib, m->disk_gib, has, where);
	case 3:
		return reason(c, i, r, "%s %u of %u: below its minimums (needs %u CPUs, %u GiB RAM, "
			      "%u GiB unused disk; has %s%s) but no eligible node is left",
			      role_names[r], nth, k, m->cpus, m->mem_gib, m->disk_gib, has, where);
	}
	const char *why = "most resources among the eligible nodes";
	if (r == EOS_ROLE_DATA)
		why = "most unused disk among the eligible nodes";
	else if (r == EOS_ROLE_EDGE)
		why = nd->public_addr ? "has a public address" : "no eligible node with a public address is left";
	return reason(c, i, r, "%s %u of %u: meets its minimums, %s (%s%s)", role_names[r], nth, k,
		      why, has, where);
}

static int fallback_warning(struct calc *c, size_t i, enum eos_role r)
{
	const struct eos_role_node *nd = NODE(c, i);
	const struct eos_role_min *m = &role_mins[r];
	return warn(c, "%s holds %s below its minimums (needs %u CPUs, %u GiB RAM, %u GiB unused disk; "
		    "has %u CPUs, %llu MiB RAM, %llu GiB unused disk): no eligible node is left",
		    nd->id, role_names[r], m->cpus, m->mem_gib, m->disk_gib, nd->cpus,
		    (unsigned long long)(nd->mem_bytes / MIB), (unsigned long long)(nd->disk_bytes / GIB));
}

/* The best k candidates of each zone for role r (best first): within a zone the zone count is
 * the same for every node, so better() orders them as it will when they are picked. One pass,
 * about one comparison per node. Returns the zones that have a candidate, in c->zlist. */
static size_t zone_candidates(struct calc *c, enum eos_role r, unsigned k)
{
	unsigned bit = EOS_ROLE_BIT(r);
	size_t nz = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (c->res->nodes[i].roles & bit)
			continue;
		unsigned z = c->zone[i], f = c->zfill[z];
		size_t *s = c->zbest + (size_t)z * PICK_MAX;
		if (f == k && better(c, i, s[k - 1], r) > 0)
			continue;
		if (f == 0)
			c->zlist[nz++] = z;
		unsigned j = f < k ? f : k - 1;
		c->zfill[z] = f < k ? f + 1 : f;
		for (; j > 0 && better(c, i, s[j - 1], r) < 0; j--)
			s[j] = s[j - 1];
		s[j] = i;
	}
	return nz;
}

/* The k zones whose best candidates are best (zone counts all 0 still), best first, into
 * c->zlist[0..]; returns how many. Every pick comes from them: a pick is the head of a zone
 * already used or the best head of the zones not used yet, and at most k zones are used. */
static size_t top_zones(struct calc *c, enum eos_role r, unsigned k, size_t nz)
{
	size_t top = 0;
	for (size_t q = 0; q < nz; q++) {
		unsigned z = c->zlist[q];
		size_t head = c->zbest[(size_t)z * PICK_MAX];
		if (top == k && better(c, head, c->zbest[(size_t)c->zlist[k - 1] * PICK_MAX], r) > 0)
			continue;
		size_t j = top < k ? top++ : k - 1;
		for (; j > 0 && better(c, head, c->zbest[(size_t)c->zlist[j - 1] * PICK_MAX], r) < 0; j--)
			c->zlist[j] = c->zlist[j - 1];
		c->zlist[j] = z;
	}
	return top;
}

/* Place k nodes of role r one at a time, each the best by better() of the nodes that do not
 * hold r yet, with the zone counts of the nodes placed so far. */
static int place(struct calc *c, enum eos_role r, unsigned k)
{
	unsigned zones_used = 0;
	unsigned next[PICK_MAX] = {0};   /* per top zone: its next candidate */
	prepare(c, r);
	size_t nz = zone_candidates(c, r, k);
	size_t top = top_zones(c, r, k, nz);
	for (unsigned nth = 1; nth <= k; nth++) {
		size_t best = SIZE_MAX, from = 0;
		for (size_t q = 0; q < top; q++) {
			unsigned z = c->zlist[q];
			if (next[q] == c->zfill[z])
				continue;
			size_t i = c->zbest[(size_t)z * PICK_MAX + next[q]];
			if (best == SIZE_MAX || better(c, i, best, r) < 0) {
				best = i;
				from = q;
			}
		}
		if (best == SIZE_MAX)
			break;
		next[from]++;
		int rc = describe_pick(c, best, r, nth, k);
		if (!rc && c->tier_a[best] >= 2)
			rc = fallback_warning(c, best, r);
		if (rc)
			return rc;
		zones_used += c->zcount[c->zone[best]]++ == 0;
	}
	unsigned want = k < c->nzones ? k : (unsigned)c->nzones;
	if (c->nzones > 1 && zones_used < want)
		return warn(c, "%s: %u nodes in only %u of %zu zones (the nodes kept for stability "
			    "share zones)", role_names[r], k, zones_used, c->nzones);
	return 0;
}

static int place_compute(struct calc *c)
{
	unsigned bit = EOS_ROLE_BIT(EOS_ROLE_COMPUTE);
	size_t count = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (c->res->nodes[i].roles || !(c->elig[i] & bit))
			continue;
		int kept = (c->cur[i] & bit) != 0;
		int rc = reason_const(c, i, EOS_ROLE_COMPUTE, kept
				      ? "compute: kept, holds no other role and meets the compute minimums"
				      : "compute: holds no other role and meets the compute minimums");
		if (rc)
			return rc;
		count++;
	}
	if (count)
		return 0;
	/* No free eligible node: one node, chosen like a replicated role. */
	prepare(c, EOS_ROLE_COMPUTE);
	size_t best = 0;
	for (size_t i = 1; i < c->n; i++)
		if (better(c, i, best, EOS_ROLE_COMPUTE) < 0)
			best = i;
	int rc = describe_pick(c, best, EOS_ROLE_COMPUTE, 1, 1);
	if (!rc && c->tier_a[best] >= 2)
		rc = fallback_warning(c, best, EOS_ROLE_COMPUTE);
	return rc;
}

static int place_app(struct calc *c)
{
	size_t free_nodes = 0, compute = 0;
	for (size_t i = 0; i < c->n; i++) {
		free_nodes += c->res->nodes[i].roles == 0;
		compute += (c->res->nodes[i].roles & EOS_ROLE_BIT(EOS_ROLE_COMPUTE)) != 0;
	}
	for (size_t i = 0; i < c->n; i++) {
		unsigned roles = c->res->nodes[i].roles;
		const char *why;
		if (free_nodes)
			why = roles ? NULL : "app: holds no other role";
		else if (compute)
			why = roles & EOS_ROLE_BIT(EOS_ROLE_COMPUTE)
				      ? "app: no node is free of other roles, apps run on the compute nodes" : NULL;
		else
			why = "app: small cluster, no node is free of other roles: apps run beside them";
		if (!why)
			continue;
		int rc = reason_const(c, i, EOS_ROLE_APP, why);
		if (!rc && !(c->elig[i] & EOS_ROLE_BIT(EOS_ROLE_APP))) {
			const struct eos_role_node *nd = NODE(c, i);
			rc = warn(c, "%s holds app below its minimums (needs 2 CPUs, 4 GiB RAM; has %u CPUs, "
				  "%llu MiB RAM)", nd->id, nd->cpus, (unsigned long long)(nd->mem_bytes / MIB));
		}
		if (rc)
			return rc;
	}
	return 0;
}

struct zone_slot {
	const char *zone;
	unsigned id;
};

/* The number of zone z ("" for unknown, itself a zone), numbered in order of first appearance;
 * tab: an open-addressing table of cap slots (a power of two above the node count). */
static unsigned zone_number(struct calc *c, struct zone_slot *tab, size_t cap, const char *z)
{
	if (!z)
		z = "";
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)z; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	size_t k = (size_t)h & (cap - 1);
	while (tab[k].zone && strcmp(tab[k].zone, z) != 0)
		k = (k + 1) & (cap - 1);
	if (!tab[k].zone)
		tab[k] = (struct zone_slot){z, (unsigned)c->nzones++};
	return tab[k].id;
}

/* How many leading bytes a and b share, at most max. */
static size_t common_prefix(const char *a, const char *b, size_t max)
{
	size_t k = 0;
	while (k < max && a[k] && a[k] == b[k])
		k++;
	return k;
}

/* s for a message: printable ASCII as is, other bytes as \xNN, at most about 80 bytes. */
static const char *quote(const char *s, char *out, size_t n)
{
	size_t o = 0;
	for (; *s && o + 8 < n && o < 80; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'')
			o += (size_t)snprintf(out + o, n - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	snprintf(out + o, n - o, "%s", *s ? "..." : "");
	return out;
}

/* An id (node or zone): 1..EOS_ROLE_ID_MAX bytes, no control character. what names it. */
static int check_name(const char *id, const char *what, struct eos_err *e)
{
	char q[128];
	const unsigned char *p = (const unsigned char *)id;
	while (*p >= 0x20 && *p != 0x7f)   /* stops at the NUL or at a control character */
		p++;
	size_t at = (size_t)(p - (const unsigned char *)id);
	/* Too long is said first, as when the length was checked before the bytes. */
	if ((*p ? strnlen(id, EOS_ROLE_ID_MAX + 1) : at) > EOS_ROLE_ID_MAX)
		return eos_fail(e, EINVAL, NULL, "%s '%s' is longer than %d bytes", what,
				quote(id, q, sizeof(q)), EOS_ROLE_ID_MAX);
	if (*p)
		return eos_fail(e, EINVAL, NULL, "%s '%s' holds a control character (byte %zu)",
				what, quote(id, q, sizeof(q)), at);
	return 0;
}

/* "node '<id>': <what>", EINVAL. The id is quoted only here, when a node is bad. */
static int node_bad(const struct eos_role_node *nd, struct eos_err *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int node_bad(const struct eos_role_node *nd, struct eos_err *e, const char *fmt, ...)
{
	char q[128], what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return eos_fail(e, EINVAL, NULL, "node '%s': %s", quote(nd->id, q, sizeof(q)), what);
}

/* One node of the inventory: its id and every field within bounds. */
static int check_node(const struct eos_role_node *nd, size_t i, struct eos_err *e)
{
	if (!nd->id || !nd->id[0])
		return eos_fail(e, EINVAL, NULL, "node %zu of the inventory has an empty id", i);
	int rc = check_name(nd->id, "node id", e);
	if (!rc && nd->zone)
		rc = check_name(nd->zone, "zone", e);
	if (rc)
		return rc;
	if (nd->cpus == 0 || nd->cpus > EOS_ROLE_CPUS_MAX)
		return node_bad(nd, e, "field 'cpus' is %u, must be 1..%u (a node without a CPU count "
				"cannot be placed)", nd->cpus, EOS_ROLE_CPUS_MAX);
	if (nd->mem_bytes == 0 || nd->mem_bytes > EOS_ROLE_BYTES_MAX)
		return node_bad(nd, e, "field 'mem_bytes' is %llu, must be 1..%llu",
				(unsigned long long)nd->mem_bytes, EOS_ROLE_BYTES_MAX);
	if (nd->disk_bytes > EOS_ROLE_BYTES_MAX)
		return node_bad(nd, e, "field 'disk_bytes' is %llu, must be at most %llu",
				(unsigned long long)nd->disk_bytes, EOS_ROLE_BYTES_MAX);
	return 0;
}

/* An id to sort, with pre: the 8 bytes after the prefix that every id shares, big-endian (so
 * that comparing two pre compares those bytes as strcmp does). */
struct keyed {
	uint64_t pre;
	const char *key;
	size_t idx;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	if (x->pre != y->pre)
		return x->pre < y->pre ? -1 : 1;
	int r = strcmp(x->key, y->key);
	if (r)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Stable sort by pre: least significant byte first, skipping the bytes all keys share. Returns
 * the sorted array, keys or tmp. */
static struct keyed *radix_pre(struct keyed *keys, struct keyed *tmp, size_t n)
{
	for (int shift = 0; shift < 64; shift += 8) {
		size_t at[256] = {0}, sum = 0;
		for (size_t i = 0; i < n; i++)
			at[(keys[i].pre >> shift) & 255]++;
		if (at[(keys[0].pre >> shift) & 255] == n)
			continue;
		for (int b = 0; b < 256; b++) {
			size_t t = at[b];
			at[b] = sum;
			sum += t;
		}
		for (size_t i = 0; i < n; i++)
			tmp[at[(keys[i].pre >> shift) & 255]++] = keys[i];
		struct keyed *t = keys;
		keys = tmp;
		tmp = t;
	}
	return keys;
}

/* Sort keys (key and idx filled, in idx order; lcp: the length of the prefix all keys share)
 * by key, then idx. Ids such as "node-000123"
 * share a prefix: 8 bytes past it, as one integer, order almost every pair; a radix sort on
 * them reads each id once, where a comparison sort would call strcmp n log n times. */
static void sort_keyed(struct keyed *keys, size_t n, size_t lcp)
{
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *t = (const unsigned char *)keys[i].key + lcp;
		uint64_t pre = 0;
		for (int k = 0; k < 8 && t[k]; k++)
			pre |= (uint64_t)t[k] << (56 - 8 * k);
		keys[i].pre = pre;
	}
	struct keyed *tmp = malloc(n * sizeof(*tmp));
	if (!tmp) {   /* no room for the radix sort: the same order by comparisons */
		qsort(keys, n, sizeof(*keys), cmp_keyed);
		return;
	}
	struct keyed *sorted = radix_pre(keys, tmp, n);
	if (sorted != keys)
		memcpy(keys, sorted, n * sizeof(*keys));
	free(tmp);
	/* Ids equal in pre: by the rest of the id (idx order holds already, the sort is stable). */
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && keys[j].pre == keys[i].pre; j++)
			;
		if (j - i > 1)
			qsort(keys + i, j - i, sizeof(*keys), cmp_keyed);
	}
}

static int same_key(const struct keyed *a, const struct keyed *b)
{
	return a->pre == b->pre && strcmp(a->key, b->key) == 0;
}

void eos_roles_result_free(struct eos_roles_result *res)
{
	free(res->nodes);
	free(res->departed);
	free(res->warnings);
	eos_buf_free(&res->text);
	memset(res, 0, sizeof(*res));
}

/* Sort by id: the answer does not depend on the inventory's order. First every node in input
 * order, each node's strings read once while they are in cache: checked, its zone numbered
 * (only zone counts are ever compared, so the numbering does not change the answer), what it
 * is eligible for, the prefix all ids share. */
static int sort_inventory(struct calc *c, struct keyed *keys, struct eos_err *e)
{
	const struct eos_role_node *nodes = c->in;
	size_t n = c->n, cap = 16, lcp = SIZE_MAX;
	while (cap < 2 * n)
		cap *= 2;
	struct zone_slot *tab = calloc(cap, sizeof(*tab));
	if (!tab)
		return eos_fail(e, ENOMEM, NULL, "calloc: out of memory for %zu zones", cap);
	unsigned *zin = c->zlist;         /* by input index: zlist and tier_a are not used yet */
	unsigned char *ein = c->tier_a;
	for (size_t i = 0; i < n; i++) {
		const struct eos_role_node *nd = &nodes[i];
		int rc = check_node(nd, i, e);
		if (rc) {
			free(tab);
			return rc;
		}
		keys[i] = (struct keyed){.key = nd->id, .idx = i};
		lcp = common_prefix(nd->id, keys[0].key, lcp);
		zin[i] = zone_number(c, tab, cap, zone_of(nd));
		ein[i] = 0;
		for (int r = 0; r < EOS_ROLE_COUNT; r++)
			ein[i] |= (unsigned char)(eligible(nd, r) << r);
	}
	free(tab);
	sort_keyed(keys, n, lcp);
	for (size_t i = 0; i < n; i++) {
		if (i && same_key(&keys[i - 1], &keys[i]))
			return eos_fail(e, EINVAL, keys[i].key, "duplicate node id '%s' in the inventory",
					keys[i].key);
		size_t at = keys[i].idx;
		c->sn[i] = nodes[at];
		c->res->nodes[i].id = keys[i].key;
		c->res->nodes[i].input_index = at;
		c->zone[i] = zin[at];
		c->elig[i] = ein[at];
	}
	return 0;
}

/* Match the current assignment to the inventory (keys: room for ncur); the rest departed,
 * into cs. */
static int match_current(struct calc *c, const struct eos_role_current *cur, size_t ncur,
			 struct eos_role_current *cs, struct keyed *keys, struct eos_err *e)
{
	struct eos_roles_result *res = c->res;
	size_t lcp = SIZE_MAX;
	for (size_t j = 0; j < ncur; j++) {
		if (!cur[j].id || !cur[j].id[0])
			return eos_fail(e, EINVAL, NULL, "entry %zu of the current assignment has an empty id", j);
		int rc = check_name(cur[j].id, "current assignment: node id", e);
		if (rc)
			return rc;
		keys[j] = (struct keyed){.key = cur[j].id, .idx = j};
		lcp = common_prefix(cur[j].id, keys[0].key, lcp);
	}
	sort_keyed(keys, ncur, lcp);
	for (size_t j = 0, i = 0; j < ncur; j++) {
		const char *id = keys[j].key;
		unsigned roles = cur[keys[j].idx].roles & EOS_ROLE_ALL;
		if (j && same_key(&keys[j - 1], &keys[j]))
			return eos_fail(e, EINVAL, id, "duplicate node id '%s' in the current assignment", id);
		while (i < c->n && strcmp(res->nodes[i].id, id) < 0)
			i++;
		if (i < c->n && strcmp(res->nodes[i].id, id) == 0) {
			c->raw_cur[i] = roles;
			/* A former monolith held every role. */
			c->cur[i] = roles & EOS_ROLE_BIT(EOS_ROLE_MONOLITH) ? EOS_ROLE_ALL : roles;
			res->nodes[i].current = roles;
		} else {
			cs[res->ndeparted++] = (struct eos_role_current){id, roles};
		}
	}
	return 0;
}

/* The roles themselves; -errno (out of memory) from the placing. */
static int assign(struct calc *c)
{
	size_t n = c->n;
	if (n == 1)
		return reason(c, 0, EOS_ROLE_MONOLITH, "monolith: a one-node cluster, %s holds every role",
			      NODE(c, 0)->id);
	int rc = 0;
	for (size_t p = 0; p < sizeof(placed) / sizeof(placed[0]) && !rc; p++) {
		unsigned k = eos_roles_target(placed[p], n);
		if (k)
			rc = place(c, placed[p], k);
	}
	if (!rc && n >= 9)
		rc = place_compute(c);
	return rc ? rc : place_app(c);
}

/* Counts, churn and the warnings' offsets into the result. */
static int tally(struct calc *c, struct eos_err *e)
{
	struct eos_roles_result *res = c->res;
	for (size_t i = 0; i < c->n; i++) {
		struct eos_role_out *o = &res->nodes[i];
		for (int r = 0; r < EOS_ROLE_COUNT; r++)
			res->counts[r] += (o->roles >> r) & 1;
		if (c->raw_cur[i])
			res->churn += popcount((o->roles ^ o->current) & ~EOS_ROLE_BIT(EOS_ROLE_APP));
	}
	res->nwarnings = c->woff.len / sizeof(size_t);
	if (res->nwarnings) {
		res->warnings = malloc(c->woff.len);
		if (!res->warnings)
			return eos_fail(e, ENOMEM, NULL, "role calculation for %zu nodes: out of memory", c->n);
		memcpy(res->warnings, c->woff.data, c->woff.len);
	}
	return 0;
}

int eos_roles_calculate(const struct eos_role_node *nodes, size_t n,
			const struct eos_role_current *cur, size_t ncur,
			struct eos_roles_result *res, struct eos_err *e)
{
	int rc = 0;
	struct calc c = {.in = nodes, .n = n, .res = res};
	struct keyed *keys = NULL;
	struct eos_role_current *cs = NULL;
	memset(res, 0, sizeof(*res));

	if (n == 0)
		return eos_fail(e, EINVAL, NULL, "empty inventory: no nodes to assign roles to");
	keys = malloc((n > ncur ? n : ncur) * sizeof(*keys));
	c.sn = malloc(n * sizeof(*c.sn));
	c.zone = malloc(n * sizeof(*c.zone));
	c.zcount = calloc(3 * n, sizeof(*c.zcount));   /* zcount, zfill, zlist */
	c.zbest = malloc(PICK_MAX * n * sizeof(*c.zbest));
	c.cur = calloc(n, sizeof(*c.cur));
	c.raw_cur = calloc(n, sizeof(*c.raw_cur));
	c.tier_a = malloc(4 * n);   /* tier_a, load_a, other_a, elig */
	res->nodes = calloc(n, sizeof(*res->nodes));
	cs = malloc((ncur ? ncur : 1) * sizeof(*cs));
	if (!keys || !c.sn || !c.zone || !c.zcount || !c.zbest || !c.cur || !c.raw_cur || !c.tier_a || !res->nodes || !cs) {
		rc = eos_fail(e, ENOMEM, NULL, "malloc: out of memory for %zu nodes", n);
		goto out;
	}
	c.zfill = c.zcount + n;
	c.zlist = c.zcount + 2 * n;
	c.load_a = c.tier_a + n;
	c.other_a = c.tier_a + 2 * n;
	c.elig = c.tier_a + 3 * n;
	res->n = n;
	if ((rc = sort_inventory(&c, keys, e)) || (rc = match_current(&c, cur, ncur, cs, keys, e)))
		goto out;
	res->departed = cs;
	cs = NULL;
	if ((rc = assign(&c))) {
		rc = eos_fail(e, -rc, NULL, "role calculation for %zu nodes: out of memory", n);
		goto out;
	}
	rc = tally(&c, e);
out:
	if (rc)
		eos_roles_result_free(res);
	free(keys);
	free(cs);
	free(c.sn);
	free(c.zone);
	free(c.zcount);
	free(c.zbest);
	free(c.cur);
	free(c.raw_cur);
	free(c.tier_a);
	eos_buf_free(&c.woff);
	return rc;
}
