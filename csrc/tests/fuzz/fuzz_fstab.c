/* fstab (csrc/lib/core/fstab.c): reading an fstab others wrote, and the escape/unescape round
 * trip of a mount point. Input: the first line is a mount point, the rest an fstab. */
#include "fuzz.h"

#include <unistd.h>

#include "eos/core/fstab.h"

static char dir[64], fstab[96];

static void cleanup(void)
{
	unlink(fstab);
	rmdir(dir);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	FUZZ_ASSERT(f && fwrite(data, 1, len, f) == len && fclose(f) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		const char *tmp = getenv("EOS_FUZZ_TMP") ? getenv("EOS_FUZZ_TMP") : "/dev/shm";
		snprintf(dir, sizeof(dir), "%.40s/eos-fuzz-XXXXXX", tmp);
		FUZZ_ASSERT(mkdtemp(dir) != NULL);
		snprintf(fstab, sizeof(fstab), "%s/fstab", dir);
		atexit(cleanup);
	}
	char *s = fuzz_str(data, size);
	char *nl = strchr(s, '\n'), *body = nl ? nl + 1 : s + strlen(s);
	if (nl)
		*nl = '\0';
	const char *target = s;
	write_file(fstab, body, strlen(body));
	struct eos_err e;
	char spec[1024];
	eos_err_clear(&e);
	FUZZ_ASSERT(eos_fstab_find(fstab, target, spec, sizeof(spec), &e) == 0);
	/* Round trip: an entry added for any mount point (short enough to escape whole) is found
	 * again by that same mount point, whatever the other lines hold. */
	static const char ours[] = "UUID=00000000-fuzz-0000-0000-000000000000";
	if (target[0] == '/' && strlen(target) <= 900) {
		int r = eos_fstab_add(fstab, ours, target, "xfs", "defaults", 2, "fuzz", &e);
		FUZZ_ASSERT(r == 0 || r == 1);
		FUZZ_ASSERT(eos_fstab_find(fstab, target, spec, sizeof(spec), &e) == 0);
		if (strcmp(spec, ours) != 0) {
			fprintf(stderr, "target '%s': found spec '%s'\n", target, spec);
			FUZZ_ASSERT(!"the entry just added is found by its mount point");
		}
		FUZZ_ASSERT(eos_fstab_undo(fstab, ours, target, "fuzz", &e) >= 0);
		FUZZ_ASSERT(eos_fstab_disable(fstab, ours, "fuzz", &e) >= 0);
	}
	free(s);
	return 0;
}
