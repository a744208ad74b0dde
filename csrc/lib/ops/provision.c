#include "eos/ops/provision.h"

#include <blkid.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "eos/core/buf.h"
#include "eos/core/fsutil.h"
#include "eos/drivers/lvm/lvm_change.h"
#include "eos/drivers/mounts.h"
#include "eos/core/size.h"
#include "eos/core/spawn.h"

#define MiB (1024ULL * 1024ULL)

/* ---- recommendation ------------------------------------------------------------------- */

int eos_provision_recommend(const char *workload, struct eos_provision_rec *rec, struct eos_err *e)
{
	memset(rec, 0, sizeof(*rec));
	const char *w = workload ? workload : "";
	if (strcmp(w, "database") == 0) {
		rec->workload = "database";
		rec->fstype = "xfs";
		rec->mount_options = "defaults";
		rec->reasons[rec->n_reasons++] =
			"XFS allocation groups let many concurrent writers (database workers) proceed in parallel";
		rec->reasons[rec->n_reasons++] =
			"XFS overwrites in place (no copy-on-write), so random rewrites of table files do not fragment";
		rec->reasons[rec->n_reasons++] = "XFS grows online (xfs_growfs) as the data set grows";
		rec->wants_lvm = 1;
		char dm_why[256];
		rec->lvm_available = eos_lvm_dm_available(dm_why, sizeof(dm_why));
		if (rec->lvm_available)
			snprintf(rec->lvm_note, sizeof(rec->lvm_note),
				 "LVM is recommended under the database filesystem so it can later grow across "
				 "devices; eos provisions the filesystem directly on the device and leaves the "
				 "LVM layer to eos_storage.expand");
		else
			snprintf(rec->lvm_note, sizeof(rec->lvm_note),
				 "LVM layer skipped: this kernel has no device-mapper driver (no 'device-mapper' "
				 "in /proc/misc), so an LVM logical volume could not be activated; XFS goes "
				 "directly on the device");
		rec->min_size = 300 * MiB;
	} else if (strcmp(w, "backup") == 0) {
		rec->workload = "backup";
		rec->fstype = "btrfs";
		rec->mount_options = "compress=zstd";
		rec->reasons[rec->n_reasons++] =
			"BTRFS compresses transparently; zstd shrinks typical backup data well at little CPU cost";
		rec->reasons[rec->n_reasons++] =
			"BTRFS checksums data and metadata, so silent corruption of old backups is detected";
		rec->reasons[rec->n_reasons++] =
			"BTRFS snapshots give cheap point-in-time copies of a backup set";
		rec->min_size = 128 * MiB;
	} else if (strcmp(w, "boot") == 0 || strcmp(w, "system") == 0) {
		rec->workload = w[0] == 'b' ? "boot" : "system";
		rec->fstype = "ext4";
		rec->mount_options = "defaults";
		rec->fsck_pass = 2;
		rec->reasons[rec->n_reasons++] =
			"ext4 is read by every bootloader and initramfs, so the system starts from it everywhere";
		rec->reasons[rec->n_reasons++] =
			"ext4 has the most mature offline repair (e2fsck), what a system volume needs after a crash";
		rec->reasons[rec->n_reasons++] = "ext4 is journaled with a small, predictable overhead";
		rec->min_size = 16 * MiB;
	} else if (strcmp(w, "shared") == 0) {
		rec->workload = "shared";
		rec->fstype = "cephfs";
		rec->mount_options = "defaults";
		rec->reasons[rec->n_reasons++] =
			"data shared across nodes needs a cluster filesystem; a local filesystem on one "
			"device cannot be mounted by several nodes at once";
		rec->handover = "the Ceph work (eos_ceph: CephFS on the cluster's OSDs)";
	} else if (strcmp(w, "general") == 0) {
		rec->workload = "general";
		rec->fstype = "xfs";
		rec->mount_options = "defaults";
		rec->reasons[rec->n_reasons++] =
			"XFS is a robust general-purpose default that scales to large files and directories";
		rec->reasons[rec->n_reasons++] = "XFS grows online (xfs_growfs)";
		rec->min_size = 300 * MiB;
	} else {
		return eos_fail(e, EINVAL, "",
				"unknown workload '%s': expected database, backup, boot, system, shared or general",
				w);
	}
	return 0;
}

/* ---- device check --------------------------------------------------------------------- */

/* Messages are cut at their buffer's size on purpose: vsnprintf keeps it explicit. */
static void __attribute__((format(printf, 3, 4))) fmt_into(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

#define add_blocker(c, ...)                                                                       \
	do {                                                                                        \
		if ((c)->n_blockers < EOS_PROV_MAX_LIST)                                            \
			fmt_into((c)->blockers[(c)->n_blockers++], sizeof((c)->blockers[0]), __VA_ARGS__); \
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
static const char *sig_article(const char *type)
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
		snprintf(what, sizeof(what), "%s %s %s", sig_article(s->type), s->type,
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

/* ---- fstab ------------------------------------------------------------------------------ */

static void fstab_escape(const char *s, char *out, size_t len)
{
	size_t o = 0;
	for (; *s && o + 5 < len; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\\')
			o += (size_t)snprintf(out + o, len - o, "\\%03o", (unsigned char)*s);
		else
			out[o++] = *s;
	}
	out[o] = '\0';
}

static void fstab_unescape(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			out[o++] = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
}

/* For an fstab line: the spec and the unescaped target; 0 when it is an entry. */
static int fstab_fields(const char *line, size_t n, char *spec, size_t slen, char *target, size_t tlen)
{
	size_t i = 0;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == n || line[i] == '#')
		return -1;
	size_t s0 = i;
	while (i < n && line[i] != ' ' && line[i] != '\t')
		i++;
	snprintf(spec, slen, "%.*s", (int)(i - s0), line + s0);
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	size_t t0 = i;
	while (i < n && line[i] != ' ' && line[i] != '\t')
		i++;
	if (i == t0)
		return -1;
	fstab_unescape(line + t0, i - t0, target, tlen);
	return 0;
}

static int read_fstab(const char *fstab, struct eos_buf *b, struct eos_err *e)
{
	int r = eos_buf_read_file(b, AT_FDCWD, fstab);
	if (r == -ENOENT) {
		eos_buf_reset(b);
		return 0;
	}
	if (r)
		return eos_fail_sys(e, r, fstab, "reading %s", fstab);
	return 0;
}

int eos_fstab_find(const char *fstab, const char *target, char *buf, size_t len, struct eos_err *e)
{
	struct eos_buf b = EOS_BUF_INIT;
	buf[0] = '\0';
	int r = read_fstab(fstab, &b, e);
	if (r)
		goto out;
	for (size_t pos = 0; b.data && pos < b.len;) {
		const char *nl = memchr(b.data + pos, '\n', b.len - pos);
		size_t n = nl ? (size_t)(nl - (b.data + pos)) : b.len - pos;
		char spec[1024], tgt[EOS_PATH_MAX];
		if (fstab_fields(b.data + pos, n, spec, sizeof(spec), tgt, sizeof(tgt)) == 0 &&
		    strcmp(tgt, target) == 0)
			snprintf(buf, len, "%s", spec);  /* the last entry wins, as mount does */
		pos += n + 1;
	}
out:
	eos_buf_free(&b);
	return r;
}

/* Replace fstab with out: temp file in the same directory, mode and owner of the old file,
 * fsync, rename, fsync of the directory. */
static int atomic_write(const char *path, const struct eos_buf *out, struct eos_err *e);

int eos_file_write_atomic(const char *path, const char *data, size_t len, struct eos_err *e)
{
	struct eos_buf b = {(char *)data, len, len};
	return atomic_write(path, &b, e);
}

static int atomic_write(const char *path, const struct eos_buf *out, struct eos_err *e)
{
	char tmp[EOS_PATH_MAX + 16], fstab[EOS_PATH_MAX];
	int fd = -1, r = 0;
	/* Through a symlink to the real file, which is the one replaced. */
	if (!realpath(path, fstab))
		snprintf(fstab, sizeof(fstab), "%s", path);
	struct stat st;
	mode_t mode = 0644;
	uid_t uid = 0;
	gid_t gid = 0;
	int have_st = stat(fstab, &st) == 0;
	if (have_st) {
		mode = st.st_mode & 07777;
		uid = st.st_uid;
		gid = st.st_gid;
	}
	snprintf(tmp, sizeof(tmp), "%s.eos-XXXXXX", fstab);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = eos_fail_sys(e, errno, fstab, "mkstemp(%s)", tmp);
		tmp[0] = '\0';
		goto out;
	}
	if (fchmod(fd, mode) < 0 || (have_st && fchown(fd, uid, gid) < 0)) {
		r = eos_fail_sys(e, errno, fstab, "setting mode/owner of %s", tmp);
		goto out;
	}
	for (size_t off = 0; off < out->len;) {
		ssize_t w = write(fd, out->data + off, out->len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = eos_fail_sys(e, errno, fstab, "write(%s)", tmp);
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		r = eos_fail_sys(e, errno, fstab, "fsync(%s)", tmp);
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, fstab) < 0) {
		r = eos_fail_sys(e, errno, fstab, "rename(%s, %s)", tmp, fstab);
		goto out;
	}
	tmp[0] = '\0';
	/* Make the rename durable. */
	char dir[EOS_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", fstab);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlink(tmp);
	return r;
}

int eos_fstab_undo(const char *fstab, const char *spec, const char *target, const char *note,
		   struct eos_err *e)
{
	struct eos_buf old = EOS_BUF_INIT, out = EOS_BUF_INIT;
	char prefix[256];
	snprintf(prefix, sizeof(prefix), "# %s: ", note);
	size_t plen = strlen(prefix);
	int count = 0, r = read_fstab(fstab, &old, e);
	if (r)
		goto out;
	for (size_t pos = 0; old.data && pos < old.len;) {
		const char *line = old.data + pos;
		const char *nl = memchr(line, '\n', old.len - pos);
		size_t n = nl ? (size_t)(nl - line) : old.len - pos;
		char sp[1024], tgt[EOS_PATH_MAX];
		pos += n + 1;
		if (fstab_fields(line, n, sp, sizeof(sp), tgt, sizeof(tgt)) == 0 && strcmp(sp, spec) == 0 &&
		    strcmp(tgt, target) == 0) {
			count++;  /* dropped */
			continue;
		}
		if (n > plen && strncmp(line, prefix, plen) == 0 &&
		    fstab_fields(line + plen, n - plen, sp, sizeof(sp), tgt, sizeof(tgt)) == 0 &&
		    strcmp(tgt, target) == 0) {
			count++;  /* restored */
			line += plen;
			n -= plen;
		}
		if (eos_buf_append(&out, line, n) < 0 || eos_buf_append(&out, "\n", 1) < 0) {
			r = eos_fail(e, ENOMEM, fstab, "out of memory building %s", fstab);
			goto out;
		}
	}
	r = count ? atomic_write(fstab, &out, e) : 0;
	if (r == 0)
		r = count;
out:
	eos_buf_free(&old);
	eos_buf_free(&out);
	return r;
}

/* The target of the first fstab entry whose spec is spec ("" when none). */
static int fstab_target_of(const char *fstab, const char *spec, char *target, size_t len, struct eos_err *e)
{
	struct eos_buf b = EOS_BUF_INIT;
	target[0] = '\0';
	int r = read_fstab(fstab, &b, e);
	for (size_t pos = 0; !r && b.data && pos < b.len && !target[0];) {
		const char *nl = memchr(b.data + pos, '\n', b.len - pos);
		size_t n = nl ? (size_t)(nl - (b.data + pos)) : b.len - pos;
		char sp[1024], tgt[EOS_PATH_MAX];
		if (fstab_fields(b.data + pos, n, sp, sizeof(sp), tgt, sizeof(tgt)) == 0 && strcmp(sp, spec) == 0)
			snprintf(target, len, "%s", tgt);
		pos += n + 1;
	}
	eos_buf_free(&b);
	return r;
}

int eos_fstab_add(const char *fstab, const char *spec, const char *target, const char *fstype,
		  const char *options, int pass, const char *replace_note, struct eos_err *e)
{
	struct eos_buf old = EOS_BUF_INIT, out = EOS_BUF_INIT;
	int r = read_fstab(fstab, &old, e);
	if (r)
		goto out;
	for (size_t pos = 0; old.data && pos < old.len;) {
		const char *line = old.data + pos;
		const char *nl = memchr(line, '\n', old.len - pos);
		size_t n = nl ? (size_t)(nl - line) : old.len - pos;
		char sp[1024], tgt[EOS_PATH_MAX];
		int entry = fstab_fields(line, n, sp, sizeof(sp), tgt, sizeof(tgt)) == 0 &&
			    strcmp(tgt, target) == 0;
		if (entry && strcmp(sp, spec) == 0) {
			r = 0;  /* already there */
			goto out;
		}
		if (entry && !replace_note) {
			r = eos_fail(e, EEXIST, fstab, "%s already has an entry for %s: '%.*s'", fstab, target,
				     (int)n, line);
			goto out;
		}
		if (entry && (eos_buf_append(&out, "# ", 2) < 0 ||
			      eos_buf_append(&out, replace_note, strlen(replace_note)) < 0 ||
			      eos_buf_append(&out, ": ", 2) < 0))
			goto nomem;
		if (eos_buf_append(&out, line, n) < 0 || eos_buf_append(&out, "\n", 1) < 0)
			goto nomem;
		pos += n + 1;
	}
	char etarget[EOS_PATH_MAX], entry[EOS_PATH_MAX + 2048];
	fstab_escape(target, etarget, sizeof(etarget));
	int len = snprintf(entry, sizeof(entry), "%s\t%s\t%s\t%s\t0\t%d\n", spec, etarget, fstype,
			   options && options[0] ? options : "defaults", pass);
	if (eos_buf_append(&out, entry, (size_t)len) < 0)
		goto nomem;

	r = atomic_write(fstab, &out, e);
	if (r == 0)
		r = 1;
	goto out;
nomem:
	r = eos_fail(e, ENOMEM, fstab, "out of memory building %s", fstab);
out:
	eos_buf_free(&old);
	eos_buf_free(&out);
	return r;
}

int eos_fstab_disable(const char *fstab, const char *spec, const char *note, struct eos_err *e)
{
	struct eos_buf old = EOS_BUF_INIT, out = EOS_BUF_INIT;
	int count = 0, r = read_fstab(fstab, &old, e);
	if (r)
		goto out;
	for (size_t pos = 0; old.data && pos < old.len;) {
		const char *line = old.data + pos;
		const char *nl = memchr(line, '\n', old.len - pos);
		size_t n = nl ? (size_t)(nl - line) : old.len - pos;
		char sp[1024], tgt[EOS_PATH_MAX];
		if (fstab_fields(line, n, sp, sizeof(sp), tgt, sizeof(tgt)) == 0 && strcmp(sp, spec) == 0) {
			count++;
			if (eos_buf_append(&out, "# ", 2) < 0 || eos_buf_append(&out, note, strlen(note)) < 0 ||
			    eos_buf_append(&out, ": ", 2) < 0)
				goto nomem;
		}
		if (eos_buf_append(&out, line, n) < 0 || eos_buf_append(&out, "\n", 1) < 0)
			goto nomem;
		pos += n + 1;
	}
	r = count ? atomic_write(fstab, &out, e) : 0;
	if (r == 0)
		r = count;
	goto out;
nomem:
	r = eos_fail(e, ENOMEM, fstab, "out of memory building %s", fstab);
out:
	eos_buf_free(&old);
	eos_buf_free(&out);
	return r;
}

/* ---- provisioning ------------------------------------------------------------------------ */

static struct eos_provision_step *__attribute__((format(printf, 3, 4)))
add_step(struct eos_provision_result *res, enum eos_provision_action a, const char *fmt, ...)
{
	size_t max = sizeof(res->steps) / sizeof(res->steps[0]);
	struct eos_provision_step *s = &res->steps[res->n_steps < max ? res->n_steps++ : max - 1];
	s->action = a;
	s->done = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	return s;
}

#define add_destroy(res, ...)                                                                       \
	do {                                                                                          \
		if ((res)->n_destroys < EOS_PROV_MAX_LIST)                                            \
			fmt_into((res)->destroys[(res)->n_destroys++], sizeof((res)->destroys[0]), __VA_ARGS__); \
	} while (0)

static void add_arg(struct eos_provision_result *res, const char *a)
{
	if (res->mkfs_argc < EOS_PROV_MAX_ARGV - 1)
		snprintf(res->mkfs_argv[res->mkfs_argc++], sizeof(res->mkfs_argv[0]), "%s", a);
}

static int check_label(const char *label, const char *fstype, struct eos_err *e)
{
	size_t max = strcmp(fstype, "xfs") == 0 ? 12 : strcmp(fstype, "ext4") == 0 ? 16 : 255;
	if (!label[0] || strlen(label) > max)
		return eos_fail(e, EINVAL, "", "invalid label '%s': %s labels are 1 to %zu bytes", label,
				fstype, max);
	for (const char *p = label; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return eos_fail(e, EINVAL, "", "invalid label '%s': control characters are not allowed",
					label);
	return 0;
}

/* Erase every signature libblkid finds (wipefs -a, in-process). */
static int wipe_signatures(const char *device, struct eos_err *e)
{
	int fd = open(device, O_RDWR | O_CLOEXEC | O_EXCL);
	if (fd < 0)
		return eos_fail_sys(e, errno, device, "open(%s, O_RDWR|O_EXCL) to wipe signatures", device);
	int r = 0;
	blkid_probe pr = blkid_new_probe();
	if (!pr) {
		r = eos_fail(e, ENOMEM, device, "blkid_new_probe failed");
		goto out;
	}
	if (blkid_probe_set_device(pr, fd, 0, 0) < 0) {
		r = eos_fail(e, EIO, device, "blkid_probe_set_device(%s) failed", device);
		goto out;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_TYPE);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	int rc;
	while ((rc = blkid_do_probe(pr)) == 0) {
		if (blkid_do_wipe(pr, 0) < 0) {
			r = eos_fail_sys(e, errno ? errno : EIO, device, "blkid_do_wipe(%s)", device);
			goto out;
		}
	}
	if (rc < 0) {
		r = eos_fail(e, EIO, device, "blkid_do_probe(%s) failed while wiping", device);
		goto out;
	}
	if (fsync(fd) < 0)
		r = eos_fail_sys(e, errno, device, "fsync(%s)", device);
	ioctl(fd, BLKRRPART);  /* the kernel forgets old partitions; fails harmlessly without any */
out:
	if (pr)
		blkid_free_probe(pr);
	close(fd);
	return r;
}

static int probe_uuid(const char *device, const char *fstype, char *uuid, size_t len, struct eos_err *e)
{
	blkid_probe pr = blkid_new_probe_from_filename(device);
	if (!pr)
		return eos_fail_sys(e, errno ? errno : EIO, device, "blkid_new_probe_from_filename(%s)", device);
	int r = 0;
	const char *type = NULL, *u = NULL;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID);
	if (blkid_do_safeprobe(pr) != 0 || blkid_probe_lookup_value(pr, "TYPE", &type, NULL) != 0 ||
	    strcmp(type, fstype) != 0 || blkid_probe_lookup_value(pr, "UUID", &u, NULL) != 0)
		r = eos_fail(e, EIO, device, "after mkfs, libblkid does not find a %s filesystem on %s (found %s)",
			     fstype, device, type ? type : "nothing");
	else
		snprintf(uuid, len, "%s", u);
	blkid_free_probe(pr);
	return r;
}

static const char *const action_names[] = {"wipe", "unmount", "mkfs", "mkdir", "mount", "fstab",
					   "fstab-disable"};

int eos_provision(const struct eos_provision_req *req, struct eos_provision_result *res,
		  struct eos_err *e)
{
	memset(res, 0, sizeof(*res));
	struct eos_mount_list ml = {NULL, 0};
	struct eos_run run = EOS_RUN_INIT;
	const char *fstab = req->fstab && req->fstab[0] ? req->fstab : "/etc/fstab";
	char mnt[EOS_PATH_MAX] = "";
	int r = eos_provision_recommend(req->workload, &res->rec, e);
	if (r)
		return r;
	if (res->rec.handover)
		return 0;  /* nothing is done here: the caller reports the hand-over */
	const char *fstype = res->rec.fstype;

	/* Inputs first: nothing is touched until everything checks out. */
	if (req->label) {
		r = check_label(req->label, fstype, e);
		if (r)
			return r;
	}
	if (req->mountpoint) {
		const char *m = req->mountpoint;
		if (m[0] != '/')
			return eos_fail(e, EINVAL, m, "mountpoint '%s' is not an absolute path", m);
		if (strlen(m) >= sizeof(mnt) - 1)
			return eos_fail(e, ENAMETOOLONG, m, "mountpoint too long");
		/* Canonical form without requiring it to exist: drop trailing slashes. */
		snprintf(mnt, sizeof(mnt), "%s", m);
		for (size_t n = strlen(mnt); n > 1 && mnt[n - 1] == '/'; n--)
			mnt[n - 1] = '\0';
		if (strcmp(mnt, "/") == 0)
			return eos_fail(e, EINVAL, m, "refusing to mount over /");
		for (const char *p = mnt; *p; p++)
			if (*p == '\n')
				return eos_fail(e, EINVAL, m, "mountpoint '%s' contains a newline", m);
		char rp[EOS_PATH_MAX];
		struct stat st;
		if (lstat(mnt, &st) == 0) {
			if (!S_ISDIR(st.st_mode))
				return eos_fail(e, ENOTDIR, m, "mountpoint '%s' exists and is not a directory", m);
			if (realpath(mnt, rp))
				snprintf(mnt, sizeof(mnt), "%s", rp);
		}
	}
	r = eos_provision_check(req->device, &res->check, e);
	if (r)
		return r;
	struct eos_provision_check *c = &res->check;
	if (c->size < res->rec.min_size) {
		char have[32], need[32];
		eos_size_format(c->size, have, sizeof(have));
		eos_size_format(res->rec.min_size, need, sizeof(need));
		return eos_fail(e, ENOSPC, c->device, "%s is %s; %s needs at least %s", c->device, have,
				fstype, need);
	}
	r = eos_mounts_read(NULL, &ml, e);
	if (r)
		return r;

	/* Keep a device that already holds exactly the recommended filesystem (states). */
	int mounted_here = 0;
	if (req->keep_matching && c->n_sigs == 1 && strcmp(c->sigs[0].type, fstype) == 0 &&
	    (!req->label || strcmp(c->sigs[0].label, req->label) == 0) && !c->n_holders) {
		res->kept = 1;
		snprintf(res->uuid, sizeof(res->uuid), "%s", c->sigs[0].uuid);
		const struct eos_mount *at = mnt[0] ? eos_mounts_at(&ml, mnt) : NULL;
		mounted_here = at && eos_same_path(at->source, c->device);
		if (c->n_mounts && !(mounted_here && c->n_mounts == 1)) {
			r = eos_fail(e, EBUSY, c->device, "%s already holds %s %s filesystem but it is mounted "
				     "elsewhere: %s", c->device, sig_article(fstype), fstype, c->mounts[0]);
			goto out;
		}
	}

	if (!res->kept) {
		if (c->n_blockers && !req->force) {
			char msg[EOS_MSG_MAX];
			size_t o = (size_t)snprintf(msg, sizeof(msg), "refusing to provision %s: it", c->device);
			for (size_t i = 0; i < c->n_blockers && o < sizeof(msg); i++)
				o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s %s", i ? "; it" : "",
						      c->blockers[i]);
			if (o < sizeof(msg))
				snprintf(msg + o, sizeof(msg) - o, ". Pass force=True to destroy it.");
			r = eos_fail(e, EBUSY, c->device, "%s", msg);
			goto out;
		}
		if (c->n_holders || (c->busy && !c->n_mounts)) {
			r = eos_fail(e, EBUSY, c->device, "refusing to provision %s even with force: it %s; "
				     "release it first", c->device, c->blockers[c->n_blockers - 1]);
			goto out;
		}
		for (size_t i = 0; i < c->n_mounts; i++) {
			if (strstr(c->mounts[i], " on [swap]")) {
				r = eos_fail(e, EBUSY, c->device, "refusing to provision %s: it is active swap; "
					     "swapoff it first", c->device);
				goto out;
			}
			add_destroy(res, "the mounted filesystem %s (unmounted first)", c->mounts[i]);
			const char *on = strstr(c->mounts[i], " on ");
			add_step(res, EOS_PROV_UNMOUNT, "%s", on + 4);
		}
		for (size_t i = 0; i < c->n_sigs; i++) {
			const struct eos_provision_sig *s = &c->sigs[i];
			if (strcmp(s->usage, "partition table") == 0)
				add_destroy(res, "the %s partition table and every partition in it", s->type);
			else if (strncmp(s->type, "LVM", 3) == 0)
				add_destroy(res, "the LVM physical volume %s (UUID %s): its volume group loses it",
					    c->device, s->uuid);
			else if (strcmp(s->usage, "filesystem") == 0)
				add_destroy(res, "the %s filesystem%s%s%s (UUID %s) and all data on it", s->type,
					    s->label[0] ? " '" : "", s->label, s->label[0] ? "'" : "", s->uuid);
			else
				add_destroy(res, "the %s signature (%s) at offset %llu", s->type, s->usage,
					    (unsigned long long)s->offset);
		}
		for (size_t i = 0; i < c->n_sigs; i++) {
			const struct eos_provision_sig *s = &c->sigs[i];
			char old_spec[96], target[EOS_PATH_MAX];
			if (!s->uuid[0] || strcmp(s->usage, "filesystem") != 0)
				continue;
			snprintf(old_spec, sizeof(old_spec), "UUID=%s", s->uuid);
			r = fstab_target_of(fstab, old_spec, target, sizeof(target), e);
			if (r)
				goto out;
			if (target[0]) {
				add_destroy(res, "the %s entry %s for %s (commented out)", fstab, old_spec, target);
				add_step(res, EOS_PROV_FSTAB_OFF, "%s", old_spec);
			}
		}
		if (c->n_sigs)
			add_step(res, EOS_PROV_WIPE, "erase %s signature%s on %s", c->n_sigs > 1 ? "all" : "the",
				 c->n_sigs > 1 ? "s" : "", c->device);
		r = eos_provision_new_uuid(res->uuid, e);
		if (r)
			goto out;
		add_arg(res, strcmp(fstype, "xfs") == 0 ? "mkfs.xfs" : strcmp(fstype, "ext4") == 0 ? "mkfs.ext4"
												: "mkfs.btrfs");
		add_arg(res, "-q");
		if (req->force || c->n_sigs)
			add_arg(res, strcmp(fstype, "ext4") == 0 ? "-F" : "-f");
		if (req->label) {
			add_arg(res, "-L");
			add_arg(res, req->label);
		}
		char uuidopt[80];
		if (strcmp(fstype, "xfs") == 0) {
			add_arg(res, "-m");
			snprintf(uuidopt, sizeof(uuidopt), "uuid=%s", res->uuid);
			add_arg(res, uuidopt);
		} else {
			add_arg(res, "-U");
			add_arg(res, res->uuid);
		}
		add_arg(res, c->device);
		char cmd[EOS_PATH_MAX] = "";
		size_t o = 0;
		for (size_t i = 0; i < res->mkfs_argc && o < sizeof(cmd); i++)
			o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, "%s%s", i ? " " : "", res->mkfs_argv[i]);
		add_step(res, EOS_PROV_MKFS, "%s", cmd);
	}

	char spec[80];
	snprintf(spec, sizeof(spec), "UUID=%s", res->uuid);
	const char *replace_fstab = NULL;
	if (mnt[0]) {
		const struct eos_mount *at = eos_mounts_at(&ml, mnt);
		int unmounting_it = 0;
		for (size_t i = 0; i < res->n_steps; i++)
			unmounting_it |= res->steps[i].action == EOS_PROV_UNMOUNT &&
					 strcmp(res->steps[i].detail, mnt) == 0;
		if (at && !mounted_here && !unmounting_it) {
			r = eos_fail(e, EBUSY, mnt, "something else is mounted at %s: %s (%s)", mnt, at->source,
				     at->fstype);
			goto out;
		}
		char existing[1024];
		r = eos_fstab_find(fstab, mnt, existing, sizeof(existing), e);
		if (r)
			goto out;
		int disabled = 0;  /* the entry of a filesystem being destroyed, commented out already */
		for (size_t i = 0; i < res->n_steps; i++)
			disabled |= res->steps[i].action == EOS_PROV_FSTAB_OFF &&
				    strcmp(res->steps[i].detail, existing) == 0;
		if (existing[0] && strcmp(existing, spec) != 0 && !disabled) {
			if (!req->force) {
				r = eos_fail(e, EEXIST, fstab, "%s already has an entry for %s (%s); pass force=True "
					     "to replace it (the old line is kept as a comment)", fstab, mnt, existing);
				goto out;
			}
			replace_fstab = "eos_storage.provision replaced";
			add_destroy(res, "the fstab entry for %s (%s), commented out", mnt, existing);
		}
		struct stat st;
		if (lstat(mnt, &st) < 0)
			add_step(res, EOS_PROV_MKDIR, "%s", mnt);
		struct eos_provision_step *s = add_step(res, EOS_PROV_MOUNT, "%s on %s", c->device, mnt);
		s->done = mounted_here;
		char etarget[EOS_PATH_MAX];
		fstab_escape(mnt, etarget, sizeof(etarget));
		fmt_into(res->fstab_line, sizeof(res->fstab_line), "%s\t%s\t%s\t%s\t0\t%d", spec, etarget,
			 fstype, res->rec.mount_options, res->rec.fsck_pass);
		s = add_step(res, EOS_PROV_FSTAB, "%s in %s", res->fstab_line, fstab);
		s->done = strcmp(existing, spec) == 0;
	}
	for (size_t i = 0; i < res->n_steps; i++)
		res->changed |= !res->steps[i].done;
	if (req->dry_run) {
		r = 0;
		goto out;
	}

	for (size_t i = 0; i < res->n_steps; i++) {
		struct eos_provision_step *s = &res->steps[i];
		if (s->done)
			continue;
		switch (s->action) {
		case EOS_PROV_UNMOUNT:
			if (umount2(s->detail, 0) < 0)
				r = eos_fail_sys(e, errno, s->detail, "umount(%s)", s->detail);
			break;
		case EOS_PROV_WIPE:
			r = wipe_signatures(c->device, e);
			break;
		case EOS_PROV_MKFS: {
			const char *argv[EOS_PROV_MAX_ARGV + 1];
			for (size_t a = 0; a < res->mkfs_argc; a++)
				argv[a] = res->mkfs_argv[a];
			argv[res->mkfs_argc] = NULL;
			run.timeout_ms = 600000;
			r = eos_spawn_ok(argv, &run, e);
			if (!r) {
				char found[64] = "";
				r = probe_uuid(c->device, fstype, found, sizeof(found), e);
				if (!r && strcmp(found, res->uuid) != 0)
					snprintf(res->uuid, sizeof(res->uuid), "%s", found);
			}
			break;
		}
		case EOS_PROV_MKDIR:
			r = eos_mkdir_p(mnt, 0755, e);
			break;
		case EOS_PROV_MOUNT: {
			const char *opts = strcmp(res->rec.mount_options, "defaults") == 0 ? NULL
											: res->rec.mount_options;
			if (mount(c->device, mnt, fstype, 0, opts) < 0)
				r = eos_fail_sys(e, errno, mnt, "mount(%s, %s, %s, %s)", c->device, mnt, fstype,
						 opts ? opts : "");
			break;
		}
		case EOS_PROV_FSTAB_OFF:
			r = eos_fstab_disable(fstab, s->detail, "eos_storage.provision destroyed this filesystem", e);
			r = r < 0 ? r : 0;
			break;
		case EOS_PROV_FSTAB:
			snprintf(spec, sizeof(spec), "UUID=%s", res->uuid);
			r = eos_fstab_add(fstab, spec, mnt, fstype, res->rec.mount_options, res->rec.fsck_pass,
					  replace_fstab, e);
			r = r < 0 ? r : 0;
			break;
		}
		if (r) {
			/* Say how far it got: the steps before this one are done. */
			char msg[EOS_MSG_MAX];
			snprintf(msg, sizeof(msg), "%s", e->msg);
			eos_fail(e, e->code, e->path, "provision step '%s' failed (%zu of %zu steps done): %s",
				 action_names[s->action], i, res->n_steps, msg);
			goto out;
		}
		s->done = 1;
	}
	r = 0;
out:
	eos_mounts_free(&ml);
	eos_run_free(&run);
	return r;
}
