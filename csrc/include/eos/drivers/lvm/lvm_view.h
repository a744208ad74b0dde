/* Which devices lvm's configuration lets it see, decided in-process so that the LVM reader
 * (lvm_read.h) answers for the same devices lvm would: its default configuration, or one whose
 * only device settings are `filter` / `global_filter` lists of "a|regex|" / "r|regex|"
 * patterns (the common way hosts, and tests, keep lvm off other devices). Anything else that
 * decides what lvm sees (a devices file, a system id, lvmlockd, tags, component detection
 * turned off, an unusual regex) makes the view unknown: the caller runs the lvm tool. */
#ifndef EOS_LVM_VIEW_H
#define EOS_LVM_VIEW_H

#include <regex.h>
#include <stddef.h>

#include "eos/drivers/lvm/lvm_read.h"

#define EOS_LVM_VIEW_MAX 64       /* patterns in filter and global_filter together */

struct eos_lvm_view {
	size_t n;
	regex_t re[EOS_LVM_VIEW_MAX];
	unsigned char accept[EOS_LVM_VIEW_MAX];   /* 'a' (1) or 'r' (0) */
	unsigned char list[EOS_LVM_VIEW_MAX];     /* 0: global_filter, 1: filter */
};

/* Read lvm.conf and lvmlocal.conf from $LVM_SYSTEM_DIR or /etc/lvm. 1: known (v filled; free
 * it), 0: only lvm can tell (v empty). */
int eos_lvm_view_load(struct eos_lvm_view *v);
void eos_lvm_view_free(struct eos_lvm_view *v);

/* The same view, read once while lvm.conf and lvmlocal.conf stay the same files (see
 * lvm_view.c); thread-safe. NULL: only lvm can tell. Give it back with eos_lvm_view_put. */
const struct eos_lvm_view *eos_lvm_view_get(void);
void eos_lvm_view_put(const struct eos_lvm_view *v);

/* Keep in devs[0..*n) only the devices lvm shows, judged by every name /dev gives each (as
 * lvm's regex filter does). 0, or -ENOTSUP when a device is shown only under another name
 * than its own (lvm would report it under that name). */
int eos_lvm_view_apply(const struct eos_lvm_view *v, struct eos_lvm_dev *devs, size_t *n);

#endif
