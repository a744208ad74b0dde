/* A mount's usage as analyze and the beacon evaluate it, and the mounts worth evaluating. */
#include "eos/drivers/usage.h"

#include <string.h>

int eos_usage_eval(const char *target, const char *fstype, struct eos_usage_eval *u,
		   struct eos_err *e)
{
	memset(u, 0, sizeof(*u));
	int r = eos_usage_get(target, &u->usage, e);
	if (r)
		return r;
	const struct eos_usage *s = &u->usage;
	uint64_t den = s->used + s->avail;
	u->used_pct = den ? (double)s->used * 100.0 / (double)den : 0;
	u->has_inodes = s->files > 0;
	u->inodes_pct = u->has_inodes ? (double)s->files_used * 100.0 / (double)s->files : 0;
	u->bytes_pct = u->used_pct;
	if (strcmp(fstype, "btrfs") == 0) {
		r = eos_btrfs_space_get(target, &u->btrfs, e);
		if (r)
			return r;
		u->has_btrfs = 1;
		if (u->btrfs.pct > u->bytes_pct)
			u->bytes_pct = u->btrfs.pct;
	}
	return 0;
}

/* A later mount on the same mount point hides this one. */
static int shadowed(const struct eos_mount_list *l, size_t i)
{
	for (size_t j = i + 1; j < l->n; j++)
		if (strcmp(l->v[j].target, l->v[i].target) == 0)
			return 1;
	return 0;
}

/* Index of an already chosen mount of the same filesystem (same st_dev), or -1. */
static int find_same(const struct eos_mount_list *l, const size_t *pick, size_t n,
		     const struct eos_mount *m)
{
	for (size_t i = 0; i < n; i++) {
		const struct eos_mount *p = &l->v[pick[i]];
		if (p->major == m->major && p->minor == m->minor)
			return (int)i;
	}
	return -1;
}

size_t eos_mounts_select(const struct eos_mount_list *l, size_t *pick)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct eos_mount *m = &l->v[i];
		if (eos_fstype_is_virtual(m->fstype) || shadowed(l, i))
			continue;
		int j = find_same(l, pick, n, m);
		if (j < 0)
			pick[n++] = i;
		else if (strlen(m->root) < strlen(l->v[pick[j]].root))
			pick[j] = i;
	}
	return n;
}
