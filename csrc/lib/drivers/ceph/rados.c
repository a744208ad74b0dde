#include "eos/drivers/ceph/rados.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

struct eos_rados {
	rados_t cluster;
	char what[512];   /* "<name> via <conf>" for messages */
};

static const char *conf_name(const struct eos_ceph_opts *o)
{
	return o->conf ? o->conf : "default ceph.conf";
}

int eos_rados_connect(const struct eos_ceph_opts *o, struct eos_rados **out, struct eos_err *e)
{
	const char *name = o->name && *o->name ? o->name : "client.admin";
	int timeout = o->timeout_s > 0 ? o->timeout_s : 10;
	char tbuf[32];
	struct eos_rados *c = calloc(1, sizeof(*c));
	int r;
	*out = NULL;
	if (!c)
		return eos_fail_sys(e, ENOMEM, o->conf, "eos_rados_connect");
	snprintf(c->what, sizeof(c->what), "%s via %s", name, conf_name(o));
	r = rados_create2(&c->cluster, "ceph", name, 0);
	if (r < 0) {
		c->cluster = NULL;
		r = eos_fail_sys(e, r, o->conf, "rados_create2(%s)", name);
		goto error;
	}
	r = rados_conf_read_file(c->cluster, o->conf);
	if (r < 0) {
		r = eos_fail_sys(e, r, o->conf, "rados_conf_read_file(%s)", conf_name(o));
		goto error;
	}
	snprintf(tbuf, sizeof(tbuf), "%d", timeout);
	static const char *const timeouts[] = {"client_mount_timeout", "rados_mon_op_timeout",
					       "rados_osd_op_timeout"};
	for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		r = rados_conf_set(c->cluster, timeouts[i], tbuf);
		if (r < 0) {
			r = eos_fail_sys(e, r, o->conf, "rados_conf_set(%s)", timeouts[i]);
			goto error;
		}
	}
	/* Never wait on a log file or admin socket a daemon of the same name may hold. */
	rados_conf_set(c->cluster, "log_to_stderr", "false");
	rados_conf_set(c->cluster, "err_to_stderr", "false");
	if (o->keyring && *o->keyring) {
		r = rados_conf_set(c->cluster, "keyring", o->keyring);
		if (r < 0) {
			r = eos_fail_sys(e, r, o->keyring, "rados_conf_set(keyring)");
			goto error;
		}
	}
	if (o->mon_host && *o->mon_host) {
		r = rados_conf_set(c->cluster, "mon_host", o->mon_host);
		if (r < 0) {
			r = eos_fail_sys(e, r, o->conf, "rados_conf_set(mon_host=%s)", o->mon_host);
			goto error;
		}
	}
	r = rados_connect(c->cluster);
	if (r < 0) {
		char mon[256] = "";
		rados_conf_get(c->cluster, "mon_host", mon, sizeof(mon));
		r = eos_fail_sys(e, r, o->conf, "rados_connect as %s to mon %s (timeout %d s)",
				 c->what, mon[0] ? mon : "(none)", timeout);
		goto error;
	}
	*out = c;
	return 0;
error:
	eos_rados_close(c);
	return r;
}

void eos_rados_close(struct eos_rados *c)
{
	if (!c)
		return;
	if (c->cluster)
		rados_shutdown(c->cluster);
	free(c);
}

int eos_rados_mon_command(struct eos_rados *c, const char *cmd, struct eos_buf *out,
			  struct eos_err *e)
{
	return eos_rados_mon_command_in(c, cmd, "", 0, out, e);
}

int eos_rados_mon_command_in(struct eos_rados *c, const char *cmd, const char *in, size_t inlen,
			     struct eos_buf *out, struct eos_err *e)
{
	const char *cmds[1] = {cmd};
	char *outbuf = NULL, *outs = NULL;
	size_t outlen = 0, outslen = 0;
	int r = rados_mon_command(c->cluster, cmds, 1, in, inlen, &outbuf, &outlen, &outs, &outslen);
	if (r < 0) {
		r = eos_fail_sys(e, r, "", "rados_mon_command %s: %.*s", cmd, (int)(outslen > 1024 ? 1024 : outslen),
				 outs ? outs : "");
		goto out;
	}
	eos_buf_reset(out);
	if (eos_buf_append(out, outbuf ? outbuf : "", outlen) < 0)
		r = eos_fail_sys(e, ENOMEM, "", "rados_mon_command %s", cmd);
	else
		r = 0;
out:
	rados_buffer_free(outbuf);
	rados_buffer_free(outs);
	return r;
}

int eos_rados_mon_json(struct eos_rados *c, const char *prefix, struct eos_json **out,
		       struct eos_err *e)
{
	char cmd[512];
	struct eos_buf b = EOS_BUF_INIT;
	int r;
	*out = NULL;
	if (prefix[0] == '{')
		snprintf(cmd, sizeof(cmd), "%s", prefix);
	else
		snprintf(cmd, sizeof(cmd), "{\"prefix\": \"%s\", \"format\": \"json\"}", prefix);
	r = eos_rados_mon_command(c, cmd, &b, e);
	if (r < 0)
		goto out;
	r = eos_json_parse(b.data ? b.data : "", b.len, prefix, out, e);
out:
	eos_buf_free(&b);
	return r;
}

int eos_rados_cluster_stat(struct eos_rados *c, struct eos_rados_usage *u, struct eos_err *e)
{
	struct rados_cluster_stat_t st;
	int r = rados_cluster_stat(c->cluster, &st);
	if (r < 0)
		return eos_fail_sys(e, r, "", "rados_cluster_stat (%s)", c->what);
	u->total_bytes = (uint64_t)st.kb << 10;
	u->used_bytes = (uint64_t)st.kb_used << 10;
	u->avail_bytes = (uint64_t)st.kb_avail << 10;
	u->objects = st.num_objects;
	return 0;
}

int eos_rados_pool_list(struct eos_rados *c, struct eos_buf *out, struct eos_err *e)
{
	size_t want = 4096;
	int r, n = 0;
	for (;;) {
		eos_buf_reset(out);
		if (eos_buf_reserve(out, want) < 0)
			return eos_fail_sys(e, ENOMEM, "", "rados_pool_list");
		r = rados_pool_list(c->cluster, out->data, want);
		if (r < 0)
			return eos_fail_sys(e, r, "", "rados_pool_list (%s)", c->what);
		if ((size_t)r <= want)
			break;
		want = (size_t)r;
	}
	out->len = (size_t)r;
	for (const char *p = out->data; p < out->data + out->len && *p; p += strlen(p) + 1)
		n++;
	return n;
}

int eos_rados_pool_create(struct eos_rados *c, const char *pool, struct eos_err *e)
{
	if (!pool || !*pool || strlen(pool) > 255)
		return eos_fail(e, EINVAL, pool ? pool : "", "invalid pool name '%s'", pool ? pool : "");
	int r = rados_pool_lookup(c->cluster, pool);
	if (r >= 0)
		return 1;
	if (r != -ENOENT)
		return eos_fail_sys(e, r, pool, "rados_pool_lookup(%s)", pool);
	r = rados_pool_create(c->cluster, pool);
	if (r == -EEXIST)
		return 1;
	if (r < 0)
		return eos_fail_sys(e, r, pool, "rados_pool_create(%s)", pool);
	return 0;
}

int eos_rados_osd_state(struct eos_rados *c, long id, int *up, int *in, struct eos_err *e)
{
	struct eos_json *j = NULL;
	int r = eos_rados_mon_json(c, "osd dump", &j, e);
	if (r < 0)
		return r;
	const struct eos_json *osds = eos_json_get(j, "osds");
	r = -ENOENT;
	for (const struct eos_json *it = osds ? osds->child : NULL; it; it = it->next) {
		uint64_t v, u = 0, i = 0;
		if (eos_json_u64(it, "osd", &v) == 0 && (long)v == id) {
			eos_json_u64(it, "up", &u);
			eos_json_u64(it, "in", &i);
			*up = u == 1;
			*in = i == 1;
			r = 0;
			break;
		}
	}
	eos_json_free(j);
	return r;
}

int eos_rados_pool_name(struct eos_rados *c, int64_t id, char *buf, size_t len, struct eos_err *e)
{
	int r = rados_pool_reverse_lookup(c->cluster, id, buf, len);
	if (r < 0)
		return eos_fail_sys(e, r, "", "rados_pool_reverse_lookup(%lld)", (long long)id);
	return 0;
}

/* ---- digesting JSON ------------------------------------------------------------------ */

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static uint64_t u64_of(const struct eos_json *obj, const char *key)
{
	uint64_t v = 0;
	if (obj && eos_json_u64(obj, key, &v) < 0)
		v = 0;
	return v;
}

static int64_t i64_of(const struct eos_json *obj, const char *key, int64_t dflt)
{
	const struct eos_json *j = obj ? eos_json_get(obj, key) : NULL;
	return j && j->type == EOS_JSON_NUMBER ? (int64_t)j->num : dflt;
}

int eos_ceph_status(struct eos_rados *c, struct eos_ceph_status *st, struct eos_err *e)
{
	struct eos_json *j = NULL;
	const struct eos_json *x, *it;
	int r = eos_rados_mon_json(c, "status", &j, e);
	if (r < 0)
		return r;
	memset(st, 0, sizeof(*st));
	copy_str(st->fsid, sizeof(st->fsid), eos_json_str(j, "fsid"));
	x = eos_json_get(j, "health");
	copy_str(st->health, sizeof(st->health), eos_json_str(x, "status"));
	if (!st->health[0]) {
		r = eos_fail(e, EPROTO, "", "ceph status (%s): no health.status in the reply", c->what);
		goto out;
	}
	x = x ? eos_json_get(x, "checks") : NULL;
	for (it = x ? x->child : NULL; it && st->n_checks < EOS_CEPH_MAX_CHECKS; it = it->next) {
		struct eos_ceph_check *ck = &st->checks[st->n_checks++];
		const struct eos_json *sum = eos_json_get(it, "summary");
		copy_str(ck->name, sizeof(ck->name), it->key);
		copy_str(ck->severity, sizeof(ck->severity), eos_json_str(it, "severity"));
		copy_str(ck->message, sizeof(ck->message), sum ? eos_json_str(sum, "message") : NULL);
	}
	st->num_mons = u64_of(eos_json_get(j, "monmap"), "num_mons");
	x = eos_json_get(j, "quorum_names");
	for (it = x ? x->child : NULL; it && st->n_quorum < EOS_CEPH_MAX_MONS; it = it->next)
		if (it->type == EOS_JSON_STRING)
			copy_str(st->quorum[st->n_quorum++], sizeof(st->quorum[0]), it->str);
	x = eos_json_get(j, "osdmap");
	st->osds = u64_of(x, "num_osds");
	st->osds_up = u64_of(x, "num_up_osds");
	st->osds_in = u64_of(x, "num_in_osds");
	x = eos_json_get(j, "pgmap");
	st->pgs = u64_of(x, "num_pgs");
	st->pools = u64_of(x, "num_pools");
	st->objects = u64_of(x, "num_objects");
	st->data_bytes = u64_of(x, "data_bytes");
	st->bytes_used = u64_of(x, "bytes_used");
	st->bytes_avail = u64_of(x, "bytes_avail");
	st->bytes_total = u64_of(x, "bytes_total");
	x = x ? eos_json_get(x, "pgs_by_state") : NULL;
	for (it = x ? x->child : NULL; it && st->n_pgstates < EOS_CEPH_MAX_PGSTATES; it = it->next) {
		struct eos_ceph_pgstate *ps = &st->pgstates[st->n_pgstates++];
		copy_str(ps->state, sizeof(ps->state), eos_json_str(it, "state_name"));
		ps->count = u64_of(it, "count");
	}
	x = eos_json_get(j, "mgrmap");
	it = x ? eos_json_get(x, "available") : NULL;
	st->mgr_available = it && it->type == EOS_JSON_BOOL && it->boolean;
	x = eos_json_get(j, "fsmap");
	st->mds_up = u64_of(x, "up");
	st->mds_in = u64_of(x, "in");
	st->mds_max = u64_of(x, "max");
	st->mds_standby = u64_of(x, "up:standby");
	r = 0;
out:
	eos_json_free(j);
	return r;
}

int eos_ceph_pools(struct eos_rados *c, struct eos_ceph_pool **out, struct eos_err *e)
{
	struct eos_json *detail = NULL, *df = NULL;
	struct eos_ceph_pool *pools = NULL;
	const struct eos_json *it, *dp;
	size_t n = 0;
	int r;
	*out = NULL;
	r = eos_rados_mon_json(c, "{\"prefix\": \"osd pool ls\", \"detail\": \"detail\", "
			       "\"format\": \"json\"}", &detail, e);
	if (r < 0)
		goto error;
	r = eos_rados_mon_json(c, "df", &df, e);
	if (r < 0)
		goto error;
	if (detail->type != EOS_JSON_ARRAY) {
		r = eos_fail(e, EPROTO, "", "osd pool ls detail (%s): not a list", c->what);
		goto error;
	}
	pools = calloc(detail->n ? detail->n : 1, sizeof(*pools));
	if (!pools) {
		r = eos_fail_sys(e, ENOMEM, "", "eos_ceph_pools");
		goto error;
	}
	dp = eos_json_get(df, "pools");
	for (it = detail->child; it && n < detail->n; it = it->next) {
		struct eos_ceph_pool *p = &pools[n++];
		const struct eos_json *apps = eos_json_get(it, "application_metadata");
		copy_str(p->name, sizeof(p->name), eos_json_str(it, "pool_name"));
		p->id = i64_of(it, "pool_id", -1);
		p->size = u64_of(it, "size");
		p->min_size = u64_of(it, "min_size");
		p->pg_num = u64_of(it, "pg_num");
		copy_str(p->application, sizeof(p->application),
			 apps && apps->child ? apps->child->key : NULL);
		for (const struct eos_json *d = dp ? dp->child : NULL; d; d = d->next) {
			if (i64_of(d, "id", -2) != p->id)
				continue;
			const struct eos_json *s = eos_json_get(d, "stats");
			p->stored = u64_of(s, "stored");
			p->objects = u64_of(s, "objects");
			p->bytes_used = u64_of(s, "bytes_used");
			p->max_avail = u64_of(s, "max_avail");
			break;
		}
	}
	*out = pools;
	pools = NULL;
	r = (int)n;
error:
	free(pools);
	eos_json_free(detail);
	eos_json_free(df);
	return r;
}

int eos_ceph_fs_dump(struct eos_rados *c, struct eos_ceph_fsmap *m, struct eos_err *e)
{
	struct eos_json *j = NULL;
	const struct eos_json *fss, *it;
	int r;
	memset(m, 0, sizeof(*m));
	r = eos_rados_mon_json(c, "fs dump", &j, e);
	if (r < 0)
		return r;
	fss = eos_json_get(j, "filesystems");
	it = eos_json_get(j, "standbys");
	m->standbys = it ? it->n : 0;
	m->fs = calloc(fss && fss->n ? fss->n : 1, sizeof(*m->fs));
	if (!m->fs) {
		r = eos_fail_sys(e, ENOMEM, "", "eos_ceph_fs_dump");
		goto out;
	}
	for (it = fss ? fss->child : NULL; it; it = it->next) {
		struct eos_ceph_fs *fs = &m->fs[m->n_fs++];
		const struct eos_json *mdsmap = eos_json_get(it, "mdsmap"), *x;
		fs->id = i64_of(it, "id", -1);
		copy_str(fs->name, sizeof(fs->name), eos_json_str(mdsmap, "fs_name"));
		fs->max_mds = u64_of(mdsmap, "max_mds");
		r = eos_rados_pool_name(c, i64_of(mdsmap, "metadata_pool", -1), fs->metadata_pool,
					sizeof(fs->metadata_pool), e);
		if (r < 0)
			goto out;
		x = eos_json_get(mdsmap, "data_pools");
		for (x = x ? x->child : NULL; x && fs->n_data_pools < EOS_CEPH_MAX_DATA_POOLS; x = x->next) {
			r = eos_rados_pool_name(c, (int64_t)x->num, fs->data_pools[fs->n_data_pools],
						sizeof(fs->data_pools[0]), e);
			if (r < 0)
				goto out;
			fs->n_data_pools++;
		}
		x = eos_json_get(mdsmap, "info");
		for (x = x ? x->child : NULL; x && fs->n_mds < EOS_CEPH_MAX_MDS; x = x->next) {
			struct eos_ceph_mds *d = &fs->mds[fs->n_mds++];
			copy_str(d->name, sizeof(d->name), eos_json_str(x, "name"));
			copy_str(d->state, sizeof(d->state), eos_json_str(x, "state"));
			d->rank = i64_of(x, "rank", -1);
		}
	}
	r = (int)m->n_fs;
out:
	eos_json_free(j);
	if (r < 0)
		eos_ceph_fsmap_free(m);
	return r;
}

void eos_ceph_fsmap_free(struct eos_ceph_fsmap *m)
{
	free(m->fs);
	m->fs = NULL;
	m->n_fs = 0;
}
