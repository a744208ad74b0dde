/* LVM2's on-disk label and metadata area, read in-process (no lvm tool). Layout, little-endian:
 *  - a 512-byte label sector in one of sectors 0-3: "LABELONE", its own sector number, a CRC
 *    of the rest of the sector, the offset of the pv_header, "LVM2 001";
 *  - the pv_header: the PV's 32-character uuid, the device size, a zero-terminated list of data
 *    areas and one of metadata areas (offset, size in bytes);
 *  - each metadata area starts with a 512-byte mda_header: CRC, magic, version 1, its own start
 *    and size, and raw_locn entries; the first is the current VG metadata text (offset inside
 *    the area, size, CRC), which wraps around to just after the header when it reaches the end.
 * The CRC is LVM's: CRC-32 (reflected 0xEDB88320) started at 0xf597a6cf, no final inversion.
 * Everything read from a device is outside input: every offset and size is checked. */
#ifndef EOS_LVM_LABEL_H
#define EOS_LVM_LABEL_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

#define EOS_LVM_SECTOR 512u
#define EOS_LVM_LABEL_SCAN 2048u          /* sectors 0-3 */
#define EOS_LVM_MAX_AREAS 8               /* data or metadata areas kept per PV */
#define EOS_LVM_MAX_TEXT (16u << 20)      /* metadata text larger than this is refused */

struct eos_lvm_area {
	uint64_t offset, size;            /* bytes from the start of the device */
};

struct eos_lvm_label {
	uint64_t sector;                  /* where the label was found (0-3) */
	char uuid[39];                    /* with dashes, as lvm prints it */
	uint64_t device_size;             /* bytes, as recorded by pvcreate/pvresize */
	struct eos_lvm_area data[EOS_LVM_MAX_AREAS];
	size_t n_data;
	struct eos_lvm_area mda[EOS_LVM_MAX_AREAS];
	size_t n_mda;
};

/* The metadata text an mda_header points at. */
struct eos_lvm_locn {
	uint64_t offset, size;            /* inside the area; size includes lvm's trailing NUL */
	uint32_t checksum;
	int ignored;                      /* RAW_LOCN_IGNORED: the area is kept but not used */
	int empty;                        /* no metadata (an orphan PV) */
};

uint32_t eos_lvm_crc(uint32_t crc, const void *buf, size_t len);
#define EOS_LVM_CRC_INIT 0xf597a6cfu

/* Find and check the label in the first EOS_LVM_LABEL_SCAN bytes of a device. 0, 1 when
 * there is no LVM2 label (not a PV), or -EINVAL with a message (a label that is corrupt). */
int eos_lvm_label_parse(const uint8_t *buf, size_t len, struct eos_lvm_label *out,
			struct eos_err *e);

/* Check a 512-byte mda_header found at byte offset area->offset; fill the current metadata
 * location. 0 or -EINVAL with a message. */
int eos_lvm_mda_parse(const uint8_t *hdr, size_t len, const struct eos_lvm_area *area,
		      struct eos_lvm_locn *out, struct eos_err *e);

/* Read a device's label (1: not a PV) and the metadata text of each of its areas: *texts gets
 * up to EOS_LVM_MAX_AREAS malloc'd NUL-terminated strings (NULL for an empty or ignored area),
 * checksums verified. 0, 1, or -errno with a message naming the device. */
int eos_lvm_read_dev(const char *path, struct eos_lvm_label *label,
		     char *texts[EOS_LVM_MAX_AREAS], size_t text_len[EOS_LVM_MAX_AREAS],
		     struct eos_err *e);

#endif
