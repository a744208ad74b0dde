/* The LVM report parser (csrc/lib/drivers/lvm/lvm_report.c): `lvm fullreport --reportformat json`. */
#include "fuzz.h"

#include "eos/drivers/lvm/lvm_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eos_lvm_report r;
	struct eos_err e;
	memset(&r, 0, sizeof(r));
	eos_err_clear(&e);
	if (eos_lvm_report_parse((const char *)data, size, &r, &e) == 0) {
		/* What the planners do with a report: look things up by name. */
		for (size_t i = 0; i < r.n_pvs; i++) {
			FUZZ_ASSERT(r.pvs[i].name != NULL);
			FUZZ_ASSERT(eos_lvm_find_pv(&r, r.pvs[i].name) != NULL);
			if (r.pvs[i].vg_name)
				(void)eos_lvm_find_vg(&r, r.pvs[i].vg_name);
		}
		for (size_t i = 0; i < r.n_vgs; i++)
			FUZZ_ASSERT(r.vgs[i].name && eos_lvm_find_vg(&r, r.vgs[i].name) != NULL);
		for (size_t i = 0; i < r.n_lvs; i++) {
			const struct eos_lvm_lv *lv = &r.lvs[i];
			FUZZ_ASSERT(lv->name && lv->vg_name);
			FUZZ_ASSERT(eos_lvm_find_lv(&r, lv->vg_name, lv->name) != NULL);
			for (size_t k = 0; k < lv->n_devices; k++)
				FUZZ_ASSERT(lv->devices[k] != NULL);
		}
		eos_lvm_report_free(&r);
	} else {
		FUZZ_ASSERT(e.msg[0]);
	}
	return 0;
}
