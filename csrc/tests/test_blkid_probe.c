#include <errno.h>
#include <fcntl.h>
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
	for (char *line = strtok_r(run.out.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
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
