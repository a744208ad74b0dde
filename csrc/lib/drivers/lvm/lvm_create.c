#include "eos/drivers/lvm/lvm_create.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "eos/core/spawn.h"
#include "eos/drivers/lvm/lvm_change.h"

#define MAX_DEVS 16

/* LVM keeps these for its internal LVs (lvm(8), "VALID NAMES"). */
static const char *const lv_reserved[] = {"_cdata", "_cmeta", "_corig", "_iorig", "_imeta",
					  "_mimage", "_mlog", "_pmspare", "_rimage", "_rmeta",
					  "_tdata", "_tmeta", "_vdata", "_vorigin", "_wcorig"};

int eos_lvm_check_name(const char *what, const char *name, struct eos_err *e)
{
	int lv = strcmp(what, "logical volume") == 0;
	if (lv && (strncmp(name, "snapshot", 8) == 0 || strncmp(name, "pvmove", 6) == 0))
		return eos_fail(e, EINVAL, "", "invalid logical volume name '%s': LVM reserves names "
				"starting with 'snapshot' or 'pvmove'", name);
	for (size_t i = 0; lv && i < sizeof(lv_reserved) / sizeof(lv_reserved[0]); i++)
		if (strstr(name, lv_reserved[i]))
			return eos_fail(e, EINVAL, "", "invalid logical volume name '%s': LVM reserves "
					"names containing '%s'", name, lv_reserved[i]);
	if (eos_lvm_name_valid(name))
		return 0;
	return eos_fail(e, EINVAL, "", "invalid %s name '%s': LVM takes 1 to %d of letters, digits, "
			"'+', '_', '.' and '-', not starting with '-'", what, name, EOS_LVM_NAME_MAX - 1);
}

/* Both names checked, and "vg/lv" in name. */
static int vg_lv(const char *vg, const char *lv, char *name, size_t n, struct eos_err *e)
{
	int r = eos_lvm_check_name("volume group", vg, e);
	if (!r)
		r = eos_lvm_check_name("logical volume", lv, e);
	if (!r)
		snprintf(name, n, "%s/%s", vg, lv);
	return r;
}

static int run(const char *const args[], struct eos_err *e)
{
	struct eos_run r = EOS_RUN_INIT;
	int rc = eos_lvm_run(args, &r, e);
	eos_run_free(&r);
	return rc;
}

int eos_lvm_pvcreate(const char *dev, struct eos_err *e)
{
	const char *args[] = {"pvcreate", "-q", "--", dev, NULL};
	return run(args, e);
}

/* "vgcreate|vgextend [opts] -- vg devs..." */
static int vg_devs(const char *cmd, const char *opt, const char *optval, const char *vg,
		   const char *const *devs, size_t n, struct eos_err *e)
{
	const char *args[MAX_DEVS + 8];
	size_t k = 0;
	int r = eos_lvm_check_name("volume group", vg, e);
	if (r)
		return r;
	if (n == 0 || n > MAX_DEVS)
		return eos_fail(e, EINVAL, vg, "%s %s: 1 to %d devices, not %zu", cmd, vg, MAX_DEVS, n);
	args[k++] = cmd;
	args[k++] = "-q";
	if (opt) {
		args[k++] = opt;
		args[k++] = optval;
	}
	args[k++] = "--";
	args[k++] = vg;
	for (size_t i = 0; i < n; i++)
		args[k++] = devs[i];
	args[k] = NULL;
	return run(args, e);
}

int eos_lvm_vgcreate(const char *vg, const char *const *devs, size_t n, uint64_t extent_size,
		     struct eos_err *e)
{
	char s[32];
	snprintf(s, sizeof(s), "%llub", (unsigned long long)extent_size);
	return vg_devs("vgcreate", extent_size ? "-s" : NULL, s, vg, devs, n, e);
}

int eos_lvm_vgextend(const char *vg, const char *const *devs, size_t n, struct eos_err *e)
{
	return vg_devs("vgextend", NULL, NULL, vg, devs, n, e);
}

int eos_lvm_lvcreate(const char *vg, const char *lv, uint64_t bytes, struct eos_err *e)
{
	char size[32], name[EOS_LVM_NAME_MAX * 2 + 2];
	int r = vg_lv(vg, lv, name, sizeof(name), e);
	if (r)
		return r;
	snprintf(size, sizeof(size), "%llub", (unsigned long long)bytes);
	/* -y: a stale signature inside the new extents is wiped, not asked about (no tty). */
	const char *args[] = {"lvcreate", "-q", "-y", "-n", lv, bytes ? "-L" : "-l",
			      bytes ? size : "100%FREE", "--", vg, NULL};
	return run(args, e);
}

int eos_lvm_lvreduce(const char *vg, const char *lv, uint64_t bytes, struct eos_err *e)
{
	char size[32], name[EOS_LVM_NAME_MAX * 2 + 2];
	int r = vg_lv(vg, lv, name, sizeof(name), e);
	if (r)
		return r;
	snprintf(size, sizeof(size), "%llub", (unsigned long long)bytes);
	const char *args[] = {"lvreduce", "-q", "-f", "-L", size, "--", name, NULL};
	return run(args, e);
}

int eos_lvm_lv_activate(const char *vg, const char *lv, char *path, size_t path_len,
			struct eos_err *e)
{
	char why[256], name[EOS_LVM_NAME_MAX * 2 + 2];
	int r = vg_lv(vg, lv, name, sizeof(name), e);
	if (r)
		return r;
	snprintf(path, path_len, "/dev/%s/%s", vg, lv);
	if (!eos_lvm_dm_available(why, sizeof(why)))
		return eos_fail(e, ENOTSUP, name, "cannot activate %s: %s", name, why);
	const char *args[] = {"lvchange", "-q", "-ay", "--", name, NULL};
	r = run(args, e);
	struct stat st;
	if (!r && (stat(path, &st) < 0 || !S_ISBLK(st.st_mode)))
		r = eos_fail(e, ENODEV, path, "lvchange -ay %s exited 0 but %s is not a block device",
			     name, path);
	return r;
}
