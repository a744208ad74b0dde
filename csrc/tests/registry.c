/* The C tests, in the order they run. */
#include <stddef.h>

#include "check.h"

void test_size_parse(void);
void test_size_format(void);
void test_spawn(void);
void test_json(void);
void test_btrfs_compression_check(void);
void test_btrfs_refusals(void);
void test_provision_recommend(void);
void test_provision_fstab(void);
void test_provision_refusals(void);
void test_copy_tree(void);

const struct eos_test eos_tests[] = {
	{"size_parse", test_size_parse},
	{"size_format", test_size_format},
	{"spawn", test_spawn},
	{"json", test_json},
	{"btrfs_compression_check", test_btrfs_compression_check},
	{"btrfs_refusals", test_btrfs_refusals},
	{"provision_recommend", test_provision_recommend},
	{"provision_fstab", test_provision_fstab},
	{"provision_refusals", test_provision_refusals},
	{"copy_tree", test_copy_tree},
	{NULL, NULL},
};
