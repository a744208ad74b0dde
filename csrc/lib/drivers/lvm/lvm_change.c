#include "eos/drivers/lvm/lvm_change.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "eos/core/buf.h"
#include "eos/core/spawn.h"

#define NO_ACTIVATION "global { activation = 0 }"

int eos_lvm_dm_available(char *why, size_t why_len)
{
	struct eos_buf b = EOS_BUF_INIT;
	int r = eos_buf_read_file(&b, AT_FDCWD, "/proc/misc");
	int found = 0;
	if (r == 0) {
		for (char *line = b.data; line && *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			unsigned minor;
			char name[64];
			if (sscanf(line, " %u %63s", &minor, name) == 2 && strcmp(name, "device-mapper") == 0)
				found = 1;
			line = nl ? nl + 1 : NULL;
		}
	}
	eos_buf_free(&b);
	if (!found)
		snprintf(why, why_len, "no device-mapper driver in this kernel (/proc/misc has no "
			 "device-mapper entry): LVs cannot be activated");
	return found;
}

int eos_lvm_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= EOS_LVM_NAME_MAX || name[0] == '-')
		return 0;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '+' && c != '_' && c != '.' && c != '-')
			return 0;
	}
	return 1;
}

const char *eos_lvm_config(void)
{
	char why[256];
	return eos_lvm_dm_available(why, sizeof(why)) ? NULL : NO_ACTIVATION;
}

int eos_lvm_run(const char *const args[], struct eos_run *run, struct eos_err *e)
{
	const char *argv[24];
	size_t k = 0;
	const char *config = eos_lvm_config();
	argv[k++] = "lvm";
	argv[k++] = args[0];
	if (config) {
		argv[k++] = "--config";
		argv[k++] = config;
	}
	for (size_t i = 1; args[i] && k < 23; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	run->timeout_ms = 120000;
	return eos_spawn_ok(argv, run, e);
}

uint64_t eos_lvm_pv_extents_for(uint64_t pe_start, uint64_t extent_size, uint64_t pe_count,
				uint64_t dev_bytes)
{
	if (!extent_size || dev_bytes <= pe_start)
		return pe_count;
	uint64_t n = (dev_bytes - pe_start) / extent_size;
	return n > pe_count ? n : pe_count;
}

int eos_lvm_pvresize(const char *dev, struct eos_err *e)
{
	struct eos_run run = EOS_RUN_INIT;
	const char *args[] = {"pvresize", "--", dev, NULL};
	int r = eos_lvm_run(args, &run, e);
	eos_run_free(&run);
	return r;
}

int eos_lvm_lvextend(const char *vg, const char *lv, uint64_t bytes, struct eos_err *e)
{
	struct eos_run run = EOS_RUN_INIT;
	char size[32], name[EOS_LVM_NAME_MAX * 2 + 2];
	if (!eos_lvm_name_valid(vg) || !eos_lvm_name_valid(lv))
		return eos_fail(e, EINVAL, "", "invalid LVM name '%s/%s'", vg, lv);
	snprintf(size, sizeof(size), "%llub", (unsigned long long)bytes);
	snprintf(name, sizeof(name), "%s/%s", vg, lv);
	const char *args[] = {"lvextend", "-L", size, "--", name, NULL};
	int r = eos_lvm_run(args, &run, e);
	eos_run_free(&run);
	return r;
}
