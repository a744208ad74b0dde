/* The walker on a small tree made here: threads agree, hard links once, symlinks not
 * followed, sorted and limited lists, clear errors for a bad root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "eos/ops/walk.h"

static void put(const char *dir, const char *name, size_t size)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	char buf[4096];
	memset(buf, 'x', sizeof(buf));
	while (size > 0) {
		size_t n = size < sizeof(buf) ? size : sizeof(buf);
		CHECK(write(fd, buf, n) == (ssize_t)n);
		size -= n;
	}
	close(fd);
}

static uint64_t blocks_of(const char *dir, const char *name)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	CHECK(lstat(p, &st) == 0);
	return (uint64_t)st.st_blocks * 512;
}

static void rm_tree(const char *dir)
{
	char *argv[] = {"rm", "-rf", (char *)dir, NULL};
	pid_t pid = fork();
	if (pid == 0) {
		execvp("rm", argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
}

void test_walk(void)
{
	char root[] = "/tmp/eos-test-walk-XXXXXX";
	CHECK(mkdtemp(root) != NULL);
	char p[512];
	snprintf(p, sizeof(p), "%s/a", root);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/a/deep", root);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/b", root);
	CHECK(mkdir(p, 0755) == 0);
	put(root, "a/big", 300000);
	put(root, "a/deep/mid", 100000);
	put(root, "b/small", 5000);
	char t1[512], t2[512];
	snprintf(t1, sizeof(t1), "%s/a/big", root);
	snprintf(t2, sizeof(t2), "%s/a/biglink", root);
	CHECK(link(t1, t2) == 0);
	snprintf(t2, sizeof(t2), "%s/b/loop", root);
	CHECK(symlink("..", t2) == 0);

	uint64_t expect = blocks_of(root, ".") + blocks_of(root, "a") + blocks_of(root, "a/deep") +
			  blocks_of(root, "b") + blocks_of(root, "a/big") + blocks_of(root, "a/deep/mid") +
			  blocks_of(root, "b/small") + blocks_of(root, "b/loop");

	struct eos_walk_result r1, r2;
	struct eos_err e;
	struct eos_walk_opts o = {.depth = 1, .limit = 2, .threads = 1};
	CHECK(eos_walk_top_consumers(root, &o, &r1, &e) == 0);
	o.threads = 2;
	CHECK(eos_walk_top_consumers(root, &o, &r2, &e) == 0);
	CHECK(r1.bytes == expect);
	CHECK(r2.bytes == expect);
	CHECK(r1.files == 4 && r2.files == 4);   /* big (once), mid, small, loop */
	CHECK(r1.dirs == 4 && r2.dirs == 4);
	CHECK(r1.n_top_dirs == 2 && r2.n_top_dirs == 2);
	CHECK(r1.n_errors == 0 && r1.errors_total == 0);
	if (r1.n_top_dirs == 2) {
		CHECK(strcmp(r1.top_dirs[0].path, root) == 0 && r1.top_dirs[0].depth == 0);
		CHECK(r1.top_dirs[0].bytes == expect);
		snprintf(p, sizeof(p), "%s/a", root);
		CHECK(strcmp(r1.top_dirs[1].path, p) == 0 && r1.top_dirs[1].depth == 1);
	}
	CHECK(r1.n_top_files == 2);
	if (r1.n_top_files == 2) {
		CHECK(strstr(r1.top_files[0].path, "/a/big") != NULL);
		CHECK(r1.top_files[0].apparent == 300000);
		CHECK(r1.top_files[1].apparent == 100000);
		CHECK(r1.top_files[0].bytes >= r1.top_files[1].bytes);
	}
	eos_walk_result_free(&r1);
	eos_walk_result_free(&r2);

	/* limit 0: totals only. */
	o.limit = 0;
	CHECK(eos_walk_top_consumers(root, &o, &r1, &e) == 0);
	CHECK(r1.bytes == expect && r1.n_top_dirs == 0 && r1.n_top_files == 0);
	eos_walk_result_free(&r1);

	/* A bad root: missing, a file, a symlink. */
	snprintf(p, sizeof(p), "%s/missing", root);
	CHECK(eos_walk_top_consumers(p, &o, &r1, &e) == -ENOENT);
	CHECK(strcmp(e.path, p) == 0);
	snprintf(p, sizeof(p), "%s/b/small", root);
	CHECK(eos_walk_top_consumers(p, &o, &r1, &e) == -ENOTDIR);
	CHECK(strstr(e.msg, "not a directory") != NULL);
	snprintf(p, sizeof(p), "%s/b/loop/", root);
	CHECK(eos_walk_top_consumers(p, &o, &r1, &e) == -ELOOP);
	CHECK(strstr(e.msg, "symbolic link") != NULL);
	CHECK(eos_walk_top_consumers("", &o, &r1, &e) == -EINVAL);

	rm_tree(root);
}
