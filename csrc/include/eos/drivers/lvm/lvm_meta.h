/* LVM2's text metadata (what a metadata area holds, and what /etc/lvm/backup files hold):
 *
 *   vg0 {                                  a section: name { ... }
 *       id = "Wghwgm-ICPr-..."             key = value: an integer, a "string" (\" and \\
 *       status = ["RESIZEABLE", "READ"]    escapes) or a [list] of integers and strings
 *       physical_volumes { pv0 { ... } }   # comments run to the end of the line
 *   }
 *
 * eos_lvm_meta_parse turns it into a tree with bounds on every dimension, then
 * eos_lvm_vg_from_meta into a VG: its PVs (by uuid), LVs and their segments, sizes in bytes.
 * Both reject malformed input with a message that says what and where (line number). */
#ifndef EOS_LVM_META_H
#define EOS_LVM_META_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

#define EOS_LVM_META_DEPTH 8          /* sections within sections (a VG needs 5) */
#define EOS_LVM_META_NODES 200000     /* values and sections in one text */
#define EOS_LVM_META_STR 4096         /* bytes in one string or key */

enum eos_lvm_meta_type { EOS_LVM_META_INT, EOS_LVM_META_STR_T, EOS_LVM_META_LIST, EOS_LVM_META_SECTION };

struct eos_lvm_node {
	char *key;                    /* NULL for a list item */
	enum eos_lvm_meta_type type;
	int64_t num;
	char *str;
	unsigned line;
	struct eos_lvm_node *child;   /* a section's entries, a list's items */
	struct eos_lvm_node *next;
};

/* The whole text as a section (root->child are the top-level entries). 0 or -EINVAL/-ENOMEM. */
int eos_lvm_meta_parse(const char *text, size_t len, struct eos_lvm_node **root, struct eos_err *e);
void eos_lvm_meta_free(struct eos_lvm_node *n);
const struct eos_lvm_node *eos_lvm_meta_get(const struct eos_lvm_node *section, const char *key);

struct eos_lvm_meta_area {            /* one stripe of a segment */
	size_t pv;                    /* index into the VG's pvs */
	uint64_t start;               /* first extent on that PV */
};

struct eos_lvm_meta_seg {
	uint64_t start_extent, extent_count;
	char *type;                   /* "striped" (lvm shows "linear" for one stripe), ... */
	uint64_t stripe_count, stripe_size;   /* stripe_size in bytes, 0 for one stripe */
	struct eos_lvm_meta_area *areas;      /* stripe_count of them (striped only) */
};

struct eos_lvm_meta_lv {
	char *name, *id;
	int read, write, visible, skip_activation;
	char alloc;                   /* lv_attr[2]: 'i' inherit, 'c', 'l', 'n', 'a' */
	int fixed_minor;
	struct eos_lvm_meta_seg *segs;
	size_t n_segs;
	uint64_t extents;             /* sum of the segments */
};

struct eos_lvm_meta_pv {
	char *key;                    /* "pv0" */
	char *id;                     /* uuid with dashes */
	uint64_t dev_size, pe_start;  /* bytes */
	uint64_t pe_count, pe_alloc;  /* pe_alloc: extents the segments use */
	int allocatable, missing, exported;
};

struct eos_lvm_meta_vg {
	char *name, *id;
	uint64_t seqno, extent_size;  /* extent_size in bytes */
	int read, write, resizeable, exported, clustered, shared;
	char alloc;                   /* vg_attr[4]: 'n', 'c', 'l', 'a' */
	struct eos_lvm_meta_pv *pvs;
	size_t n_pvs;
	struct eos_lvm_meta_lv *lvs;
	size_t n_lvs;
	/* Something valid that eos does not model (another segment type, a lock, a system id, a
	 * flag it does not know): a static reason; what is modelled is still filled. */
	const char *unsupported;
};

/* The VG described by a metadata text's tree. 0 or -EINVAL (message) / -ENOMEM. */
int eos_lvm_vg_from_meta(const struct eos_lvm_node *root, struct eos_lvm_meta_vg *vg,
			 struct eos_err *e);
void eos_lvm_vg_free(struct eos_lvm_meta_vg *vg);

/* Parse text and build the VG in one call. */
int eos_lvm_vg_parse(const char *text, size_t len, struct eos_lvm_meta_vg *vg, struct eos_err *e);

#endif
