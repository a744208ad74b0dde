/* The C tests, in the order they run. */
#include <stddef.h>

#include "check.h"

void test_size_parse(void);
void test_size_format(void);
void test_spawn(void);
void test_json(void);
void test_rados(void);
void test_mounts(void);
void test_blockdev(void);
void test_blkid_probe(void);
void test_lvm_report(void);
void test_probe(void);
void test_walk(void);
void test_buf_read_file(void);
void test_thresholds(void);
void test_growth(void);
void test_analyze(void);
void test_watch(void);
void test_cleanup(void);
void test_cleanup_guard(void);
void test_expand_arith(void);
void test_expand_names(void);
void test_expand_ext_sb(void);
void test_expand_refusals(void);
void test_roles(void);
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
	{"rados", test_rados},
	{"mounts", test_mounts},
	{"blockdev", test_blockdev},
	{"blkid_probe", test_blkid_probe},
	{"lvm_report", test_lvm_report},
	{"probe", test_probe},
	{"walk", test_walk},
	{"buf_read_file", test_buf_read_file},
	{"thresholds", test_thresholds},
	{"growth", test_growth},
	{"analyze", test_analyze},
	{"watch", test_watch},
	{"cleanup", test_cleanup},
	{"cleanup_guard", test_cleanup_guard},
	{"expand_arith", test_expand_arith},
	{"expand_names", test_expand_names},
	{"expand_ext_sb", test_expand_ext_sb},
	{"expand_refusals", test_expand_refusals},
	{"roles", test_roles},
	{"btrfs_compression_check", test_btrfs_compression_check},
	{"btrfs_refusals", test_btrfs_refusals},
	{"provision_recommend", test_provision_recommend},
	{"provision_fstab", test_provision_fstab},
	{"provision_refusals", test_provision_refusals},
	{"copy_tree", test_copy_tree},
	{NULL, NULL},
};
