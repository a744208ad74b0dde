#include "eos/ops/probe.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Devices kept open together during a probe (a quarter of the usual 1024 fds). */
#define MAX_OPEN_AT_ONCE 256

static void set_err(struct eos_probe_error *pe, const struct eos_err *e)
{
	pe->code = e->code ? e->code : EIO;
	pe->msg = strdup(e->msg);
}

/* Everything eos_probe_dev_unused asks but the signature. */
static int could_be_unused(const struct eos_probe *p, size_t i)
{
	const struct eos_blockdev *d = &p->devs.v[i];
	if (d->size == 0 || d->read_only || d->n_holders)
		return 0;
	for (size_t j = 0; j < p->devs.n; j++)
		if (p->devs.v[j].parent && strcmp(p->devs.v[j].parent, d->name) == 0)
			return 0;  /* it has partitions */
	return !eos_probe_dev_mounted(p, i);
}

/* Errors opening a device that the lvm tool, started by us with our credentials and scanning
 * /dev, would meet as well: it cannot find a PV there either. 0 means no error. */
static int lvm_cannot_open(int code)
{
	return code == 0 || code == EACCES || code == EPERM || code == ENOENT || code == ENXIO ||
	       code == ENOMEDIUM || code == ENODEV;
}

static int is_pv(const struct eos_probe *p, size_t i)
{
	const char *t = eos_blkid_get(&p->sb[i], "TYPE");
	return p->sb[i].status == EOS_BLKID_FOUND && t && strcmp(t, "LVM2_member") == 0;
}

/* Whether what device i showed makes the lvm tool necessary in LVM_AUTO mode: a device that
 * gave an error the tool would not share, or an ambivalent one, or a PV when LVM cannot be read
 * in-process (a configuration of lvm's own decides which PVs it shows). A plain PV is read
 * in-process after the probe (read_lvm). */
static int needs_lvm(const struct eos_probe *p, size_t i, int in_process)
{
	return !lvm_cannot_open(p->sb_err[i].code) || p->sb[i].status == EOS_BLKID_AMBIVALENT ||
	       (!in_process && is_pv(p, i));
}

/* The lvm report runs on a thread of its own, overlapping the signature probing: it is
 * started at once (LVM_ALWAYS) or as soon as a device shows it is needed (LVM_AUTO). It only
 * writes p->lvm and p->lvm_err, which nothing reads before lvm_join. */
struct lvm_job {
	const struct eos_probe_opts *o;
	struct eos_probe *p;
	pthread_t tid;
	int started;  /* 0 no, 1 thread running, 2 ran inline */
};

static void *lvm_thread(void *arg)
{
	struct lvm_job *j = arg;
	struct eos_err e;
	eos_err_clear(&e);
	if (eos_lvm_report(&j->o->lvm_opts, &j->p->lvm, &e)) {
		set_err(&j->p->lvm_err, &e);
		j->p->lvm.available = 1;
	}
	return NULL;
}

static void lvm_start(struct lvm_job *j)
{
	if (!j || j->started)
		return;
	j->p->lvm_ran = 1;
	j->p->lvm_reader = "lvm";
	if (pthread_create(&j->tid, NULL, lvm_thread, j) == 0) {
		j->started = 1;
	} else {
		j->started = 2;
		lvm_thread(j);
	}
}

static void lvm_join(struct lvm_job *j)
{
	if (j->started == 1)
		pthread_join(j->tid, NULL);
	j->started = j->started ? 2 : 0;
}

/* Whether LVM may be read from the devices instead of through the lvm tool: lvm's default
 * configuration, not another lvm program or --config. */
static int in_process(const struct eos_probe_opts *o)
{
	return !o->lvm_opts.config && !o->lvm_opts.lvm && eos_lvm_config_is_default();
}

/* LVM_AUTO once the signatures are known and the tool was not needed: read the PVs in-process.
 * What the reader does not model, or metadata it finds corrupt, goes to the lvm tool, the
 * authority on both; without the tool the reader's message is the error. */
static int read_lvm(struct lvm_job *j)
{
	struct eos_probe *p = j->p;
	struct eos_lvm_dev *devs = calloc(p->devs.n ? p->devs.n : 1, sizeof(*devs));
	size_t n = 0;
	if (!devs)
		return -ENOMEM;
	int dm = 0;
	for (size_t i = 0; i < p->devs.n; i++) {
		if (!is_pv(p, i))
			continue;
		/* lvm names a PV on device-mapper by its /dev/mapper name: leave those to it. */
		dm |= p->devs.v[i].dm_name != NULL;
		devs[n++] = (struct eos_lvm_dev){p->devs.v[i].path, p->devs.v[i].major,
						 p->devs.v[i].minor, p->devs.v[i].size};
	}
	if (n && dm) {
		lvm_start(j);
		lvm_join(j);
	} else if (n) {
		struct eos_err e;
		eos_err_clear(&e);
		p->lvm_ran = 1;
		p->lvm_reader = "in-process";
		if (eos_lvm_read(devs, n, &p->lvm, &e)) {
			if (eos_lvm_available(&j->o->lvm_opts)) {
				lvm_start(j);
				lvm_join(j);
			} else {
				set_err(&p->lvm_err, &e);
			}
		}
	}
	free(devs);
	return 0;
}

struct probe_work {
	struct eos_probe *p;
	struct lvm_job *lvm;    /* LVM_AUTO: start it when a device needs it */
	int in_process;         /* PVs can be read in-process */
	const char *want;       /* devs.n flags: probe this one */
	const int *fds;         /* devs.n: the device opened for it */
	size_t next;            /* next index to take, shared */
	pthread_mutex_t lock;
};

static void *probe_worker(void *arg)
{
	struct probe_work *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->lock);
		size_t i = w->next;
		while (i < w->p->devs.n && !w->want[i])
			i++;
		w->next = i + 1;
		pthread_mutex_unlock(&w->lock);
		if (i >= w->p->devs.n)
			return NULL;
		struct eos_err e;
		eos_err_clear(&e);
		/* Each device has its own blkid probe and its own result slot. Past the cap of
		 * devices opened at once, a device is opened (and closed) here. */
		int r = w->fds[i] >= 0 ? eos_blkid_probe_fd(w->fds[i], w->p->devs.v[i].path, &w->p->sb[i], &e)
				       : eos_blkid_probe(w->p->devs.v[i].path, &w->p->sb[i], &e);
		if (r)
			set_err(&w->p->sb_err[i], &e);
		else
			w->p->probed[i] = 1;
		if (w->lvm && needs_lvm(w->p, i, w->in_process)) {
			pthread_mutex_lock(&w->lock);
			lvm_start(w->lvm);
			pthread_mutex_unlock(&w->lock);
		}
	}
}

/* Open every device to probe and ask for libblkid's windows of all of them at once, before
 * probing any: the reads of all devices are in flight together instead of one device's after
 * another's. An open error is the device's result, as it would be from eos_blkid_probe. */
static size_t open_devices(struct eos_probe *p, struct lvm_job *lvm, int in_process, char *want, int *fds)
{
	size_t n = 0;
	for (size_t i = 0; i < p->devs.n; i++) {
		if (!want[i])
			continue;
		if (n >= MAX_OPEN_AT_ONCE)
			continue;  /* probe_worker opens it */
		struct eos_err e;
		eos_err_clear(&e);
		fds[i] = eos_blkid_open(p->devs.v[i].path, &e);
		if (fds[i] < 0) {
			set_err(&p->sb_err[i], &e);
			want[i] = 0;
			if (lvm && needs_lvm(p, i, in_process))
				lvm_start(lvm);  /* no worker runs yet: no lock */
			continue;
		}
		eos_blkid_prefetch(fds[i], (long long)p->devs.v[i].size);
		n++;
	}
	return n;
}

/* libblkid reads each device in many small pieces: spread the devices over the CPUs (at most
 * 4 threads), the calling thread being one of them. The devices stay open in fds (the caller
 * closes them), so that the LVM reader after this finds their first sectors in memory. */
static int probe_devices(const struct eos_probe_opts *o, struct eos_probe *p, struct lvm_job *lvm,
			 int *fds)
{
	struct probe_work w = {p, o->lvm == EOS_PROBE_LVM_AUTO ? lvm : NULL, in_process(o), NULL, fds, 0,
			       PTHREAD_MUTEX_INITIALIZER};
	char *want = calloc(p->devs.n ? p->devs.n : 1, 1);
	if (!want)
		return -ENOMEM;
	for (size_t i = 0; i < p->devs.n; i++) {
		p->sb[i].status = EOS_BLKID_NOTHING;
		if (!o->blkid || p->devs.v[i].size == 0)
			continue;  /* a detached loop or an empty slot has nothing to read */
		if (o->blkid_unused_only && !could_be_unused(p, i))
			continue;
		want[i] = 1;
	}
	size_t n = open_devices(p, w.lvm, w.in_process, want, fds);
	for (size_t i = 0; i < p->devs.n; i++)
		n += want[i] && fds[i] < 0;  /* past the cap */
	w.want = want;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = cpus > 1 ? (size_t)(cpus > 4 ? 4 : cpus) : 1;
	if (nthreads > n / 2)
		nthreads = n / 2 ? n / 2 : 1;
	pthread_t tid[3];
	size_t started = 0;
	for (size_t t = 1; t < nthreads; t++)
		if (pthread_create(&tid[started], NULL, probe_worker, &w) == 0)
			started++;
	probe_worker(&w);
	for (size_t t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	free(want);
	return 0;
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

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; fds && i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
}

int eos_probe_collect(const struct eos_probe_opts *o, struct eos_probe *p, struct eos_err *e)
{
	struct eos_probe_opts dflt = EOS_PROBE_OPTS_INIT;
	struct lvm_job lvm = {NULL, p, 0, 0};
	int *fds = NULL;
	int r;
	if (!o)
		o = &dflt;
	lvm.o = o;
	memset(p, 0, sizeof(*p));
	if (o->lvm == EOS_PROBE_LVM_ALWAYS || (o->lvm == EOS_PROBE_LVM_AUTO && !o->blkid))
		lvm_start(&lvm);
	r = eos_blockdev_scan(o->classdir, &p->devs, e);
	if (r < 0)
		goto error;
	size_t nd = p->devs.n ? p->devs.n : 1;
	p->sb = calloc(nd, sizeof(*p->sb));
	p->sb_err = calloc(nd, sizeof(*p->sb_err));
	p->probed = calloc(nd, sizeof(*p->probed));
	if (!p->sb || !p->sb_err || !p->probed)
		goto nomem;

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
	r = eos_btrfs_sysfs_scan(o->btrfsdir, &p->btrfs, e);
	if (r < 0)
		goto error;
	fds = malloc(nd * sizeof(*fds));
	if (!fds)
		goto nomem;
	for (size_t i = 0; i < nd; i++)
		fds[i] = -1;
	if (probe_devices(o, p, &lvm, fds))
		goto nomem;
	if (o->usage)
		mount_usage(p);
	lvm_join(&lvm);
	if (!lvm.started && o->lvm == EOS_PROBE_LVM_AUTO && o->blkid && in_process(o) && read_lvm(&lvm))
		goto nomem;
	close_fds(fds, p->devs.n);
	fds = NULL;
	if (!lvm.started && !p->lvm_ran) {
		p->lvm_skipped = o->lvm == EOS_PROBE_LVM_NEVER ? "not requested"
							       : "no device carries an LVM2_member signature";
		p->lvm.available = eos_lvm_available(&o->lvm_opts);
	}
	return 0;
nomem:
	r = eos_fail(e, ENOMEM, "", "out of memory");
error:
	close_fds(fds, p->devs.n);
	lvm_join(&lvm);
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
	return p->probed[i] && p->sb[i].status == EOS_BLKID_NOTHING && could_be_unused(p, i);
}

/* A mount of a filesystem with storage of its own, before de-duplication. */
static int storage_fs(const struct eos_probe *p, size_t i)
{
	const struct eos_mount *m = &p->mounts.v[i];
	if (!p->has_usage[i])
		return 0;
	/* Block-device filesystems have the device's number; BTRFS shows an anonymous one. Network,
	 * FUSE, overlay and memory filesystems (major 0) are not this node's storage, even when
	 * their source looks like a path in /dev (/dev/fuse). */
	return m->major != 0 || strcmp(m->fstype, "btrfs") == 0;
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
