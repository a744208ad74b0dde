/* LVM changes for expand: pvresize and lvextend through the lvm tool (argv, no shell). Where the kernel has no
 * device-mapper, lvm runs with activation disabled (metadata only). Reports come from
 * eos/lvm_report.h (lvm fullreport). */
#ifndef EOS_LVM_CHANGE_H
#define EOS_LVM_CHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

#define EOS_LVM_NAME_MAX 128

/* 1 when the kernel has a device-mapper driver; 0 with the reason in why. */
int eos_lvm_dm_available(char *why, size_t why_len);

/* 1 when name is a valid LVM VG or LV name (letters, digits, + _ . -; not starting with -). */
int eos_lvm_name_valid(const char *name);

/* The --config text the lvm tool needs here: activation disabled when there is no
 * device-mapper, else NULL. For eos_lvm_report's opts.config too. */
const char *eos_lvm_config(void);

/* Extents a PV (first extent at pe_start, extent_size bytes each, pe_count now) would have
 * after pvresize to a device of dev_bytes; pe_count when it would not grow. */
struct eos_run;
/* Run "lvm args[0] [--config <eos_lvm_config()>] args[1...]" (argv, no shell, 120 s timeout);
 * -EIO with the command and its stderr unless it exits 0. args ends with NULL, at most 20. */
int eos_lvm_run(const char *const args[], struct eos_run *run, struct eos_err *e);

uint64_t eos_lvm_pv_extents_for(uint64_t pe_start, uint64_t extent_size, uint64_t pe_count,
				uint64_t dev_bytes);

int eos_lvm_pvresize(const char *dev, struct eos_err *e);
/* lvextend -L <bytes>b vg/lv (bytes a multiple of the extent size). */
int eos_lvm_lvextend(const char *vg, const char *lv, uint64_t bytes, struct eos_err *e);

#endif
