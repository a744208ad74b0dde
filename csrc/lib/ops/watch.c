#include "eos/ops/watch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void eos_watch_list_free(struct eos_watch_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].target);
		free(l->v[i].source);
		free(l->v[i].fstype);
		free(l->v[i].error_msg);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static const struct eos_watch_prev *find_prev(const struct eos_watch_opts *o, const char *target)
{
	for (size_t i = 0; i < o->n_prev; i++)
		if (o->prev[i].target && strcmp(o->prev[i].target, target) == 0)
			return &o->prev[i];
	return NULL;
}

static int wanted(const struct eos_watch_opts *o, const char *target)
{
	if (!o->only)
		return 1;
	for (size_t i = 0; i < o->n_only; i++)
		if (strcmp(o->only[i], target) == 0)
			return 1;
	return 0;
}

static enum eos_level eval(const struct eos_watch_opts *o, double pct, const struct eos_watch_prev *p)
{
	return p ? eos_level_eval_hyst(o->th, pct, p->level, o->band) : eos_level_eval(o->th, pct);
}

static int watch_one(const struct eos_watch_opts *o, const struct eos_mount *m,
		     struct eos_watch_item *it, struct eos_err *e)
{
	struct eos_err me;
	memset(it, 0, sizeof(*it));
	it->target = strdup(m->target);
	it->source = strdup(m->source);
	it->fstype = strdup(m->fstype);
	if (!it->target || !it->source || !it->fstype)
		return eos_fail(e, ENOMEM, m->target, "out of memory");
	const struct eos_watch_prev *p = find_prev(o, m->target);
	it->known = p != NULL;
	it->previous = p ? p->level : EOS_LEVEL_OK;
	eos_err_clear(&me);
	if (eos_usage_eval(m->target, m->fstype, &it->u, &me)) {
		it->error = me.code;
		it->error_msg = strdup(me.msg);
		it->level = it->previous;  /* no figures: no change */
		return it->error_msg ? 0 : eos_fail(e, ENOMEM, m->target, "out of memory");
	}
	it->level_bytes = eval(o, it->u.bytes_pct, p);
	it->level_inodes = it->u.has_inodes ? eval(o, it->u.inodes_pct, p) : EOS_LEVEL_OK;
	it->level = it->level_bytes > it->level_inodes ? it->level_bytes : it->level_inodes;
	it->changed = it->level != it->previous;
	return 0;
}

int eos_watch(const struct eos_watch_opts *o, struct eos_watch_list *out, struct eos_err *e)
{
	struct eos_mount_list l = {NULL, 0};
	size_t *pick = NULL;
	int r;
	out->v = NULL;
	out->n = 0;
	r = eos_mounts_read(o->mountinfo, &l, e);
	if (r)
		return r;
	pick = calloc(l.n ? l.n : 1, sizeof(*pick));
	out->v = calloc(l.n ? l.n : 1, sizeof(*out->v));
	if (!pick || !out->v) {
		r = eos_fail(e, ENOMEM, NULL, "out of memory");
		goto out;
	}
	size_t n = eos_mounts_select(&l, pick);
	for (size_t i = 0; i < n; i++) {
		const struct eos_mount *m = &l.v[pick[i]];
		if (!wanted(o, m->target))
			continue;
		r = watch_one(o, m, &out->v[out->n], e);
		out->n++;
		if (r)
			goto out;
	}
	r = 0;
out:
	if (r)
		eos_watch_list_free(out);
	free(pick);
	eos_mounts_free(&l);
	return r;
}
