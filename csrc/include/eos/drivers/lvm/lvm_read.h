/* LVM PVs, VGs, LVs and segments read in-process from the devices' labels and metadata areas
 * (lvm_label.h, lvm_meta.h), into the same eos_lvm_report the lvm tool's report fills, with
 * the same values `lvm fullreport` shows. It answers only where its answer is lvm's: anything
 * valid it does not model (RAID, thin, cache or snapshot LVs, a missing or duplicate PV, copies
 * of the metadata that disagree, a lock or system id, LV state while device-mapper is loaded)
 * is -ENOTSUP with the reason, and the caller runs the lvm tool instead. */
#ifndef EOS_LVM_READ_H
#define EOS_LVM_READ_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"
#include "eos/drivers/lvm/lvm_report.h"

struct eos_lvm_dev {
	const char *path;         /* as lvm names it: /dev/loop0, /dev/sda2 */
	unsigned major, minor;
	uint64_t size;            /* bytes (dev_size) */
};

/* Read the devices (those without an LVM2 label are left out). 0 (out filled, available = 1),
 * -ENOTSUP (the reason in e: run lvm instead), or -errno (-EINVAL for corrupt metadata, with
 * the device and what is wrong). */
int eos_lvm_read(const struct eos_lvm_dev *devs, size_t n, struct eos_lvm_report *out,
		 struct eos_err *e);

/* Whether the running kernel has device-mapper (then LV state comes from it, and only the lvm
 * tool reports it). */
int eos_lvm_dm_loaded(void);

/* Whether lvm runs with its default view of the devices: no LVM_SYSTEM_DIR, and the view of
 * /etc/lvm (lvm_view.h) loads with no filter in it (no devices file in use, nothing else that
 * decides what lvm sees). Otherwise only the lvm tool knows which PVs it shows. */
int eos_lvm_config_is_default(void);

/* LVM as eos_lvm_report gives it, read in-process from the labels of every block device when
 * no lvm program or --config is asked for and lvm's configuration is the default, else (and
 * whenever the reader leaves it to lvm) by the lvm tool. *reader: "in-process" or "lvm". */
int eos_lvm_scan(const struct eos_lvm_opts *o, struct eos_lvm_report *out, const char **reader,
		 struct eos_err *e);

#endif
