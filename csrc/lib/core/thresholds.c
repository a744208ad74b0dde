#include "eos/core/thresholds.h"

#include <errno.h>
#include <math.h>  /* isfinite, a macro: no libm needed */
#include <string.h>

static const char *const level_names[EOS_LEVEL_COUNT] = {
	"ok", "warning", "compress", "cleanup", "degraded", "emergency", "critical",
};

static const char *const tier_names[] = {"single", "small", "medium", "distributed"};

/* The scale-tier table of DESIGN.md: warning..critical in %, check interval in seconds. */
static const struct {
	double pct[EOS_THRESHOLD_COUNT];
	unsigned check;
} tier_table[] = {
	[EOS_TIER_SINGLE] = {{60, 70, 75, 80, 85, 90}, 300},
	[EOS_TIER_SMALL] = {{65, 75, 80, 85, 90, 95}, 300},
	[EOS_TIER_MEDIUM] = {{70, 80, 85, 90, 93, 95}, 180},
	[EOS_TIER_DISTRIBUTED] = {{70, 80, 85, 90, 93, 95}, 60},
};

const char *eos_level_name(enum eos_level level)
{
	if ((int)level < 0 || level >= EOS_LEVEL_COUNT)
		return NULL;
	return level_names[level];
}

int eos_level_parse(const char *name, enum eos_level *out, struct eos_err *e)
{
	for (int i = 0; i < EOS_LEVEL_COUNT; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum eos_level)i;
			return 0;
		}
	}
	return eos_fail(e, EINVAL, NULL,
			"unknown threshold level '%s' (expected one of ok, warning, compress, "
			"cleanup, degraded, emergency, critical)", name);
}

const char *eos_tier_name(enum eos_tier tier)
{
	if ((int)tier < 0 || (size_t)tier >= sizeof(tier_names) / sizeof(tier_names[0]))
		return NULL;
	return tier_names[tier];
}

int eos_thresholds_for_nodes(long node_count, struct eos_thresholds *t, struct eos_err *e)
{
	if (node_count < 1)
		return eos_fail(e, EINVAL, NULL,
				"eos:cluster:node_count must be a whole number >= 1, got '%ld'", node_count);
	enum eos_tier tier = node_count == 1 ? EOS_TIER_SINGLE :
			     node_count <= 3 ? EOS_TIER_SMALL :
			     node_count <= 6 ? EOS_TIER_MEDIUM : EOS_TIER_DISTRIBUTED;
	memset(t, 0, sizeof(*t));
	t->tier = tier;
	t->node_count = node_count;
	t->pct[EOS_LEVEL_OK] = 0;
	for (int i = 0; i < EOS_THRESHOLD_COUNT; i++)
		t->pct[EOS_LEVEL_WARNING + i] = tier_table[tier].pct[i];
	t->check_interval = tier_table[tier].check;
	t->hysteresis = EOS_HYSTERESIS_DEFAULT;
	return 0;
}

static int level_index(const char *key)
{
	for (int i = EOS_LEVEL_WARNING; i < EOS_LEVEL_COUNT; i++)
		if (strcmp(key, level_names[i]) == 0)
			return i;
	return -1;
}

int eos_thresholds_apply(struct eos_thresholds *t, const struct eos_threshold_override *ov,
			 size_t n, struct eos_err *e)
{
	static const char P[] = "eos:storage:thresholds";
	struct eos_thresholds m = *t;
	for (size_t i = 0; i < n; i++) {
		const char *key = ov[i].key ? ov[i].key : "";
		const char *text = ov[i].text ? ov[i].text : "";
		int lvl = level_index(key);
		int known = lvl >= 0 || strcmp(key, "check_interval") == 0 ||
			    strcmp(key, "hysteresis") == 0;
		if (!known)
			return eos_fail(e, EINVAL, NULL,
					"%s: unknown key '%s' (expected warning, compress, cleanup, "
					"degraded, emergency, critical, check_interval or hysteresis)",
					P, key);
		double v = ov[i].value;
		if (!ov[i].is_number || !isfinite(v))
			return eos_fail(e, EINVAL, NULL, "%s:%s: %s is not a number", P, key, text);
		if (lvl >= 0) {
			if (v < 0 || v > 100)
				return eos_fail(e, EINVAL, NULL,
						"%s:%s: %s is out of range (a percentage 0..100)", P, key, text);
			m.pct[lvl] = v;
		} else if (strcmp(key, "check_interval") == 0) {
			if (v < 1 || v > 86400 || v != (double)(long long)v)
				return eos_fail(e, EINVAL, NULL,
						"%s:check_interval: %s is not a whole number of seconds in 1..86400",
						P, text);
			m.check_interval = (unsigned)v;
		} else {
			if (v < 0 || v > 50)
				return eos_fail(e, EINVAL, NULL,
						"%s:hysteresis: %s is out of range (points 0..50)", P, text);
			m.hysteresis = v;
		}
	}
	for (int i = EOS_LEVEL_WARNING; i < EOS_LEVEL_CRITICAL; i++) {
		if (!(m.pct[i] < m.pct[i + 1]))
			return eos_fail(e, EINVAL, NULL,
					"%s: levels must increase in the order warning < compress < cleanup "
					"< degraded < emergency < critical, but %s is %g and %s is %g",
					P, level_names[i], m.pct[i], level_names[i + 1], m.pct[i + 1]);
	}
	*t = m;
	return 0;
}

enum eos_level eos_level_eval(const struct eos_thresholds *t, double pct)
{
	enum eos_level l = EOS_LEVEL_OK;
	for (int i = EOS_LEVEL_WARNING; i < EOS_LEVEL_COUNT; i++)
		if (pct >= t->pct[i])
			l = (enum eos_level)i;
	return l;
}

enum eos_level eos_level_eval_hyst(const struct eos_thresholds *t, double pct,
				   enum eos_level prev, double band)
{
	enum eos_level raw = eos_level_eval(t, pct);
	if ((int)prev < 0 || prev >= EOS_LEVEL_COUNT || raw >= prev)
		return raw;
	if (band < 0)
		band = t->hysteresis;
	/* Falling: step down one level at a time while usage is band points below it. */
	enum eos_level l = prev;
	while (l > raw && pct <= t->pct[l] - band)
		l = (enum eos_level)(l - 1);
	return l;
}
