/* Provisioning pieces that need no device: the recommendation table, fstab editing on a
 * temporary file, refusal of things that are not block devices. Provisioning real loop
 * devices is tested through Salt (tests/functional/test_eos_storage_provision.py). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "eos/core/buf.h"
#include "eos/core/fstab.h"
#include "eos/ops/provision.h"

void test_provision_recommend(void)
{
	struct eos_provision_rec rec;
	struct eos_err e;
	CHECK(eos_provision_recommend("database", &rec, &e) == 0 && strcmp(rec.fstype, "xfs") == 0);
	CHECK(rec.wants_lvm && rec.lvm_note[0] && rec.n_reasons >= 2);
	CHECK(eos_provision_recommend("backup", &rec, &e) == 0 && strcmp(rec.fstype, "btrfs") == 0 &&
	      strcmp(rec.mount_options, "compress=zstd") == 0);
	CHECK(eos_provision_recommend("boot", &rec, &e) == 0 && strcmp(rec.fstype, "ext4") == 0 &&
	      rec.fsck_pass == 2);
	CHECK(eos_provision_recommend("system", &rec, &e) == 0 && strcmp(rec.fstype, "ext4") == 0);
	CHECK(eos_provision_recommend("shared", &rec, &e) == 0 && rec.handover != NULL);
	CHECK(eos_provision_recommend("general", &rec, &e) == 0 && strcmp(rec.fstype, "xfs") == 0);
	CHECK(eos_provision_recommend("Database", &rec, &e) == -EINVAL && strstr(e.msg, "'Database'"));
	CHECK(eos_provision_recommend(NULL, &rec, &e) == -EINVAL);
}

void test_provision_fstab(void)
{
	struct eos_err e;
	char dir[] = "/tmp/eos-fstab-XXXXXX", path[64], buf[256];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/fstab", dir);
	const char *before = "# comment\nUUID=a /srv/a xfs defaults 0 0\n/dev/x /srv/with\\040space ext4 defaults 0 2";
	FILE *f = fopen(path, "w");
	fputs(before, f);
	fclose(f);
	chmod(path, 0600);

	CHECK(eos_fstab_find(path, "/srv/with space", buf, sizeof(buf), &e) == 0 && strcmp(buf, "/dev/x") == 0);
	CHECK(eos_fstab_find(path, "/srv/none", buf, sizeof(buf), &e) == 0 && buf[0] == '\0');
	CHECK(eos_fstab_add(path, "UUID=b", "/srv/b c", "btrfs", "compress=zstd", 0, NULL, &e) == 1);
	CHECK(eos_fstab_add(path, "UUID=b", "/srv/b c", "btrfs", "compress=zstd", 0, NULL, &e) == 0);
	CHECK(eos_fstab_add(path, "UUID=z", "/srv/a", "xfs", NULL, 0, NULL, &e) == -EEXIST &&
	      strstr(e.msg, "UUID=a /srv/a") != NULL);

	struct eos_buf b = EOS_BUF_INIT;
	CHECK(eos_buf_read_file(&b, -100, path) == 0);
	CHECK(b.data && strncmp(b.data, before, strlen(before)) == 0);
	CHECK(b.data && strcmp(b.data + strlen(before), "\nUUID=b\t/srv/b\\040c\tbtrfs\tcompress=zstd\t0\t0\n") == 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	CHECK(eos_fstab_disable(path, "UUID=a", "gone", &e) == 1);
	CHECK(eos_fstab_find(path, "/srv/a", buf, sizeof(buf), &e) == 0 && buf[0] == '\0');
	CHECK(eos_fstab_add(path, "UUID=z", "/srv/a", "xfs", NULL, 0, NULL, &e) == 1);
	CHECK(eos_buf_read_file(&b, -100, path) == 0 && strstr(b.data, "# gone: UUID=a /srv/a xfs") != NULL);
	CHECK(eos_fstab_add(path, "UUID=y", "/srv/a", "xfs", NULL, 0, "eos_storage.provision replaced", &e) == 1);
	CHECK(eos_buf_read_file(&b, -100, path) == 0 &&
	      strstr(b.data, "# eos_storage.provision replaced: UUID=z\t/srv/a") != NULL);
	/* Undo: the new entry dropped, the replaced one back as it was. */
	CHECK(eos_fstab_undo(path, "UUID=y", "/srv/a", "eos_storage.provision replaced", &e) == 2);
	CHECK(eos_fstab_find(path, "/srv/a", buf, sizeof(buf), &e) == 0 && strcmp(buf, "UUID=z") == 0);
	CHECK(eos_buf_read_file(&b, -100, path) == 0 && strstr(b.data, "replaced") == NULL);
	eos_buf_free(&b);

	/* A missing fstab is created. */
	char fresh[80];
	snprintf(fresh, sizeof(fresh), "%s/new-fstab", dir);
	CHECK(eos_fstab_add(fresh, "UUID=c", "/srv/c", "ext4", "defaults", 2, NULL, &e) == 1);
	unlink(fresh);
	unlink(path);
	rmdir(dir);
}

void test_provision_refusals(void)
{
	struct eos_err e;
	struct eos_provision_check *c = calloc(1, sizeof(*c));
	CHECK(eos_provision_check("/proc/self/status", c, &e) == -EINVAL && strstr(e.msg, "not a block device"));
	CHECK(eos_provision_check("/nonexistent-eos-dev", c, &e) == -ENOENT);
	CHECK(eos_provision_check("", c, &e) == -EINVAL);
	free(c);
	struct eos_provision_result *res = calloc(1, sizeof(*res));
	struct eos_provision_req req = {.device = "/proc/self/status", .workload = "general", .dry_run = 1};
	CHECK(eos_provision(&req, res, &e) == -EINVAL);
	req.workload = "shared";  /* handed over: nothing is checked or done */
	CHECK(eos_provision(&req, res, &e) == 0 && res->rec.handover && res->n_steps == 0);
	req.workload = "general";
	req.mountpoint = "relative";
	CHECK(eos_provision(&req, res, &e) == -EINVAL && strstr(e.msg, "'relative'"));
	req.mountpoint = NULL;
	req.label = "a-label-longer-than-12";
	CHECK(eos_provision(&req, res, &e) == -EINVAL && strstr(e.msg, "xfs labels"));
	free(res);
}
