#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "eos/drivers/blkid_probe.h"
#include "eos/core/spawn.h"

static int run_ok(const char *const argv[])
{
	struct eos_run run = EOS_RUN_INIT;
	struct eos_err e;
	int r = eos_spawn_ok(argv, &run, &e);
	if (r)
		fprintf(stderr, "%s\n", e.msg);
	eos_run_free(&run);
	return r;
}

/* Every NAME=value line of `blkid -p -o export path` (but DEVNAME) must be in res, in order,
 * and nothing else. Values here have no characters blkid escapes. */
static void same_as_blkid(const char *path, const struct eos_blkid_result *res)
{
	const char *argv[] = {"blkid", "-p", "-o", "export", path, NULL};
	struct eos_run run = EOS_RUN_INIT;
	struct eos_err e;
	CHECK(eos_spawn(argv, &run, &e) == 0);
	size_t i = 0;
	char *save = NULL;
	/* Nothing found: blkid prints nothing (no output buffer at all). */
	char *first = run.out.data ? strtok_r(run.out.data, "\n", &save) : NULL;
	for (char *line = first; line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "DEVNAME=", 8) == 0)
			continue;
		char *eq = strchr(line, '=');
		CHECK(eq != NULL && i < res->n);
		if (!eq || i >= res->n)
			break;
		*eq = '\0';
		CHECK(strcmp(res->tags[i].name, line) == 0);
		CHECK(strcmp(res->tags[i].value, eq + 1) == 0);
		i++;
	}
	CHECK(i == res->n);
	eos_run_free(&run);
}

static char *image(const char *dir, const char *name, off_t size)
{
	char *p = malloc(256);
	snprintf(p, 256, "%s/%s", dir, name);
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, size) == 0);
	close(fd);
	return p;
}

/* An image of size bytes with n ZFS uberblock magics (native or byte-swapped) at 1 KiB steps
 * in the uberblock half of the label at label_off; the rest zeros. */
static char *zfs_image(const char *dir, const char *name, off_t size, off_t label_off, int n, int swapped)
{
	char *p = image(dir, name, size);
	int fd = open(p, O_WRONLY);
	uint64_t magic = swapped ? __builtin_bswap64(0x00bab10cULL) : 0x00bab10cULL;
	for (int i = 0; fd >= 0 && i < n; i++)
		CHECK(pwrite(fd, &magic, sizeof(magic), label_off + (128 << 10) + i * 1024) == sizeof(magic));
	close(fd);
	return p;
}

/* eos skips libblkid's ZFS prober only where it finds no uberblock magic: what it reports must
 * stay what blkid -p reports, with ZFS found (4 uberblocks) in the first, second or last label
 * (byte-swapped there) and not found (3). 64 MiB: the prober's smallest device. */
static void zfs_cases(const char *dir)
{
	struct eos_err e;
	struct eos_blkid_result res;
	const off_t size = 64 << 20, end3 = size - (256 << 10);
	struct {
		const char *name;
		off_t size, label;
		int n, swapped;
		int zfs;
	} cases[] = {
		{"zfs4.img", size, 0, 4, 0, 1},
		{"zfs3.img", size, 0, 3, 0, 0},
		{"zfsend.img", size, end3, 4, 1, 1},
		{"zfsl1.img", size, 256 << 10, 4, 0, 1},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *p = zfs_image(dir, cases[k].name, cases[k].size, cases[k].label, cases[k].n,
				    cases[k].swapped);
		CHECK(eos_blkid_probe(p, &res, &e) == 0);
		const char *t = eos_blkid_get(&res, "TYPE");
		CHECK(cases[k].zfs ? (t && strcmp(t, "zfs_member") == 0) : t == NULL);
		same_as_blkid(p, &res);
		eos_blkid_result_free(&res);
		free(p);
	}
}

void test_blkid_probe(void)
{
	struct eos_err e;
	struct eos_blkid_result res;
	char dir[] = "/tmp/eos-blkid-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);

	char *zero = image(dir, "zero.img", 4 << 20);
	CHECK(eos_blkid_probe(zero, &res, &e) == 0 && res.status == EOS_BLKID_NOTHING && res.n == 0);
	eos_blkid_result_free(&res);

	char *ext = image(dir, "ext4.img", 16 << 20);
	const char *mkext[] = {"mkfs.ext4", "-q", "-F", "-L", "eos-ext", ext, NULL};
	if (run_ok(mkext) == 0) {
		CHECK(eos_blkid_probe(ext, &res, &e) == 0 && res.status == EOS_BLKID_FOUND);
		CHECK(eos_blkid_get(&res, "TYPE") && strcmp(eos_blkid_get(&res, "TYPE"), "ext4") == 0);
		CHECK(eos_blkid_get(&res, "LABEL") && strcmp(eos_blkid_get(&res, "LABEL"), "eos-ext") == 0);
		CHECK(eos_blkid_get(&res, "USAGE") && strcmp(eos_blkid_get(&res, "USAGE"), "filesystem") == 0);
		CHECK(eos_blkid_get(&res, "UUID") != NULL && res.btrfs_devid == 0);
		same_as_blkid(ext, &res);
		eos_blkid_result_free(&res);
	}

	char *bt = image(dir, "btrfs.img", 128 << 20);
	const char *mkbt[] = {"mkfs.btrfs", "-q", "-f", "-L", "eos-bt", bt, NULL};
	if (run_ok(mkbt) == 0) {
		CHECK(eos_blkid_probe(bt, &res, &e) == 0 && res.status == EOS_BLKID_FOUND);
		CHECK(eos_blkid_get(&res, "TYPE") && strcmp(eos_blkid_get(&res, "TYPE"), "btrfs") == 0);
		CHECK(res.btrfs_devid == 1);
		same_as_blkid(bt, &res);
		eos_blkid_result_free(&res);
	}

	/* A GPT partition table with one partition. */
	char *gpt = image(dir, "gpt.img", 8 << 20);
	const char *mkgpt[] = {"parted", "-s", gpt, "mklabel", "gpt", "mkpart", "eospart", "1MiB", "4MiB", NULL};
	if (run_ok(mkgpt) == 0) {
		CHECK(eos_blkid_probe(gpt, &res, &e) == 0 && res.status == EOS_BLKID_FOUND);
		CHECK(eos_blkid_get(&res, "PTTYPE") && strcmp(eos_blkid_get(&res, "PTTYPE"), "gpt") == 0);
		same_as_blkid(gpt, &res);
		eos_blkid_result_free(&res);
	}

	zfs_cases(dir);

	char missing[128];
	snprintf(missing, sizeof(missing), "%s/no such file", dir);
	CHECK(eos_blkid_probe(missing, &res, &e) == -ENOENT);
	CHECK(strcmp(e.path, missing) == 0 && strstr(e.msg, "open") != NULL);
	CHECK(eos_blkid_probe(dir, &res, &e) < 0 || res.status == EOS_BLKID_NOTHING);
	eos_blkid_result_free(&res);

	const char *rm[] = {"rm", "-rf", dir, NULL};
	CHECK(run_ok(rm) == 0);
	free(zero);
	free(ext);
	free(bt);
	free(gpt);
}
