#include <errno.h>
#include <string.h>

#include "check.h"
#include "eos/drivers/lvm/lvm_report.h"

/* Trimmed from a real `lvm fullreport --reportformat json --units b --nosuffix` (LVM 2.03.16):
 * a VG with one LV on /dev/loop0 and /dev/loop2, and an orphan PV. */
static const char *REPORT =
	"  {\n"
	"      \"report\": [\n"
	"          {\n"
	"              \"vg\": [\n"
	"                  {\"vg_fmt\":\"lvm2\", \"vg_uuid\":\"ZRZCqB\", \"vg_name\":\"vgprobe\", \"vg_attr\":\"wz--n-\","
	" \"vg_size\":\"125829120\", \"vg_free\":\"109051904\", \"vg_extent_size\":\"4194304\", \"vg_extent_count\":\"30\","
	" \"vg_free_count\":\"26\", \"pv_count\":\"2\", \"lv_count\":\"1\"}\n"
	"              ]\n"
	"              ,\n"
	"              \"pv\": [\n"
	"                  {\"pv_fmt\":\"lvm2\", \"pv_uuid\":\"8Z3sGE\", \"dev_size\":\"67108864\", \"pv_name\":\"/dev/loop0\","
	" \"pv_major\":\"7\", \"pv_minor\":\"0\", \"pe_start\":\"1048576\", \"pv_size\":\"62914560\", \"pv_free\":\"46137344\","
	" \"pv_used\":\"16777216\", \"pv_attr\":\"a--\", \"pv_allocatable\":\"allocatable\", \"pv_missing\":\"\","
	" \"pv_pe_count\":\"15\", \"pv_pe_alloc_count\":\"4\"},\n"
	"                  {\"pv_fmt\":\"lvm2\", \"pv_uuid\":\"Q1\", \"dev_size\":\"134217728\", \"pv_name\":\"/dev/loop2\","
	" \"pv_major\":\"7\", \"pv_minor\":\"2\", \"pe_start\":\"1048576\", \"pv_size\":\"62914560\", \"pv_free\":\"62914560\","
	" \"pv_used\":\"0\", \"pv_attr\":\"a--\", \"pv_allocatable\":\"allocatable\", \"pv_missing\":\"\","
	" \"pv_pe_count\":\"15\", \"pv_pe_alloc_count\":\"0\"}\n"
	"              ]\n"
	"              ,\n"
	"              \"lv\": [\n"
	"                  {\"lv_uuid\":\"dnBdX8\", \"lv_name\":\"lv1\", \"lv_full_name\":\"vgprobe/lv1\","
	" \"lv_path\":\"/dev/vgprobe/lv1\", \"lv_dm_path\":\"/dev/mapper/vgprobe-lv1\", \"lv_layout\":\"linear\","
	" \"lv_active\":\"unknown\", \"lv_size\":\"16777216\", \"lv_attr\":\"-wi-XX----\"}\n"
	"              ]\n"
	"              ,\n"
	"              \"seg\": [\n"
	"                  {\"segtype\":\"linear\", \"seg_size\":\"8388608\", \"devices\":\"/dev/loop0(0)\", \"lv_uuid\":\"dnBdX8\"},\n"
	"                  {\"segtype\":\"linear\", \"seg_size\":\"4194304\", \"devices\":\"/dev/loop0(2)\", \"lv_uuid\":\"dnBdX8\"},\n"
	"                  {\"segtype\":\"striped\", \"seg_size\":\"4194304\", \"devices\":\"/dev/loop0(3),/dev/loop2(0)\", \"lv_uuid\":\"dnBdX8\"}\n"
	"              ]\n"
	"          }\n"
	"          ,\n"
	"          {\n"
	"              \"pv\": [\n"
	"                  {\"pv_fmt\":\"lvm2\", \"pv_uuid\":\"jK0Yru\", \"dev_size\":\"67108864\", \"pv_name\":\"/dev/loop1\","
	" \"pv_major\":\"7\", \"pv_minor\":\"1\", \"pe_start\":\"1048576\", \"pv_size\":\"67108864\", \"pv_free\":\"67108864\","
	" \"pv_used\":\"0\", \"pv_attr\":\"---\", \"pv_allocatable\":\"\", \"pv_pe_count\":\"0\", \"pv_pe_alloc_count\":\"0\"}\n"
	"              ]\n"
	"          }\n"
	"      ]\n"
	"  }\n";

void test_lvm_report(void)
{
	struct eos_err e;
	struct eos_lvm_report r;
	CHECK(eos_lvm_report_parse(REPORT, strlen(REPORT), &r, &e) == 0);
	CHECK(r.available == 1 && r.n_vgs == 1 && r.n_pvs == 3 && r.n_lvs == 1);
	const struct eos_lvm_vg *vg = eos_lvm_find_vg(&r, "vgprobe");
	CHECK(vg && vg->size == 125829120ULL && vg->free == 109051904ULL);
	CHECK(vg && vg->extent_size == 4194304ULL && vg->extent_count == 30 && vg->free_count == 26);
	CHECK(vg && vg->pv_count == 2 && vg->lv_count == 1 && strcmp(vg->attr, "wz--n-") == 0);
	const struct eos_lvm_pv *pv = eos_lvm_find_pv(&r, "/dev/loop0");
	CHECK(pv && pv->vg_name && strcmp(pv->vg_name, "vgprobe") == 0);
	CHECK(pv && pv->size == 62914560ULL && pv->dev_size == 67108864ULL && pv->used == 16777216ULL);
	CHECK(pv && pv->major == 7 && pv->minor == 0 && pv->allocatable && !pv->missing);
	CHECK(pv && pv->pe_count == 15 && pv->pe_alloc_count == 4);
	const struct eos_lvm_pv *orphan = eos_lvm_find_pv(&r, "/dev/loop1");
	CHECK(orphan && orphan->vg_name == NULL && !orphan->allocatable);
	const struct eos_lvm_lv *lv = eos_lvm_find_lv(&r, "vgprobe", "lv1");
	CHECK(lv && lv->size == 16777216ULL && strcmp(lv->path, "/dev/vgprobe/lv1") == 0);
	CHECK(lv && lv->active == -1 && strcmp(lv->layout, "linear") == 0);
	CHECK(lv && lv->n_devices == 2 && strcmp(lv->devices[0], "/dev/loop0") == 0 &&
	      strcmp(lv->devices[1], "/dev/loop2") == 0);
	CHECK(eos_lvm_find_lv(&r, "other", "lv1") == NULL && eos_lvm_find_vg(&r, "x") == NULL);
	eos_lvm_report_free(&r);

	/* Unparseable or wrong-shaped output: -EINVAL naming the tool. */
	const char *bad[] = {"", "{\"report\": 5}", "{\"report\": [{\"vg\": [{\"vg_name\":\"a\", \"vg_size\":\"12x\"}]}]}",
			     "Volume group not found",
			     /* found by fuzz_lvm_report: an LV that no VG owns */
			     "{\"report\": [{\"lv\": [{\"lv_name\":\"data\", \"lv_size\":\"4096\"}]}]}",
			     NULL};
	for (int i = 0; bad[i]; i++) {
		CHECK(eos_lvm_report_parse(bad[i], strlen(bad[i]), &r, &e) == -EINVAL);
		CHECK(strstr(e.msg, "lvm fullreport") != NULL);
		CHECK(r.n_vgs == 0 && r.pvs == NULL);
	}

	/* No lvm tool: available = 0, not an error. */
	struct eos_lvm_opts o = {"eos-no-such-lvm", NULL, 1000};
	CHECK(eos_lvm_report(&o, &r, &e) == 0 && r.available == 0 && r.n_pvs == 0);
	eos_lvm_report_free(&r);
	/* A tool that fails without output: -EIO with the status. */
	struct eos_lvm_opts f = {"false", NULL, 5000};
	CHECK(eos_lvm_report(&f, &r, &e) == -EIO && strstr(e.msg, "status 1") != NULL);
	/* A tool that prints something else. */
	struct eos_lvm_opts t = {"true", NULL, 5000};
	CHECK(eos_lvm_report(&t, &r, &e) == -EINVAL);
}
