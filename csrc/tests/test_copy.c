/* The tree copier and verifier on plain directories in /tmp (no devices needed): files,
 * a sparse file, a hard link, symlinks, a fifo, odd names; then a difference is found. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "eos/core/copy.h"
#include "eos/core/spawn.h"

static void put(const char *dir, const char *name, const char *data)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd >= 0) {
		if (write(fd, data, strlen(data)) < 0)
			perror("write");
		close(fd);
	}
}

static void rm_rf(const char *dir)
{
	struct eos_run run = EOS_RUN_INIT;
	struct eos_err e;
	const char *argv[] = {"rm", "-rf", dir, NULL};
	CHECK(eos_spawn_ok(argv, &run, &e) == 0);
	eos_run_free(&run);
}

void test_copy_tree(void)
{
	struct eos_err e;
	struct eos_copy_stats st;
	char base[] = "/tmp/eos-copy-XXXXXX", src[128], dst[128], p[256], q[256];
	CHECK(mkdtemp(base) != NULL);
	snprintf(src, sizeof(src), "%s/src", base);
	snprintf(dst, sizeof(dst), "%s/dst", base);
	mkdir(src, 0755);
	mkdir(dst, 0700);
	snprintf(p, sizeof(p), "%s/sub dir", src);
	mkdir(p, 0750);
	put(src, "a", "alpha\n");
	put(src, "new\nline", "odd name\n");
	put(src, "sub dir/b", "beta\n");
	snprintf(p, sizeof(p), "%s/a", src);
	snprintf(q, sizeof(q), "%s/sub dir/hard", src);
	CHECK(link(p, q) == 0);
	snprintf(q, sizeof(q), "%s/link", src);
	CHECK(symlink("sub dir/b", q) == 0);
	snprintf(q, sizeof(q), "%s/fifo", src);
	CHECK(mkfifo(q, 0600) == 0);
	snprintf(q, sizeof(q), "%s/sparse", src);
	int fd = open(q, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 8 << 20) == 0 && pwrite(fd, "x", 1, 4 << 20) == 1);
	close(fd);

	CHECK(eos_copy_tree(src, dst, &st, &e) == 0);
	CHECK(st.files == 4 && st.hardlinks == 1 && st.symlinks == 1 && st.specials == 1 && st.dirs == 2);
	CHECK(st.bytes == 6 + 9 + 5 + (8 << 20) && st.data_bytes < (8 << 20));
	struct stat s1, s2;
	snprintf(p, sizeof(p), "%s/a", dst);
	snprintf(q, sizeof(q), "%s/sub dir/hard", dst);
	CHECK(stat(p, &s1) == 0 && stat(q, &s2) == 0 && s1.st_ino == s2.st_ino && s1.st_nlink == 2);
	snprintf(q, sizeof(q), "%s/sparse", dst);
	CHECK(stat(q, &s2) == 0 && s2.st_size == 8 << 20 && s2.st_blocks * 512 < (1 << 20));
	CHECK(eos_copy_verify(src, dst, &st, &e) == 0 && st.files == 4 && st.hardlinks == 1);

	/* A second copy into a non-empty directory is refused. */
	CHECK(eos_copy_tree(src, dst, &st, &e) == -ENOTEMPTY);

	/* Differences are found and named. */
	put(dst, "sub dir/b", "BETA\n");
	snprintf(p, sizeof(p), "%s/sub dir/b", src);
	snprintf(q, sizeof(q), "%s/sub dir/b", dst);
	CHECK(stat(p, &s1) == 0);
	struct timespec ts[2] = {s1.st_atim, s1.st_mtim};
	utimensat(AT_FDCWD, q, ts, 0);
	CHECK(eos_copy_verify(src, dst, &st, &e) == -EIO && strstr(e.msg, "sub dir/b") && strstr(e.msg, "contents"));
	put(dst, "extra", "x");
	CHECK(eos_copy_verify(src, dst, &st, &e) == -EIO && strstr(e.msg, "entries"));
	CHECK(eos_copy_verify("/nonexistent-eos", dst, &st, &e) == -ENOENT);
	rm_rf(base);
}
