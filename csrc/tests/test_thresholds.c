#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "eos/core/growth.h"
#include "eos/core/thresholds.h"

void test_thresholds(void)
{
	struct eos_thresholds t;
	struct eos_err e;
	eos_err_clear(&e);
	CHECK(eos_thresholds_for_nodes(1, &t, &e) == 0 && t.tier == EOS_TIER_SINGLE);
	CHECK(t.pct[EOS_LEVEL_WARNING] == 60 && t.pct[EOS_LEVEL_CRITICAL] == 90 && t.check_interval == 300);
	CHECK(eos_thresholds_for_nodes(3, &t, &e) == 0 && t.tier == EOS_TIER_SMALL && t.pct[EOS_LEVEL_CLEANUP] == 80);
	CHECK(eos_thresholds_for_nodes(4, &t, &e) == 0 && t.tier == EOS_TIER_MEDIUM && t.check_interval == 180);
	CHECK(eos_thresholds_for_nodes(7, &t, &e) == 0 && t.tier == EOS_TIER_DISTRIBUTED && t.check_interval == 60);
	CHECK(eos_thresholds_for_nodes(0, &t, &e) == -EINVAL && strstr(e.msg, "'0'"));

	eos_thresholds_for_nodes(1, &t, &e);
	CHECK(eos_level_eval(&t, 0) == EOS_LEVEL_OK);
	CHECK(eos_level_eval(&t, 59.99) == EOS_LEVEL_OK);
	CHECK(eos_level_eval(&t, 60) == EOS_LEVEL_WARNING);
	CHECK(eos_level_eval(&t, 75) == EOS_LEVEL_CLEANUP);
	CHECK(eos_level_eval(&t, 100) == EOS_LEVEL_CRITICAL);

	/* Hysteresis, band 3: at cleanup (75) it stays until <= 72. */
	CHECK(eos_level_eval_hyst(&t, 73, EOS_LEVEL_CLEANUP, 3) == EOS_LEVEL_CLEANUP);
	CHECK(eos_level_eval_hyst(&t, 72, EOS_LEVEL_CLEANUP, 3) == EOS_LEVEL_COMPRESS);
	CHECK(eos_level_eval_hyst(&t, 50, EOS_LEVEL_CRITICAL, 3) == EOS_LEVEL_OK);
	CHECK(eos_level_eval_hyst(&t, 58, EOS_LEVEL_WARNING, 3) == EOS_LEVEL_WARNING);
	CHECK(eos_level_eval_hyst(&t, 86, EOS_LEVEL_WARNING, 3) == EOS_LEVEL_EMERGENCY);
	CHECK(eos_level_eval_hyst(&t, 73, EOS_LEVEL_CLEANUP, 0) == EOS_LEVEL_COMPRESS);
	CHECK(eos_level_eval_hyst(&t, 73, EOS_LEVEL_CLEANUP, -1) == EOS_LEVEL_CLEANUP);

	/* Overrides: partial merge, and refusals that leave t unchanged. */
	struct eos_threshold_override ok[] = {{"warning", "50", 1, 50}, {"hysteresis", "5", 1, 5}};
	CHECK(eos_thresholds_apply(&t, ok, 2, &e) == 0);
	CHECK(t.pct[EOS_LEVEL_WARNING] == 50 && t.pct[EOS_LEVEL_COMPRESS] == 70 && t.hysteresis == 5);
	struct eos_threshold_override above[] = {{"critical", "101", 1, 101}};
	CHECK(eos_thresholds_apply(&t, above, 1, &e) == -EINVAL && strstr(e.msg, "101"));
	struct eos_threshold_override order[] = {{"compress", "45", 1, 45}};
	CHECK(eos_thresholds_apply(&t, order, 1, &e) == -EINVAL && strstr(e.msg, "45") && strstr(e.msg, "warning is 50"));
	struct eos_threshold_override str[] = {{"cleanup", "'high'", 0, 0}};
	CHECK(eos_thresholds_apply(&t, str, 1, &e) == -EINVAL && strstr(e.msg, "'high' is not a number"));
	struct eos_threshold_override key[] = {{"warnign", "50", 1, 50}};
	CHECK(eos_thresholds_apply(&t, key, 1, &e) == -EINVAL && strstr(e.msg, "'warnign'"));
	struct eos_threshold_override iv[] = {{"check_interval", "1.5", 1, 1.5}};
	CHECK(eos_thresholds_apply(&t, iv, 1, &e) == -EINVAL && strstr(e.msg, "1.5"));
	struct eos_threshold_override nan_[] = {{"warning", "nan", 1, NAN}};
	CHECK(eos_thresholds_apply(&t, nan_, 1, &e) == -EINVAL);
	CHECK(t.pct[EOS_LEVEL_WARNING] == 50 && t.pct[EOS_LEVEL_CRITICAL] == 90);

	enum eos_level l;
	CHECK(eos_level_parse("degraded", &l, &e) == 0 && l == EOS_LEVEL_DEGRADED);
	CHECK(eos_level_parse("bad", &l, &e) == -EINVAL && strstr(e.msg, "'bad'"));
	CHECK(strcmp(eos_level_name(EOS_LEVEL_OK), "ok") == 0 && eos_level_name(EOS_LEVEL_COUNT) == NULL);
}

void test_growth(void)
{
	char name[256];
	CHECK(eos_samples_name("/", name, sizeof(name)) == 0 && strcmp(name, "-") == 0);
	CHECK(eos_samples_name("/var/log/", name, sizeof(name)) == 0 && strcmp(name, "var-log") == 0);
	CHECK(eos_samples_name("/a b/c-d", name, sizeof(name)) == 0 && strcmp(name, "a\\x20b-c\\x2dd") == 0);
	char longp[1200];
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	CHECK(eos_samples_name(longp, name, sizeof(name)) == 0 && strlen(name) < 230 && strchr(name, '~'));

	/* Linear growth of 1 MiB per hour, 100 MiB left: 100 hours to full. */
	struct eos_sample v[10];
	for (int i = 0; i < 10; i++)
		v[i] = (struct eos_sample){1.7e9 + i * 3600.0, (1ULL << 30) + (uint64_t)i * (1 << 20), 10ULL << 30};
	struct eos_growth g;
	eos_growth_compute(v, 10, 0, 100ULL << 20, &g);
	CHECK(g.samples == 10 && g.has_rate && fabs(g.bytes_per_hour - (1 << 20)) < 1e-3);
	CHECK(g.has_eta && fabs(g.seconds_to_full - 100 * 3600.0) < 1e-3);
	/* A 3-hour window only sees the last 4 samples. */
	eos_growth_compute(v, 10, 3 * 3600.0, 0, &g);
	CHECK(g.samples == 4 && g.span == 3 * 3600.0);
	/* Shrinking: a rate, no time to full. */
	for (int i = 0; i < 10; i++)
		v[i].used = (5ULL << 30) - (uint64_t)i * 1000;
	eos_growth_compute(v, 10, 0, 1, &g);
	CHECK(g.has_rate && g.bytes_per_hour < 0 && !g.has_eta);
	/* One sample, or two at the same time: no rate. */
	eos_growth_compute(v, 1, 0, 1, &g);
	CHECK(g.samples == 1 && !g.has_rate);
	v[1].t = v[0].t;
	eos_growth_compute(v, 2, 0, 1, &g);
	CHECK(!g.has_rate);

	/* The sample file: append, torn line, pruning. */
	char dir[] = "/tmp/eos-growth-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	struct eos_err e;
	struct eos_sample *out = NULL;
	size_t n = 99;
	CHECK(eos_samples_read(dir, "/mnt/x", &out, &n, &e) == 0 && n == 0 && out == NULL);
	for (int i = 0; i < 3; i++) {
		struct eos_sample s = {1.7e9 + i, 1000 + (uint64_t)i, 5000};
		CHECK(eos_samples_append(dir, "/mnt/x", &s, &e) == 0);
	}
	char path[EOS_PATH_MAX];
	CHECK(eos_samples_path(dir, "/mnt/x", path, sizeof(path), &e) == 0);
	FILE *f = fopen(path, "a");
	fputs("1700000003.000 10", f);  /* torn */
	fclose(f);
	CHECK(eos_samples_read(dir, "/mnt/x", &out, &n, &e) == 0 && n == 3 && out[2].used == 1002 && out[2].size == 5000);
	free(out);
	double now = 1.7e9 + 40 * 86400.0;
	for (int i = 0; i < 3000; i++) {
		struct eos_sample s = {now + i, (uint64_t)i, 5000};
		CHECK(eos_samples_append(dir, "/mnt/x", &s, &e) == 0);
	}
	CHECK(eos_samples_read(dir, "/mnt/x", &out, &n, &e) == 0);
	CHECK(n >= 2 && n <= EOS_SAMPLES_MAX_BYTES / 20);
	CHECK(n > 0 && out[n - 1].used == 2999 && out[0].t >= now);  /* old ones pruned */
	free(out);
	unlink(path);
	char p2[EOS_PATH_MAX + 16];
	snprintf(p2, sizeof(p2), "%s/eos/samples/.lock", dir);
	unlink(p2);
	snprintf(p2, sizeof(p2), "%s/eos/samples", dir);
	rmdir(p2);
	snprintf(p2, sizeof(p2), "%s/eos", dir);
	rmdir(p2);
	CHECK(rmdir(dir) == 0);
}
