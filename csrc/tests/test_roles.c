#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "eos/ops/roles.h"

#define GIB (1024ULL * 1024 * 1024)

static char ids[10000][32];

static void fill(struct eos_role_node *nd, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "node%05zu", i);
		nd[i] = (struct eos_role_node){ids[i], NULL, 8, 32 * GIB, 1000 * GIB, 0};
	}
}

static unsigned count(const struct eos_roles_result *r, enum eos_role role)
{
	unsigned c = 0;
	for (size_t i = 0; i < r->n; i++)
		c += (r->nodes[i].roles & EOS_ROLE_BIT(role)) != 0;
	return c;
}

void test_roles(void)
{
	static struct eos_role_node nd[10000];
	struct eos_roles_result r;
	struct eos_err e;

	/* One node: monolith. */
	fill(nd, 1);
	CHECK(eos_roles_calculate(nd, 1, NULL, 0, &r, &e) == 0);
	CHECK(r.n == 1 && r.nodes[0].roles == EOS_ROLE_BIT(EOS_ROLE_MONOLITH));
	CHECK(strstr(eos_roles_text(&r, r.nodes[0].reason[EOS_ROLE_MONOLITH]), "one-node") != NULL);
	eos_roles_result_free(&r);

	/* Quorum sizes are odd and follow the cluster size. */
	size_t sizes[] = {2, 3, 4, 6, 7, 9, 15, 100};
	unsigned cores[] = {1, 3, 3, 3, 5, 5, 5, 5};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		fill(nd, sizes[s]);
		CHECK(eos_roles_calculate(nd, sizes[s], NULL, 0, &r, &e) == 0);
		CHECK(count(&r, EOS_ROLE_CORE) == cores[s] && r.counts[EOS_ROLE_CORE] == cores[s]);
		CHECK(count(&r, EOS_ROLE_DATA) == eos_roles_target(EOS_ROLE_DATA, sizes[s]));
		CHECK(r.nwarnings == 0);
		eos_roles_result_free(&r);
	}

	/* Under-resourced: no node meets core, the fallback warns. */
	fill(nd, 3);
	for (int i = 0; i < 3; i++)
		nd[i].cpus = 2;
	CHECK(eos_roles_calculate(nd, 3, NULL, 0, &r, &e) == 0);
	CHECK(count(&r, EOS_ROLE_CORE) == 3 && r.nwarnings >= 3);
	CHECK(strstr(eos_roles_text(&r, r.warnings[0]), "below its minimums") != NULL);
	eos_roles_result_free(&r);

	/* Stability: adding a node keeps the current core members, churn 0. */
	fill(nd, 4);
	CHECK(eos_roles_calculate(nd, 3, NULL, 0, &r, &e) == 0);
	struct eos_role_current cur[3];
	for (int i = 0; i < 3; i++)
		cur[i] = (struct eos_role_current){r.nodes[i].id, r.nodes[i].roles};
	struct eos_roles_result r2;
	nd[3].cpus = 64;   /* the newcomer is bigger but the valid members stay */
	CHECK(eos_roles_calculate(nd, 4, cur, 3, &r2, &e) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(r2.nodes[i].roles & EOS_ROLE_BIT(EOS_ROLE_CORE));
	CHECK(r2.churn == 0 && r2.ndeparted == 0);
	eos_roles_result_free(&r2);
	/* A departed node is reported. */
	CHECK(eos_roles_calculate(nd + 1, 2, cur, 3, &r2, &e) == 0);
	CHECK(r2.ndeparted == 1 && strcmp(r2.departed[0].id, "node00000") == 0);
	eos_roles_result_free(&r2);
	eos_roles_result_free(&r);

	/* Zones: the three core members land in three zones. */
	static const char *zones[] = {"a", "a", "a", "b", "c"};
	fill(nd, 5);
	for (int i = 0; i < 5; i++)
		nd[i].zone = zones[i];
	CHECK(eos_roles_calculate(nd, 5, NULL, 0, &r, &e) == 0);
	unsigned seen = 0;
	for (int i = 0; i < 5; i++)
		if (r.nodes[i].roles & EOS_ROLE_BIT(EOS_ROLE_CORE))
			seen |= 1u << (zones[i][0] - 'a');
	CHECK(seen == 7);
	eos_roles_result_free(&r);

	/* Bad input: duplicate and empty ids, unknown role. */
	fill(nd, 2);
	nd[1].id = "node00000";
	CHECK(eos_roles_calculate(nd, 2, NULL, 0, &r, &e) == -EINVAL && strstr(e.msg, "'node00000'"));
	CHECK(eos_roles_calculate(nd, 0, NULL, 0, &r, &e) == -EINVAL);
	nd[1].id = "";
	CHECK(eos_roles_calculate(nd, 2, NULL, 0, &r, &e) == -EINVAL);
	CHECK(eos_role_parse("kernel", &e) == -EINVAL && strstr(e.msg, "'kernel'"));
	CHECK(eos_role_parse("core", &e) == EOS_ROLE_CORE);

	/* 10,000 nodes. */
	fill(nd, 10000);
	CHECK(eos_roles_calculate(nd, 10000, NULL, 0, &r, &e) == 0);
	CHECK(count(&r, EOS_ROLE_CORE) == 5 && count(&r, EOS_ROLE_EDGE) == 3);
	eos_roles_result_free(&r);
}

/* Every node field is bounded: nothing missing is taken as 0, no id holds a control byte. */
void test_roles_bounds(void)
{
	struct eos_role_node ok = {"n1", NULL, 4, 8ULL << 30, 100ULL << 30, 0};
	struct eos_roles_result r;
	struct eos_err e;
	eos_err_clear(&e);
	struct {
		struct eos_role_node nd;
		const char *words;
	} bad[] = {
		{{"n1", NULL, 0, 8ULL << 30, 0, 0}, "'n1': field 'cpus' is 0"},
		{{"n1", NULL, (1u << 20) + 1, 8ULL << 30, 0, 0}, "'cpus'"},
		{{"n1", NULL, 4, 0, 0, 0}, "'n1': field 'mem_bytes' is 0"},
		{{"n1", NULL, 4, (1ULL << 60) + 1, 0, 0}, "'mem_bytes'"},
		{{"n1", NULL, 4, 1, UINT64_MAX, 0}, "'disk_bytes'"},
		{{"a\nb", NULL, 4, 1, 0, 0}, "node id 'a\\x0ab' holds a control character"},
		{{"n1", "z\x7f", 4, 1, 0, 0}, "zone 'z\\x7f'"},
		{{"", NULL, 4, 1, 0, 0}, "empty id"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(eos_roles_calculate(&bad[i].nd, 1, NULL, 0, &r, &e) == -EINVAL);
		CHECK(strstr(e.msg, bad[i].words) != NULL);
		if (!strstr(e.msg, bad[i].words))
			fprintf(stderr, "  got: %s\n", e.msg);
	}
	char long_id[300];
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	struct eos_role_node lng = ok;
	lng.id = long_id;
	CHECK(eos_roles_calculate(&lng, 1, NULL, 0, &r, &e) == -EINVAL && strstr(e.msg, "longer than 255"));
	struct eos_role_current cur = {"gone\x01", EOS_ROLE_BIT(EOS_ROLE_CORE)};
	CHECK(eos_roles_calculate(&ok, 1, &cur, 1, &r, &e) == -EINVAL && strstr(e.msg, "control"));
	CHECK(eos_roles_calculate(&ok, 1, NULL, 0, &r, &e) == 0 && r.n == 1);
	eos_roles_result_free(&r);
}
