#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "eos/drivers/ceph/cephfs.h"
#include "eos/drivers/ceph/rados.h"

/* Without a cluster: a missing conf is ENOENT, and an unreachable monitor gives ETIMEDOUT
 * within the timeout instead of a hang. (The real cluster is tested from Python.) */
void test_rados(void)
{
	struct eos_err e;
	struct eos_rados *c = (struct eos_rados *)1;
	struct eos_cephfs *fs = (struct eos_cephfs *)1;
	struct eos_ceph_opts o = {.conf = "/nonexistent-eos/ceph.conf", .timeout_s = 1};
	CHECK(eos_rados_connect(&o, &c, &e) == -ENOENT && c == NULL);
	CHECK(strstr(e.msg, "rados_conf_read_file(/nonexistent-eos/ceph.conf)") != NULL);
	CHECK(eos_cephfs_mount(&o, NULL, &fs, &e) == -ENOENT && fs == NULL);

	char conf[] = "/tmp/eos-test-ceph-XXXXXX";
	int fd = mkstemp(conf);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	/* Port 1 on loopback: nothing listens there. */
	const char text[] = "[global]\nmon host = 127.0.0.1:1\nauth client required = none\n";
	CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	o.conf = conf;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(eos_rados_connect(&o, &c, &e) == -ETIMEDOUT && c == NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 30);
	CHECK(strstr(e.msg, "127.0.0.1:1") != NULL);
	unlink(conf);
}
