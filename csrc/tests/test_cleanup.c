#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "eos/ops/cleanup.h"

void test_cleanup(void)
{
	struct eos_err e;
	eos_err_clear(&e);
	struct eos_cleanup_rule bad[] = {
		{"/", NULL, 7, 1}, {"/usr", NULL, 7, 1}, {"/tmp/../etc", NULL, 7, 1}, {"tmp", NULL, 7, 1},
		{"/tmp", NULL, 0, 1}, {"/tmp", "", 0, 1}, {"/usr/lib", "*", 0, 1},
		{"/home/alice", "*", 0, 1}, {"/lib64/x", NULL, 7, 1}, {"//etc//", NULL, 7, 1},
		{"/var/lib/dpkg/..", NULL, 7, 1}, {"/tmp/./../var/lib/apt", NULL, 7, 1}, {"", NULL, 7, 1},
		{"/srv/data", "*.log", 1, 1}, {"/var", NULL, 7, 1}, {"/../../..", "*", 7, 1},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(eos_cleanup_check(&bad[i], 1, NULL, &e) == -EINVAL);
		CHECK(strstr(e.msg, bad[i].path) != NULL);
	}
	char dir[] = "/tmp/eos-cleanup-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char old[128], fresh[128], link[128];
	snprintf(old, sizeof(old), "%s/old.log", dir);
	snprintf(fresh, sizeof(fresh), "%s/new.log", dir);
	snprintf(link, sizeof(link), "%s/link.log", dir);
	int fd = open(old, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1);
	close(fd);
	fd = open(fresh, O_WRONLY | O_CREAT, 0600);
	close(fd);
	CHECK(symlink(old, link) == 0);
	struct timespec ts[2] = {{time(NULL) - 20 * 86400, 0}, {time(NULL) - 20 * 86400, 0}};
	CHECK(utimensat(AT_FDCWD, old, ts, 0) == 0);
	CHECK(utimensat(AT_FDCWD, link, ts, AT_SYMLINK_NOFOLLOW) == 0);
	struct eos_cleanup_rule r[] = {{dir, "*.log", 7, 0}, {dir, "old*", 0, 0}};
	struct eos_cleanup_plan p;
	CHECK(eos_cleanup_plan(r, 2, NULL, time(NULL), &p, &e) == 0);
	CHECK(p.n == 1 && p.n == 1 && strcmp(p.v[0].path, old) == 0 && p.skipped_symlinks == 2);
	struct eos_cleanup_result res;
	CHECK(eos_cleanup_apply(p.v, p.n, &res, &e) == 0 && res.removed == 1);
	CHECK(eos_cleanup_apply(p.v, p.n, &res, &e) == 0 && res.removed == 0 && res.missing == 1);
	eos_cleanup_plan_free(&p);
	/* Compression: a planned log becomes log.gz; a second run finds it missing. */
	char log[128], gz[160];
	snprintf(log, sizeof(log), "%s/app.log.1", dir);
	snprintf(gz, sizeof(gz), "%s.gz", log);
	fd = open(log, O_WRONLY | O_CREAT, 0640);
	for (int i = 0; i < 1000; i++)
		CHECK(write(fd, "a log line\n", 11) == 11);
	close(fd);
	CHECK(utimensat(AT_FDCWD, log, ts, 0) == 0);
	struct eos_cleanup_rule lr[] = {{dir, "*.[0-9]", 7, 0}};
	CHECK(eos_cleanup_plan(lr, 1, NULL, time(NULL), &p, &e) == 0 && p.n == 1);
	struct eos_compress_result cr;
	CHECK(eos_compress_apply(p.v, p.n, &cr, &e) == 0 && cr.compressed == 1);
	struct stat gst;
	CHECK(stat(gz, &gst) == 0 && (gst.st_mode & 0777) == 0640 && gst.st_mtime == ts[1].tv_sec);
	CHECK(access(log, F_OK) != 0);
	CHECK(eos_compress_apply(p.v, p.n, &cr, &e) == 0 && cr.compressed == 0 && cr.missing == 1);
	eos_cleanup_plan_free(&p);
	unlink(gz);
	struct eos_cleanup_rule missing[] = {{"/nonexistent/eos/dir", NULL, 1, 1}};
	CHECK(eos_cleanup_plan(missing, 1, NULL, time(NULL), &p, &e) == 0 && p.n == 0);
	unlink(link);
	unlink(fresh);
	CHECK(rmdir(dir) == 0);
}

/* Paths are normalised before the system-tree check; the exception list names exact paths. */
void test_cleanup_guard(void)
{
	struct eos_err e;
	char out[64];
	eos_err_clear(&e);
	const char *norm[][2] = {
		{"/", "/"}, {"//", "/"}, {"/tmp/", "/tmp"}, {"/tmp//x/./y/..", "/tmp/x"},
		{"/..", "/"}, {"/a/b/../../..", "/"}, {"/var/./tmp", "/var/tmp"},
	};
	for (size_t i = 0; i < sizeof(norm) / sizeof(norm[0]); i++) {
		CHECK(eos_cleanup_normalize(norm[i][0], out, sizeof(out)) == 0);
		CHECK(strcmp(out, norm[i][1]) == 0);
	}
	CHECK(eos_cleanup_normalize("tmp", out, sizeof(out)) == -EINVAL);
	CHECK(eos_cleanup_normalize("/0123456789/0123456789/x",
				    out, 16) == -ENAMETOOLONG);
	/* The defaults keep working. */
	struct eos_cleanup_rule good[] = {
		{"/tmp", NULL, 7, 1}, {"/var/tmp/", NULL, 7, 1}, {"/var/cache/apt/archives", "*.deb", 0, 1},
		{"/var/log/journal", "*@*.journal", 7, 1}, {"/var/log", "*.[0-9]", 1, 1},
		{"/library", NULL, 7, 1} /* not /lib*: refused, see below */,
	};
	CHECK(eos_cleanup_check(good, 5, NULL, &e) == 0);
	CHECK(eos_cleanup_check(&good[5], 1, NULL, &e) == -EINVAL);
	/* An exact exception lets one directory through, not its parent nor its children. */
	const char *allow[] = {"/srv/scratch/", NULL};
	struct eos_cleanup_rule srv[] = {{"/srv/scratch", "*.tmp", 0, 1}, {"/srv", "*.tmp", 0, 1},
					 {"/srv/scratch/sub", "*.tmp", 0, 1}, {"/", "*.tmp", 0, 1}};
	CHECK(eos_cleanup_check(&srv[0], 1, allow, &e) == 0);
	CHECK(eos_cleanup_check(&srv[0], 1, NULL, &e) == -EINVAL && strstr(e.msg, "cleanup_allow"));
	CHECK(eos_cleanup_check(&srv[1], 1, allow, &e) == -EINVAL);
	CHECK(eos_cleanup_check(&srv[2], 1, allow, &e) == -EINVAL);
	const char *root[] = {"/", NULL};
	CHECK(eos_cleanup_check(&srv[3], 1, root, &e) == -EINVAL);
	/* A symlink on the way is refused, whatever it points at. */
	char dir[] = "/tmp/eos-guard-XXXXXX", sym[64], file[64], hard[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(sym, sizeof(sym), "%s/etc", dir);
	CHECK(symlink("/etc", sym) == 0);
	struct eos_cleanup_rule via[] = {{sym, "*", 0, 1}};
	CHECK(eos_cleanup_check(via, 1, NULL, &e) == -EINVAL && strstr(e.msg, "symlink"));
	struct eos_cleanup_plan p;
	CHECK(eos_cleanup_plan(via, 1, NULL, time(NULL), &p, &e) == -EINVAL && p.n == 0);
	/* A file with a second hard link is never planned. */
	snprintf(file, sizeof(file), "%s/a.tmp", dir);
	snprintf(hard, sizeof(hard), "%s/b.tmp", dir);
	int fd = open(file, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK(link(file, hard) == 0);
	struct eos_cleanup_rule tmp[] = {{dir, "*.tmp", 0, 1}};
	CHECK(eos_cleanup_plan(tmp, 1, NULL, time(NULL), &p, &e) == 0);
	CHECK(p.n == 0 && p.skipped_links == 2);
	eos_cleanup_plan_free(&p);
	CHECK(unlink(hard) == 0);
	CHECK(eos_cleanup_plan(tmp, 1, NULL, time(NULL), &p, &e) == 0 && p.n == 1);
	/* Hard-linked between plan and apply: left alone. */
	CHECK(link(file, hard) == 0);
	struct eos_cleanup_result res;
	CHECK(eos_cleanup_apply(p.v, p.n, &res, &e) == 0 && res.removed == 0 && res.changed == 1);
	CHECK(access(file, F_OK) == 0);
	eos_cleanup_plan_free(&p);
	unlink(hard);
	unlink(file);
	unlink(sym);
	CHECK(rmdir(dir) == 0);
}
