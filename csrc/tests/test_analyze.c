#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include <sys/stat.h>

#include "eos/ops/analyze.h"
#include "eos/ops/watch.h"

/* eos_analyze over a synthetic mountinfo naming a real directory: usage, level from an
 * override that puts any usage at critical, samples recorded, and errors for a bad path. */
void test_analyze(void)
{
	char dir[] = "/tmp/eos-analyze-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char mi[128], cache[128];
	snprintf(mi, sizeof(mi), "%s/mountinfo", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	FILE *f = fopen(mi, "w");
	fprintf(f, "1 0 0:5 / /proc rw - proc proc rw\n");
	fprintf(f, "2 0 0:77 / %s rw - tmpfs test rw\n", dir);
	fclose(f);

	struct eos_thresholds t;
	struct eos_err e;
	eos_err_clear(&e);
	CHECK(eos_thresholds_for_nodes(1, &t, &e) == 0);
	struct eos_threshold_override ov[] = {
		{"warning", "0", 1, 0}, {"compress", "0.1", 1, 0.1}, {"cleanup", "0.2", 1, 0.2},
		{"degraded", "0.3", 1, 0.3}, {"emergency", "0.4", 1, 0.4}, {"critical", "0.5", 1, 0.5},
	};
	CHECK(eos_thresholds_apply(&t, ov, 6, &e) == 0);
	struct eos_analyze_opts o = {.th = &t, .cachedir = cache, .record = 1, .mountinfo = mi};
	struct eos_analysis a;
	for (int round = 1; round <= 2; round++) {
		CHECK(eos_analyze(&o, &a, &e) == 0);
		CHECK(a.n == 1);
		if (a.n != 1)
			break;
		const struct eos_mount_report *r = &a.v[0];
		CHECK(strcmp(r->target, dir) == 0 && r->error == 0 && r->u.usage.size > 0);
		CHECK(r->growth.samples == (size_t)round);
		CHECK(r->n_paths == 0 && r->paths_error == NULL);
		/* tmpfs of a test machine: some usage is >= 0.5 % only if used; any level is
		 * consistent with the recommendation rules. */
		CHECK(r->level == eos_level_eval(&t, r->u.used_pct > r->u.inodes_pct ? r->u.used_pct : r->u.inodes_pct));
		CHECK(r->action == (r->level >= EOS_LEVEL_CLEANUP ? EOS_ACTION_CLEANUP : EOS_ACTION_NONE));
		CHECK(r->reason[0] != '\0');
		eos_analysis_free(&a);
	}
	o.path = "/nonexistent/eos";
	CHECK(eos_analyze(&o, &a, &e) == -ENOENT && strstr(e.msg, "realpath") && a.n == 0);
	o.path = NULL;
	o.mountinfo = "/nonexistent/mountinfo";
	CHECK(eos_analyze(&o, &a, &e) == -ENOENT && strstr(e.path, "/nonexistent/mountinfo"));

	char p[1024];
	unlink(mi);
	snprintf(p, sizeof(p), "%s/eos/samples/.lock", cache);
	unlink(p);
	char name[256];
	eos_samples_name(dir, name, sizeof(name));
	snprintf(p, sizeof(p), "%s/eos/samples/%s", cache, name);
	CHECK(unlink(p) == 0);
	snprintf(p, sizeof(p), "%s/eos/samples", cache);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/eos", cache);
	rmdir(p);
	rmdir(cache);
	CHECK(rmdir(dir) == 0);
}

/* eos_watch: levels against the previous check, change detection, the mount filter. With every
 * threshold above 99.4 % the directory's filesystem is at ok on any machine this runs on. */
void test_watch(void)
{
	char dir[] = "/tmp/eos-watch-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char mi[128], other[128];
	snprintf(mi, sizeof(mi), "%s/mountinfo", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	CHECK(mkdir(other, 0700) == 0);
	FILE *f = fopen(mi, "w");
	fprintf(f, "1 0 0:5 / /proc rw - proc proc rw\n");
	fprintf(f, "2 0 0:78 / %s rw - tmpfs a rw\n", dir);
	fprintf(f, "3 0 0:79 / %s rw - tmpfs b rw\n", other);
	fclose(f);
	struct eos_thresholds t;
	struct eos_err e;
	eos_err_clear(&e);
	eos_thresholds_for_nodes(1, &t, &e);
	struct eos_threshold_override ov[] = {
		{"warning", "99.4", 1, 99.4}, {"compress", "99.5", 1, 99.5}, {"cleanup", "99.6", 1, 99.6},
		{"degraded", "99.7", 1, 99.7}, {"emergency", "99.8", 1, 99.8}, {"critical", "99.9", 1, 99.9},
	};
	CHECK(eos_thresholds_apply(&t, ov, 6, &e) == 0);
	struct eos_watch_prev prev[] = {{dir, EOS_LEVEL_CRITICAL}, {other, EOS_LEVEL_OK}};
	struct eos_watch_opts o = {.th = &t, .band = 0, .prev = prev, .n_prev = 2, .mountinfo = mi};
	struct eos_watch_list l;
	CHECK(eos_watch(&o, &l, &e) == 0 && l.n == 2);
	if (l.n == 2) {
		CHECK(strcmp(l.v[0].target, dir) == 0 && l.v[0].known && l.v[0].previous == EOS_LEVEL_CRITICAL);
		CHECK(l.v[0].level == EOS_LEVEL_OK && l.v[0].changed);
		CHECK(strcmp(l.v[1].target, other) == 0 && l.v[1].level == EOS_LEVEL_OK && !l.v[1].changed);
	}
	eos_watch_list_free(&l);
	/* Only one mount, no previous levels: a new mount at ok is no change. */
	const char *only[] = {other};
	o.prev = NULL;
	o.n_prev = 0;
	o.only = only;
	o.n_only = 1;
	CHECK(eos_watch(&o, &l, &e) == 0 && l.n == 1 && !l.v[0].known && !l.v[0].changed);
	eos_watch_list_free(&l);
	o.mountinfo = "/nonexistent/mi";
	CHECK(eos_watch(&o, &l, &e) == -ENOENT && l.n == 0);
	unlink(mi);
	rmdir(other);
	CHECK(rmdir(dir) == 0);
}
