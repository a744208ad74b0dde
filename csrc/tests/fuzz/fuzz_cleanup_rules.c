/* The cleanup rules (csrc/lib/ops/cleanup.c's guard): pillar eos:storage:cleanup and
 * eos:storage:cleanup_allow, written by whoever edits pillar. Input: JSON {"rules":
 * [{"path", "match", "older_than_days", "recursive"}], "allow": ["/dir", ...]}. */
#include "fuzz.h"

#include "eos/ops/cleanup.h"
#include "eos/core/err.h"
#include "eos/core/json.h"

#define MAX_RULES 32

/* The oracle, written apart from the guard: trees no accepted rule may be in or below. */
static int forbidden(const char *p)
{
	static const char *const trees[] = {"/bin", "/boot", "/dev", "/etc", "/home", "/opt", "/proc",
					    "/root", "/sbin", "/srv", "/sys", "/usr", "/var/lib", NULL};
	if (strcmp(p, "/") == 0 || strncmp(p, "/lib", 4) == 0)
		return 1;
	for (int k = 0; trees[k]; k++) {
		size_t n = strlen(trees[k]);
		if (strncmp(p, trees[k], n) == 0 && (p[n] == '\0' || p[n] == '/'))
			return 1;
	}
	return 0;
}

static int in_allow(const char *norm, const char *const *allow)
{
	char a[EOS_PATH_MAX];
	for (size_t k = 0; allow[k]; k++)
		if (eos_cleanup_normalize(allow[k], a, sizeof(a)) == 0 && strcmp(a, norm) == 0)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eos_err e;
	struct eos_json *j = fuzz_json(data, size, &e);
	if (!j)
		return 0;
	const struct eos_json *rules = eos_json_get(j, "rules"), *al = eos_json_get(j, "allow");
	struct eos_cleanup_rule rv[MAX_RULES];
	const char *allow[MAX_RULES + 1];
	size_t n = 0, na = 0;
	for (const struct eos_json *o = rules ? rules->child : NULL; o && n < MAX_RULES; o = o->next) {
		const struct eos_json *d = eos_json_get(o, "older_than_days"), *r = eos_json_get(o, "recursive");
		rv[n++] = (struct eos_cleanup_rule){
			.path = eos_json_str(o, "path"),
			.match = eos_json_str(o, "match"),
			.older_than_days = d && d->type == EOS_JSON_NUMBER && d->num >= 0 && d->num <= 36500
						   ? (unsigned)d->num : 0,
			.recursive = r && r->type == EOS_JSON_BOOL && r->boolean,
		};
	}
	for (const struct eos_json *a = al ? al->child : NULL; a && na < MAX_RULES; a = a->next)
		if (a->type == EOS_JSON_STRING)
			allow[na++] = a->str;
	allow[na] = NULL;
	if (eos_cleanup_check(rv, n, allow, &e) == 0) {
		char norm[EOS_PATH_MAX], again[EOS_PATH_MAX];
		for (size_t i = 0; i < n; i++) {
			FUZZ_ASSERT(rv[i].path && eos_cleanup_normalize(rv[i].path, norm, sizeof(norm)) == 0);
			FUZZ_ASSERT(eos_cleanup_normalize(norm, again, sizeof(again)) == 0);
			FUZZ_ASSERT(strcmp(norm, again) == 0);
			FUZZ_ASSERT(strcmp(norm, "/") != 0);
			if (forbidden(norm) && !in_allow(norm, allow)) {
				fprintf(stderr, "accepted '%s' (normalised '%s')\n", rv[i].path, norm);
				FUZZ_ASSERT(!"a rule in or below a system tree is refused");
			}
			FUZZ_ASSERT(rv[i].older_than_days || (rv[i].match && rv[i].match[0]));
		}
	} else {
		FUZZ_ASSERT(e.code && e.msg[0]);
	}
	eos_json_free(j);
	return 0;
}
