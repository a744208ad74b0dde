/* expand, resolution: a target to the objects it is made of. */
#include "expand_int.h"


#include <blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "eos/drivers/btrfs/btrfs_ioctl.h"
#include "eos/drivers/btrfs/btrfs_resize.h"
#include "eos/core/buf.h"
#include "eos/drivers/ext4.h"
#include "eos/drivers/loopdev.h"
#include "eos/drivers/lvm/lvm_change.h"
#include "eos/drivers/lvm/lvm_report.h"
#include "eos/drivers/mounts.h"
#include "eos/core/size.h"
#include "eos/drivers/xfs.h"

/* ---- resolution ------------------------------------------------------------------------- */

int expand_fs_supported(const char *t)
{
	return strcmp(t, "xfs") == 0 || strcmp(t, "ext4") == 0 || strcmp(t, "ext3") == 0 ||
	       strcmp(t, "ext2") == 0 || strcmp(t, "btrfs") == 0;
}

int expand_is_ext(const char *t)
{
	return strncmp(t, "ext", 3) == 0;
}

static int mount_is_ro(const struct eos_mount *m)
{
	const char *o = m->options;
	size_t n = strlen(o);
	return strcmp(o, "ro") == 0 || strncmp(o, "ro,", 3) == 0 || strstr(o, ",ro,") ||
	       (n > 3 && strcmp(o + n - 3, ",ro") == 0);
}

/* TYPE of what is on dev (libblkid), "" when nothing recognized. */
int expand_probe_type(const char *dev, char *type, size_t n, struct eos_err *e)
{
	type[0] = '\0';
	blkid_probe pr = blkid_new_probe_from_filename(dev);
	if (!pr)
		return eos_fail_sys(e, errno ? errno : EIO, dev, "blkid_new_probe_from_filename %s", dev);
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	int r = blkid_do_safeprobe(pr);
	if (r == 0) {
		const char *v = NULL;
		if (blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0 && v)
			snprintf(type, n, "%s", v);
	} else if (r == -2) {
		blkid_free_probe(pr);
		return eos_fail(e, EINVAL, dev, "%s carries more than one signature (blkid: ambiguous)",
				dev);
	} else if (r < 0) {
		blkid_free_probe(pr);
		return eos_fail(e, EIO, dev, "blkid_do_safeprobe %s failed", dev);
	}
	blkid_free_probe(pr);
	return 0;
}

/* A mounted device-mapper device: its vg/lv, refusing suspended or non-LVM ones. 1 when dev is
 * a dm device (vg, lv filled), 0 when not. */
static int dm_lv_of(dev_t rdev, const char *dev, char *vg, char *lv, size_t n, struct eos_err *e)
{
	char sys[128];
	struct eos_buf b = EOS_BUF_INIT;
	int r = 0;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/name", major(rdev), minor(rdev));
	if (access(sys, F_OK))
		return 0;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/suspended", major(rdev), minor(rdev));
	if (eos_buf_read_file(&b, AT_FDCWD, sys) == 0 && b.data[0] == '1') {
		r = eos_fail(e, EBUSY, dev, "%s is a suspended device-mapper device; refusing to grow it",
			     dev);
		goto out;
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/uuid", major(rdev), minor(rdev));
	if (eos_buf_read_file(&b, AT_FDCWD, sys) || strncmp(b.data, "LVM-", 4) != 0) {
		r = eos_fail(e, EINVAL, dev, "%s is a device-mapper device that is not an LVM logical "
			     "volume (dm uuid '%s'); eos cannot grow it", dev, b.data ? b.data : "");
		goto out;
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/name", major(rdev), minor(rdev));
	if (eos_buf_read_file(&b, AT_FDCWD, sys)) {
		r = eos_fail_sys(e, errno, sys, "read %s", sys);
		goto out;
	}
	/* dm names are "<vg>-<lv>" with '-' inside either doubled. */
	char *s = b.data, *o = vg;
	size_t k = 0;
	int in_lv = 0;
	for (; *s && *s != '\n'; s++) {
		if (*s == '-' && s[1] == '-') {
			s++;
		} else if (*s == '-' && !in_lv) {
			o[k] = '\0';
			o = lv;
			k = 0;
			in_lv = 1;
			continue;
		}
		if (k + 1 < n)
			o[k++] = *s;
	}
	o[k] = '\0';
	if (!in_lv) {
		r = eos_fail(e, EINVAL, dev, "cannot split the device-mapper name '%s' of %s into vg-lv",
			     b.data, dev);
		goto out;
	}
	r = 1;
out:
	eos_buf_free(&b);
	return r;
}

void expand_key_for_dev(struct eos_expand_plan *p, dev_t rdev)
{
	snprintf(p->key, sizeof(p->key), "dev-%u-%u", major(rdev), minor(rdev));
}

static int resolve_path(const char *target, struct eos_expand_plan *p,
			const struct eos_mount_list *ml, struct eos_err *e)
{
	struct stat st;
	char canon[PATH_MAX];
	if (stat(target, &st))
		return eos_fail_sys(e, errno, target, "target '%s' does not exist", target);
	if (!realpath(target, canon))
		return eos_fail_sys(e, errno, target, "realpath '%s'", target);
	if (S_ISDIR(st.st_mode)) {
		struct eos_err ignore;
		const struct eos_mount *m = eos_mounts_find(ml, canon, NULL, 0, &ignore);
		if (!m || strcmp(m->target, canon) != 0)
			return eos_fail(e, EINVAL, target, "target '%s' is not a mount point (it is inside "
					"the mount at '%s')", target, m ? m->target : "?");
		snprintf(p->kind, sizeof(p->kind), "mount");
		snprintf(p->mountpoint, sizeof(p->mountpoint), "%s", m->target);
		snprintf(p->fstype, sizeof(p->fstype), "%s", m->fstype);
		struct stat sst;
		if (m->source[0] != '/' || stat(m->source, &sst) || !S_ISBLK(sst.st_mode))
			return eos_fail(e, EINVAL, target, "cannot resolve the source '%s' of the mount at "
					"'%s' (filesystem '%s') to a block device; eos grows only "
					"filesystems on block devices", m->source, m->target, m->fstype);
		if (!expand_fs_supported(m->fstype))
			return eos_fail(e, EOPNOTSUPP, target, "the mount at '%s' is '%s' on %s; eos grows "
					"xfs, ext2/3/4 and btrfs only", m->target, m->fstype, m->source);
		if (mount_is_ro(m))
			return eos_fail(e, EROFS, target, "the mount at '%s' (%s on %s) is read-only; "
					"refusing to grow it", m->target, m->fstype, m->source);
		if (!realpath(m->source, p->device))
			snprintf(p->device, sizeof(p->device), "%s", m->source);
		expand_key_for_dev(p, sst.st_rdev);
		int dm = dm_lv_of(sst.st_rdev, p->device, p->vg, p->lv, sizeof(p->vg), e);
		if (dm < 0)
			return dm;
		return 0;
	}
	if (!S_ISBLK(st.st_mode))
		return eos_fail(e, EINVAL, target, "target '%s' is neither a mount point nor a block "
				"device", target);
	snprintf(p->kind, sizeof(p->kind), "device");
	snprintf(p->device, sizeof(p->device), "%s", canon);
	expand_key_for_dev(p, st.st_rdev);
	int dm = dm_lv_of(st.st_rdev, canon, p->vg, p->lv, sizeof(p->vg), e);
	if (dm < 0)
		return dm;
	/* Mounted? Then grow it online through that mount. */
	for (size_t i = 0; i < ml->n; i++) {
		const struct eos_mount *m = &ml->v[i];
		struct stat sst;
		if (m->source[0] != '/' || stat(m->source, &sst) || !S_ISBLK(sst.st_mode) ||
		    sst.st_rdev != st.st_rdev)
			continue;
		if (!p->mountpoint[0] || strcmp(m->root, "/") == 0) {
			snprintf(p->mountpoint, sizeof(p->mountpoint), "%s", m->target);
			snprintf(p->fstype, sizeof(p->fstype), "%s", m->fstype);
			if (mount_is_ro(m))
				return eos_fail(e, EROFS, target, "%s is mounted read-only at '%s'; refusing "
						"to grow it", canon, m->target);
		}
	}
	if (!p->mountpoint[0]) {
		int r = expand_probe_type(canon, p->fstype, sizeof(p->fstype), e);
		if (r)
			return r;
		if (!p->fstype[0])
			return eos_fail(e, EOPNOTSUPP, target, "found no filesystem and no LVM PV on %s "
					"(blkid); nothing eos knows how to grow", canon);
		if (strcmp(p->fstype, "LVM2_member") == 0) {
			p->fstype[0] = '\0';
			return 0;
		}
	}
	if (!expand_fs_supported(p->fstype))
		return eos_fail(e, EOPNOTSUPP, target, "%s holds a '%s' filesystem; eos grows xfs, "
				"ext2/3/4 and btrfs only", canon, p->fstype);
	return 0;
}

static int resolve_lv(const char *target, struct eos_expand_plan *p, struct eos_err *e)
{
	const char *slash = strchr(target, '/');
	size_t vn = (size_t)(slash - target);
	if (vn == 0 || vn >= sizeof(p->vg) || strchr(slash + 1, '/'))
		return eos_fail(e, EINVAL, "", "invalid target '%s': expected a mount point, a block "
				"device or vg/lv", target);
	memcpy(p->vg, target, vn);
	p->vg[vn] = '\0';
	snprintf(p->lv, sizeof(p->lv), "%s", slash + 1);
	if (!eos_lvm_name_valid(p->vg) || !eos_lvm_name_valid(p->lv))
		return eos_fail(e, EINVAL, "", "invalid target '%s': LVM names may contain only "
				"letters, digits and + _ . - (and may not start with -)", target);
	snprintf(p->kind, sizeof(p->kind), "lv");
	snprintf(p->key, sizeof(p->key), "lv-%s-%s", p->vg, p->lv);
	return 0;
}

int expand_resolve(const char *target, struct eos_expand_plan *p, struct eos_err *e)
{
	struct eos_mount_list ml = {NULL, 0};
	int r;
	if (!target || !*target)
		return eos_fail(e, EINVAL, "", "empty target: expected a mount point, a block device "
				"or vg/lv");
	snprintf(p->target, sizeof(p->target), "%s", target);
	if (target[0] == '/') {
		r = eos_mounts_read(NULL, &ml, e);
		if (r)
			return r;
		r = resolve_path(target, p, &ml, e);
		eos_mounts_free(&ml);
		return r;
	}
	if (strchr(target, '/'))
		return resolve_lv(target, p, e);
	return eos_fail(e, EINVAL, "", "unknown target '%s': expected a mount point, a block device "
			"or vg/lv", target);
}

