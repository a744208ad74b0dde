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
#include "eos/core/fstab.h"
#include "eos/drivers/lvm/lvm_change.h"
#include "eos/drivers/lvm/lvm_create.h"
#include "eos/drivers/lvm/lvm_report.h"
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
				 "LVM goes under the database filesystem (PV, VG and an LV over all of it) so "
				 "it can later grow across devices; lvm=False puts it directly on the device");
		else
			snprintf(rec->lvm_note, sizeof(rec->lvm_note),
				 "LVM layer skipped: this kernel has no device-mapper driver (no 'device-mapper' "
				 "in /proc/misc), so an LVM logical volume could not be activated; XFS goes "
				 "directly on the device (lvm=True refuses instead)");
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
			eos_strfmt((res)->destroys[(res)->n_destroys++], sizeof((res)->destroys[0]), __VA_ARGS__); \
	} while (0)

int eos_provision_add_arg(struct eos_provision_result *res, const char *a, struct eos_err *e)
{
	if (res->mkfs_argc >= EOS_PROV_MAX_ARGV - 1)
		return eos_fail(e, E2BIG, a, "too many mkfs arguments (at most %d)", EOS_PROV_MAX_ARGV - 1);
	if (strlen(a) >= sizeof(res->mkfs_argv[0]))
		return eos_fail(e, ENAMETOOLONG, a, "mkfs argument longer than %zu bytes: %.200s...",
				sizeof(res->mkfs_argv[0]) - 1, a);
	snprintf(res->mkfs_argv[res->mkfs_argc++], sizeof(res->mkfs_argv[0]), "%s", a);
	return 0;
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
					   "fstab-disable", "pvcreate", "vgcreate", "lvcreate", "activate"};

/* One provisioning: the request, what it found and what it plans. */
struct prov {
	const struct eos_provision_req *req;
	struct eos_provision_result *res;
	struct eos_provision_check *c;
	const char *fstab, *fstype;
	char mnt[EOS_PATH_MAX];
	struct eos_mount_list ml;
	int mounted_here;
	const char *replace_fstab;
};

/* The mount point in canonical form, without requiring it to exist. */
static int check_mountpoint(const char *m, char *mnt, size_t n, struct eos_err *e)
{
	if (m[0] != '/')
		return eos_fail(e, EINVAL, m, "mountpoint '%s' is not an absolute path", m);
	if (strlen(m) >= n - 1)
		return eos_fail(e, ENAMETOOLONG, m, "mountpoint too long");
	snprintf(mnt, n, "%s", m);
	for (size_t k = strlen(mnt); k > 1 && mnt[k - 1] == '/'; k--)
		mnt[k - 1] = '\0';
	if (strcmp(mnt, "/") == 0)
		return eos_fail(e, EINVAL, m, "refusing to mount over /");
	if (strchr(mnt, '\n'))
		return eos_fail(e, EINVAL, m, "mountpoint '%s' contains a newline", m);
	char rp[EOS_PATH_MAX];
	struct stat st;
	if (lstat(mnt, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return eos_fail(e, ENOTDIR, m, "mountpoint '%s' exists and is not a directory", m);
		if (realpath(mnt, rp))
			snprintf(mnt, n, "%s", rp);
	}
	return 0;
}

/* Inputs first: nothing is touched until everything checks out. */
static int check_inputs(struct prov *p, struct eos_err *e)
{
	int r = p->req->label ? check_label(p->req->label, p->fstype, e) : 0;
	if (!r && p->req->mountpoint)
		r = check_mountpoint(p->req->mountpoint, p->mnt, sizeof(p->mnt), e);
	if (!r)
		r = eos_provision_check(p->req->device, p->c, e);
	if (r)
		return r;
	if (p->c->size < p->res->rec.min_size) {
		char have[32], need[32];
		eos_size_format(p->c->size, have, sizeof(have));
		eos_size_format(p->res->rec.min_size, need, sizeof(need));
		return eos_fail(e, ENOSPC, p->c->device, "%s is %s; %s needs at least %s", p->c->device,
				have, p->fstype, need);
	}
	return eos_mounts_read(NULL, &p->ml, e);
}

/* Keep a device that already holds exactly the recommended filesystem (states). */
static int plan_keep(struct prov *p, struct eos_err *e)
{
	const struct eos_provision_check *c = p->c;
	const char *label = p->req->label;
	if (!(p->req->keep_matching && c->n_sigs == 1 && strcmp(c->sigs[0].type, p->fstype) == 0 &&
	      (!label || strcmp(c->sigs[0].label, label) == 0) && !c->n_holders))
		return 0;
	p->res->kept = 1;
	snprintf(p->res->uuid, sizeof(p->res->uuid), "%s", c->sigs[0].uuid);
	const struct eos_mount *at = p->mnt[0] ? eos_mounts_at(&p->ml, p->mnt) : NULL;
	p->mounted_here = at && eos_same_path(at->source, c->device);
	if (c->n_mounts && !(p->mounted_here && c->n_mounts == 1))
		return eos_fail(e, EBUSY, c->device, "%s already holds %s %s filesystem but it is mounted "
				"elsewhere: %s", c->device, eos_sig_article(p->fstype), p->fstype, c->mounts[0]);
	return 0;
}

/* Refusals for a device that is not free: every reason, or the one force cannot override. */
static int refuse_busy(const struct prov *p, struct eos_err *e)
{
	const struct eos_provision_check *c = p->c;
	if (c->n_blockers && !p->req->force) {
		char msg[EOS_MSG_MAX];
		size_t o = (size_t)snprintf(msg, sizeof(msg), "refusing to provision %s: it", c->device);
		for (size_t i = 0; i < c->n_blockers && o < sizeof(msg); i++)
			o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s %s", i ? "; it" : "",
					      c->blockers[i]);
		if (o < sizeof(msg))
			snprintf(msg + o, sizeof(msg) - o, ". Pass force=True to destroy it.");
		return eos_fail(e, EBUSY, c->device, "%s", msg);
	}
	if (c->n_holders || (c->busy && !c->n_mounts))
		return eos_fail(e, EBUSY, c->device, "refusing to provision %s even with force: it %s; "
				"release it first", c->device, c->blockers[c->n_blockers - 1]);
	for (size_t i = 0; i < c->n_mounts; i++)
		if (strstr(c->mounts[i], " on [swap]"))
			return eos_fail(e, EBUSY, c->device, "refusing to provision %s: it is active swap; "
					"swapoff it first", c->device);
	return 0;
}

/* What force destroys, said in words: mounts, signatures, the fstab entries of old UUIDs. */
static int plan_destroys(struct prov *p, struct eos_err *e)
{
	struct eos_provision_result *res = p->res;
	const struct eos_provision_check *c = p->c;
	for (size_t i = 0; i < c->n_mounts; i++) {
		add_destroy(res, "the mounted filesystem %s (unmounted first)", c->mounts[i]);
		add_step(res, EOS_PROV_UNMOUNT, "%s", strstr(c->mounts[i], " on ") + 4);
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
		int r = eos_fstab_target_of(p->fstab, old_spec, target, sizeof(target), e);
		if (r)
			return r;
		if (target[0]) {
			add_destroy(res, "the %s entry %s for %s (commented out)", p->fstab, old_spec, target);
			add_step(res, EOS_PROV_FSTAB_OFF, "%s", old_spec);
		}
	}
	if (c->n_sigs)
		add_step(res, EOS_PROV_WIPE, "erase %s signature%s on %s", c->n_sigs > 1 ? "all" : "the",
			 c->n_sigs > 1 ? "s" : "", c->device);
	return 0;
}

/* Whether the filesystem goes on an LV: asked for, or recommended where an LV can be
 * activated and the device is not itself a device-mapper device (an LV). */
static int wants_lvm(const struct prov *p)
{
	if (p->req->lvm >= 0)
		return p->req->lvm;
	char dm[96];
	struct stat st;
	snprintf(dm, sizeof(dm), "/sys/dev/block/%u:%u/dm", p->c->major, p->c->minor);
	return p->res->rec.wants_lvm && p->res->rec.lvm_available && stat(dm, &st) != 0;
}

/* PV, VG and an LV over all of it, planned; refused before anything changes where the LV could
 * not be activated (lvm itself would exit 0 there without activating anything). */
static int plan_lvm(struct prov *p, struct eos_err *e)
{
	struct eos_provision_result *res = p->res;
	const char *dev = p->c->device, *base = strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
	char why[256];
	res->lvm_used = 1;
	int r = eos_lvm_check_name("volume group", p->req->vg ? p->req->vg : "eos_", e);
	if (!r)
		r = eos_lvm_check_name("logical volume", p->req->lv ? p->req->lv : res->rec.workload, e);
	if (r)
		return r;
	/* Both fit: a checked name is shorter than EOS_LVM_NAME_MAX (128); a default VG name is
	 * cut to it. */
	snprintf(res->vg, sizeof(res->vg), "%s%.100s", p->req->vg ? "" : "eos_", p->req->vg ? p->req->vg : base);
	snprintf(res->lv, sizeof(res->lv), "%s", p->req->lv ? p->req->lv : res->rec.workload);
	if ((r = eos_lvm_check_name("volume group", res->vg, e)))
		return r;
	if (p->c->size < res->rec.min_size + 8 * MiB)
		return eos_fail(e, ENOSPC, dev, "%s is too small for %s on LVM: it needs %llu MiB",
				dev, p->fstype, (unsigned long long)((res->rec.min_size + 8 * MiB) / MiB));
	struct eos_lvm_opts lo = {.config = eos_lvm_config(), .timeout_ms = 120000};
	struct eos_lvm_report rep;
	memset(&rep, 0, sizeof(rep));
	r = eos_lvm_report(&lo, &rep, e);
	if (!r && !rep.available)
		r = eos_fail(e, ENOENT, "lvm", "the lvm tool is not installed (Debian package lvm2)");
	if (!r && eos_lvm_find_vg(&rep, res->vg))
		r = eos_fail(e, EEXIST, res->vg, "volume group '%s' exists already; name another with "
			     "vg=", res->vg);
	eos_lvm_report_free(&rep);
	if (!r && !p->req->dry_run && !eos_lvm_dm_available(why, sizeof(why)))
		r = eos_fail(e, ENOTSUP, dev, "cannot put %s on an LVM logical volume on %s here: %s; "
			     "nothing was changed (lvm=False puts it directly on the device)", p->fstype,
			     dev, why);
	if (r)
		return r;
	add_step(res, EOS_PROV_PVCREATE, "%s", dev);
	add_step(res, EOS_PROV_VGCREATE, "%s on %s", res->vg, dev);
	add_step(res, EOS_PROV_LVCREATE, "%s/%s over all of %s", res->vg, res->lv, res->vg);
	add_step(res, EOS_PROV_ACTIVATE, "/dev/%s/%s", res->vg, res->lv);
	eos_strfmt(res->fs_device, sizeof(res->fs_device), "/dev/%s/%s", res->vg, res->lv);
	return 0;
}

/* mkfs with a pre-chosen UUID, so the fstab line is known before it runs. */
static int plan_mkfs(struct prov *p, struct eos_err *e)
{
	struct eos_provision_result *res = p->res;
	const char *fstype = p->fstype;
	int r = eos_provision_new_uuid(res->uuid, e);
	if (r)
		return r;
	char uuidopt[80];
	snprintf(uuidopt, sizeof(uuidopt), "uuid=%s", res->uuid);
	const char *args[] = {
		strcmp(fstype, "xfs") == 0 ? "mkfs.xfs" : strcmp(fstype, "ext4") == 0 ? "mkfs.ext4" : "mkfs.btrfs",
		"-q",
		p->req->force || p->c->n_sigs ? (strcmp(fstype, "ext4") == 0 ? "-F" : "-f") : NULL,
		p->req->label ? "-L" : NULL, p->req->label,
		strcmp(fstype, "xfs") == 0 ? "-m" : "-U", strcmp(fstype, "xfs") == 0 ? uuidopt : res->uuid,
		p->res->fs_device,
	};
	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
		if (args[i] && (r = eos_provision_add_arg(res, args[i], e)))
			return r;
	char cmd[EOS_PATH_MAX] = "";
	size_t o = 0;
	for (size_t i = 0; i < res->mkfs_argc && o < sizeof(cmd); i++)
		o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, "%s%s", i ? " " : "", res->mkfs_argv[i]);
	add_step(res, EOS_PROV_MKFS, "%s", cmd);
	return 0;
}

static int has_step(const struct eos_provision_result *res, enum eos_provision_action a, const char *detail)
{
	for (size_t i = 0; i < res->n_steps; i++)
		if (res->steps[i].action == a && strcmp(res->steps[i].detail, detail) == 0)
			return 1;
	return 0;
}

/* The mount and its fstab entry. */
static int plan_mount(struct prov *p, struct eos_err *e)
{
	struct eos_provision_result *res = p->res;
	const char *mnt = p->mnt;
	char spec[80], existing[1024], etarget[EOS_PATH_MAX];
	snprintf(spec, sizeof(spec), "UUID=%s", res->uuid);
	const struct eos_mount *at = eos_mounts_at(&p->ml, mnt);
	if (at && !p->mounted_here && !has_step(res, EOS_PROV_UNMOUNT, mnt))
		return eos_fail(e, EBUSY, mnt, "something else is mounted at %s: %s (%s)", mnt, at->source,
				at->fstype);
	int r = eos_fstab_find(p->fstab, mnt, existing, sizeof(existing), e);
	if (r)
		return r;
	/* The entry of a filesystem being destroyed is commented out already. */
	if (existing[0] && strcmp(existing, spec) != 0 && !has_step(res, EOS_PROV_FSTAB_OFF, existing)) {
		if (!p->req->force)
			return eos_fail(e, EEXIST, p->fstab, "%s already has an entry for %s (%s); pass "
					"force=True to replace it (the old line is kept as a comment)", p->fstab,
					mnt, existing);
		p->replace_fstab = "eos_storage.provision replaced";
		add_destroy(res, "the fstab entry for %s (%s), commented out", mnt, existing);
	}
	if (eos_fstab_escape(mnt, etarget, sizeof(etarget)))
		return eos_fail(e, ENAMETOOLONG, mnt, "the mount point is too long for an fstab entry once "
				"escaped: %.200s...", mnt);
	struct stat st;
	if (lstat(mnt, &st) < 0)
		add_step(res, EOS_PROV_MKDIR, "%s", mnt);
	struct eos_provision_step *s = add_step(res, EOS_PROV_MOUNT, "%s on %s", p->res->fs_device, mnt);
	s->done = p->mounted_here;
	eos_strfmt(res->fstab_line, sizeof(res->fstab_line), "%s\t%s\t%s\t%s\t0\t%d", spec, etarget,
		 p->fstype, res->rec.mount_options, res->rec.fsck_pass);
	s = add_step(res, EOS_PROV_FSTAB, "%s in %s", res->fstab_line, p->fstab);
	s->done = strcmp(existing, spec) == 0;
	return 0;
}

static int run_mkfs(struct prov *p, struct eos_err *e)
{
	struct eos_provision_result *res = p->res;
	struct eos_run run = EOS_RUN_INIT;
	const char *argv[EOS_PROV_MAX_ARGV + 1];
	for (size_t a = 0; a < res->mkfs_argc; a++)
		argv[a] = res->mkfs_argv[a];
	argv[res->mkfs_argc] = NULL;
	run.timeout_ms = 600000;
	int r = eos_spawn_ok(argv, &run, e);
	eos_run_free(&run);
	if (!r) {
		char found[64] = "";
		r = probe_uuid(p->res->fs_device, p->fstype, found, sizeof(found), e);
		if (!r && strcmp(found, res->uuid) != 0)
			snprintf(res->uuid, sizeof(res->uuid), "%s", found);
	}
	return r;
}

static int run_step(struct prov *p, const struct eos_provision_step *s, struct eos_err *e)
{
	const char *mnt = p->mnt, *fstype = p->fstype, *opts = p->res->rec.mount_options;
	char spec[80];
	int r = 0;
	switch (s->action) {
	case EOS_PROV_UNMOUNT:
		if (umount2(s->detail, 0) < 0)
			r = eos_fail_sys(e, errno, s->detail, "umount(%s)", s->detail);
		break;
	case EOS_PROV_WIPE:
		r = wipe_signatures(p->c->device, e);
		break;
	case EOS_PROV_MKFS:
		r = run_mkfs(p, e);
		break;
	case EOS_PROV_MKDIR:
		r = eos_mkdir_p(mnt, 0755, e);
		break;
	case EOS_PROV_MOUNT:
		opts = strcmp(opts, "defaults") == 0 ? NULL : opts;
		if (mount(p->res->fs_device, mnt, fstype, 0, opts) < 0)
			r = eos_fail_sys(e, errno, mnt, "mount(%s, %s, %s, %s)", p->res->fs_device, mnt, fstype,
					 opts ? opts : "");
		break;
	case EOS_PROV_PVCREATE:
		r = eos_lvm_pvcreate(p->c->device, e);
		break;
	case EOS_PROV_VGCREATE:
		r = eos_lvm_vgcreate(p->res->vg, (const char *const[]){p->c->device}, 1, 0, e);
		break;
	case EOS_PROV_LVCREATE:
		r = eos_lvm_lvcreate(p->res->vg, p->res->lv, 0, e);
		break;
	case EOS_PROV_ACTIVATE:
		r = eos_lvm_lv_activate(p->res->vg, p->res->lv, p->res->fs_device,
					sizeof(p->res->fs_device), e);
		break;
	case EOS_PROV_FSTAB_OFF:
		r = eos_fstab_disable(p->fstab, s->detail, "eos_storage.provision destroyed this filesystem", e);
		break;
	case EOS_PROV_FSTAB:
		snprintf(spec, sizeof(spec), "UUID=%s", p->res->uuid);
		r = eos_fstab_add(p->fstab, spec, mnt, fstype, opts, p->res->rec.fsck_pass, p->replace_fstab, e);
		break;
	}
	return r < 0 ? r : 0;
}

static int run_steps(struct prov *p, struct eos_err *e)
{
	struct eos_provision_result *res = p->res;
	for (size_t i = 0; i < res->n_steps; i++) {
		struct eos_provision_step *s = &res->steps[i];
		if (s->done)
			continue;
		int r = run_step(p, s, e);
		if (r) {
			/* Say how far it got: the steps before this one are done. */
			char msg[EOS_MSG_MAX];
			snprintf(msg, sizeof(msg), "%s", e->msg);
			return eos_fail(e, e->code, e->path, "provision step '%s' failed (%zu of %zu steps "
					"done): %s", action_names[s->action], i, res->n_steps, msg);
		}
		s->done = 1;
	}
	return 0;
}

int eos_provision(const struct eos_provision_req *req, struct eos_provision_result *res,
		  struct eos_err *e)
{
	memset(res, 0, sizeof(*res));
	struct prov p = {.req = req, .res = res, .c = &res->check, .ml = {NULL, 0}};
	p.fstab = req->fstab && req->fstab[0] ? req->fstab : "/etc/fstab";
	int r = eos_provision_recommend(req->workload, &res->rec, e);
	if (r || res->rec.handover)
		return r;  /* a hand-over does nothing here: the caller reports it */
	p.fstype = res->rec.fstype;
	r = check_inputs(&p, e);
	if (!r) {
		snprintf(res->fs_device, sizeof(res->fs_device), "%s", p.c->device);
		r = plan_keep(&p, e);
	}
	if (!r && !res->kept) {
		r = refuse_busy(&p, e);
		if (!r)
			r = plan_destroys(&p, e);
		if (!r && wants_lvm(&p))
			r = plan_lvm(&p, e);
		if (!r)
			r = plan_mkfs(&p, e);
	}
	if (!r && p.mnt[0])
		r = plan_mount(&p, e);
	for (size_t i = 0; !r && i < res->n_steps; i++)
		res->changed |= !res->steps[i].done;
	if (!r && !req->dry_run)
		r = run_steps(&p, e);
	eos_mounts_free(&p.ml);
	return r;
}
