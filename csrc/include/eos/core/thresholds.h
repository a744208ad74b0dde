/* Storage threshold levels: the scale-tier table, pillar overrides, and level evaluation with
 * hysteresis (shared by eos_storage.analyze and the eos_storage beacon).
 *
 * Levels are percentages of space used (0..100). A mount is at the highest level whose
 * threshold its usage has reached; below the first one it is at EOS_LEVEL_OK. */
#ifndef EOS_THRESHOLDS_H
#define EOS_THRESHOLDS_H

#include "eos/core/err.h"

enum eos_level {
	EOS_LEVEL_OK = 0,
	EOS_LEVEL_WARNING,
	EOS_LEVEL_COMPRESS,
	EOS_LEVEL_CLEANUP,
	EOS_LEVEL_DEGRADED,
	EOS_LEVEL_EMERGENCY,
	EOS_LEVEL_CRITICAL,
};
#define EOS_LEVEL_COUNT 7        /* including OK */
#define EOS_THRESHOLD_COUNT 6    /* warning .. critical */

enum eos_tier {
	EOS_TIER_SINGLE,       /* 1 node */
	EOS_TIER_SMALL,        /* 2-3 */
	EOS_TIER_MEDIUM,       /* 4-6 */
	EOS_TIER_DISTRIBUTED,  /* 7+ */
};

/* Default hysteresis band in percentage points. */
#define EOS_HYSTERESIS_DEFAULT 3.0

struct eos_thresholds {
	enum eos_tier tier;
	long node_count;
	double pct[EOS_LEVEL_COUNT];  /* pct[EOS_LEVEL_WARNING..CRITICAL]; pct[OK] is 0 */
	unsigned check_interval;      /* seconds */
	double hysteresis;            /* points below a level's threshold needed to leave it */
};

/* "ok", "warning", ... "critical"; NULL for an invalid value. */
const char *eos_level_name(enum eos_level level);
/* 0 and *out, or -EINVAL with a message quoting name. */
int eos_level_parse(const char *name, enum eos_level *out, struct eos_err *e);
const char *eos_tier_name(enum eos_tier tier);

/* The tier's defaults for a node count (>= 1; anything else is -EINVAL quoting it). */
int eos_thresholds_for_nodes(long node_count, struct eos_thresholds *t, struct eos_err *e);

/* One entry of a pillar override (eos:storage:thresholds). The binding fills text with the
 * value as the user wrote it (for messages) and sets is_number/value when it is a number. */
struct eos_threshold_override {
	const char *key;     /* a level name, "check_interval" or "hysteresis" */
	const char *text;    /* the value as written, quoted in error messages */
	int is_number;
	double value;
};

/* Merge overrides into t (which holds a tier's defaults). Level values must be numbers in
 * 0..100, and after merging the six levels must increase strictly in level order;
 * check_interval a whole number of seconds >= 1; hysteresis 0..50. Unknown keys are refused.
 * On any error t is unchanged and the message quotes the offending key and value. */
int eos_thresholds_apply(struct eos_thresholds *t, const struct eos_threshold_override *ov,
			 size_t n, struct eos_err *e);

/* The level for a usage percent, without hysteresis. */
enum eos_level eos_level_eval(const struct eos_thresholds *t, double pct);

/* The level with hysteresis: rising, the mount takes the level it reached at once; falling,
 * it leaves a level only when its usage is more than band points below that level's
 * threshold (then it is checked again one level lower). band < 0 uses t->hysteresis. */
enum eos_level eos_level_eval_hyst(const struct eos_thresholds *t, double pct,
				   enum eos_level prev, double band);

#endif
