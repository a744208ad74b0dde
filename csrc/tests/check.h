/* A minimal test harness for the C library: CHECK records failures, main prints a summary
 * line "N passed, N failed" and exits non-zero on any failure. */
#ifndef EOS_CHECK_H
#define EOS_CHECK_H

#include <stdio.h>

extern int eos_checks_passed, eos_checks_failed;

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (cond) {                                                              \
			eos_checks_passed++;                                             \
		} else {                                                                 \
			eos_checks_failed++;                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                        \
	} while (0)

/* Each test file defines its tests and registers them in this table. */
struct eos_test {
	const char *name;
	void (*fn)(void);
};
extern const struct eos_test eos_tests[];

#endif
