/* Partitions: how far the last partition of a GPT or MBR disk can grow, and growing it in
 * place (libfdisk for the table, BLKPG_RESIZE_PARTITION for the kernel, which works while the
 * partition is mounted and re-reads nothing else).
 *
 * Sizes are in the disk's logical sectors unless named bytes. Only a partition that no other
 * partition follows may grow; an MBR partition ends at sector 2^32 - 1 at most (32-bit LBAs:
 * 2 TiB with 512-byte sectors); a GPT's backup header and entries move to the disk's end. */
#ifndef EOS_PART_H
#define EOS_PART_H

#include <stdint.h>

#include "eos/core/err.h"

/* A grow that would add less than this is not worth a table write ("the disk did not grow"):
 * the ends partitioning tools leave for alignment are below it. */
#define EOS_PART_MIN_GROW (1ULL << 20)

struct eos_part_info {
	char disk[4096];          /* the whole disk, /dev/<name> */
	unsigned partno;          /* the kernel's number (1-based; 5.. are MBR logical partitions) */
	char label[8];            /* "gpt" or "dos" */
	uint64_t sector;          /* logical sector size, bytes */
	uint64_t start, size;     /* as the table has them, sectors */
	uint64_t kernel_start;    /* as the kernel has it, sectors */
	uint64_t kernel_bytes;    /* the size the kernel gives the partition now */
	uint64_t max_size;        /* the most it can have on a disk of the size asked for, sectors */
	int mbr_capped;           /* max_size is limited by MBR's 32-bit sectors, not the disk */
	unsigned next_partno;     /* a partition that starts after this one, 0 when none */
	uint64_t next_start;      /* its start, sectors */
	uint64_t free_after;      /* bytes after the table's last partition, on that disk size */
};

/* 1 and disk filled (n bytes) when dev is a partition, 0 when it is a whole device, -errno. */
int eos_part_parent(const char *dev, char *disk, size_t n, struct eos_err *e);

/* 1 and pi filled when dev is a partition of a GPT or MBR disk, measured for a disk of
 * disk_bytes (0: its size now; more when its loop device is still to follow a grown backing
 * file); 0 when dev is a whole device; -errno when the table cannot be read or is of a kind
 * eos does not grow (hybrid GPT, BSD, logical MBR partitions are refused with the device
 * named). Reads only. */
int eos_part_info(const char *dev, uint64_t disk_bytes, struct eos_part_info *pi, struct eos_err *e);

/* Grow partition dev (which starts at sector start) to size sectors: the table first (written
 * and synced, unless it has that size already: a rerun after a crash), then the kernel's view.
 * The whole disk is flock'ed meanwhile (the convention partitioning tools and udev share).
 * new_bytes receives the size the kernel gives the partition afterwards. */
int eos_part_grow(const char *dev, uint64_t start, uint64_t size, uint64_t *new_bytes,
		  struct eos_err *e);

#endif
