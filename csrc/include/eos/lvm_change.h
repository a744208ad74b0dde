/* LVM changes for expand: pvresize and lvextend through the lvm tool (argv, no shell), and the
 * few report fields they need (lvm ... --reportformat json). Where the kernel has no
 * device-mapper, lvm runs with activation disabled (metadata only). */
#ifndef EOS_LVM_CHANGE_H
#define EOS_LVM_CHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "eos/err.h"

#define EOS_LVM_NAME_MAX 128

/* 1 when the kernel has a device-mapper driver; 0 with the reason in why. */
int eos_lvm_dm_available(char *why, size_t why_len);

/* 1 when name is a valid LVM VG or LV name (letters, digits, + _ . -; not starting with -). */
int eos_lvm_name_valid(const char *name);

struct eos_lvm_pv {
	char name[EOS_LVM_NAME_MAX * 2];
	char vg[EOS_LVM_NAME_MAX];
	uint64_t pv_size, dev_size, pe_start, pe_count, extent_size;
};

struct eos_lvm_lv {
	char vg[EOS_LVM_NAME_MAX];
	char lv[EOS_LVM_NAME_MAX];
	char attr[16];
	char path[EOS_LVM_NAME_MAX * 2 + 8];
	uint64_t lv_size, vg_free, extent_size;
};

/* The PV on dev: 1 found, 0 not a PV (as far as lvm sees), -errno. */
int eos_lvm_pv_get(const char *dev, struct eos_lvm_pv *pv, struct eos_err *e);
/* All PVs of vg, malloc'ed in *out (free()). */
int eos_lvm_vg_pvs(const char *vg, struct eos_lvm_pv **out, size_t *n, struct eos_err *e);
/* The LV vg/lv: 1 found, 0 no such LV, -errno. */
int eos_lvm_lv_get(const char *vg, const char *lv, struct eos_lvm_lv *out, struct eos_err *e);

/* Extents the PV would have after pvresize to the device's size dev_bytes. */
uint64_t eos_lvm_pv_extents_for(const struct eos_lvm_pv *pv, uint64_t dev_bytes);

int eos_lvm_pvresize(const char *dev, struct eos_err *e);
/* lvextend -L <bytes>b vg/lv (bytes a multiple of the extent size). */
int eos_lvm_lvextend(const char *vg, const char *lv, uint64_t bytes, struct eos_err *e);

#endif
