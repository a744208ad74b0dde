#include <errno.h>
#include <string.h>

#include "check.h"
#include "eos/core/size.h"

void test_size_parse(void)
{
	struct eos_size_req r;
	struct eos_err e;
	CHECK(eos_size_parse("+50G", &r, &e) == 0 && r.kind == EOS_SIZE_GROW_BY && r.bytes == 50ULL << 30);
	CHECK(eos_size_parse("200GiB", &r, &e) == 0 && r.kind == EOS_SIZE_ABSOLUTE && r.bytes == 200ULL << 30);
	CHECK(eos_size_parse("10mb", &r, &e) == 0 && r.bytes == 10ULL << 20);
	CHECK(eos_size_parse("1.5T", &r, &e) == 0 && r.bytes == 3ULL << 39);
	CHECK(eos_size_parse("4096", &r, &e) == 0 && r.bytes == 4096);
	CHECK(eos_size_parse("512B", &r, &e) == 0 && r.bytes == 512);
	/* Found probing the parser with hostile sizes (corpus/size/fraction-of-a-byte): "1.5" was
	 * taken as 1 byte. */
	CHECK(eos_size_parse("1.5", &r, &e) == -EINVAL && strstr(e.msg, "'1.5'") && strstr(e.msg, "decimals"));
	CHECK(eos_size_parse("2.0B", &r, &e) == -EINVAL && strstr(e.msg, "'2.0B'"));
	CHECK(eos_size_parse("1.5K", &r, &e) == 0 && r.bytes == 1536);
	CHECK(eos_size_parse("100%FREE", &r, &e) == 0 && r.kind == EOS_SIZE_PCT_FREE && r.pct == 100);
	CHECK(eos_size_parse("MAX", &r, &e) == 0 && r.kind == EOS_SIZE_MAX);
	CHECK(eos_size_parse("auto", &r, &e) == 0 && r.kind == EOS_SIZE_AUTO);
	const char *bad[] = {"", "-5G", "0", "+0G", "G", "5X", "5GiBs", "101%FREE", "0%FREE",
			     "50%", "1.G", "99999999999999999999", "16384P", "vg0/lv1; rm -rf /", NULL};
	for (int i = 0; bad[i]; i++) {
		int rc = eos_size_parse(bad[i], &r, &e);
		CHECK(rc == -EINVAL);
		CHECK(strstr(e.msg, bad[i]) != NULL);
	}
}

void test_size_format(void)
{
	char b[32];
	eos_size_format(50ULL << 30, b, sizeof(b));
	CHECK(strcmp(b, "50.0 GiB") == 0);
	eos_size_format(100, b, sizeof(b));
	CHECK(strcmp(b, "100 B") == 0);
}
