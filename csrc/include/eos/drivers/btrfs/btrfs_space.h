/* BTRFS's real allocation (BTRFS_IOC_SPACE_INFO): statvfs on BTRFS estimates; a filesystem whose
 * devices are fully allocated to chunks runs out of metadata while statvfs still shows room. */
#ifndef EOS_BTRFS_SPACE_H
#define EOS_BTRFS_SPACE_H

#include <stdint.h>

#include "eos/core/err.h"

struct eos_btrfs_space {
	uint64_t device_bytes;       /* sum of the devices' shares (DEV_INFO total_bytes) */
	uint64_t allocated;          /* raw bytes allocated to chunks, all copies counted */
	uint64_t unallocated;        /* device_bytes - allocated */
	uint64_t data_total, data_used;          /* logical bytes in data chunks */
	uint64_t metadata_total, metadata_used;  /* logical bytes in metadata chunks */
	uint64_t system_total, system_used;
	unsigned data_copies, metadata_copies;   /* raw bytes per 100 logical (200: DUP, RAID1) */
	double data_pct;             /* data used of what data can have: chunks + unallocated */
	double metadata_pct;         /* the same for metadata */
	double pct;                  /* the worse of the two */
};

/* Fill s for the BTRFS filesystem mounted at path. */
int eos_btrfs_space_get(const char *path, struct eos_btrfs_space *s, struct eos_err *e);

#endif
