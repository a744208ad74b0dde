#include <string.h>

#include "check.h"

int eos_checks_passed, eos_checks_failed;

int main(int argc, char **argv)
{
	for (const struct eos_test *t = eos_tests; t->name; t++) {
		if (argc > 1 && strcmp(argv[1], t->name) != 0)
			continue;
		int before = eos_checks_failed;
		t->fn();
		fprintf(stderr, "%s %s\n", eos_checks_failed == before ? "ok  " : "FAIL", t->name);
	}
	printf("%d passed, %d failed\n", eos_checks_passed, eos_checks_failed);
	return eos_checks_failed ? 1 : 0;
}
