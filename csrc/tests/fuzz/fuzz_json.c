/* The JSON reader (csrc/lib/core/json.c): tool reports, ceph answers, inventories. */
#include "fuzz.h"

#include "eos/core/json.h"

/* Visit every node the way consumers do: members by name, strings, integers. */
static void visit(const struct eos_json *j, int depth)
{
	size_t n = 0;
	for (const struct eos_json *c = j->child; c; c = c->next, n++) {
		FUZZ_ASSERT(j->type == EOS_JSON_ARRAY || j->type == EOS_JSON_OBJECT);
		if (j->type == EOS_JSON_OBJECT) {
			FUZZ_ASSERT(c->key != NULL);
			FUZZ_ASSERT(eos_json_get(j, c->key) != NULL);
			uint64_t u;
			(void)eos_json_str(j, c->key);
			/* An integer is digits (and lvm's unit B): never a sign or a space. */
			if (eos_json_u64(j, c->key, &u) == 0) {
				const char *v = eos_json_get(j, c->key)->str;
				FUZZ_ASSERT(v[0] >= '0' && v[0] <= '9');
			}
		}
		if (c->type == EOS_JSON_STRING || c->type == EOS_JSON_NUMBER)
			FUZZ_ASSERT(c->str != NULL);
		visit(c, depth + 1);
	}
	FUZZ_ASSERT(n == j->n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eos_json *j = NULL;
	struct eos_err e;
	eos_err_clear(&e);
	int r = eos_json_parse((const char *)data, size, "fuzz", &j, &e);
	if (r == 0) {
		FUZZ_ASSERT(j != NULL);
		visit(j, 0);
		eos_json_free(j);
	} else {
		FUZZ_ASSERT(r < 0 && e.msg[0]);
	}
	return 0;
}
