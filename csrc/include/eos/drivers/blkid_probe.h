/* Superblock and partition-table probing through libblkid's low-level API, with the same
 * settings as `blkid -p` (so the values are exactly what `blkid -p -o export` prints). */
#ifndef EOS_BLKID_PROBE_H
#define EOS_BLKID_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

enum eos_blkid_status {
	EOS_BLKID_FOUND = 0,       /* tags filled */
	EOS_BLKID_NOTHING = 1,     /* no signature (blkid -p exits 2) */
	EOS_BLKID_AMBIVALENT = 2,  /* more than one signature (blkid -p exits 8) */
};

struct eos_blkid_tag {
	char *name;   /* "TYPE", "UUID", "LABEL", "PTTYPE", "PART_ENTRY_UUID", ... */
	char *value;
};

struct eos_blkid_result {
	enum eos_blkid_status status;
	struct eos_blkid_tag *tags;  /* in blkid's order */
	size_t n;
	uint64_t btrfs_devid;        /* from the btrfs superblock's dev_item, 0 when not btrfs */
};

/* Probe a block device or image file. Returns 0 (see out->status) or -errno (cannot open or
 * read; message names the path). */
int eos_blkid_probe(const char *path, struct eos_blkid_result *out, struct eos_err *e);

/* The same in steps, for a caller that opens many devices first: open as eos_blkid_probe does
 * (a new fd or -errno), ask the kernel for the windows libblkid reads (size: the device's),
 * then probe through fd, which stays open. The caller closes it; while it is open the kernel
 * keeps the device's page cache, so later reads of those sectors (the LVM label and metadata)
 * cost no I/O. */
int eos_blkid_open(const char *path, struct eos_err *e);
void eos_blkid_prefetch(int fd, long long size);
int eos_blkid_probe_fd(int fd, const char *path, struct eos_blkid_result *out, struct eos_err *e);
void eos_blkid_result_free(struct eos_blkid_result *r);

/* A tag's value, or NULL. */
const char *eos_blkid_get(const struct eos_blkid_result *r, const char *name);

#endif
