/* The in-process LVM reader: text metadata (valid, malformed, valid but not modelled), the
 * label and mda_header checks, and a whole PV image in a file whose metadata text wraps around
 * the end of its area. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "eos/drivers/lvm/lvm_label.h"
#include "eos/drivers/lvm/lvm_meta.h"
#include "eos/drivers/lvm/lvm_read.h"

#define PV0 "UtqN5m-k8gf-Z7OE-GfIa-81Zm-ESLW-rdTAF2"
#define PV1 "H9oHcx-GBoZ-MglL-rspa-F5sw-LBy1-c0v5Fo"

static const char *vg_text(const char *seg1)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf),
		 "vg0 {\nid = \"Wghwgm-ICPr-xy8s-DSty-GndQ-U3Lb-LqgL6l\"\nseqno = 4\nformat = \"lvm2\"\n"
		 "status = [\"RESIZEABLE\", \"READ\", \"WRITE\"]\nflags = []\nextent_size = 8192 # 4 MiB\n"
		 "physical_volumes {\npv0 {\nid = \"" PV0 "\"\ndevice = \"/dev/x\"\n"
		 "status = [\"ALLOCATABLE\"]\nflags = []\ndev_size = 131072\npe_start = 2048\npe_count = 15\n}\n"
		 "pv1 {\nid = \"" PV1 "\"\nstatus = []\npe_start = 2048\npe_count = 15\n}\n}\n"
		 "logical_volumes {\nlv-a {\nid = \"u2WlpM-UqZp-2PPE-i7iu-Brha-IqU1-b4JTNw\"\n"
		 "status = [\"READ\", \"WRITE\", \"VISIBLE\"]\nflags = []\nsegment_count = 1\n%s\n}\n}\n}\n"
		 "contents = \"Text Format Volume Group\"\nversion = 1\ndescription = \"a \\\"q\\\"\"\n",
		 seg1);
	return buf;
}

#define STRIPED "segment1 {\nstart_extent = 0\nextent_count = 4\ntype = \"striped\"\nstripe_count = 2\n" \
		"stripe_size = 128\nstripes = [\"pv0\", 5, \"pv1\", 0]\n}"

static void test_meta_valid(void)
{
	struct eos_lvm_meta_vg vg;
	struct eos_err e;
	const char *t = vg_text(STRIPED);
	CHECK(eos_lvm_vg_parse(t, strlen(t), &vg, &e) == 0);
	CHECK(vg.name && strcmp(vg.name, "vg0") == 0 && vg.seqno == 4 && vg.extent_size == 4u << 20);
	CHECK(vg.resizeable && vg.write && vg.alloc == 'n' && !vg.unsupported);
	CHECK(vg.n_pvs == 2 && vg.pvs[0].allocatable && !vg.pvs[1].allocatable);
	CHECK(vg.pvs[0].pe_start == 1u << 20 && vg.pvs[0].pe_alloc == 2 && vg.pvs[1].pe_alloc == 2);
	CHECK(vg.n_lvs == 1 && strcmp(vg.lvs[0].name, "lv-a") == 0 && vg.lvs[0].extents == 4);
	CHECK(vg.lvs[0].segs[0].stripe_size == 65536 && vg.lvs[0].segs[0].areas[1].pv == 1);
	eos_lvm_vg_free(&vg);
}

/* Each malformed text is refused with -EINVAL and a message holding want. */
static void refused(const char *text, const char *want)
{
	struct eos_lvm_meta_vg vg;
	struct eos_err e;
	eos_err_clear(&e);
	int r = eos_lvm_vg_parse(text, strlen(text), &vg, &e);
	CHECK(r == -EINVAL);
	CHECK(strstr(e.msg, want) != NULL);
	if (r != -EINVAL || !strstr(e.msg, want))
		fprintf(stderr, "  wanted '%s', got %d '%s'\n", want, r, e.msg);
}

static void test_meta_malformed(void)
{
	char deep[256] = "", big[6000];
	for (int i = 0; i < 12; i++)
		strcat(deep, "a {");
	memset(big, 'x', sizeof(big));
	memcpy(big, "v = \"", 5);
	big[sizeof(big) - 1] = '\0';
	refused("vg0 {\nid = \"x\"\n", "without its closing '}'");
	refused("vg0 { id = \"x }", "without its closing quote");
	refused("vg0 { id \"x\" }", "'=' or '{' expected");
	refused(deep, "nested deeper than 8");
	refused("vg0 { seqno = 99999999999999999999 }", "too large");
	refused("vg0 { seqno = 1.5 }", "whole numbers");
	refused("vg0 { l = [1 2] }", "',' or ']'");
	refused("vg0 { l = [[1]] }", "a number expected");
	refused("}", "without its section");
	refused(big, "longer than 4096");
	refused("a { }\nb { }", "a second VG section");
	refused("seqno = 1", "no VG section");
	refused("vg0 { seqno = 1 }", "no 'id'");
	refused("vg0 { id = 5 }", "'id' is not a string");
	refused(vg_text("segment1 {\nstart_extent = 0\nextent_count = 4\ntype = \"striped\"\nstripe_count = 1\n"
			"stripes = [\"pv9\", 0]\n}"), "not in physical_volumes");
	refused(vg_text("segment1 {\nstart_extent = 0\nextent_count = 4\ntype = \"striped\"\nstripe_count = 1\n"
			"stripes = [\"pv0\", 13]\n}"), "past the 15 of pv0");
	refused(vg_text("segment1 {\nstart_extent = 0\nextent_count = 3\ntype = \"striped\"\nstripe_count = 2\n"
			"stripe_size = 128\nstripes = [\"pv0\", 0, \"pv1\", 0]\n}"), "3 extents over 2 stripes");
	refused(vg_text("segment1 {\nstart_extent = 2\nextent_count = 4\ntype = \"striped\"\nstripe_count = 1\n"
			"stripes = [\"pv0\", 0]\n}"), "expected to start at 0");
	refused(vg_text("segment1 {\nstart_extent = 0\nextent_count = 4\ntype = \"striped\"\nstripe_count = 1\n"
			"stripes = [\"pv0\", -1]\n}"), "past the 15");
	refused(vg_text("segment2 { }"), "no 'segment1'");
	const char nul[] = "vg0 { id = \"x\" }\0junk";
	struct eos_lvm_meta_vg vg;
	struct eos_err e;
	CHECK(eos_lvm_vg_parse(nul, sizeof(nul) - 1, &vg, &e) == -EINVAL && strstr(e.msg, "after the terminating NUL"));
}

static void test_meta_unsupported(void)
{
	struct eos_lvm_meta_vg vg;
	struct eos_err e;
	const char *t = vg_text("segment1 {\nstart_extent = 0\nextent_count = 2\ntype = \"thin-pool\"\n}");
	CHECK(eos_lvm_vg_parse(t, strlen(t), &vg, &e) == 0 && vg.unsupported &&
	      strstr(vg.unsupported, "segment type"));
	eos_lvm_vg_free(&vg);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* A PV image: label in sector 1, one 64 KiB metadata area at 4096 whose text starts near the
 * end of the area and wraps to just after its header. */
static void make_pv(uint8_t *img, size_t size, const char *uuid32, const char *text, uint32_t *crc_out)
{
	const uint64_t mda = 4096, mda_size = 65536;
	uint8_t *l = img + 512;
	memcpy(l, "LABELONE", 8);
	put64(l + 8, 1);
	put32(l + 20, 32);
	memcpy(l + 24, "LVM2 001", 8);
	memcpy(l + 32, uuid32, 32);
	put64(l + 64, size);
	put64(l + 72, 1 << 20);          /* data area at 1 MiB */
	put64(l + 104, mda);             /* after the data list's terminator */
	put64(l + 112, mda_size);
	put32(l + 16, eos_lvm_crc(EOS_LVM_CRC_INIT, l + 20, 492));
	size_t len = strlen(text) + 1;
	uint64_t off = mda_size - 100;   /* 100 bytes at the end, the rest wraps */
	memcpy(img + mda + off, text, 100);
	memcpy(img + mda + 512, text + 100, len - 100);
	uint8_t *h = img + mda;
	memcpy(h + 4, " LVM2 x[5A%r0N*>", 16);
	put32(h + 20, 1);
	put64(h + 24, mda);
	put64(h + 32, mda_size);
	put64(h + 40, off);
	put64(h + 48, len);
	*crc_out = eos_lvm_crc(EOS_LVM_CRC_INIT, text, len);
	put32(h + 56, *crc_out);
	put32(h, eos_lvm_crc(EOS_LVM_CRC_INIT, h + 4, 508));
}

static void test_read_image(void)
{
	size_t size = 64u << 20;
	char path[] = "/tmp/eos-lvm-read-XXXXXX";
	int fd = mkstemp(path);
	uint8_t *img = calloc(1, 1 << 17);
	uint32_t crc;
	const char *text = vg_text("segment1 {\nstart_extent = 0\nextent_count = 3\ntype = \"striped\"\n"
				   "stripe_count = 1\nstripes = [\"pv0\", 2]\n}");
	CHECK(fd >= 0 && img);
	if (fd < 0 || !img)
		return;
	/* Only pv0 is present: pv1 is missing, so the reader says ENOTSUP (lvm decides). */
	make_pv(img, size, "UtqN5mk8gfZ7OEGfIa81ZmESLWrdTAF2", text, &crc);
	CHECK(pwrite(fd, img, 1 << 17, 0) == 1 << 17 && ftruncate(fd, (off_t)size) == 0);
	struct eos_lvm_dev dev = {path, 7, 99, size};
	struct eos_lvm_report r;
	struct eos_err e;
	CHECK(eos_lvm_read(&dev, 1, &r, &e) == -ENOTSUP && strstr(e.msg, "PV " PV1 " is missing"));

	/* A one-PV VG: read through the wrapped text. */
	char one[4096];
	snprintf(one, sizeof(one), "%s", text);
	char *pv1 = strstr(one, "pv1 {");
	char *end = pv1 ? strstr(pv1, "}\n}\n") : NULL;
	if (pv1 && end)
		memmove(pv1, end + 2, strlen(end + 2) + 1);
	memset(img, 0, 1 << 17);
	make_pv(img, size, "UtqN5mk8gfZ7OEGfIa81ZmESLWrdTAF2", one, &crc);
	CHECK(pwrite(fd, img, 1 << 17, 0) == 1 << 17);
	CHECK(eos_lvm_read(&dev, 1, &r, &e) == 0);
	CHECK(r.n_pvs == 1 && r.n_vgs == 1 && r.n_lvs == 1 && r.n_segs == 1);
	if (r.n_pvs == 1 && r.n_lvs == 1 && r.n_segs == 1) {
		CHECK(strcmp(r.pvs[0].uuid, PV0) == 0 && r.pvs[0].used == 12u << 20 && r.pvs[0].size == 60u << 20);
		CHECK(strcmp(r.vgs[0].attr, "wz--n-") == 0 && r.vgs[0].free_count == 12);
		CHECK(strcmp(r.lvs[0].dm_path, "/dev/mapper/vg0-lv--a") == 0 && strcmp(r.lvs[0].layout, "linear") == 0);
		CHECK(strcmp(r.segs[0].devices, "/tmp/eos-lvm-read-") > 0 && strstr(r.segs[0].devices, "(2)"));
	}
	eos_lvm_report_free(&r);

	/* One flipped byte in the text: its checksum no longer matches. */
	img[4096 + 512 + 10] ^= 1;
	CHECK(pwrite(fd, img, 1 << 17, 0) == 1 << 17);
	CHECK(eos_lvm_read(&dev, 1, &r, &e) == -EINVAL && strstr(e.msg, "checksum") && strstr(e.msg, path));
	/* A text location past its area. */
	img[4096 + 512 + 10] ^= 1;
	put64(img + 4096 + 48, 1 << 20);
	put32(img + 4096, eos_lvm_crc(EOS_LVM_CRC_INIT, img + 4096 + 4, 508));
	CHECK(pwrite(fd, img, 1 << 17, 0) == 1 << 17);
	CHECK(eos_lvm_read(&dev, 1, &r, &e) == -EINVAL && strstr(e.msg, "does not fit"));
	/* A corrupt label: its checksum. */
	img[512 + 40] ^= 1;
	CHECK(pwrite(fd, img, 1 << 17, 0) == 1 << 17);
	CHECK(eos_lvm_read(&dev, 1, &r, &e) == -EINVAL && strstr(e.msg, "LVM label in sector 1: checksum"));
	/* No label at all: not a PV, nothing to report. */
	memset(img, 0, 4096);
	CHECK(pwrite(fd, img, 4096, 0) == 4096);
	CHECK(eos_lvm_read(&dev, 1, &r, &e) == 0 && r.n_pvs == 0);
	eos_lvm_report_free(&r);
	close(fd);
	unlink(path);
	free(img);
}

void test_lvm_read(void)
{
	test_meta_valid();
	test_meta_malformed();
	test_meta_unsupported();
	test_read_image();
}
