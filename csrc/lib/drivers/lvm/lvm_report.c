#include "eos/drivers/lvm/lvm_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eos/core/json.h"
#include "eos/core/spawn.h"

#define WHAT "lvm fullreport"

/* A string member copied (NULL when missing; empty becomes NULL when empty_null). */
static int dup_str(const struct eos_json *o, const char *key, char **dst, int empty_null)
{
	const char *s = eos_json_str(o, key);
	*dst = NULL;
	if (!s || (empty_null && !*s))
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

/* A byte/count member: missing or empty is 0; anything else must be a number. */
static int get_u64(const struct eos_json *o, const char *key, uint64_t *dst, struct eos_err *e)
{
	const char *s = eos_json_str(o, key);
	*dst = 0;
	if (!eos_json_get(o, key) || (s && !*s))
		return 0;
	if (eos_json_u64(o, key, dst))
		return eos_fail(e, EINVAL, WHAT, "%s: field %s is not a byte count: '%s'", WHAT, key,
				s ? s : "?");
	return 0;
}

static int grow(void **v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 8;
	void *p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	memset((char *)p + *cap * size, 0, (c - *cap) * size);
	*v = p;
	*cap = c;
	return 0;
}

static int parse_pv(const struct eos_json *o, struct eos_lvm_pv *pv, struct eos_err *e)
{
	uint64_t maj = 0, min = 0;
	if (dup_str(o, "pv_name", &pv->name, 0) || dup_str(o, "pv_uuid", &pv->uuid, 0) ||
	    dup_str(o, "vg_name", &pv->vg_name, 1) || dup_str(o, "pv_fmt", &pv->fmt, 1) ||
	    dup_str(o, "pv_attr", &pv->attr, 0))
		return eos_fail(e, ENOMEM, WHAT, "out of memory");
	int r;
	if ((r = get_u64(o, "pv_size", &pv->size, e)) || (r = get_u64(o, "pv_free", &pv->free, e)) ||
	    (r = get_u64(o, "pv_used", &pv->used, e)) || (r = get_u64(o, "dev_size", &pv->dev_size, e)) ||
	    (r = get_u64(o, "pe_start", &pv->pe_start, e)) ||
	    (r = get_u64(o, "pv_pe_count", &pv->pe_count, e)) ||
	    (r = get_u64(o, "pv_pe_alloc_count", &pv->pe_alloc_count, e)) ||
	    (r = get_u64(o, "pv_major", &maj, e)) || (r = get_u64(o, "pv_minor", &min, e)))
		return r;
	pv->major = (unsigned)maj;
	pv->minor = (unsigned)min;
	const char *s = eos_json_str(o, "pv_allocatable");
	pv->allocatable = s && strcmp(s, "allocatable") == 0;
	s = eos_json_str(o, "pv_missing");
	pv->missing = s && strcmp(s, "missing") == 0;
	if (!pv->name)
		return eos_fail(e, EINVAL, WHAT, "%s: a PV without pv_name", WHAT);
	return 0;
}

static int parse_vg(const struct eos_json *o, struct eos_lvm_vg *vg, struct eos_err *e)
{
	if (dup_str(o, "vg_name", &vg->name, 0) || dup_str(o, "vg_uuid", &vg->uuid, 0) ||
	    dup_str(o, "vg_attr", &vg->attr, 0))
		return eos_fail(e, ENOMEM, WHAT, "out of memory");
	int r;
	if ((r = get_u64(o, "vg_size", &vg->size, e)) || (r = get_u64(o, "vg_free", &vg->free, e)) ||
	    (r = get_u64(o, "vg_extent_size", &vg->extent_size, e)) ||
	    (r = get_u64(o, "vg_extent_count", &vg->extent_count, e)) ||
	    (r = get_u64(o, "vg_free_count", &vg->free_count, e)) ||
	    (r = get_u64(o, "pv_count", &vg->pv_count, e)) || (r = get_u64(o, "lv_count", &vg->lv_count, e)))
		return r;
	if (!vg->name)
		return eos_fail(e, EINVAL, WHAT, "%s: a VG without vg_name", WHAT);
	return 0;
}

static int parse_lv(const struct eos_json *o, const char *vg_name, struct eos_lvm_lv *lv,
		    struct eos_err *e)
{
	if (dup_str(o, "lv_name", &lv->name, 0) || dup_str(o, "lv_uuid", &lv->uuid, 0) ||
	    dup_str(o, "lv_full_name", &lv->full_name, 0) || dup_str(o, "lv_path", &lv->path, 1) ||
	    dup_str(o, "lv_dm_path", &lv->dm_path, 1) || dup_str(o, "lv_attr", &lv->attr, 0) ||
	    dup_str(o, "lv_layout", &lv->layout, 1))
		return eos_fail(e, ENOMEM, WHAT, "out of memory");
	lv->vg_name = vg_name ? strdup(vg_name) : NULL;
	if (vg_name && !lv->vg_name)
		return eos_fail(e, ENOMEM, WHAT, "out of memory");
	if (!lv->vg_name && lv->full_name) {
		const char *slash = strchr(lv->full_name, '/');
		if (slash && !(lv->vg_name = strndup(lv->full_name, (size_t)(slash - lv->full_name))))
			return eos_fail(e, ENOMEM, WHAT, "out of memory");
	}
	int r = get_u64(o, "lv_size", &lv->size, e);
	if (r)
		return r;
	/* lv_attr[4]: 'a' active, '-' inactive, anything else (X: unknown) */
	lv->active = -1;
	if (lv->attr && strlen(lv->attr) > 4)
		lv->active = lv->attr[4] == 'a' ? 1 : lv->attr[4] == '-' ? 0 : -1;
	if (!lv->name)
		return eos_fail(e, EINVAL, WHAT, "%s: an LV without lv_name", WHAT);
	/* Every LV lives in a VG; one whose VG the report does not name cannot be looked up
	 * or acted on, so the report is not one lvm wrote. */
	if (!lv->vg_name)
		return eos_fail(e, EINVAL, WHAT, "%s: LV '%s' without a VG (no vg row, no lv_full_name)",
				WHAT, lv->name);
	return 0;
}

/* Add the PVs named in a segment's "devices" ("/dev/loop0(0),/dev/loop1(12)") to lv. */
static int add_devices(struct eos_lvm_lv *lv, const char *devices)
{
	const char *p = devices;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		size_t m = n;
		if (m && p[m - 1] == ')') {
			const char *paren = memchr(p, '(', m);
			if (paren)
				m = (size_t)(paren - p);
		}
		int dup = 0;
		for (size_t i = 0; i < lv->n_devices; i++)
			if (strlen(lv->devices[i]) == m && strncmp(lv->devices[i], p, m) == 0)
				dup = 1;
		if (m && !dup) {
			char **v = realloc(lv->devices, (lv->n_devices + 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			lv->devices = v;
			if (!(v[lv->n_devices] = strndup(p, m)))
				return -ENOMEM;
			lv->n_devices++;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

int eos_lvm_report_parse(const char *json, size_t len, struct eos_lvm_report *out,
			 struct eos_err *e)
{
	struct eos_json *root = NULL;
	size_t cap_pv = 0, cap_vg = 0, cap_lv = 0;
	memset(out, 0, sizeof(*out));
	out->available = 1;
	int r = eos_json_parse(json, len, WHAT, &root, e);
	if (r)
		return r;
	const struct eos_json *report = eos_json_get(root, "report");
	if (!report || report->type != EOS_JSON_ARRAY) {
		r = eos_fail(e, EINVAL, WHAT, "%s: no \"report\" array in the output", WHAT);
		goto error;
	}
	for (const struct eos_json *ent = report->child; ent; ent = ent->next) {
		const struct eos_json *a;
		const char *vg_name = NULL;
		if ((a = eos_json_get(ent, "vg")) && a->type == EOS_JSON_ARRAY) {
			for (const struct eos_json *o = a->child; o; o = o->next) {
				if ((r = grow((void **)&out->vgs, out->n_vgs, &cap_vg, sizeof(*out->vgs))))
					goto nomem;
				r = parse_vg(o, &out->vgs[out->n_vgs++], e);
				if (r)
					goto error;
				vg_name = out->vgs[out->n_vgs - 1].name;
			}
		}
		if ((a = eos_json_get(ent, "pv")) && a->type == EOS_JSON_ARRAY) {
			for (const struct eos_json *o = a->child; o; o = o->next) {
				if ((r = grow((void **)&out->pvs, out->n_pvs, &cap_pv, sizeof(*out->pvs))))
					goto nomem;
				struct eos_lvm_pv *pv = &out->pvs[out->n_pvs++];
				r = parse_pv(o, pv, e);
				if (r)
					goto error;
				/* fullreport leaves vg_name out of the pv rows: the entry's VG owns them. */
				if (!pv->vg_name && vg_name && !(pv->vg_name = strdup(vg_name)))
					goto nomem;
			}
		}
		size_t first_lv = out->n_lvs;
		if ((a = eos_json_get(ent, "lv")) && a->type == EOS_JSON_ARRAY) {
			for (const struct eos_json *o = a->child; o; o = o->next) {
				if ((r = grow((void **)&out->lvs, out->n_lvs, &cap_lv, sizeof(*out->lvs))))
					goto nomem;
				r = parse_lv(o, vg_name, &out->lvs[out->n_lvs++], e);
				if (r)
					goto error;
			}
		}
		if ((a = eos_json_get(ent, "seg")) && a->type == EOS_JSON_ARRAY) {
			for (const struct eos_json *o = a->child; o; o = o->next) {
				const char *uuid = eos_json_str(o, "lv_uuid");
				const char *devs = eos_json_str(o, "devices");
				for (size_t i = first_lv; uuid && devs && i < out->n_lvs; i++)
					if (out->lvs[i].uuid && strcmp(out->lvs[i].uuid, uuid) == 0 &&
					    add_devices(&out->lvs[i], devs))
						goto nomem;
			}
		}
	}
	eos_json_free(root);
	return 0;
nomem:
	r = eos_fail(e, ENOMEM, WHAT, "out of memory");
error:
	eos_json_free(root);
	eos_lvm_report_free(out);
	return r;
}

/* Whether prog can be run: a path, or a name found in PATH (as posix_spawnp looks it up). */
static int runnable(const char *prog)
{
	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0;
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/bin:/usr/bin";
	char buf[4096];
	while (*path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		if (n + strlen(prog) + 2 < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)(n ? n : 1), n ? path : ".", prog);
			if (access(buf, X_OK) == 0)
				return 1;
		}
		if (!end)
			break;
		path = end + 1;
	}
	return 0;
}

int eos_lvm_available(const struct eos_lvm_opts *opts)
{
	return runnable(opts && opts->lvm ? opts->lvm : "lvm");
}

int eos_lvm_report(const struct eos_lvm_opts *opts, struct eos_lvm_report *out, struct eos_err *e)
{
	struct eos_run run = EOS_RUN_INIT;
	const char *argv[12];
	int n = 0, r = 0;
	memset(out, 0, sizeof(*out));
	argv[n++] = opts && opts->lvm ? opts->lvm : "lvm";
	argv[n++] = "fullreport";
	argv[n++] = "--reportformat";
	argv[n++] = "json";
	argv[n++] = "--units";
	argv[n++] = "b";
	argv[n++] = "--nosuffix";
	if (opts && opts->config) {
		argv[n++] = "--config";
		argv[n++] = opts->config;
	}
	argv[n] = NULL;
	run.timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
	if (!runnable(argv[0]))
		goto out;  /* No lvm tool: nothing to report, not an error. */
	r = eos_spawn(argv, &run, e);
	if (r == -ENOENT) {
		/* No lvm tool: nothing to report, not an error. */
		eos_err_clear(e);
		r = 0;
		goto out;
	}
	if (r)
		goto out;
	/* lvm may exit non-zero and still report (e.g. no device-mapper); a report that parses
	 * is used, otherwise the tool's stderr is the message. */
	struct eos_err pe;
	eos_err_clear(&pe);
	r = eos_lvm_report_parse(run.out.data ? run.out.data : "", run.out.len, out, &pe);
	if (r && run.status != 0) {
		size_t len = run.err.len;
		while (len && (run.err.data[len - 1] == '\n' || run.err.data[len - 1] == ' '))
			len--;
		r = eos_fail(e, EIO, argv[0], "%s fullreport exited with status %d: %.*s", argv[0],
			     run.status, (int)(len > 1500 ? 1500 : len), run.err.data ? run.err.data : "");
	} else if (r) {
		*e = pe;
	}
out:
	eos_run_free(&run);
	return r;
}

void eos_lvm_report_free(struct eos_lvm_report *r)
{
	for (size_t i = 0; i < r->n_pvs; i++) {
		struct eos_lvm_pv *p = &r->pvs[i];
		free(p->name);
		free(p->uuid);
		free(p->vg_name);
		free(p->fmt);
		free(p->attr);
	}
	for (size_t i = 0; i < r->n_vgs; i++) {
		struct eos_lvm_vg *v = &r->vgs[i];
		free(v->name);
		free(v->uuid);
		free(v->attr);
	}
	for (size_t i = 0; i < r->n_lvs; i++) {
		struct eos_lvm_lv *l = &r->lvs[i];
		free(l->name);
		free(l->vg_name);
		free(l->uuid);
		free(l->full_name);
		free(l->path);
		free(l->dm_path);
		free(l->attr);
		free(l->layout);
		for (size_t j = 0; j < l->n_devices; j++)
			free(l->devices[j]);
		free(l->devices);
	}
	for (size_t i = 0; i < r->n_segs; i++) {
		free(r->segs[i].lv_uuid);
		free(r->segs[i].type);
		free(r->segs[i].devices);
	}
	free(r->pvs);
	free(r->vgs);
	free(r->lvs);
	free(r->segs);
	memset(r, 0, sizeof(*r));
}

const struct eos_lvm_pv *eos_lvm_find_pv(const struct eos_lvm_report *r, const char *name)
{
	for (size_t i = 0; i < r->n_pvs; i++)
		if (strcmp(r->pvs[i].name, name) == 0)
			return &r->pvs[i];
	return NULL;
}

const struct eos_lvm_vg *eos_lvm_find_vg(const struct eos_lvm_report *r, const char *name)
{
	for (size_t i = 0; i < r->n_vgs; i++)
		if (strcmp(r->vgs[i].name, name) == 0)
			return &r->vgs[i];
	return NULL;
}

const struct eos_lvm_lv *eos_lvm_find_lv(const struct eos_lvm_report *r, const char *vg,
					 const char *lv)
{
	for (size_t i = 0; i < r->n_lvs; i++)
		if (r->lvs[i].vg_name && strcmp(r->lvs[i].vg_name, vg) == 0 &&
		    strcmp(r->lvs[i].name, lv) == 0)
			return &r->lvs[i];
	return NULL;
}
