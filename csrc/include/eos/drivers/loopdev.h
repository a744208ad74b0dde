/* Block device sizes and loop devices: what a loop device's backing file offers, and
 * LOOP_SET_CAPACITY to let the device follow a grown backing file. */
#ifndef EOS_LOOPDEV_H
#define EOS_LOOPDEV_H

#include <stdint.h>

#include "eos/core/err.h"

/* Size in bytes (BLKGETSIZE64) and read-only flag (BLKROGET) of a block device. */
int eos_bdev_size(const char *dev, uint64_t *bytes, int *read_only, struct eos_err *e);

struct eos_loop_info {
	char backing[4096];     /* backing file path as the kernel reports it */
	uint64_t dev_bytes;     /* current capacity of the loop device */
	uint64_t backing_bytes; /* size of the backing file now (what LOOP_SET_CAPACITY would give) */
	uint64_t offset;        /* loop offset in the backing file */
	uint64_t sizelimit;     /* 0: none */
	int read_only;
};

/* 1 and li filled when dev is a loop device with a backing file, 0 when it is not a loop
 * device, or -errno. */
int eos_loop_info(const char *dev, struct eos_loop_info *li, struct eos_err *e);

/* The capacity the device would have after LOOP_SET_CAPACITY (backing - offset, capped by
 * sizelimit, rounded down to 512-byte sectors). */
uint64_t eos_loop_capacity_target(const struct eos_loop_info *li);

/* LOOP_SET_CAPACITY; new_bytes receives the capacity afterwards (may be NULL). */
int eos_loop_set_capacity(const char *dev, uint64_t *new_bytes, struct eos_err *e);

#endif
