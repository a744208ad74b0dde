#include <errno.h>
#include <string.h>

#include "check.h"
#include "eos/core/json.h"

void test_json(void)
{
	struct eos_err e;
	struct eos_json *j;
	const char *doc = "{\"report\": [{\"pv\": [{\"pv_name\":\"/dev/loop0\", \"pv_size\":\"104857600B\","
			  " \"n\": 42, \"u\": \"caf\\u00e9 \\ud83d\\ude00\", \"ok\": true, \"x\": null}]}]}";
	CHECK(eos_json_parse(doc, strlen(doc), "lvm", &j, &e) == 0);
	const struct eos_json *rep = eos_json_get(j, "report");
	CHECK(rep && rep->type == EOS_JSON_ARRAY && rep->n == 1);
	const struct eos_json *pv = eos_json_get(rep->child, "pv")->child;
	uint64_t v;
	CHECK(strcmp(eos_json_str(pv, "pv_name"), "/dev/loop0") == 0);
	CHECK(eos_json_u64(pv, "pv_size", &v) == 0 && v == 104857600ULL);
	CHECK(eos_json_u64(pv, "n", &v) == 0 && v == 42);
	CHECK(eos_json_u64(pv, "x", &v) == -ENOENT);
	CHECK(eos_json_u64(pv, "pv_name", &v) == -EINVAL);
	CHECK(strcmp(eos_json_str(pv, "u"), "caf\xc3\xa9 \xf0\x9f\x98\x80") == 0);
	CHECK(eos_json_get(pv, "ok")->boolean == 1);
	eos_json_free(j);

	const char *bad[] = {"", "{", "[1,]", "{\"a\" 1}", "\"abc", "[1] x", "tru", NULL};
	for (int i = 0; bad[i]; i++) {
		CHECK(eos_json_parse(bad[i], strlen(bad[i]), "t", &j, &e) == -EINVAL);
		CHECK(strstr(e.msg, "offset") != NULL);
	}
	char deep[600];
	memset(deep, '[', sizeof(deep));
	CHECK(eos_json_parse(deep, sizeof(deep), "t", &j, &e) == -EINVAL);
}

/* Strings a C caller can trust: no NUL cutting them short, no lone surrogate (invalid UTF-8).
 * Found reading the parser for issue 10 (corpus/json/nul-in-string.json, lone-surrogate.json). */
void test_json_hostile_strings(void)
{
	struct eos_json *j = NULL;
	struct eos_err e;
	const char *bad[] = {
		"{\"id\": \"n1\\u0000evil\"}", "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\ud800\\u0041\"]",
		"[\"\\ud800x\"]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(eos_json_parse(bad[i], strlen(bad[i]), "test", &j, &e) == -EINVAL);
		CHECK(strstr(e.msg, "test: invalid JSON at offset") != NULL);
	}
	const char *ok = "[\"\\ud83d\\ude00\", \"\\u00e9\"]";
	CHECK(eos_json_parse(ok, strlen(ok), "test", &j, &e) == 0);
	CHECK(j && strcmp(j->child->str, "\xf0\x9f\x98\x80") == 0 && strcmp(j->child->next->str, "\xc3\xa9") == 0);
	eos_json_free(j);
}

/* Integers from reports: " -5" was read by strtoull as 2^64 - 5 (found reading the parser). */
void test_json_u64_signs(void)
{
	struct eos_json *j = NULL;
	struct eos_err e;
	const char *doc = "{\"a\": \" -5\", \"b\": \"+7\", \"c\": \" 7\", \"d\": \"1024B\", \"f\": 42}";
	uint64_t u = 0;
	CHECK(eos_json_parse(doc, strlen(doc), "test", &j, &e) == 0);
	CHECK(eos_json_u64(j, "a", &u) == -EINVAL && eos_json_u64(j, "b", &u) == -EINVAL);
	CHECK(eos_json_u64(j, "c", &u) == -EINVAL);
	CHECK(eos_json_u64(j, "d", &u) == 0 && u == 1024 && eos_json_u64(j, "f", &u) == 0 && u == 42);
	eos_json_free(j);
}
