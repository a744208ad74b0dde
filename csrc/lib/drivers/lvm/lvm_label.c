#include "eos/drivers/lvm/lvm_label.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LABEL_ID "LABELONE"
#define LABEL_TYPE "LVM2 001"
#define MDA_MAGIC " LVM2 x[5A%r0N*>"
#define MDA_HEADER 512u
#define RAW_LOCN_IGNORED 1u

uint32_t eos_lvm_crc(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return crc;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* A zero-terminated list of (offset, size) pairs at buf[*pos], inside a sector ending at end. */
static int read_areas(const uint8_t *buf, size_t *pos, size_t end, struct eos_lvm_area *v,
		      size_t *n, const char *what, struct eos_err *e)
{
	*n = 0;
	for (;;) {
		if (*pos + 16 > end)
			return eos_fail(e, EINVAL, NULL, "LVM label: the %s list runs past the label sector", what);
		uint64_t off = le64(buf + *pos), size = le64(buf + *pos + 8);
		*pos += 16;
		if (off == 0)
			return 0;
		if (*n == EOS_LVM_MAX_AREAS)
			return eos_fail(e, EINVAL, NULL, "LVM label: more than %u %s", EOS_LVM_MAX_AREAS, what);
		v[*n].offset = off;
		v[(*n)++].size = size;
	}
}

static void format_uuid(const uint8_t *raw, char out[39])
{
	static const int groups[] = {6, 4, 4, 4, 4, 4, 6};
	size_t o = 0, r = 0;
	for (size_t g = 0; g < 7; g++) {
		if (g)
			out[o++] = '-';
		for (int k = 0; k < groups[g]; k++)
			out[o++] = (char)raw[r++];
	}
	out[o] = '\0';
}

static int uuid_ok(const uint8_t *raw)
{
	for (size_t i = 0; i < 32; i++) {
		uint8_t c = raw[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '!' || c == '#'))
			return 0;
	}
	return 1;
}

static int parse_sector(const uint8_t *s, uint64_t sector, struct eos_lvm_label *out,
			struct eos_err *e)
{
	if (le64(s + 8) != sector)
		return eos_fail(e, EINVAL, NULL, "LVM label in sector %llu says it is in sector %llu",
				(unsigned long long)sector, (unsigned long long)le64(s + 8));
	uint32_t crc = eos_lvm_crc(EOS_LVM_CRC_INIT, s + 20, EOS_LVM_SECTOR - 20);
	if (crc != le32(s + 16))
		return eos_fail(e, EINVAL, NULL, "LVM label in sector %llu: checksum 0x%08x, computed 0x%08x",
				(unsigned long long)sector, le32(s + 16), crc);
	if (memcmp(s + 24, LABEL_TYPE, 8) != 0)
		return 1;  /* another kind of label (lvm1 or a future format): not ours */
	uint32_t off = le32(s + 20);
	if (off < 32 || off > EOS_LVM_SECTOR - 32 - 8 - 32)
		return eos_fail(e, EINVAL, NULL, "LVM label: pv_header offset %u out of the sector", off);
	if (!uuid_ok(s + off))
		return eos_fail(e, EINVAL, NULL, "LVM label: the PV uuid has characters lvm never writes");
	out->sector = sector;
	format_uuid(s + off, out->uuid);
	out->device_size = le64(s + off + 32);
	size_t pos = off + 40;
	int r = read_areas(s, &pos, EOS_LVM_SECTOR, out->data, &out->n_data, "data areas", e);
	if (!r)
		r = read_areas(s, &pos, EOS_LVM_SECTOR, out->mda, &out->n_mda, "metadata areas", e);
	return r;
}

int eos_lvm_label_parse(const uint8_t *buf, size_t len, struct eos_lvm_label *out,
			struct eos_err *e)
{
	memset(out, 0, sizeof(*out));
	for (uint64_t sector = 0; sector < 4; sector++) {
		if ((sector + 1) * EOS_LVM_SECTOR > len)
			break;
		const uint8_t *s = buf + sector * EOS_LVM_SECTOR;
		if (memcmp(s, LABEL_ID, 8) == 0)
			return parse_sector(s, sector, out, e);
	}
	return 1;
}

int eos_lvm_mda_parse(const uint8_t *hdr, size_t len, const struct eos_lvm_area *area,
		      struct eos_lvm_locn *out, struct eos_err *e)
{
	memset(out, 0, sizeof(*out));
	if (len < MDA_HEADER)
		return eos_fail(e, EINVAL, NULL, "LVM metadata header: %zu bytes, need %u", len, MDA_HEADER);
	uint32_t crc = eos_lvm_crc(EOS_LVM_CRC_INIT, hdr + 4, MDA_HEADER - 4);
	if (crc != le32(hdr))
		return eos_fail(e, EINVAL, NULL, "LVM metadata header at %llu: checksum 0x%08x, computed 0x%08x",
				(unsigned long long)area->offset, le32(hdr), crc);
	if (memcmp(hdr + 4, MDA_MAGIC, 16) != 0 || le32(hdr + 20) != 1)
		return eos_fail(e, EINVAL, NULL, "LVM metadata header at %llu: bad magic or version %u",
				(unsigned long long)area->offset, le32(hdr + 20));
	uint64_t start = le64(hdr + 24), size = le64(hdr + 32);
	if (start != area->offset || size != area->size || size <= MDA_HEADER)
		return eos_fail(e, EINVAL, NULL, "LVM metadata header at %llu says start %llu size %llu, "
				"the label says size %llu", (unsigned long long)area->offset,
				(unsigned long long)start, (unsigned long long)size,
				(unsigned long long)area->size);
	const uint8_t *rl = hdr + 40;
	out->offset = le64(rl);
	out->size = le64(rl + 8);
	out->checksum = le32(rl + 16);
	out->ignored = (le32(rl + 20) & RAW_LOCN_IGNORED) != 0;
	out->empty = out->offset == 0;
	if (out->empty)
		return 0;
	if (out->offset < MDA_HEADER || out->offset >= size || out->size == 0 ||
	    out->size > size - MDA_HEADER || out->size > EOS_LVM_MAX_TEXT)
		return eos_fail(e, EINVAL, NULL, "LVM metadata at %llu: text at %llu, %llu bytes, does not "
				"fit the %llu-byte area", (unsigned long long)area->offset,
				(unsigned long long)out->offset, (unsigned long long)out->size,
				(unsigned long long)size);
	return 0;
}

/* Prefix the message just filled with the device's path (and set the path). */
static int with_path(struct eos_err *e, int r, const char *path)
{
	char m[EOS_MSG_MAX];
	snprintf(m, sizeof(m), "%s", e->msg);
	return eos_fail(e, -r, path, "%s: %s", path, m);
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off, const char *path, struct eos_err *e)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return eos_fail_sys(e, errno, path, "pread %s at %llu", path,
					    (unsigned long long)(off + done));
		if (n == 0)
			return eos_fail(e, EIO, path, "%s: LVM metadata at %llu runs past the end of the device",
					path, (unsigned long long)(off + done));
		done += (size_t)n;
	}
	return 0;
}

/* The text of one metadata area, unwrapped, checksum verified; *text NULL when there is none. */
static int read_text(int fd, const char *path, const struct eos_lvm_area *a, char **text,
		     size_t *tlen, struct eos_err *e)
{
	uint8_t hdr[MDA_HEADER];
	struct eos_lvm_locn l;
	*text = NULL;
	int r = pread_all(fd, hdr, sizeof(hdr), a->offset, path, e);
	if (!r && (r = eos_lvm_mda_parse(hdr, sizeof(hdr), a, &l, e)))
		with_path(e, r, path);
	if (r || l.empty || l.ignored)
		return r;
	char *t = malloc(l.size + 1);
	if (!t)
		return eos_fail(e, ENOMEM, path, "out of memory");
	/* The first part runs to the end of the area at most; the rest wraps to just after the
	 * header. */
	uint64_t first = l.size;
	if (l.offset + l.size > a->size)
		first = a->size - l.offset;
	r = pread_all(fd, t, first, a->offset + l.offset, path, e);
	if (!r && first < l.size)
		r = pread_all(fd, t + first, l.size - first, a->offset + MDA_HEADER, path, e);
	uint32_t crc = r ? 0 : eos_lvm_crc(EOS_LVM_CRC_INIT, t, l.size);
	if (!r && crc != l.checksum)
		r = eos_fail(e, EINVAL, path, "%s: LVM metadata text at %llu: checksum 0x%08x, computed 0x%08x",
			     path, (unsigned long long)(a->offset + l.offset), l.checksum, crc);
	if (r) {
		free(t);
		return r;
	}
	t[l.size] = '\0';
	*text = t;
	*tlen = strnlen(t, l.size);
	return 0;
}

int eos_lvm_read_dev(const char *path, struct eos_lvm_label *label,
		     char *texts[EOS_LVM_MAX_AREAS], size_t text_len[EOS_LVM_MAX_AREAS],
		     struct eos_err *e)
{
	uint8_t buf[EOS_LVM_LABEL_SCAN];
	memset(texts, 0, EOS_LVM_MAX_AREAS * sizeof(*texts));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return eos_fail_sys(e, errno, path, "open %s", path);
	int r = pread_all(fd, buf, sizeof(buf), 0, path, e);
	if (!r && (r = eos_lvm_label_parse(buf, sizeof(buf), label, e)) < 0)
		with_path(e, r, path);
	for (size_t i = 0; r == 0 && i < label->n_mda; i++)
		r = read_text(fd, path, &label->mda[i], &texts[i], &text_len[i], e);
	close(fd);
	if (r < 0)
		for (size_t i = 0; i < EOS_LVM_MAX_AREAS; i++) {
			free(texts[i]);
			texts[i] = NULL;
		}
	return r;
}
