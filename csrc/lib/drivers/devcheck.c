#include "eos/drivers/devcheck.h"

#include <blkid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "eos/core/buf.h"
#include "eos/core/fsutil.h"
#include "eos/drivers/mounts.h"

#define add_blocker(c, ...)                                                                       \
	do {                                                                                        \
		if ((c)->n_blockers < EOS_PROV_MAX_LIST)                                            \
			eos_strfmt((c)->blockers[(c)->n_blockers++], sizeof((c)->blockers[0]), __VA_ARGS__); \
	} while (0)

/* Every signature libblkid finds (as wipefs does): filesystems, LVM and RAID members,
 * partition tables. */
static int probe_signatures(int fd, struct eos_provision_check *c, struct eos_err *e)
{
	blkid_probe pr = blkid_new_probe();
	if (!pr)
		return eos_fail(e, ENOMEM, c->device, "blkid_new_probe failed");
	int r = 0;
	if (blkid_probe_set_device(pr, fd, 0, 0) < 0) {
		r = eos_fail(e, EIO, c->device, "blkid_probe_set_device(%s) failed", c->device);
		goto out;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE | BLKID_SUBLKS_LABEL |
					      BLKID_SUBLKS_UUID | BLKID_SUBLKS_MAGIC);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	int rc;
	while ((rc = blkid_do_probe(pr)) == 0 && c->n_sigs < EOS_PROV_MAX_SIGS) {
		struct eos_provision_sig *s = &c->sigs[c->n_sigs];
		memset(s, 0, sizeof(*s));
		const char *v;
		if (blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0) {
			snprintf(s->type, sizeof(s->type), "%s", v);
			if (blkid_probe_lookup_value(pr, "USAGE", &v, NULL) == 0)
				snprintf(s->usage, sizeof(s->usage), "%s", v);
			if (blkid_probe_lookup_value(pr, "LABEL", &v, NULL) == 0)
				snprintf(s->label, sizeof(s->label), "%s", v);
			if (blkid_probe_lookup_value(pr, "UUID", &v, NULL) == 0)
				snprintf(s->uuid, sizeof(s->uuid), "%s", v);
			if (blkid_probe_lookup_value(pr, "SBMAGIC_OFFSET", &v, NULL) == 0)
				s->offset = strtoull(v, NULL, 10);
		} else if (blkid_probe_lookup_value(pr, "PTTYPE", &v, NULL) == 0) {
			snprintf(s->type, sizeof(s->type), "%s", v);
			snprintf(s->usage, sizeof(s->usage), "partition table");
			if (blkid_probe_lookup_value(pr, "PTUUID", &v, NULL) == 0)
				snprintf(s->uuid, sizeof(s->uuid), "%s", v);
			if (blkid_probe_lookup_value(pr, "PTMAGIC_OFFSET", &v, NULL) == 0)
				s->offset = strtoull(v, NULL, 10);
		} else {
			continue;
		}
		c->n_sigs++;
	}
	if (rc < 0)
		r = eos_fail(e, EIO, c->device, "blkid_do_probe(%s) failed", c->device);
out:
	blkid_free_probe(pr);
	return r;
}

/* Names of the partitions of a whole disk from sysfs (kernel-scanned partitions only). */
static size_t sysfs_partitions(const char *sysdir, const char *base, char names[][64], size_t max)
{
	size_t n = 0;
	DIR *d = opendir(sysdir);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max) {
		if (strncmp(de->d_name, base, strlen(base)) != 0)
			continue;
		char p[PATH_MAX + 300];
		snprintf(p, sizeof(p), "%s/%s/partition", sysdir, de->d_name);
		if (access(p, F_OK) == 0)
			snprintf(names[n++], 64, "%.63s", de->d_name);
	}
	closedir(d);
	return n;
}

static void sysfs_holders(const char *sysdir, struct eos_provision_check *c)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/holders", sysdir);
	DIR *d = opendir(p);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) && c->n_holders < EOS_PROV_MAX_LIST) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(c->holders[c->n_holders++], sizeof(c->holders[0]), "%.63s", de->d_name);
	}
	closedir(d);
}

/* "an ext4", "an xfs", "an ntfs", "a btrfs", "a dos" (as the names are spoken). */
const char *eos_sig_article(const char *type)
{
	static const char *const an[] = {"xfs", "f2fs", "ntfs", "hfs", "hfsplus", "nilfs2", "LVM2_member"};
	for (size_t i = 0; i < sizeof(an) / sizeof(an[0]); i++)
		if (strcmp(type, an[i]) == 0)
			return "an";
	return type[0] && strchr("aeiouAEIOU", type[0]) ? "an" : "a";
}

int eos_provision_check(const char *device, struct eos_provision_check *c, struct eos_err *e)
{
	memset(c, 0, sizeof(*c));
	struct eos_mount_list ml = {NULL, 0};
	struct eos_buf swaps = EOS_BUF_INIT;
	int fd = -1, r;
	if (!device || !device[0])
		return eos_fail(e, EINVAL, "", "no device given");
	if (!realpath(device, c->device))
		return eos_fail_sys(e, errno, device, "device '%s'", device);
	struct stat st;
	if (stat(c->device, &st) < 0)
		return eos_fail_sys(e, errno, device, "stat(%s)", device);
	if (!S_ISBLK(st.st_mode))
		return eos_fail(e, EINVAL, device, "'%s' is not a block device", device);
	c->major = major(st.st_rdev);
	c->minor = minor(st.st_rdev);

	fd = open(c->device, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return eos_fail_sys(e, errno, device, "open(%s)", c->device);
	if (ioctl(fd, BLKGETSIZE64, &c->size) < 0) {
		r = eos_fail_sys(e, errno, device, "ioctl(%s, BLKGETSIZE64)", c->device);
		goto out;
	}
	r = probe_signatures(fd, c, e);
	if (r)
		goto out;

	/* sysfs: holders of the disk and of its partitions, partition names for the mount check. */
	char sysdir[PATH_MAX], parts[EOS_PROV_MAX_LIST][64];
	snprintf(sysdir, sizeof(sysdir), "/sys/dev/block/%u:%u", c->major, c->minor);
	const char *base = strrchr(c->device, '/') + 1;
	size_t nparts = sysfs_partitions(sysdir, base, parts, EOS_PROV_MAX_LIST);
	sysfs_holders(sysdir, c);
	for (size_t i = 0; i < nparts; i++) {
		char pd[PATH_MAX + 64];
		snprintf(pd, sizeof(pd), "%s/%s", sysdir, parts[i]);
		sysfs_holders(pd, c);
	}

	/* Mounts: by device number (block filesystems) or by source path (btrfs reports an
	 * anonymous device number), of the disk or of any partition. */
	r = eos_mounts_read(NULL, &ml, e);
	if (r)
		goto out;
	for (size_t i = 0; i < ml.n && c->n_mounts < EOS_PROV_MAX_LIST; i++) {
		const struct eos_mount *m = &ml.v[i];
		int match = (m->major == c->major && m->minor == c->minor) || eos_same_path(m->source, c->device);
		for (size_t p = 0; !match && p < nparts; p++) {
			char pdev[PATH_MAX];
			snprintf(pdev, sizeof(pdev), "/dev/%s", parts[p]);
			match = eos_same_path(m->source, pdev);
		}
		if (match)
			snprintf(c->mounts[c->n_mounts++], sizeof(c->mounts[0]), "%s on %s", m->source, m->target);
	}
	if (eos_buf_read_file(&swaps, AT_FDCWD, "/proc/swaps") == 0 && swaps.data) {
		char *save = NULL;
		for (char *line = strtok_r(swaps.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *sp = strpbrk(line, " \t");
			if (sp)
				*sp = '\0';
			if (c->n_mounts < EOS_PROV_MAX_LIST && eos_same_path(line, c->device))
				snprintf(c->mounts[c->n_mounts++], sizeof(c->mounts[0]), "%s on [swap]", line);
		}
	}

	int xfd = open(c->device, O_RDONLY | O_CLOEXEC | O_EXCL);
	if (xfd < 0 && errno == EBUSY)
		c->busy = 1;
	if (xfd >= 0)
		close(xfd);

	for (size_t i = 0; i < c->n_sigs; i++) {
		const struct eos_provision_sig *s = &c->sigs[i];
		char what[200];
		if (strcmp(s->usage, "partition table") == 0) {
			c->has_ptable = 1;
			add_blocker(c, "holds a %s partition table%s%s", s->type, s->uuid[0] ? " with id " : "",
				    s->uuid);
			continue;
		}
		if (strncmp(s->type, "LVM", 3) == 0) {
			c->has_lvm = 1;
			add_blocker(c, "holds an LVM physical volume signature (%s, UUID %s)", s->type, s->uuid);
			continue;
		}
		if (strcmp(s->usage, "filesystem") == 0)
			c->has_fs = 1;
		snprintf(what, sizeof(what), "%s %s %s", eos_sig_article(s->type), s->type,
			 strcmp(s->usage, "filesystem") == 0 ? "filesystem" : "signature");
		char extra[400];
		snprintf(extra, sizeof(extra), " (%s%s%sUUID %s)", s->label[0] ? "label '" : "", s->label,
			 s->label[0] ? "', " : "", s->uuid[0] ? s->uuid : "none");
		add_blocker(c, "holds %s%s", what, extra);
	}
	for (size_t i = 0; i < c->n_mounts; i++)
		add_blocker(c, "is mounted: %s", c->mounts[i]);
	for (size_t i = 0; i < c->n_holders; i++)
		add_blocker(c, "is in use by %s (listed in sysfs holders)", c->holders[i]);
	if (c->busy && !c->n_mounts && !c->n_holders)
		add_blocker(c, "is busy: an exclusive open returned EBUSY (held by the kernel or another "
			       "program)");
	r = 0;
out:
	eos_mounts_free(&ml);
	eos_buf_free(&swaps);
	if (fd >= 0)
		close(fd);
	return r;
}

int eos_provision_new_uuid(char out[37], struct eos_err *e)
{
	struct eos_buf b = EOS_BUF_INIT;
	int r = eos_buf_read_file(&b, AT_FDCWD, "/proc/sys/kernel/random/uuid");
	if (r == 0 && (!b.data || b.len < 36))
		r = -EIO;
	if (r)
		r = eos_fail_sys(e, r, "/proc/sys/kernel/random/uuid", "reading a new UUID");
	else
		snprintf(out, 37, "%.36s", b.data);
	eos_buf_free(&b);
	return r;
}

