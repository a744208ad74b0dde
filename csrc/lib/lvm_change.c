#include "eos/lvm_change.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eos/buf.h"
#include "eos/json.h"
#include "eos/spawn.h"

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

/* Run "lvm <cmd> ..." with activation disabled when there is no device-mapper. */
static int lvm_run(const char *const args[], struct eos_run *run, struct eos_err *e)
{
	const char *argv[24];
	size_t k = 0;
	char why[256];
	argv[k++] = "lvm";
	argv[k++] = args[0];
	if (!eos_lvm_dm_available(why, sizeof(why))) {
		argv[k++] = "--config";
		argv[k++] = NO_ACTIVATION;
	}
	for (size_t i = 1; args[i] && k < 23; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	run->timeout_ms = 120000;
	return eos_spawn_ok(argv, run, e);
}

/* Run a report command and return the array member `what` of report[0]. */
static int lvm_report(const char *const args[], const char *what, struct eos_json **root,
		      const struct eos_json **rows, struct eos_err *e)
{
	struct eos_run run = EOS_RUN_INIT;
	int r = lvm_run(args, &run, e);
	*root = NULL;
	*rows = NULL;
	if (r)
		goto out;
	r = eos_json_parse(run.out.data ? run.out.data : "", run.out.len, "lvm report", root, e);
	if (r)
		goto out;
	const struct eos_json *rep = eos_json_get(*root, "report");
	if (!rep || rep->type != EOS_JSON_ARRAY || !rep->child) {
		r = eos_fail(e, EPROTO, "", "lvm %s: no \"report\" array in its output", args[0]);
		goto out;
	}
	*rows = eos_json_get(rep->child, what);
	if (!*rows || (*rows)->type != EOS_JSON_ARRAY) {
		r = eos_fail(e, EPROTO, "", "lvm %s: no \"%s\" array in its report", args[0], what);
		goto out;
	}
out:
	eos_run_free(&run);
	return r;
}

#define PV_FIELDS "pv_name,vg_name,pv_size,dev_size,pe_start,pv_pe_count,vg_extent_size"

static int pv_fill(const struct eos_json *row, struct eos_lvm_pv *pv, struct eos_err *e)
{
	const char *name = eos_json_str(row, "pv_name");
	const char *vg = eos_json_str(row, "vg_name");
	memset(pv, 0, sizeof(*pv));
	snprintf(pv->name, sizeof(pv->name), "%s", name ? name : "");
	snprintf(pv->vg, sizeof(pv->vg), "%s", vg ? vg : "");
	if (eos_json_u64(row, "pv_size", &pv->pv_size) || eos_json_u64(row, "dev_size", &pv->dev_size) ||
	    eos_json_u64(row, "pe_start", &pv->pe_start) ||
	    eos_json_u64(row, "pv_pe_count", &pv->pe_count))
		return eos_fail(e, EPROTO, pv->name, "lvm pvs: missing size fields for %s", pv->name);
	if (eos_json_u64(row, "vg_extent_size", &pv->extent_size))
		pv->extent_size = 0;  /* an orphan PV has no VG and so no extent size */
	return 0;
}

static int same_dev(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];
	if (strcmp(a, b) == 0)
		return 1;
	if (!realpath(a, ra) || !realpath(b, rb))
		return 0;
	return strcmp(ra, rb) == 0;
}

int eos_lvm_pv_get(const char *dev, struct eos_lvm_pv *pv, struct eos_err *e)
{
	const char *args[] = {"pvs", "--reportformat", "json", "--units", "b", "--nosuffix",
			      "-o", PV_FIELDS, NULL};
	struct eos_json *root;
	const struct eos_json *rows;
	int r = lvm_report(args, "pv", &root, &rows, e);
	if (r)
		goto out;
	for (const struct eos_json *row = rows->child; row; row = row->next) {
		const char *name = eos_json_str(row, "pv_name");
		if (name && same_dev(name, dev)) {
			r = pv_fill(row, pv, e);
			if (r == 0)
				r = 1;
			goto out;
		}
	}
out:
	eos_json_free(root);
	return r;
}

int eos_lvm_vg_pvs(const char *vg, struct eos_lvm_pv **out, size_t *n, struct eos_err *e)
{
	const char *args[] = {"pvs", "--reportformat", "json", "--units", "b", "--nosuffix",
			      "-o", PV_FIELDS, NULL};
	struct eos_json *root;
	const struct eos_json *rows;
	struct eos_lvm_pv *v = NULL;
	size_t cnt = 0;
	*out = NULL;
	*n = 0;
	int r = lvm_report(args, "pv", &root, &rows, e);
	if (r)
		goto out;
	v = calloc(rows->n ? rows->n : 1, sizeof(*v));
	if (!v) {
		r = eos_fail(e, ENOMEM, "", "out of memory");
		goto out;
	}
	for (const struct eos_json *row = rows->child; row; row = row->next) {
		const char *name = eos_json_str(row, "vg_name");
		if (!name || strcmp(name, vg) != 0)
			continue;
		r = pv_fill(row, &v[cnt], e);
		if (r)
			goto out;
		cnt++;
	}
	*out = v;
	*n = cnt;
	v = NULL;
out:
	free(v);
	eos_json_free(root);
	return r;
}

int eos_lvm_lv_get(const char *vg, const char *lv, struct eos_lvm_lv *out, struct eos_err *e)
{
	const char *args[] = {"lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o",
			      "lv_name,vg_name,lv_size,lv_attr,lv_path,vg_free,vg_extent_size", NULL};
	struct eos_json *root;
	const struct eos_json *rows;
	int r = lvm_report(args, "lv", &root, &rows, e);
	if (r)
		goto out;
	for (const struct eos_json *row = rows->child; row; row = row->next) {
		const char *ln = eos_json_str(row, "lv_name"), *vn = eos_json_str(row, "vg_name");
		if (!ln || !vn || strcmp(ln, lv) || strcmp(vn, vg))
			continue;
		memset(out, 0, sizeof(*out));
		snprintf(out->vg, sizeof(out->vg), "%s", vg);
		snprintf(out->lv, sizeof(out->lv), "%s", lv);
		const char *attr = eos_json_str(row, "lv_attr"), *path = eos_json_str(row, "lv_path");
		snprintf(out->attr, sizeof(out->attr), "%s", attr ? attr : "");
		snprintf(out->path, sizeof(out->path), "%s", path ? path : "");
		if (eos_json_u64(row, "lv_size", &out->lv_size) ||
		    eos_json_u64(row, "vg_free", &out->vg_free) ||
		    eos_json_u64(row, "vg_extent_size", &out->extent_size) || !out->extent_size) {
			r = eos_fail(e, EPROTO, "", "lvm lvs: missing size fields for %s/%s", vg, lv);
			goto out;
		}
		r = 1;
		goto out;
	}
out:
	eos_json_free(root);
	return r;
}

uint64_t eos_lvm_pv_extents_for(const struct eos_lvm_pv *pv, uint64_t dev_bytes)
{
	if (!pv->extent_size || dev_bytes <= pv->pe_start)
		return pv->pe_count;
	return (dev_bytes - pv->pe_start) / pv->extent_size;
}

int eos_lvm_pvresize(const char *dev, struct eos_err *e)
{
	struct eos_run run = EOS_RUN_INIT;
	const char *args[] = {"pvresize", "--", dev, NULL};
	int r = lvm_run(args, &run, e);
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
	int r = lvm_run(args, &run, e);
	eos_run_free(&run);
	return r;
}
