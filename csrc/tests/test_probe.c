#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "eos/ops/probe.h"
#include "eos/core/spawn.h"

static char root[64];

static void put(const char *rel, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
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

static void test_btrfs_sysfs(void)
{
	struct eos_err e;
	struct eos_btrfs_fs_list l;
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/btrfs", root);
	CHECK(eos_btrfs_sysfs_scan(dir, &l, &e) == 1);
	if (l.n == 1) {
		CHECK(strcmp(l.v[0].uuid, "0f3c6d8e-1111-2222-3333-444455556666") == 0);
		CHECK(strcmp(l.v[0].label, "my label") == 0 && l.v[0].nodesize == 16384 && l.v[0].sectorsize == 4096);
		CHECK(l.v[0].n_devices == 2 && strcmp(l.v[0].devices[0], "loop2") == 0 &&
		      strcmp(l.v[0].devices[1], "loop10") == 0);
	}
	eos_btrfs_fs_list_free(&l);
	snprintf(dir, sizeof(dir), "%s/no-btrfs-here", root);
	CHECK(eos_btrfs_sysfs_scan(dir, &l, &e) == 0 && l.n == 0);
	CHECK(eos_btrfs_sysfs_scan(NULL, &l, &e) >= 0);
	eos_btrfs_fs_list_free(&l);
}

static void test_collect(void)
{
	struct eos_err e;
	struct eos_probe p;
	struct eos_probe_opts o = EOS_PROBE_OPTS_INIT;
	char cls[128], mi[128], bt[128];
	snprintf(cls, sizeof(cls), "%s/class", root);
	snprintf(mi, sizeof(mi), "%s/mountinfo", root);
	snprintf(bt, sizeof(bt), "%s/btrfs", root);
	o.classdir = cls;
	o.mountinfo = mi;
	o.btrfsdir = bt;
	o.blkid = 0;
	o.lvm = EOS_PROBE_LVM_NEVER;
	CHECK(eos_probe_collect(&o, &p, &e) == 0);
	CHECK(p.devs.n == 4 && p.mounts.n == 5 && p.btrfs.n == 1 && !p.lvm_ran);
	if (p.devs.n == 4 && p.mounts.n == 5) {
		/* FUSE with a /dev source: usage, but not this node's storage. */
		CHECK(p.has_usage[4] && !eos_probe_mount_is_storage(&p, 4));
		/* loop0 by major:minor, loop1 by source path, loop2 as a btrfs member, loop3 not. */
		CHECK(eos_probe_dev_mounted(&p, 0) && eos_probe_dev_mounted(&p, 1));
		CHECK(eos_probe_dev_mounted(&p, 2) && !eos_probe_dev_mounted(&p, 3));
		/* Not probed: never called unused. */
		CHECK(!eos_probe_dev_unused(&p, 3));
		CHECK(p.has_usage[0] && !p.has_usage[1] && p.shadowed[1] && !p.has_usage[2] && p.has_usage[3]);
		CHECK(eos_probe_mount_is_storage(&p, 0) && !eos_probe_mount_is_storage(&p, 2));
		CHECK(!eos_probe_mount_is_storage(&p, 3));  /* 7:0 again: counted at its first mount */
		uint64_t total, avail;
		eos_probe_totals(&p, &total, &avail);
		CHECK(total == p.usage[0].size && avail == p.usage[0].avail);
	}
	eos_probe_free(&p);

	/* A missing mountinfo fails the whole probe, naming it; nothing leaks. */
	snprintf(mi, sizeof(mi), "%s/missing", root);
	CHECK(eos_probe_collect(&o, &p, &e) == -ENOENT && strcmp(e.path, mi) == 0);

	/* The real machine, with signatures, LVM never. */
	struct eos_probe_opts real = EOS_PROBE_OPTS_INIT;
	real.lvm = EOS_PROBE_LVM_NEVER;
	CHECK(eos_probe_collect(&real, &p, &e) == 0 && p.devs.n > 0 && p.mounts.n > 0);
	CHECK(p.lvm_skipped && strcmp(p.lvm_skipped, "not requested") == 0);
	eos_probe_free(&p);
}

void test_probe(void)
{
	snprintf(root, sizeof(root), "/tmp/eos-probe-XXXXXX");
	CHECK(mkdtemp(root) != NULL);
	put("btrfs/features/raid1", "");
	put("btrfs/0f3c6d8e-1111-2222-3333-444455556666/label", "my label\n");
	put("btrfs/0f3c6d8e-1111-2222-3333-444455556666/nodesize", "16384\n");
	put("btrfs/0f3c6d8e-1111-2222-3333-444455556666/sectorsize", "4096\n");
	put("btrfs/0f3c6d8e-1111-2222-3333-444455556666/devices/loop10", "");
	put("btrfs/0f3c6d8e-1111-2222-3333-444455556666/devices/loop2", "");
	for (int i = 0; i < 4; i++) {
		char rel[64], v[16];
		snprintf(rel, sizeof(rel), "class/loop%d/dev", i);
		snprintf(v, sizeof(v), "7:%d\n", i);
		put(rel, v);
		snprintf(rel, sizeof(rel), "class/loop%d/size", i);
		put(rel, "2048\n");
	}
	put("mountinfo",
	    "1 0 7:0 / / rw - ext4 /dev/loop0 rw\n"
	    "2 1 0:55 / /tmp rw - btrfs /dev/loop1 rw\n"
	    "3 1 0:22 / /proc rw - proc proc rw\n"
	    "4 2 7:0 / /tmp rw - ext4 /dev/loop0 rw\n"
	    "5 1 0:60 / /dev rw - fuse /dev/fuse rw\n");
	test_btrfs_sysfs();
	test_collect();
	const char *rm[] = {"rm", "-rf", root, NULL};
	struct eos_run run = EOS_RUN_INIT;
	struct eos_err e;
	CHECK(eos_spawn_ok(rm, &run, &e) == 0);
	eos_run_free(&run);
}
