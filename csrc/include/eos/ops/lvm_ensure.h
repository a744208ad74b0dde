/* Declarative LVM: make a PV, a VG (extended by new PVs) or an LV (grown, never shrunk unless
 * asked) match a request, idempotently. Each function reads `lvm fullreport` (eos/drivers/
 * lvm/lvm_report.h), checks every input and plans the steps before it changes anything; bad
 * input (a name LVM refuses, a size that does not parse, a device that is not a block device
 * or is in use) fails with a message quoting it and nothing changed. dry_run only plans. */
#ifndef EOS_LVM_ENSURE_H
#define EOS_LVM_ENSURE_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

#define EOS_LVM_MAX_DEVS 16

struct eos_lvm_step {
	char action[16];              /* "pvcreate", "vgcreate", "vgextend", "lvcreate", ... */
	char detail[EOS_PATH_MAX / 2];
};

struct eos_lvm_ensure {
	struct eos_lvm_step steps[EOS_LVM_MAX_DEVS + 2];
	size_t n_steps;
	int changed;                  /* steps done, or (dry_run) planned */
	uint64_t before, after;       /* bytes: the PV, VG or LV size before and after (0: absent) */
	char note[512];               /* what was left as it is, and why */
};

int eos_lvm_pv_ensure(const char *device, int dry_run, struct eos_lvm_ensure *res,
		      struct eos_err *e);

/* The VG exists and holds every device: missing devices become PVs and join it (vgextend);
 * PVs of the VG not listed are left in it. extent_size (a size, "4M") applies at creation
 * only; NULL: LVM's default. */
int eos_lvm_vg_ensure(const char *vg, const char *const *devices, size_t n,
		      const char *extent_size, int dry_run, struct eos_lvm_ensure *res,
		      struct eos_err *e);

struct eos_lvm_lv_req {
	const char *vg, *lv;
	const char *size;  /* absolute ("40M"), "N%FREE" (at creation) or "max" (all the VG's free) */
	int shrink;        /* an LV larger than size is reduced (only while inactive) */
	int dry_run;
};

int eos_lvm_lv_ensure(const struct eos_lvm_lv_req *req, struct eos_lvm_ensure *res,
		      struct eos_err *e);

#endif
