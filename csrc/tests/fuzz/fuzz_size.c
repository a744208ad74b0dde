/* The size parser (csrc/lib/core/size.c): "+50G", "200GiB", "100%FREE", "max" from CLI and pillar. */
#include "fuzz.h"

#include <errno.h>

#include "eos/core/size.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	struct eos_size_req req;
	struct eos_err e;
	eos_err_clear(&e);
	int r = eos_size_parse(s, &req, &e);
	if (r == 0) {
		if (req.kind == EOS_SIZE_ABSOLUTE || req.kind == EOS_SIZE_GROW_BY)
			FUZZ_ASSERT(req.bytes > 0);
		/* A count of bytes is whole: no unit, no decimals. */
		if (req.kind != EOS_SIZE_PCT_FREE && !strpbrk(s, "KkMmGgTtPp"))
			FUZZ_ASSERT(!strchr(s, '.'));
		if (req.kind == EOS_SIZE_PCT_FREE)
			FUZZ_ASSERT(req.pct >= 1 && req.pct <= 100);
		char out[32], tiny[4];
		eos_size_format(req.bytes, out, sizeof(out));
		eos_size_format(req.bytes, tiny, sizeof(tiny));
		FUZZ_ASSERT(strlen(out) < sizeof(out) && strlen(tiny) < sizeof(tiny));
	} else {
		FUZZ_ASSERT(r == -EINVAL || r < 0);
		FUZZ_ASSERT(e.msg[0]);
	}
	free(s);
	return 0;
}
