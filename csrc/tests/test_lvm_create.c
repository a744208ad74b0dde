/* LVM creation without devices: the names LVM refuses, and the refusals of eos_lvm_*_ensure
 * that come before lvm runs. Real PVs, VGs and LVs are made through Salt on loop devices
 * (tests/functional/test_lvm_create.py). */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "eos/drivers/lvm/lvm_create.h"
#include "eos/ops/lvm_ensure.h"

void test_lvm_create_names(void)
{
	struct eos_err e;
	char big[200];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(eos_lvm_check_name("volume group", "vg_data-1.+", &e) == 0);
	CHECK(eos_lvm_check_name("logical volume", "data", &e) == 0);
	CHECK(eos_lvm_check_name("volume group", "bad name", &e) == -EINVAL && strstr(e.msg, "'bad name'"));
	CHECK(eos_lvm_check_name("volume group", "-rf", &e) == -EINVAL && strstr(e.msg, "'-rf'"));
	CHECK(eos_lvm_check_name("volume group", "a/b", &e) == -EINVAL);
	CHECK(eos_lvm_check_name("volume group", "..", &e) == -EINVAL);
	CHECK(eos_lvm_check_name("volume group", "", &e) == -EINVAL);
	CHECK(eos_lvm_check_name("volume group", big, &e) == -EINVAL);
	CHECK(eos_lvm_check_name("logical volume", "snapshot1", &e) == -EINVAL && strstr(e.msg, "reserves"));
	CHECK(eos_lvm_check_name("logical volume", "pvmove0", &e) == -EINVAL);
	CHECK(eos_lvm_check_name("logical volume", "x_rimage_0", &e) == -EINVAL && strstr(e.msg, "_rimage"));
	CHECK(eos_lvm_check_name("volume group", "snapshot1", &e) == 0);  /* only LV names reserved */
}

void test_lvm_ensure_refusals(void)
{
	struct eos_lvm_ensure res;
	struct eos_err e;
	struct eos_lvm_lv_req q = {.vg = "vg", .lv = "bad;lv", .size = "1G", .dry_run = 1};
	CHECK(eos_lvm_lv_ensure(&q, &res, &e) == -EINVAL && strstr(e.msg, "'bad;lv'"));
	q.lv = "data";
	q.size = "12Q";
	CHECK(eos_lvm_lv_ensure(&q, &res, &e) == -EINVAL && strstr(e.msg, "'12Q'"));
	q.size = "-1G";
	CHECK(eos_lvm_lv_ensure(&q, &res, &e) == -EINVAL && strstr(e.msg, "'-1G'"));
	const char *devs[] = {"/dev/null"};
	CHECK(eos_lvm_vg_ensure("vg x", devs, 1, NULL, 1, &res, &e) == -EINVAL && strstr(e.msg, "'vg x'"));
	CHECK(eos_lvm_vg_ensure("vg", devs, 0, NULL, 1, &res, &e) == -EINVAL);
	CHECK(eos_lvm_vg_ensure("vg", devs, 1, "3M", 1, &res, &e) == -EINVAL && strstr(e.msg, "'3M'"));
	CHECK(eos_lvm_vg_ensure("vg", devs, 1, "+4M", 1, &res, &e) == -EINVAL);
}
