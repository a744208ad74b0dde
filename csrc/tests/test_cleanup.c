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
		{"/tmp/", NULL, 7, 1}, {"/tmp", NULL, 0, 1}, {"/tmp", "", 0, 1},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(eos_cleanup_check(&bad[i], 1, &e) == -EINVAL);
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
	CHECK(eos_cleanup_plan(r, 2, time(NULL), &p, &e) == 0);
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
	CHECK(eos_cleanup_plan(lr, 1, time(NULL), &p, &e) == 0 && p.n == 1);
	struct eos_compress_result cr;
	CHECK(eos_compress_apply(p.v, p.n, &cr, &e) == 0 && cr.compressed == 1);
	struct stat gst;
	CHECK(stat(gz, &gst) == 0 && (gst.st_mode & 0777) == 0640 && gst.st_mtime == ts[1].tv_sec);
	CHECK(access(log, F_OK) != 0);
	CHECK(eos_compress_apply(p.v, p.n, &cr, &e) == 0 && cr.compressed == 0 && cr.missing == 1);
	eos_cleanup_plan_free(&p);
	unlink(gz);
	struct eos_cleanup_rule missing[] = {{"/nonexistent/eos/dir", NULL, 1, 1}};
	CHECK(eos_cleanup_plan(missing, 1, time(NULL), &p, &e) == 0 && p.n == 0);
	unlink(link);
	unlink(fresh);
	CHECK(rmdir(dir) == 0);
}
