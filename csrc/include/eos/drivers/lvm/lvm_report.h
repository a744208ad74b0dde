/* LVM physical volumes, volume groups and logical volumes from the lvm tool's own JSON report
 * (`lvm fullreport --reportformat json --units b --nosuffix`, one run, argv vector, timeout).
 * Sizes in bytes. Reusable by planners (lvextend, pvresize): look things up with the
 * eos_lvm_find_* helpers. */
#ifndef EOS_LVM_REPORT_H
#define EOS_LVM_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

struct eos_lvm_pv {
	char *name;               /* pv_name, "/dev/loop0" */
	char *uuid;
	char *vg_name;            /* NULL for an orphan PV (in no VG) */
	char *fmt;                /* "lvm2" */
	char *attr;               /* pv_attr, "a--" */
	unsigned major, minor;
	uint64_t size;            /* pv_size: usable by the VG */
	uint64_t free, used;
	uint64_t dev_size;        /* size of the device: dev_size > size means pvresize can grow it */
	uint64_t pe_start;
	uint64_t pe_count, pe_alloc_count;
	int allocatable, missing;
};

struct eos_lvm_vg {
	char *name;
	char *uuid;
	char *attr;               /* vg_attr, "wz--n-" */
	uint64_t size, free;
	uint64_t extent_size;     /* bytes per extent */
	uint64_t extent_count, free_count;
	uint64_t pv_count, lv_count;
};

struct eos_lvm_lv {
	char *name;
	char *vg_name;
	char *uuid;
	char *full_name;          /* "vg/lv" */
	char *path;               /* lv_path, "/dev/vg/lv" */
	char *dm_path;            /* "/dev/mapper/vg-lv" */
	char *attr;               /* lv_attr, "-wi-a-----" */
	char *layout;             /* "linear", "striped", ... */
	uint64_t size;
	int active;               /* 1 active, 0 inactive, -1 unknown (lv_attr[4]) */
	char **devices;           /* the PVs its segments use (seg "devices" without the extents) */
	size_t n_devices;
};

/* One segment of an LV (filled by the in-process reader, lvm_read.h; the JSON report leaves
 * the list empty). */
struct eos_lvm_seg {
	char *lv_uuid;
	char *type;               /* segtype: "linear", "striped" */
	uint64_t start, size;     /* bytes: seg_start, seg_size */
	uint64_t start_pe, size_pe;
	uint64_t stripes, stripe_size;
	char *devices;            /* "/dev/loop4(5),/dev/loop5(0)", as lvm prints it */
};

struct eos_lvm_report {
	int available;            /* 0: the lvm tool is not installed; the lists are empty */
	struct eos_lvm_pv *pvs;
	size_t n_pvs;
	struct eos_lvm_vg *vgs;
	size_t n_vgs;
	struct eos_lvm_lv *lvs;
	size_t n_lvs;
	struct eos_lvm_seg *segs;
	size_t n_segs;
};

struct eos_lvm_opts {
	const char *lvm;          /* program, NULL: "lvm" from PATH */
	const char *config;       /* passed as --config, or NULL */
	int timeout_ms;           /* <= 0: 30 s */
};

/* Run the report. 0 (out->available says whether lvm exists) or -errno: the tool failed or
 * timed out (message: the command and its stderr) or printed something unparseable. */
int eos_lvm_report(const struct eos_lvm_opts *opts, struct eos_lvm_report *out, struct eos_err *e);

/* Whether the lvm program (opts->lvm or "lvm") is found, as eos_lvm_report would run it. */
int eos_lvm_available(const struct eos_lvm_opts *opts);

/* Parse a fullreport JSON document (what eos_lvm_report runs); sets available = 1. */
int eos_lvm_report_parse(const char *json, size_t len, struct eos_lvm_report *out,
			 struct eos_err *e);

void eos_lvm_report_free(struct eos_lvm_report *r);

const struct eos_lvm_pv *eos_lvm_find_pv(const struct eos_lvm_report *r, const char *name);
const struct eos_lvm_vg *eos_lvm_find_vg(const struct eos_lvm_report *r, const char *name);
const struct eos_lvm_lv *eos_lvm_find_lv(const struct eos_lvm_report *r, const char *vg,
					 const char *lv);

#endif
