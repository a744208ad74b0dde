/* Long inputs get a clear error or a collision-free result, never a silent cut: fstab escapes,
 * mkfs argument slots, the ceph.conf text, and the journal key of expand and convert (with its
 * lock and the adoption of a journal an older version kept elsewhere). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "eos/core/buf.h"
#include "eos/core/fstab.h"
#include "eos/core/journal.h"
#include "eos/ops/ceph_deploy.h"
#include "eos/ops/provision.h"

static char *repeat(char c, size_t n, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	char *s = malloc(pl + n + sl + 1);
	memcpy(s, prefix, pl);
	memset(s + pl, c, n);
	memcpy(s + pl + n, suffix, sl + 1);
	return s;
}

void test_fstab_escape_bounds(void)
{
	struct eos_err e;
	char out[16], dir[] = "/tmp/eos-harden-XXXXXX", path[64];
	CHECK(eos_fstab_escape("/a b", out, sizeof(out)) == 0 && strcmp(out, "/a\\040b") == 0);
	/* 4 escapes need 16 bytes plus the NUL: refused whole, never cut in an escape. */
	CHECK(eos_fstab_escape("    ", out, sizeof(out)) == -ENAMETOOLONG && out[0] == '\0');
	CHECK(eos_fstab_escape("   ", out, sizeof(out)) == 0 && strlen(out) == 12);

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/fstab", dir);
	const char *before = "UUID=a /srv/a xfs defaults 0 0\n";
	FILE *f = fopen(path, "w");
	fputs(before, f);
	fclose(f);
	/* A mount point of 1,100 spaces escapes to 4,400 bytes: refused, the file unchanged. */
	char *target = repeat(' ', 1100, "/srv/", "");
	CHECK(eos_fstab_add(path, "UUID=b", target, "xfs", NULL, 0, NULL, &e) == -ENAMETOOLONG &&
	      strstr(e.msg, "too long for an fstab entry") != NULL);
	struct eos_buf b = EOS_BUF_INIT;
	CHECK(eos_buf_read_file(&b, AT_FDCWD, path) == 0 && b.data && strcmp(b.data, before) == 0);
	/* A spec longer than any we write is never mistaken for a cut one. */
	char *spec = repeat('x', 2000, "UUID=", "");
	f = fopen(path, "a");
	fprintf(f, "%s /srv/long xfs defaults 0 0\n", spec);
	fclose(f);
	char found[64];
	CHECK(eos_fstab_find(path, "/srv/long", found, sizeof(found), &e) == 0 && found[0] == '\0');
	eos_buf_free(&b);
	free(target);
	free(spec);
	unlink(path);
	rmdir(dir);
}

void test_provision_arg_slots(void)
{
	struct eos_err e;
	struct eos_provision_result *res = calloc(1, sizeof(*res));
	char *longdev = repeat('d', sizeof(res->mkfs_argv[0]), "/dev/disk/by-path/", "");
	CHECK(eos_provision_add_arg(res, "mkfs.xfs", &e) == 0 && res->mkfs_argc == 1);
	CHECK(eos_provision_add_arg(res, longdev, &e) == -ENAMETOOLONG && res->mkfs_argc == 1 &&
	      strstr(e.msg, "mkfs argument longer than") != NULL);
	longdev[sizeof(res->mkfs_argv[0])] = '\0';  /* one byte more than the slot holds */
	CHECK(eos_provision_add_arg(res, longdev, &e) == -ENAMETOOLONG);
	longdev[sizeof(res->mkfs_argv[0]) - 1] = '\0';  /* fills it exactly */
	CHECK(eos_provision_add_arg(res, longdev, &e) == 0 && strcmp(res->mkfs_argv[1], longdev) == 0);
	while (res->mkfs_argc < EOS_PROV_MAX_ARGV - 1)
		CHECK(eos_provision_add_arg(res, "-q", &e) == 0);
	CHECK(eos_provision_add_arg(res, "-q", &e) == -E2BIG);
	free(longdev);
	free(res);
}

void test_ceph_conf_long_paths(void)
{
	struct eos_err e;
	char *log_dir = repeat('l', 4500, "/var/log/", "");
	char *run_dir = repeat('r', 4500, "/run/", "");
	struct eos_ceph_bootstrap b = {.conf = "/etc/ceph/ceph.conf", .admin_keyring = "/etc/ceph/k",
				       .mon_id = "a", .public_addr = "v2:10.0.0.1:3300",
				       .run_dir = run_dir, .log_dir = log_dir, .extra = "osd pool default size = 1"};
	struct eos_buf t = EOS_BUF_INIT;
	CHECK(eos_ceph_conf_text(&b, "0d8c6a8e-1b7e-4a4e-9c47-3f0c0c0c0c0c", &t, &e) == 0);
	char want[4600];
	snprintf(want, sizeof(want), "log file = %s/$cluster-$name.log\n", log_dir);
	CHECK(t.data && strstr(t.data, want) != NULL);  /* whole, not cut at a line buffer */
	snprintf(want, sizeof(want), "run dir = %s\n", run_dir);
	CHECK(t.data && strstr(t.data, want) != NULL);
	CHECK(t.data && strstr(t.data, "mon host = [v2:10.0.0.1:3300]\n") != NULL);
	CHECK(t.data && strstr(t.data, "osd pool default size = 1\n\n[client]\nkeyring = /etc/ceph/k\n"));
	CHECK(t.data && strlen(t.data) == t.len);
	eos_buf_free(&t);
	free(log_dir);
	free(run_dir);
}

void test_journal_key_and_lock(void)
{
	struct eos_err e;
	char k1[EOS_JOURNAL_KEY_MAX], k2[EOS_JOURNAL_KEY_MAX], k3[EOS_JOURNAL_KEY_MAX];
	/* Two long paths that share their first 3,000 bytes never share a journal. */
	char *a = repeat('p', 3000, "/srv/", "/one"), *b = repeat('p', 3000, "/srv/", "/two");
	eos_journal_key(a, k1);
	eos_journal_key(b, k2);
	CHECK(strcmp(k1, k2) != 0 && strlen(k1) < EOS_JOURNAL_KEY_MAX && strncmp(k1, "srv_ppp", 7) == 0);
	/* Names that escape alike ("/a/b" and "/a_b") do not collide either. */
	eos_journal_key("/a/b", k1);
	eos_journal_key("/a_b", k2);
	eos_journal_key("/a/b", k3);
	CHECK(strcmp(k1, k2) != 0 && strcmp(k1, k3) == 0 && strncmp(k1, "a_b-", 4) == 0);

	char dir[] = "/tmp/eos-journal-XXXXXX", legacy[128];
	CHECK(mkdtemp(dir) != NULL);
	struct eos_journal j1, j2;
	CHECK(eos_journal_init(&j1, dir, "convert", a, 0, &e) == 0);
	CHECK(strstr(j1.path, "/convert/srv_ppp") != NULL && strlen(j1.key) < EOS_JOURNAL_KEY_MAX);
	CHECK(eos_journal_init(&j2, dir, "convert", a, 0, &e) == 0 && strcmp(j1.path, j2.path) == 0);
	CHECK(eos_journal_lock(&j1, 0, "test op", &e) == 0);
	CHECK(eos_journal_lock(&j2, 0, "test op", &e) == -EBUSY && strstr(e.msg, "another test op"));
	CHECK(eos_journal_lock(&j2, 60, "test op", &e) == -ETIMEDOUT);
	/* A journal where an older version kept it moves in; an existing one is never replaced. */
	snprintf(legacy, sizeof(legacy), "%s/old.journal", dir);
	FILE *f = fopen(legacy, "w");
	fputs("step=copied\n", f);
	fclose(f);
	CHECK(eos_journal_adopt(&j1, legacy, &e) == 1 && access(legacy, F_OK) != 0 &&
	      access(j1.path, F_OK) == 0);
	f = fopen(legacy, "w");
	fclose(f);
	CHECK(eos_journal_adopt(&j1, legacy, &e) == 0 && access(legacy, F_OK) == 0);
	CHECK(eos_journal_init(&j2, dir, "expand", "dev-7-3", 1, &e) == 0 && strcmp(j2.key, "dev-7-3") == 0);
	CHECK(eos_journal_init(&j2, dir, "expand", "../escape", 1, &e) == -EINVAL);
	char *root = repeat('r', 4100, "/", "");
	CHECK(eos_journal_init(&j2, root, "expand", "dev-7-3", 1, &e) == -ENAMETOOLONG);
	/* Written whole in place (one fdatasync), appended to, then rewritten shorter: the file
	 * holds exactly the new journal, nothing of the old one after it. */
	int fd = -1;
	struct eos_buf rb = EOS_BUF_INIT;
	CHECK(eos_journal_write(j1.path, "plan\nbegin\n", 11, 1, &fd, &e) == 0 && fd >= 0);
	CHECK(eos_journal_append(fd, j1.path, 0, &e, "done %d\n", 1) == 0);
	close(fd);
	CHECK(eos_buf_read_file(&rb, AT_FDCWD, j1.path) == 0 && strcmp(rb.data, "plan\nbegin\ndone 1\n") == 0);
	CHECK(eos_journal_write(j1.path, "b\n", 2, 0, &fd, &e) == 0);
	close(fd);
	CHECK(eos_buf_read_file(&rb, AT_FDCWD, j1.path) == 0 && strcmp(rb.data, "b\n") == 0);
	eos_buf_free(&rb);
	eos_journal_unlock(&j1);
	unlink(j1.path);
	unlink(j1.lock);
	unlink(legacy);
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/convert", dir);
	rmdir(sub);
	rmdir(dir);
	free(root);
	free(a);
	free(b);
}
