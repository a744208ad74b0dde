/* expand without devices: the growers' arithmetic, name validation, the ext superblock reader
 * and the refusals of bad input (nothing created, the input quoted). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "eos/ops/expand.h"
#include "eos/drivers/ext4.h"
#include "eos/drivers/loopdev.h"
#include "eos/drivers/lvm/lvm_change.h"
#include "eos/drivers/xfs.h"

void test_expand_arith(void)
{
	struct eos_xfs_geom g = {.blocksize = 4096, .datablocks = 1000, .agblocks = 1000};
	CHECK(eos_xfs_max_blocks(&g, 2030ULL * 4096) == 2000);   /* last AG of 30 < 64: left out */
	CHECK(eos_xfs_max_blocks(&g, 2100ULL * 4096) == 2100);
	CHECK(eos_xfs_max_blocks(&g, 3000ULL * 4096 + 100) == 3000);

	struct eos_loop_info li = {.backing_bytes = 1000000};
	CHECK(eos_loop_capacity_target(&li) == 999936);
	li.offset = 4096;
	CHECK(eos_loop_capacity_target(&li) == (1000000 - 4096) / 512 * 512);
	li.sizelimit = 65536;
	CHECK(eos_loop_capacity_target(&li) == 65536);

	CHECK(eos_lvm_pv_extents_for(1 << 20, 4 << 20, 15, 128 << 20) == 31);
	CHECK(eos_lvm_pv_extents_for(1 << 20, 4 << 20, 15, 64 << 20) == 15);
	CHECK(eos_lvm_pv_extents_for(1 << 20, 4 << 20, 15, 32 << 20) == 15);  /* never fewer */
	CHECK(eos_lvm_pv_extents_for(1 << 20, 0, 15, 128 << 20) == 15);       /* no VG: no extents */
}

void test_expand_names(void)
{
	const char *good[] = {"vg0", "data", "my-lv_1.x+", "a", NULL};
	const char *bad[] = {"", "-x", "lv1; rm -rf /", "a b", "$(reboot)", "a/b", ".", "..",
			     "x`id`", "\xc3\xa9", NULL};
	for (int i = 0; good[i]; i++)
		CHECK(eos_lvm_name_valid(good[i]) == 1);
	for (int i = 0; bad[i]; i++)
		CHECK(eos_lvm_name_valid(bad[i]) == 0);
	char longname[200];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(eos_lvm_name_valid(longname) == 0);
	char why[300] = "";
	int dm = eos_lvm_dm_available(why, sizeof(why));
	CHECK(dm == 1 || (dm == 0 && strstr(why, "device-mapper") != NULL));
	struct eos_err e;
	int can = eos_ext4_can_grow_online(why, sizeof(why), &e);
	CHECK(can == 1 || (can == 0 && strstr(why, "CAP_SYS_RESOURCE") != NULL));
}

void test_expand_ext_sb(void)
{
	char path[] = "/tmp/eos-test-extsb-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	unsigned char img[2048];
	memset(img, 0, sizeof(img));
	unsigned char *sb = img + 1024;
	sb[56] = 0x53; sb[57] = 0xEF;              /* magic */
	sb[24] = 2;                                 /* 4096-byte blocks */
	sb[4] = 0x39; sb[5] = 0x30;                 /* 12345 blocks */
	sb[32] = 0x00; sb[33] = 0x80;               /* 32768 blocks per group */
	CHECK(write(fd, img, sizeof(img)) == (ssize_t)sizeof(img));
	struct eos_ext4_sb s;
	struct eos_err e;
	CHECK(eos_ext4_read_sb(path, &s, &e) == 0);
	CHECK(s.blocksize == 4096 && s.blocks == 12345 && s.blocks_per_group == 32768);
	sb[96] = 0x80;                              /* 64bit: blocks_count_hi counts */
	sb[0x150] = 1;
	CHECK(pwrite(fd, img, sizeof(img), 0) == (ssize_t)sizeof(img));
	CHECK(eos_ext4_read_sb(path, &s, &e) == 0 && s.blocks == 12345 + (1ULL << 32));
	sb[56] = 0;
	CHECK(pwrite(fd, img, sizeof(img), 0) == (ssize_t)sizeof(img));
	CHECK(eos_ext4_read_sb(path, &s, &e) == -EINVAL && strstr(e.msg, path) != NULL);
	close(fd);
	unlink(path);
}

static int expand_fails(const char *target, const char *size, int code, const char *words,
			const char *state_dir)
{
	struct eos_expand_opts o = {.target = target, .size = size, .state_dir = state_dir,
				    .warn_pct = 60, .margin_pct = 5};
	struct eos_expand_plan p;
	struct eos_err e;
	eos_err_clear(&e);
	int r = eos_expand(&o, &p, &e);
	eos_expand_plan_free(&p);
	const char *quoted = size && r == -EINVAL && strstr(e.msg, "size") ? size : target;
	char q[512];
	snprintf(q, sizeof(q), "'%s'", quoted);
	int ok = r == -code && strstr(e.msg, q) && strstr(e.msg, words);
	if (!ok)
		fprintf(stderr, "expand(%s, %s) = %d: %s\n", target, size ? size : "-", r, e.msg);
	return ok;
}

void test_expand_refusals(void)
{
	char dir[] = "/tmp/eos-test-expand-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char state[300];
	snprintf(state, sizeof(state), "%s/state", dir);
	CHECK(expand_fails("/", "-5G", EINVAL, "never shrinks", state));
	CHECK(expand_fails("/", "0", EINVAL, "zero", state));
	CHECK(expand_fails("/", "lots", EINVAL, "no number", state));
	CHECK(expand_fails("vg0/lv1; rm -rf /", NULL, EINVAL, "expected a mount point", state));
	CHECK(expand_fails("vg0/lv1;reboot", NULL, EINVAL, "LVM names may contain only", state));
	CHECK(expand_fails("garbage", NULL, EINVAL, "unknown target", state));
	CHECK(expand_fails("/no/such/eos/path", NULL, ENOENT, "does not exist", state));
	CHECK(expand_fails(dir, NULL, EINVAL, "is not a mount point", state));
	CHECK(expand_fails("/proc/self/status", NULL, EINVAL, "neither a mount point", state));
	CHECK(expand_fails("/proc", NULL, EINVAL, "to a block device", state));
	struct stat st;
	CHECK(stat(state, &st) == -1 && errno == ENOENT);  /* refusals create nothing */
	rmdir(dir);
}
