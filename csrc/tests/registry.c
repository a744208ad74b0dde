/* The C tests, in the order they run. */
#include <stddef.h>

#include "check.h"

void test_size_parse(void);
void test_size_format(void);
void test_spawn(void);
void test_json(void);
void test_expand_arith(void);
void test_expand_names(void);
void test_expand_ext_sb(void);
void test_expand_refusals(void);

const struct eos_test eos_tests[] = {
	{"size_parse", test_size_parse},
	{"size_format", test_size_format},
	{"spawn", test_spawn},
	{"json", test_json},
	{"expand_arith", test_expand_arith},
	{"expand_names", test_expand_names},
	{"expand_ext_sb", test_expand_ext_sb},
	{"expand_refusals", test_expand_refusals},
	{NULL, NULL},
};
