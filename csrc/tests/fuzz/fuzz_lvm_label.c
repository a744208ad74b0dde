/* LVM's on-disk label and metadata-area header (csrc/lib/drivers/lvm/lvm_label.c). The input
 * is the device's first 2048 bytes (sectors 0-3) followed by a 512-byte mda_header. */
#include "fuzz.h"

#include "eos/drivers/lvm/lvm_label.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int one(const uint8_t *data, size_t size);

/* Each input twice: as given (mostly stopped by the checksums), and with the label's and the
 * mda_header's checksums made right, so that mutations reach the fields behind them. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size);
	uint8_t *c = malloc(size ? size : 1);
	if (!c)
		abort();
	memcpy(c, data, size);
	for (size_t s = 0; s < 4 && (s + 1) * 512 <= size; s++)
		if (memcmp(c + s * 512, "LABELONE", 8) == 0)
			put32(c + s * 512 + 16, eos_lvm_crc(EOS_LVM_CRC_INIT, c + s * 512 + 20, 512 - 20));
	if (size >= EOS_LVM_LABEL_SCAN + 512)
		put32(c + EOS_LVM_LABEL_SCAN, eos_lvm_crc(EOS_LVM_CRC_INIT, c + EOS_LVM_LABEL_SCAN + 4, 508));
	one(c, size);
	free(c);
	return 0;
}

static int one(const uint8_t *data, size_t size)
{
	struct eos_lvm_label l;
	struct eos_err e;
	eos_err_clear(&e);
	size_t head = size < EOS_LVM_LABEL_SCAN ? size : EOS_LVM_LABEL_SCAN;
	int r = eos_lvm_label_parse(data, head, &l, &e);
	FUZZ_ASSERT(r == 0 || r == 1 || (r < 0 && e.msg[0]));
	if (r != 0)
		return 0;
	FUZZ_ASSERT(l.sector < 4 && l.n_data <= EOS_LVM_MAX_AREAS && l.n_mda <= EOS_LVM_MAX_AREAS);
	FUZZ_ASSERT(strlen(l.uuid) == 38);
	for (size_t i = 0; i < l.n_mda; i++) {
		struct eos_lvm_locn loc;
		eos_err_clear(&e);
		r = eos_lvm_mda_parse(data + head, size - head, &l.mda[i], &loc, &e);
		if (r) {
			FUZZ_ASSERT(e.msg[0]);
			continue;
		}
		/* A location the reader will read: inside the area, bounded. */
		FUZZ_ASSERT(loc.empty || (loc.offset >= 512 && loc.offset < l.mda[i].size &&
					  loc.size <= l.mda[i].size - 512 && loc.size <= EOS_LVM_MAX_TEXT));
	}
	return 0;
}
