/* The roles inventory (csrc/lib/ops/roles.c's input): nodes as a minion's grains describe them.
 * Input: JSON {"nodes": [{"id", "cpus", "mem_bytes", "disk_bytes", "public", "zone"}],
 * "current": {"id": ["role", ...]}}, turned into the C structs the binding would build. */
#include "fuzz.h"

#include <errno.h>

#include "eos/core/json.h"
#include "eos/ops/roles.h"

#define MAX_NODES 256

static uint64_t num(const struct eos_json *o, const char *key, uint64_t bad)
{
	const struct eos_json *v = eos_json_get(o, key);
	if (!v)
		return 0;
	if (v->type != EOS_JSON_NUMBER || !(v->num >= 0 && v->num < 1.8e19))
		return bad;  /* what a binding that did not check would pass along */
	return (uint64_t)v->num;
}

static void check(const struct eos_roles_result *res, const struct eos_role_node *nv, size_t n)
{
	FUZZ_ASSERT(res->n == n);
	/* An accepted inventory is within its bounds: nothing missing was taken as 0. */
	for (size_t i = 0; i < n; i++) {
		FUZZ_ASSERT(nv[i].cpus >= 1 && nv[i].cpus <= EOS_ROLE_CPUS_MAX);
		FUZZ_ASSERT(nv[i].mem_bytes >= 1 && nv[i].mem_bytes <= EOS_ROLE_BYTES_MAX);
		FUZZ_ASSERT(nv[i].disk_bytes <= EOS_ROLE_BYTES_MAX);
		FUZZ_ASSERT(strlen(nv[i].id) >= 1 && strlen(nv[i].id) <= EOS_ROLE_ID_MAX);
		for (const char *c = nv[i].id; *c; c++)
			FUZZ_ASSERT((unsigned char)*c >= 0x20 && *c != 0x7f);
	}
	for (size_t i = 0; i < res->n; i++) {
		FUZZ_ASSERT(res->nodes[i].roles != 0 && (res->nodes[i].roles & ~EOS_ROLE_ALL) == 0);
		if (i)
			FUZZ_ASSERT(strcmp(res->nodes[i - 1].id, res->nodes[i].id) < 0);
	}
	for (size_t i = 0; i < res->nwarnings; i++)
		(void)eos_roles_text(res, res->warnings[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eos_err e;
	struct eos_json *j = fuzz_json(data, size, &e);
	if (!j)
		return 0;
	const struct eos_json *nodes = j->type == EOS_JSON_OBJECT ? eos_json_get(j, "nodes") : j;
	const struct eos_json *cur = j->type == EOS_JSON_OBJECT ? eos_json_get(j, "current") : NULL;
	struct eos_role_node nv[MAX_NODES];
	struct eos_role_current cv[MAX_NODES];
	size_t n = 0, ncur = 0;
	for (const struct eos_json *o = nodes ? nodes->child : NULL; o && n < MAX_NODES; o = o->next) {
		struct eos_role_node *nd = &nv[n++];
		memset(nd, 0, sizeof(*nd));
		nd->id = o->type == EOS_JSON_OBJECT ? eos_json_str(o, "id") : NULL;
		nd->zone = o->type == EOS_JSON_OBJECT ? eos_json_str(o, "zone") : NULL;
		nd->cpus = (unsigned)num(o, "cpus", 0);
		nd->mem_bytes = num(o, "mem_bytes", UINT64_MAX);
		nd->disk_bytes = num(o, "disk_bytes", UINT64_MAX);
		const struct eos_json *p = eos_json_get(o, "public");
		nd->public_addr = p && p->type == EOS_JSON_BOOL && p->boolean;
	}
	for (const struct eos_json *c = cur ? cur->child : NULL; c && ncur < MAX_NODES; c = c->next) {
		struct eos_role_current *cc = &cv[ncur++];
		cc->id = c->key;
		cc->roles = 0;
		for (const struct eos_json *r = c->child; r; r = r->next) {
			struct eos_err re;
			int role = r->type == EOS_JSON_STRING ? eos_role_parse(r->str, &re) : -EINVAL;
			if (role >= 0)
				cc->roles |= EOS_ROLE_BIT(role);
		}
	}
	struct eos_roles_result res;
	if (eos_roles_calculate(nv, n, cv, ncur, &res, &e) == 0) {
		check(&res, nv, n);
		eos_roles_result_free(&res);
	} else {
		FUZZ_ASSERT(e.msg[0]);
	}
	eos_json_free(j);
	return 0;
}
