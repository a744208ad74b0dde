/* The mountinfo parser (csrc/lib/drivers/mounts.c): /proc/self/mountinfo, whose mount points and
 * sources are chosen by whoever mounts (a user's FUSE mount, a container's bind mounts). */
#include "fuzz.h"

#include "eos/drivers/mounts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	struct eos_mount_list l;
	struct eos_err e;
	eos_err_clear(&e);
	if (eos_mounts_parse(text, "fuzz", &l, &e) == 0) {
		for (size_t i = 0; i < l.n; i++) {
			const struct eos_mount *m = &l.v[i];
			FUZZ_ASSERT(m->root && m->target && m->options && m->fstype && m->source &&
				    m->super_options);
			/* Unescaping never lengthens a field. */
			FUZZ_ASSERT(strlen(m->target) <= size);
			const struct eos_mount *at = eos_mounts_at(&l, m->target);
			FUZZ_ASSERT(at != NULL && strcmp(at->target, m->target) == 0);
			(void)eos_fstype_is_virtual(m->fstype);
		}
		eos_mounts_free(&l);
	}
	free(text);
	return 0;
}
