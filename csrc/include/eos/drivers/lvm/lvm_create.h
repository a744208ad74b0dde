/* Creating LVM objects through the lvm tool (argv, no shell, a timeout: eos_lvm_run): PVs, VGs,
 * LVs, a VG extended by new PVs, an LV resized or activated. Names are checked with
 * eos_lvm_name_valid first; where the kernel has no device-mapper only the metadata changes
 * (activation disabled), and eos_lvm_lv_activate fails instead of pretending. */
#ifndef EOS_LVM_CREATE_H
#define EOS_LVM_CREATE_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

/* 0, or -EINVAL quoting name: what ("volume group" or "logical volume") as LVM would refuse
 * it (characters, length, a leading '-', and the names LVM reserves for its internal LVs). */
int eos_lvm_check_name(const char *what, const char *name, struct eos_err *e);

int eos_lvm_pvcreate(const char *dev, struct eos_err *e);

/* vgcreate [-s extent_size] vg devs...; extent_size 0: LVM's default (4 MiB). At most 16 devs. */
int eos_lvm_vgcreate(const char *vg, const char *const *devs, size_t n, uint64_t extent_size,
		     struct eos_err *e);
int eos_lvm_vgextend(const char *vg, const char *const *devs, size_t n, struct eos_err *e);

/* lvcreate -n lv -L <bytes>b vg, or with bytes 0: -l 100%FREE. */
int eos_lvm_lvcreate(const char *vg, const char *lv, uint64_t bytes, struct eos_err *e);

/* lvreduce -f -L <bytes>b vg/lv (the caller has made sure nothing lives past bytes). */
int eos_lvm_lvreduce(const char *vg, const char *lv, uint64_t bytes, struct eos_err *e);

/* lvchange -ay vg/lv, then the device node must be a block device; -ENOTSUP with the reason
 * where there is no device-mapper (lvm itself exits 0 there without activating anything).
 * path receives the node (/dev/vg/lv). */
int eos_lvm_lv_activate(const char *vg, const char *lv, char *path, size_t path_len,
			struct eos_err *e);

#endif
