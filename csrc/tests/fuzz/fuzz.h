/* Shared by the libFuzzer targets (one file per parser of outside input). */
#ifndef EOS_FUZZ_H
#define EOS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eos/core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (an embedded NUL ends it, as it would in C). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* The input as JSON (the form of the inventories and pillar the targets take), or NULL. */
static inline struct eos_json *fuzz_json(const uint8_t *data, size_t size, struct eos_err *e)
{
	struct eos_json *j = NULL;
	eos_err_clear(e);
	return eos_json_parse((const char *)data, size, "fuzz", &j, e) ? NULL : j;
}

/* An invariant the target checks: a violation is a crash libFuzzer reports and saves. */
#define FUZZ_ASSERT(cond)                                                               \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                         \
		}                                                                        \
	} while (0)

#endif
