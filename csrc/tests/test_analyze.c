#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "eos/analyze.h"

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
