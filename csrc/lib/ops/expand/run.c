/* expand, carrying out: lock, journal, run the steps, converge after a crash. */
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
#include "eos/core/clock.h"
#include "eos/core/fsutil.h"
#include "eos/core/journal.h"
#include "eos/drivers/ext4.h"
#include "eos/drivers/loopdev.h"
#include "eos/drivers/lvm/lvm_change.h"
#include "eos/drivers/lvm/lvm_report.h"
#include "eos/drivers/mounts.h"
#include "eos/core/size.h"
#include "eos/drivers/xfs.h"

/* ---- lock and journal ------------------------------------------------------------------- */

/* The lock and journal of p under <state_dir>/expand. A device's key ("dev-8-16") is used as it
 * is; an LV's is hashed ("lv-vg-lv" alone would be the same for vg "a-b"/lv "c" and vg "a"/lv
 * "b-c"). A journal an older version kept in o->legacy_dir under the old key is adopted. */
static int take_lock(const struct eos_expand_opts *o, struct eos_expand_plan *p, struct eos_journal *jn,
		     struct eos_err *e)
{
	char name[300];
	int by_dev = strncmp(p->key, "dev-", 4) == 0;
	snprintf(name, sizeof(name), "lv/%s/%s", p->vg, p->lv);
	int r = eos_journal_init(jn, o->state_dir, "expand", by_dev ? p->key : name, by_dev, e);
	if (r)
		return r;
	snprintf(p->journal, sizeof(p->journal), "%s", jn->path);
	if (o->test)
		return 0;
	char what[4200];
	snprintf(what, sizeof(what), "expand of %.4000s", p->target);
	r = eos_journal_lock(jn, o->lock_timeout_ms > 0 ? o->lock_timeout_ms : 600000, what, e);
	if (r)
		return r;
	p->lock_wait_ms = jn->lock_wait_ms;
	if (o->legacy_dir && o->legacy_dir[0]) {
		char legacy[EOS_PATH_MAX + 700];
		snprintf(legacy, sizeof(legacy), "%s/%s.journal", o->legacy_dir, p->key);
		r = eos_journal_adopt(jn, legacy, e);
	}
	return r < 0 ? r : 0;
}

struct journal_state {
	int found, finished;        /* found: a whole journal (its "begin" reached the disk) */
	char request[128];
	char top[8];
	int top_max;
	uint64_t top_bytes;
	int last_started, last_done, failed;
};

/* Whether the journal's text up to its "sum" line hashes to the sum (1 also for a journal an
 * older version wrote, which has no sum line). */
static int sum_matches(char *text)
{
	char *line = strstr(text, "\nbegin\nsum ");
	unsigned long long v;
	if (!line)
		return 1;
	line += 7;
	if (sscanf(line, "sum %llx", &v) != 1)
		return 0;
	char c = *line;
	*line = '\0';
	int ok = eos_fnv1a64(text) == v;
	*line = c;
	return ok;
}

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
	int begun = 0, sum_ok = b.data ? sum_matches(b.data) : 1;
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
		else if (strcmp(line, "begin") == 0)
			begun = 1;
		line = nl ? nl + 1 : NULL;
	}
	eos_buf_free(&b);
	/* Without "begin", or with a sum that does not match what precedes it (old and new blocks
	 * mixed), the journal's one durable write did not complete: no step started. A journal an
	 * older version wrote has no sum line. */
	js->found = begun && sum_ok;
	return 0;
}

/* The journal starts as a whole: header, the plan with its absolute aim, "begin" and a sum of
 * all that; written in place before the first step changes anything. The aim is what a rerun
 * needs: it re-measures every size, so "start" and "done" lines lost with the page cache cost
 * nothing but their report. It is made durable (one fdatasync, the run's only one) when the
 * request is relative ("+50G", "50%FREE", "auto"): a rerun after a power loss would otherwise
 * add the growth again. An absolute request ("200G", "max", "100%FREE") is its own aim: after
 * a power loss the same request, re-measured, converges to the same sizes, so its journal stays
 * in the page cache (a killed process leaves it there, and the rerun finishes it as above). */
static int journal_begin(const struct eos_expand_plan *p, int to_max, int durable, int *fd_out,
			 struct eos_err *e)
{
	struct eos_buf b = EOS_BUF_INIT;
	const char *j = p->journal;
	int r = eos_journal_add(&b, j, e, "eos-expand-journal 1\ntarget %s\nrequest %s\n", p->target,
				p->request);
	if (!r && to_max)
		r = eos_journal_add(&b, j, e, "top %s max\n", p->top);
	else if (!r)
		r = eos_journal_add(&b, j, e, "top %s %llu\n", p->top, (unsigned long long)p->size_after);
	for (size_t i = 0; !r && i < p->nsteps; i++)
		r = eos_journal_add(&b, j, e, "step %zu %s %llu %llu %s\n", i + 1,
				    expand_step_names[p->steps[i].kind], (unsigned long long)p->steps[i].before,
				    (unsigned long long)p->steps[i].after, p->steps[i].object);
	if (!r)
		r = eos_journal_add(&b, j, e, "begin\n");
	if (!r)
		r = eos_journal_add(&b, j, e, "sum %016llx\n", (unsigned long long)eos_fnv1a64(b.data));
	if (!r)
		r = eos_journal_write(j, b.data, b.len, durable, fd_out, e);
	eos_buf_free(&b);
	return r;
}

/* Done: "end", and the journal stays for the next run to rewrite. It need not reach the disk:
 * a journal that comes back without it after a crash is resumed, re-measured, found complete. */
static int journal_finish(const struct eos_expand_plan *p, int fd, struct eos_err *e)
{
	if (fd < 0) {
		int r = eos_journal_open_end(p->journal, &fd, e);
		if (r || fd < 0)
			return r;
	}
	int r = eos_journal_append(fd, p->journal, 0, e, "end\n");
	close(fd);
	return r;
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
	case EOS_STEP_PART_GROW:
		r = eos_part_grow(s->object, s->arg2, s->arg, &now, e);
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

/* Test hooks (see expand.h), compiled in only with -DEOS_TEST_HOOKS (the test build): the
 * extension a minion loads ignores EOS_TEST_CRASH_AFTER_STEP and EOS_TEST_FAIL_STEP. */
static int test_hook(const char *name)
{
#ifdef EOS_TEST_HOOKS
	const char *v = getenv(name);
	return v && *v ? atoi(v) : 0;
#else
	(void)name;
	return 0;
#endif
}

/* An interrupted run: finish what it aimed at, whatever the sizes are now. */
static int resume(struct eos_expand_plan *p, struct eos_size_req *rq, struct eos_err *e)
{
	struct journal_state js;
	int r = journal_read(p->journal, &js, e);
	if (r)
		return r;
	if (js.found && !js.finished && js.failed && strcmp(js.request, p->request) != 0) {
		/* That run ended with an error, not a crash: a different request starts afresh. */
		expand_note(p, "the previous expand of %.300s with size '%.100s' failed at step %d; its "
			    "journal is set aside and this run plans from the sizes as they are", p->target,
			    js.request, js.failed);
		return 0;
	}
	if (!js.found || js.finished)
		return 0;
	if (strcmp(js.request, p->request) != 0)
		return eos_fail(e, EBUSY, p->journal, "an interrupted expand of %s with size '%s' is in the "
				"journal %s; run it again with size '%s' to finish it before asking for '%s'",
				p->target, js.request, p->journal, js.request, p->request);
	p->resumed = 1;
	snprintf(p->resume_info, sizeof(p->resume_info), "interrupted run found in %.300s: step %d "
		 "started, %d done; re-measured and finishing it", p->journal, js.last_started,
		 js.last_done);
	if (js.top_max) {
		rq->kind = EOS_SIZE_MAX;
	} else if (js.top_bytes) {
		rq->kind = EOS_SIZE_ABSOLUTE;
		rq->bytes = js.top_bytes;
	}
	return 0;
}

/* When the top does not grow, the layers below stay as they are too. Returns the steps to do. */
static int trim_plan(struct eos_expand_plan *p)
{
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
	return todo;
}

/* Step i, journaled "start" before and "done" after (neither synced: see journal_begin). */
static int carry_out_step(const struct eos_expand_opts *o, struct eos_expand_plan *p, size_t i, int jfd,
			  int fail, struct eos_err *e)
{
	struct eos_expand_step *s = &p->steps[i];
	int r = eos_journal_append(jfd, p->journal, 0, e, "start %zu\n", i + 1);
	if (r)
		return r;
	long long t0 = eos_now_ms();
	if (fail == (int)(i + 1))
		r = eos_fail(e, EIO, s->object, "injected failure (EOS_TEST_FAIL_STEP=%d)", fail);
	else
		r = run_step(p, s, e);
	s->elapsed_ms = eos_now_ms() - t0;
	if (r) {
		s->status = EOS_STEP_FAILED;
		char msg[EOS_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", e->msg);
		snprintf(e->msg, sizeof(e->msg), "step %zu of %zu (%s %.300s) failed: %.1500s", i + 1,
			 p->nsteps, expand_step_names[s->kind], s->object, msg);
		eos_journal_append(jfd, p->journal, 1, e, "failed %zu\n", i + 1);
		emit(o, "failed", p, s, e);
		return 1;  /* reported already */
	}
	s->status = EOS_STEP_DONE;
	p->changed = 1;
	r = eos_journal_append(jfd, p->journal, 0, e, "done %zu %llu\n", i + 1, (unsigned long long)s->after);
	if (r)
		return r;
	emit(o, "step", p, s, NULL);
	return 0;
}

/* The top object's size as it is now. */
static void measure_top(struct eos_expand_plan *p)
{
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
}

static int carry_out(const struct eos_expand_opts *o, struct eos_expand_plan *p, int to_max,
		     int durable, struct eos_err *e)
{
	int jfd = -1;
	int r = journal_begin(p, to_max, durable, &jfd, e);
	if (r)
		return r;
	emit(o, "started", p, NULL, NULL);
	int crash = test_hook("EOS_TEST_CRASH_AFTER_STEP");
	int fail = test_hook("EOS_TEST_FAIL_STEP");
	for (size_t i = 0; i < p->nsteps && !r; i++) {
		if (p->steps[i].status != EOS_STEP_PLANNED)
			continue;
		r = carry_out_step(o, p, i, jfd, fail, e);
		if (r == 1) {
			close(jfd);
			return -e->code;
		}
		if (!r && crash == (int)(i + 1))
			raise(SIGKILL);
	}
	if (r) {
		close(jfd);
		emit(o, "failed", p, NULL, e);
		return r;
	}
	measure_top(p);
	r = journal_finish(p, jfd, e);
	if (!r)
		emit(o, "done", p, NULL, NULL);
	return r;
}

int eos_expand(const struct eos_expand_opts *o, struct eos_expand_plan *p, struct eos_err *e)
{
	struct eos_size_req rq;
	struct eos_journal jn;
	jn.lock_fd = -1;
	memset(p, 0, sizeof(*p));
	const char *size = o->size && *o->size ? o->size : "max";
	snprintf(p->request, sizeof(p->request), "%s", size);
	int r = eos_size_parse(size, &rq, e);
	if (!r)
		r = expand_resolve(o->target, p, e);
	if (r)
		return r;
	if (!o->state_dir || !*o->state_dir)
		return eos_fail(e, EINVAL, "", "no state directory for the expand lock and journal");
	/* Whether the aim depends on the sizes at the time of the request (see journal_begin). */
	int relative = rq.kind == EOS_SIZE_GROW_BY || rq.kind == EOS_SIZE_AUTO ||
		       (rq.kind == EOS_SIZE_PCT_FREE && rq.pct != 100);
	r = take_lock(o, p, &jn, e);
	if (!r)
		r = resume(p, &rq, e);
	int to_max = rq.kind == EOS_SIZE_MAX || (rq.kind == EOS_SIZE_PCT_FREE && rq.pct == 100);
	if (!r)
		r = expand_plan(p, &rq, o, e);
	int todo = r ? 0 : trim_plan(p);
	if (!r && !o->test && !todo && p->resumed)
		r = journal_finish(p, -1, e);
	else if (!r && !o->test && todo)
		r = carry_out(o, p, to_max, relative, e);
	eos_journal_unlock(&jn);
	return r;
}
