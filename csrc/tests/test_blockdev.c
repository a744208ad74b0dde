#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "check.h"
#include "eos/drivers/blockdev.h"
#include "eos/core/spawn.h"

static char root[64];

static void put(const char *rel, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	/* mkdir -p of the parent */
	for (char *s = strchr(p + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	if (!text) {
		mkdir(p, 0755);
		return;
	}
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void link_to(const char *target, const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	CHECK(symlink(target, p) == 0);
}

static void rm_rf(const char *dir)
{
	const char *argv[] = {"rm", "-rf", dir, NULL};
	struct eos_run run = EOS_RUN_INIT;
	struct eos_err e;
	CHECK(eos_spawn_ok(argv, &run, &e) == 0);
	eos_run_free(&run);
}

/* A crafted sysfs: a rotational disk with two partitions (one held by a dm device), an
 * attached loop device, a detached one, and a dm device on the partition. */
static void craft(void)
{
	put("devices/pci/block/sda/dev", "8:0\n");
	put("devices/pci/block/sda/size", "2097152\n");
	put("devices/pci/block/sda/ro", "0\n");
	put("devices/pci/block/sda/removable", "1\n");
	put("devices/pci/block/sda/queue/rotational", "1\n");
	put("devices/pci/block/sda/holders", NULL);
	put("devices/pci/block/sda/slaves", NULL);
	put("devices/pci/block/sda/sda1/dev", "8:1\n");
	put("devices/pci/block/sda/sda1/size", "2048\n");
	put("devices/pci/block/sda/sda1/ro", "0\n");
	put("devices/pci/block/sda/sda1/partition", "1\n");
	put("devices/pci/block/sda/sda1/holders/dm-0", "");
	put("devices/pci/block/sda/sda1/slaves", NULL);
	put("devices/pci/block/sda/sda10/dev", "8:10\n");
	put("devices/pci/block/sda/sda10/size", "8\n");
	put("devices/pci/block/sda/sda10/ro", "1\n");
	put("devices/pci/block/sda/sda10/partition", "10\n");
	put("devices/virtual/block/loop0/dev", "7:0\n");
	put("devices/virtual/block/loop0/size", "131072\n");
	put("devices/virtual/block/loop0/ro", "0\n");
	put("devices/virtual/block/loop0/removable", "0\n");
	put("devices/virtual/block/loop0/queue/rotational", "0\n");
	put("devices/virtual/block/loop0/loop/backing_file", "/tmp/a dir/img\n");
	put("devices/virtual/block/loop1/dev", "7:1\n");
	put("devices/virtual/block/loop1/size", "0\n");
	put("devices/virtual/block/dm-0/dev", "254:0\n");
	put("devices/virtual/block/dm-0/size", "2048\n");
	put("devices/virtual/block/dm-0/dm/name", "vg-lv\n");
	put("devices/virtual/block/dm-0/slaves/sda1", "");
	put("devices/virtual/block/cciss!c0d0/dev", "104:0\n");
	put("devices/virtual/block/cciss!c0d0/size", "16\n");
	put("class/block/notadevice/x", "");
	link_to("../../devices/pci/block/sda", "class/block/sda");
	link_to("../../devices/pci/block/sda/sda1", "class/block/sda1");
	link_to("../../devices/pci/block/sda/sda10", "class/block/sda10");
	link_to("../../devices/virtual/block/loop0", "class/block/loop0");
	link_to("../../devices/virtual/block/loop1", "class/block/loop1");
	link_to("../../devices/virtual/block/dm-0", "class/block/dm-0");
	link_to("../../devices/virtual/block/cciss!c0d0", "class/block/cciss!c0d0");
	link_to("../../devices/virtual/block/gone", "class/block/gone");  /* vanished device */
}

static void test_crafted(void)
{
	struct eos_err e;
	struct eos_blockdev_list l;
	char dir[128];
	snprintf(root, sizeof(root), "/tmp/eos-blockdev-XXXXXX");
	CHECK(mkdtemp(root) != NULL);
	craft();
	/* More holders than one getdents64 buffer (8 KiB) holds: the listing goes on reading. */
	for (int i = 0; i < 400; i++) {
		char rel[160];
		snprintf(rel, sizeof(rel), "devices/virtual/block/loop0/holders/holder-with-a-long-name-%03d", i);
		put(rel, "");
	}
	snprintf(dir, sizeof(dir), "%s/class/block", root);
	int n = eos_blockdev_scan(dir, &l, &e);
	CHECK(n == 7);
	if (n != 7)
		goto out;
	/* sorted by version order: cciss!c0d0 dm-0 loop0 loop1 sda sda1 sda10 */
	CHECK(strcmp(l.v[0].name, "cciss!c0d0") == 0 && strcmp(l.v[0].path, "/dev/cciss/c0d0") == 0);
	const struct eos_blockdev *sda = eos_blockdev_find(&l, "sda");
	CHECK(sda && strcmp(sda->kind, "disk") == 0 && sda->size == 2097152ULL * 512);
	CHECK(sda && sda->rotational == 1 && sda->removable == 1 && sda->read_only == 0);
	CHECK(sda && sda->major == 8 && sda->minor == 0 && sda->partition == 0 && !sda->parent);
	const struct eos_blockdev *p1 = eos_blockdev_find(&l, "sda1");
	CHECK(p1 && strcmp(p1->kind, "partition") == 0 && p1->partition == 1);
	CHECK(p1 && p1->parent && strcmp(p1->parent, "sda") == 0);
	CHECK(p1 && p1->rotational == 1 && p1->removable == 1);  /* inherited from sda */
	CHECK(p1 && p1->n_holders == 1 && strcmp(p1->holders[0], "dm-0") == 0 && p1->n_slaves == 0);
	const struct eos_blockdev *p10 = eos_blockdev_find_devno(&l, 8, 10);
	CHECK(p10 && p10->partition == 10 && p10->read_only == 1 && p10->size == 4096);
	CHECK(strcmp(l.v[5].name, "sda1") == 0 && strcmp(l.v[6].name, "sda10") == 0);
	const struct eos_blockdev *lo = eos_blockdev_find(&l, "loop0");
	CHECK(lo && strcmp(lo->kind, "loop") == 0 && lo->backing_file &&
	      strcmp(lo->backing_file, "/tmp/a dir/img") == 0 && lo->rotational == 0);
	CHECK(lo && lo->n_holders == 400 && lo->n_slaves == 0);
	for (size_t i = 0; lo && i < lo->n_holders; i++) {
		char want[64];
		snprintf(want, sizeof(want), "holder-with-a-long-name-%03zu", i);
		CHECK(strcmp(lo->holders[i], want) == 0);
	}
	const struct eos_blockdev *lo1 = eos_blockdev_find(&l, "loop1");
	CHECK(lo1 && lo1->size == 0 && lo1->backing_file == NULL);
	const struct eos_blockdev *dm = eos_blockdev_find(&l, "dm-0");
	CHECK(dm && strcmp(dm->kind, "dm") == 0 && dm->dm_name && strcmp(dm->dm_name, "vg-lv") == 0);
	CHECK(dm && dm->n_slaves == 1 && strcmp(dm->slaves[0], "sda1") == 0);
	CHECK(eos_blockdev_find(&l, "gone") == NULL && eos_blockdev_find(&l, "notadevice") == NULL);
	eos_blockdev_list_free(&l);
out:
	rm_rf(root);
}

/* The real /sys/class/block: every device's major:minor matches its /dev node. */
static void test_real(void)
{
	struct eos_err e;
	struct eos_blockdev_list l;
	int n = eos_blockdev_scan(NULL, &l, &e);
	CHECK(n > 0);
	for (int i = 0; i < n; i++) {
		struct stat st;
		if (stat(l.v[i].path, &st) == 0 && S_ISBLK(st.st_mode)) {
			CHECK(major(st.st_rdev) == l.v[i].major && minor(st.st_rdev) == l.v[i].minor);
		}
	}
	eos_blockdev_list_free(&l);
	CHECK(eos_blockdev_scan("/nonexistent-eos/class/block", &l, &e) == -ENOENT);
	CHECK(strcmp(e.path, "/nonexistent-eos/class/block") == 0 && strstr(e.msg, "open") != NULL);
}

void test_blockdev(void)
{
	test_crafted();
	test_real();
}
