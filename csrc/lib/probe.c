#include "eos/probe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void set_err(struct eos_probe_error *pe, const struct eos_err *e)
{
	pe->code = e->code ? e->code : EIO;
	pe->msg = strdup(e->msg);
}

static void probe_devices(const struct eos_probe_opts *o, struct eos_probe *p)
{
	for (size_t i = 0; i < p->devs.n; i++) {
		p->sb[i].status = EOS_BLKID_NOTHING;
		if (!o->blkid || p->devs.v[i].size == 0)
			continue;  /* a detached loop or an empty slot has nothing to read */
		struct eos_err e;
		eos_err_clear(&e);
		if (eos_blkid_probe(p->devs.v[i].path, &p->sb[i], &e))
			set_err(&p->sb_err[i], &e);
		else
			p->probed[i] = 1;
	}
}

static void mount_usage(struct eos_probe *p)
{
	for (size_t i = 0; i < p->mounts.n; i++) {
		const struct eos_mount *m = &p->mounts.v[i];
		for (size_t j = i + 1; j < p->mounts.n; j++)
			if (strcmp(p->mounts.v[j].target, m->target) == 0)
				p->shadowed[i] = 1;
		/* Virtual filesystems have no storage; autofs would even mount on statvfs. A
		 * shadowed mount cannot be reached by its path: statvfs would describe the top one. */
		if (eos_fstype_is_virtual(m->fstype) || p->shadowed[i])
			continue;
		struct eos_err e;
		eos_err_clear(&e);
		if (eos_usage_get(m->target, &p->usage[i], &e))
			set_err(&p->usage_err[i], &e);
		else
			p->has_usage[i] = 1;
	}
}

static void run_lvm(const struct eos_probe_opts *o, struct eos_probe *p)
{
	if (o->lvm == EOS_PROBE_LVM_NEVER) {
		p->lvm_skipped = "not requested";
		p->lvm.available = eos_lvm_available(&o->lvm_opts);
		return;
	}
	if (o->lvm == EOS_PROBE_LVM_AUTO) {
		int need = !o->blkid;
		for (size_t i = 0; i < p->devs.n && !need; i++) {
			const char *t = eos_blkid_get(&p->sb[i], "TYPE");
			need = p->sb_err[i].code || p->sb[i].status == EOS_BLKID_AMBIVALENT ||
			       (t && strcmp(t, "LVM2_member") == 0);
		}
		if (!need) {
			p->lvm_skipped = "no device carries an LVM2_member signature";
			p->lvm.available = eos_lvm_available(&o->lvm_opts);
			return;
		}
	}
	struct eos_err e;
	eos_err_clear(&e);
	p->lvm_ran = 1;
	if (eos_lvm_report(&o->lvm_opts, &p->lvm, &e)) {
		set_err(&p->lvm_err, &e);
		p->lvm.available = 1;
	}
}

int eos_probe_collect(const struct eos_probe_opts *o, struct eos_probe *p, struct eos_err *e)
{
	struct eos_probe_opts dflt = EOS_PROBE_OPTS_INIT;
	int r;
	if (!o)
		o = &dflt;
	memset(p, 0, sizeof(*p));
	r = eos_blockdev_scan(o->classdir, &p->devs, e);
	if (r < 0)
		goto error;
	size_t nd = p->devs.n ? p->devs.n : 1;
	p->sb = calloc(nd, sizeof(*p->sb));
	p->sb_err = calloc(nd, sizeof(*p->sb_err));
	p->probed = calloc(nd, sizeof(*p->probed));
	if (!p->sb || !p->sb_err || !p->probed)
		goto nomem;
	probe_devices(o, p);

	r = eos_mounts_read(o->mountinfo, &p->mounts, e);
	if (r < 0)
		goto error;
	size_t nm = p->mounts.n ? p->mounts.n : 1;
	p->usage = calloc(nm, sizeof(*p->usage));
	p->has_usage = calloc(nm, sizeof(*p->has_usage));
	p->shadowed = calloc(nm, sizeof(*p->shadowed));
	p->usage_err = calloc(nm, sizeof(*p->usage_err));
	if (!p->usage || !p->has_usage || !p->shadowed || !p->usage_err)
		goto nomem;
	if (o->usage)
		mount_usage(p);

	r = eos_btrfs_sysfs_scan(o->btrfsdir, &p->btrfs, e);
	if (r < 0)
		goto error;
	run_lvm(o, p);
	return 0;
nomem:
	r = eos_fail(e, ENOMEM, "", "out of memory");
error:
	eos_probe_free(p);
	return r;
}

static void err_free(struct eos_probe_error *pe)
{
	free(pe->msg);
	pe->msg = NULL;
	pe->code = 0;
}

void eos_probe_free(struct eos_probe *p)
{
	for (size_t i = 0; p->sb && i < p->devs.n; i++) {
		eos_blkid_result_free(&p->sb[i]);
		err_free(&p->sb_err[i]);
	}
	for (size_t i = 0; p->usage_err && i < p->mounts.n; i++)
		err_free(&p->usage_err[i]);
	free(p->sb);
	free(p->sb_err);
	free(p->probed);
	free(p->usage);
	free(p->has_usage);
	free(p->shadowed);
	free(p->usage_err);
	eos_blockdev_list_free(&p->devs);
	eos_mounts_free(&p->mounts);
	eos_btrfs_fs_list_free(&p->btrfs);
	eos_lvm_report_free(&p->lvm);
	err_free(&p->lvm_err);
	memset(p, 0, sizeof(*p));
}

int eos_probe_dev_mounted(const struct eos_probe *p, size_t i)
{
	const struct eos_blockdev *d = &p->devs.v[i];
	for (size_t j = 0; j < p->mounts.n; j++) {
		const struct eos_mount *m = &p->mounts.v[j];
		if ((m->major == d->major && m->minor == d->minor) || strcmp(m->source, d->path) == 0)
			return 1;
	}
	for (size_t j = 0; j < p->btrfs.n; j++)
		for (size_t k = 0; k < p->btrfs.v[j].n_devices; k++)
			if (strcmp(p->btrfs.v[j].devices[k], d->name) == 0)
				return 1;
	return 0;
}

int eos_probe_dev_unused(const struct eos_probe *p, size_t i)
{
	const struct eos_blockdev *d = &p->devs.v[i];
	if (d->size == 0 || d->read_only || d->n_holders || !p->probed[i] ||
	    p->sb[i].status != EOS_BLKID_NOTHING)
		return 0;
	for (size_t j = 0; j < p->devs.n; j++)
		if (p->devs.v[j].parent && strcmp(p->devs.v[j].parent, d->name) == 0)
			return 0;  /* it has partitions */
	return !eos_probe_dev_mounted(p, i);
}

/* A mount of a filesystem with storage of its own, before de-duplication. */
static int storage_fs(const struct eos_probe *p, size_t i)
{
	const struct eos_mount *m = &p->mounts.v[i];
	if (!p->has_usage[i])
		return 0;
	return m->major != 0 || strcmp(m->fstype, "btrfs") == 0 || strncmp(m->source, "/dev/", 5) == 0;
}

int eos_probe_mount_is_storage(const struct eos_probe *p, size_t i)
{
	if (!storage_fs(p, i))
		return 0;
	const struct eos_mount *m = &p->mounts.v[i];
	for (size_t j = 0; j < i; j++)
		if (p->mounts.v[j].major == m->major && p->mounts.v[j].minor == m->minor && storage_fs(p, j))
			return 0;  /* the same filesystem, counted at its first mount */
	return 1;
}

void eos_probe_totals(const struct eos_probe *p, uint64_t *total, uint64_t *avail)
{
	*total = *avail = 0;
	for (size_t i = 0; i < p->mounts.n; i++) {
		if (!eos_probe_mount_is_storage(p, i))
			continue;
		*total += p->usage[i].size;
		*avail += p->usage[i].avail;
	}
}
