/* LVM's text metadata (csrc/lib/drivers/lvm/lvm_meta.c, lvm_vg.c): what a PV's metadata area
 * holds, read from devices anyone with write access to a disk can shape. */
#include "fuzz.h"

#include "eos/drivers/lvm/lvm_meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eos_lvm_meta_vg vg;
	struct eos_err e;
	eos_err_clear(&e);
	if (eos_lvm_vg_parse((const char *)data, size, &vg, &e) == 0) {
		/* What the reader relies on: names and ids present, stripes inside their PVs. */
		FUZZ_ASSERT(vg.name && vg.id && vg.extent_size > 0);
		for (size_t i = 0; i < vg.n_pvs; i++)
			FUZZ_ASSERT(vg.pvs[i].id && vg.pvs[i].pe_alloc <= vg.pvs[i].pe_count);
		for (size_t i = 0; i < vg.n_lvs; i++) {
			const struct eos_lvm_meta_lv *lv = &vg.lvs[i];
			FUZZ_ASSERT(lv->name && lv->id && lv->n_segs > 0);
			for (size_t k = 0; k < lv->n_segs; k++) {
				const struct eos_lvm_meta_seg *g = &lv->segs[k];
				for (uint64_t s = 0; g->areas && s < g->stripe_count; s++)
					FUZZ_ASSERT(g->areas[s].pv < vg.n_pvs &&
						    g->areas[s].start + g->extent_count / g->stripe_count <=
							    vg.pvs[g->areas[s].pv].pe_count);
			}
		}
		eos_lvm_vg_free(&vg);
	} else {
		FUZZ_ASSERT(e.msg[0]);
	}
	return 0;
}
