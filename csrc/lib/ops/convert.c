#include "eos/ops/convert.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "eos/drivers/btrfs/btrfs.h"
#include "eos/core/buf.h"
#include "eos/core/fsutil.h"
#include "eos/drivers/mounts.h"
#include "eos/core/fstab.h"
#include "eos/core/journal.h"
#include "eos/drivers/devcheck.h"
#include "eos/core/spawn.h"

const char *const eos_convert_step_names[EOS_CONV_NSTEPS] = {
	"planned", "mkfs", "staged", "copied", "verified", "switched", "fstab", "done",
};

#define REPLACED_NOTE "eos_storage.convert replaced"
#define SUBVOL "data"
#define KEEP_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME)

struct journal {
	char path[4096], target[1024], uuid[64], old_source[1024], old_fstype[32];
	char staging[4096], hold[4096], fstab[4096], mount_options[160];
	unsigned long old_flags;
	int step;
	struct eos_copy_stats copied;
	uint64_t used_before, data_after;
};


/* ---- journal ------------------------------------------------------------------------------ */

static void put(struct eos_buf *b, const char *key, const char *val)
{
	eos_buf_append(b, key, strlen(key));
	eos_buf_append(b, "=", 1);
	for (const unsigned char *p = (const unsigned char *)val; *p; p++) {
		if (*p < 0x20 || *p == '%' || *p == 0x7f) {
			char esc[4];
			snprintf(esc, sizeof(esc), "%%%02X", *p);
			eos_buf_append(b, esc, 3);
		} else {
			eos_buf_append(b, p, 1);
		}
	}
	eos_buf_append(b, "\n", 1);
}

static void put_u64(struct eos_buf *b, const char *key, uint64_t v)
{
	char s[32];
	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	put(b, key, s);
}

static int journal_save(const char *file, const struct journal *j, struct eos_err *e)
{
	struct eos_buf b = EOS_BUF_INIT;
	put(&b, "path", j->path);
	put(&b, "target", j->target);
	put(&b, "uuid", j->uuid);
	put(&b, "old_source", j->old_source);
	put(&b, "old_fstype", j->old_fstype);
	put(&b, "staging", j->staging);
	put(&b, "hold", j->hold);
	put(&b, "fstab", j->fstab);
	put(&b, "mount_options", j->mount_options);
	put_u64(&b, "old_flags", j->old_flags);
	put(&b, "step", j->step >= 0 ? eos_convert_step_names[j->step] : "");
	put_u64(&b, "files", j->copied.files);
	put_u64(&b, "dirs", j->copied.dirs);
	put_u64(&b, "symlinks", j->copied.symlinks);
	put_u64(&b, "hardlinks", j->copied.hardlinks);
	put_u64(&b, "specials", j->copied.specials);
	put_u64(&b, "xattrs", j->copied.xattrs);
	put_u64(&b, "bytes", j->copied.bytes);
	put_u64(&b, "data_bytes", j->copied.data_bytes);
	put_u64(&b, "used_before", j->used_before);
	put_u64(&b, "data_after", j->data_after);
	int r = b.data ? eos_file_write_atomic(file, b.data, b.len, e)
		       : eos_fail(e, ENOMEM, file, "out of memory writing the journal");
	eos_buf_free(&b);
	return r;
}

static void unescape(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = {s[i + 1], s[i + 2], 0};
			out[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
}

/* 1 loaded, 0 no journal, -errno. */
static int journal_load(const char *file, struct journal *j, struct eos_err *e)
{
	struct eos_buf b = EOS_BUF_INIT;
	memset(j, 0, sizeof(*j));
	j->step = -1;
	int r = eos_buf_read_file(&b, AT_FDCWD, file);
	if (r == -ENOENT)
		return 0;
	if (r)
		return eos_fail_sys(e, r, file, "reading the journal %s", file);
	struct {
		const char *key;
		char *dst;
		size_t len;
	} strs[] = {
		{"path", j->path, sizeof(j->path)}, {"target", j->target, sizeof(j->target)},
		{"uuid", j->uuid, sizeof(j->uuid)}, {"old_source", j->old_source, sizeof(j->old_source)},
		{"old_fstype", j->old_fstype, sizeof(j->old_fstype)}, {"staging", j->staging, sizeof(j->staging)},
		{"hold", j->hold, sizeof(j->hold)}, {"fstab", j->fstab, sizeof(j->fstab)},
		{"mount_options", j->mount_options, sizeof(j->mount_options)},
	};
	struct {
		const char *key;
		uint64_t *dst;
	} nums[] = {
		{"files", &j->copied.files}, {"dirs", &j->copied.dirs}, {"symlinks", &j->copied.symlinks},
		{"hardlinks", &j->copied.hardlinks}, {"specials", &j->copied.specials},
		{"xattrs", &j->copied.xattrs}, {"bytes", &j->copied.bytes},
		{"data_bytes", &j->copied.data_bytes}, {"used_before", &j->used_before},
		{"data_after", &j->data_after},
	};
	for (size_t pos = 0; b.data && pos < b.len;) {
		const char *line = b.data + pos;
		const char *nl = memchr(line, '\n', b.len - pos);
		size_t n = nl ? (size_t)(nl - line) : b.len - pos;
		pos += n + 1;
		const char *eq = memchr(line, '=', n);
		if (!eq)
			continue;
		size_t klen = (size_t)(eq - line), vlen = n - klen - 1;
		char val[4096];
		unescape(eq + 1, vlen, val, sizeof(val));
		for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
			if (strlen(strs[i].key) == klen && strncmp(line, strs[i].key, klen) == 0)
				snprintf(strs[i].dst, strs[i].len, "%s", val);
		for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
			if (strlen(nums[i].key) == klen && strncmp(line, nums[i].key, klen) == 0)
				*nums[i].dst = strtoull(val, NULL, 10);
		if (klen == 9 && strncmp(line, "old_flags", 9) == 0)
			j->old_flags = strtoul(val, NULL, 10);
		if (klen == 4 && strncmp(line, "step", 4) == 0)
			for (int s = 0; s < EOS_CONV_NSTEPS; s++)
				if (strcmp(val, eos_convert_step_names[s]) == 0)
					j->step = s;
	}
	eos_buf_free(&b);
	if (!j->path[0] || !j->target[0] || !j->uuid[0])
		return eos_fail(e, EINVAL, file, "the journal %s is incomplete; remove it after checking the "
				"mounts by hand", file);
	return 1;
}

/* ---- helpers --------------------------------------------------------------------------- */

/* The lock and journal of the conversion of canon under state_dir/convert. A journal that an
 * older version keyed by the escaped path (cut at 1,024 bytes) is adopted when that name was
 * not cut. */
static int legacy_key(const char *canon, char *key, size_t n)
{
	size_t o = 0;
	for (const unsigned char *s = (const unsigned char *)canon + 1; *s; s++) {
		if (o + 4 >= n)
			return -ENAMETOOLONG;
		if (isalnum(*s) || *s == '.' || *s == '-')
			key[o++] = (char)*s;
		else if (*s == '/')
			key[o++] = '_';
		else
			o += (size_t)snprintf(key + o, n - o, "%%%02X", *s);
	}
	key[o] = '\0';
	return 0;
}

/* Lock the journal of canon; with only_if_journal, only when there is one (new or legacy:
 * lock_fd stays -1 otherwise). */
static int open_journal(const char *canon, const char *state_dir, struct eos_journal *jn,
			int only_if_journal, struct eos_err *e)
{
	if (strcmp(canon, "/") == 0)
		return eos_fail(e, EINVAL, canon, "refusing to convert /");
	int r = eos_journal_init(jn, state_dir && state_dir[0] ? state_dir : "/var/lib/eos", "convert",
				 canon, 0, e);
	if (r)
		return r;
	char old[1024], legacy[EOS_PATH_MAX + 1100] = "";
	if (legacy_key(canon, old, sizeof(old)) == 0)
		snprintf(legacy, sizeof(legacy), "%s/%s.journal", jn->dir, old);
	struct stat st;
	if (only_if_journal && stat(jn->path, &st) < 0 && (!legacy[0] || stat(legacy, &st) < 0))
		return 0;
	r = eos_journal_lock(jn, 0, "eos_storage.convert", e);
	if (!r)
		r = eos_journal_adopt(jn, legacy, e);
	return r < 0 ? r : 0;
}

static int is_new(const struct eos_mount *m, const struct journal *j)
{
	return m && strcmp(m->fstype, "btrfs") == 0 && eos_same_path(m->source, j->target);
}

static int is_old(const struct eos_mount *m, const struct journal *j)
{
	return m && strcmp(m->fstype, j->old_fstype) == 0 && strcmp(m->source, j->old_source) == 0;
}

/* Processes with a file, cwd or root under path: "pid (comm): file". */
static int open_files(const char *path, struct eos_convert_result *res)
{
	res->n_open = 0;
	size_t plen = strlen(path);
	DIR *proc = opendir("/proc");
	if (!proc)
		return -errno;
	struct dirent *pe;
	pid_t self = getpid();
	while ((pe = readdir(proc)) && res->n_open < EOS_CONV_MAX_OPEN) {
		if (!isdigit((unsigned char)pe->d_name[0]) || atoi(pe->d_name) == self)
			continue;
		char comm[64] = "?", p[300];
		struct eos_buf b = EOS_BUF_INIT;
		snprintf(p, sizeof(p), "/proc/%s/comm", pe->d_name);
		if (eos_buf_read_file(&b, AT_FDCWD, p) == 0 && b.data)
			snprintf(comm, sizeof(comm), "%.*s", (int)strcspn(b.data, "\n"), b.data);
		eos_buf_free(&b);
		const char *fixed[] = {"cwd", "root"};
		char fddir[300];
		snprintf(fddir, sizeof(fddir), "/proc/%s/fd", pe->d_name);
		DIR *fds = opendir(fddir);
		for (int k = 0; k < 2 || fds; k++) {
			char link[300], to[4096];
			if (k < 2) {
				snprintf(link, sizeof(link), "/proc/%s/%s", pe->d_name, fixed[k]);
			} else {
				struct dirent *fe = readdir(fds);
				if (!fe)
					break;
				if (fe->d_name[0] == '.')
					continue;
				eos_strfmt(link, sizeof(link), "%s/%s", fddir, fe->d_name);
			}
			ssize_t n = readlink(link, to, sizeof(to) - 1);
			if (n <= 0)
				continue;
			to[n] = '\0';
			if (strncmp(to, path, plen) == 0 && (to[plen] == '\0' || to[plen] == '/') &&
			    !(k == 1 && to[plen] == '\0' && plen == 1) && res->n_open < EOS_CONV_MAX_OPEN)
				eos_strfmt(res->open_files[res->n_open++], sizeof(res->open_files[0]), "%s (%s): %.400s",
					 pe->d_name, comm, to);
		}
		if (fds)
			closedir(fds);
	}
	closedir(proc);
	return 0;
}

static void fill_result(struct eos_convert_result *res, const struct journal *j)
{
	snprintf(res->path, sizeof(res->path), "%s", j->path);
	snprintf(res->target, sizeof(res->target), "%s", j->target);
	snprintf(res->uuid, sizeof(res->uuid), "%s", j->uuid);
	snprintf(res->old_source, sizeof(res->old_source), "%s", j->old_source);
	snprintf(res->old_fstype, sizeof(res->old_fstype), "%s", j->old_fstype);
	snprintf(res->hold, sizeof(res->hold), "%s", j->hold);
	snprintf(res->mount_options, sizeof(res->mount_options), "%s", j->mount_options);
	res->step = j->step;
	res->copied = j->copied;
	res->used_before = j->used_before;
	res->data_after = j->data_after;
}

static int crash_point(const struct eos_convert_req *req, int step, struct eos_err *e)
{
	if (req->crash_after && strcmp(req->crash_after, eos_convert_step_names[step]) == 0)
		return eos_fail(e, EINTR, req->path, "crash injected after step '%s' (journal kept: run "
				"convert again to continue, or convert_rollback)", eos_convert_step_names[step]);
	return 0;
}

/* ---- the steps --------------------------------------------------------------------------- */

static int step_mkfs(const struct journal *j, int force, struct eos_err *e)
{
	struct eos_provision_check *c = calloc(1, sizeof(*c));
	struct eos_run run = EOS_RUN_INIT;
	int r;
	if (!c)
		return eos_fail(e, ENOMEM, j->target, "out of memory");
	r = eos_provision_check(j->target, c, e);
	if (r)
		goto out;
	if (c->n_sigs == 1 && strcmp(c->sigs[0].type, "btrfs") == 0 && strcmp(c->sigs[0].uuid, j->uuid) == 0)
		goto out;  /* made by an earlier run */
	if (c->n_mounts || c->n_holders || c->busy) {
		r = eos_fail(e, EBUSY, j->target, "target %s is in use: %s", j->target, c->blockers[0]);
		goto out;
	}
	if (c->n_sigs && !force) {
		r = eos_fail(e, EBUSY, j->target, "target %s %s; pass force=True to destroy it", j->target,
			     c->blockers[0]);
		goto out;
	}
	const char *argv[] = {"mkfs.btrfs", "-q", "-f", "-U", j->uuid, j->target, NULL};
	run.timeout_ms = 600000;
	r = eos_spawn_ok(argv, &run, e);
out:
	eos_run_free(&run);
	free(c);
	return r;
}

/* "compress=zstd:3" and the like, for the staging mount (no subvol=). */
static const char *compress_opt(const struct journal *j, char *buf, size_t len)
{
	const char *comma = strstr(j->mount_options, ",subvol=");
	if (!comma || strncmp(j->mount_options, "compress", 8) != 0)
		return NULL;
	snprintf(buf, len, "%.*s", (int)(comma - j->mount_options), j->mount_options);
	return buf;
}

static int step_stage(const struct journal *j, struct eos_err *e)
{
	struct eos_mount_list ml;
	int r = eos_mkdir_p(j->staging, 0700, e);
	if (r)
		return r;
	r = eos_mounts_read(NULL, &ml, e);
	if (r)
		return r;
	int mounted = is_new(eos_mounts_at(&ml, j->staging), j);
	eos_mounts_free(&ml);
	char opt[160];
	if (!mounted && mount(j->target, j->staging, "btrfs", 0, compress_opt(j, opt, sizeof(opt))) < 0)
		return eos_fail_sys(e, errno, j->staging, "mount(%s, %s, btrfs)", j->target, j->staging);
	return 0;
}

static int step_copy(struct journal *j, struct eos_err *e)
{
	char sub[4200];
	snprintf(sub, sizeof(sub), "%s/" SUBVOL, j->staging);
	struct stat st;
	int r;
	if (lstat(sub, &st) == 0) {  /* a copy cut short by a crash: start it again */
		r = eos_btrfs_subvol_delete(sub, 1, e);
		if (r)
			return r;
	}
	r = eos_btrfs_subvol_create(sub, e);
	if (r)
		return r;
	r = eos_copy_tree(j->path, sub, &j->copied, e);
	if (r)
		return r;
	int fd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		syncfs(fd);
		close(fd);
	}
	struct eos_btrfs_extent_stats x;
	r = eos_btrfs_extent_stats(sub, &x, e);
	if (r)
		return r;
	j->data_after = x.disk_bytes;  /* the copy's data on disk, compressed, inline included */
	return 0;
}

static int step_switch(const struct journal *j, struct eos_err *e)
{
	struct eos_mount_list ml = {NULL, 0};
	int r = eos_mkdir_p(j->hold, 0700, e);
	if (r)
		return r;
	unsigned long keep = j->old_flags & KEEP_FLAGS;
	/* 1. the old filesystem also at the holding directory, read-only */
	r = eos_mounts_read(NULL, &ml, e);
	if (r)
		return r;
	if (!is_old(eos_mounts_at(&ml, j->hold), j)) {
		if (!is_old(eos_mounts_at(&ml, j->path), j)) {
			r = eos_fail(e, EIO, j->path, "neither %s nor %s holds the old filesystem %s", j->path, j->hold,
				     j->old_source);
			goto out;
		}
		if (mount(j->path, j->hold, "none", MS_BIND, NULL) < 0) {
			r = eos_fail_sys(e, errno, j->hold, "mount --bind %s %s", j->path, j->hold);
			goto out;
		}
	}
	if (mount("none", j->hold, "none", MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL) < 0) {
		r = eos_fail_sys(e, errno, j->hold, "remount %s read-only", j->hold);
		goto out;
	}
	/* 2. the old one off path */
	eos_mounts_free(&ml);
	r = eos_mounts_read(NULL, &ml, e);
	if (r)
		goto out;
	if (is_old(eos_mounts_at(&ml, j->path), j) && umount2(j->path, 0) < 0) {
		r = eos_fail_sys(e, errno, j->path, "umount(%s)", j->path);
		goto out;
	}
	/* 3. the new one on path */
	eos_mounts_free(&ml);
	r = eos_mounts_read(NULL, &ml, e);
	if (r)
		goto out;
	if (!is_new(eos_mounts_at(&ml, j->path), j) &&
	    mount(j->target, j->path, "btrfs", keep, j->mount_options) < 0) {
		r = eos_fail_sys(e, errno, j->path, "mount(%s, %s, btrfs, %s)", j->target, j->path, j->mount_options);
		goto out;
	}
	/* 4. staging is no longer needed */
	if (is_new(eos_mounts_at(&ml, j->staging), j) && umount2(j->staging, 0) < 0) {
		r = eos_fail_sys(e, errno, j->staging, "umount(%s)", j->staging);
		goto out;
	}
	rmdir(j->staging);
out:
	eos_mounts_free(&ml);
	return r;
}

/* ---- public -------------------------------------------------------------------------------- */

/* No other filesystem mounted below canon. */
static int check_nothing_below(const struct eos_mount_list *ml, const char *canon, struct eos_err *e)
{
	size_t clen = strlen(canon);
	for (size_t i = 0; i < ml->n; i++)
		if (strncmp(ml->v[i].target, canon, clen) == 0 && ml->v[i].target[clen] == '/')
			return eos_fail(e, EINVAL, canon, "another filesystem is mounted below %s at %s: unmount "
					"it first", canon, ml->v[i].target);
	return 0;
}

/* The target device is free (or force may destroy it) and big enough; its size into *size. */
static int check_target(const struct journal *j, int force, uint64_t *size, struct eos_err *e)
{
	struct eos_provision_check *c = calloc(1, sizeof(*c));
	if (!c)
		return eos_fail(e, ENOMEM, "", "out of memory");
	int r = eos_provision_check(j->target, c, e);
	int hard = c->n_mounts || c->n_holders || c->busy;
	if (!r && c->n_blockers && (!force || hard))
		r = eos_fail(e, EBUSY, j->target, "target %s is not free: it %s%s", j->target, c->blockers[0],
			     force || hard ? "" : "; pass force=True to destroy it");
	*size = c->size;
	free(c);
	return r;
}

/* Plan a new conversion: everything is checked before anything changes. */
static int plan_new(const struct eos_convert_req *req, const char *canon, const char *comp,
		    const struct eos_journal *jn, struct journal *j, struct eos_err *e)
{
	struct eos_mount_list ml = {NULL, 0};
	int r = eos_mounts_read(NULL, &ml, e);
	if (r)
		return r;
	const struct eos_mount *m = eos_mounts_at(&ml, canon);
	if (!m)
		r = eos_fail(e, EINVAL, canon, "%s is not a mount point: convert moves a whole mounted "
			     "filesystem onto BTRFS", canon);
	else if (strcmp(m->fstype, "btrfs") == 0)
		r = eos_fail(e, EINVAL, canon, "%s is already on btrfs (%s)", canon, m->source);
	else
		r = check_nothing_below(&ml, canon, e);
	if (!r && !realpath(req->target, j->target))
		r = eos_fail_sys(e, errno, req->target, "target '%s'", req->target);
	if (!r && eos_same_path(m->source, j->target))
		r = eos_fail(e, EINVAL, j->target, "target %s is the device %s is on", j->target, canon);
	if (!r) {
		snprintf(j->path, sizeof(j->path), "%s", canon);
		snprintf(j->old_source, sizeof(j->old_source), "%s", m->source);
		snprintf(j->old_fstype, sizeof(j->old_fstype), "%s", m->fstype);
	}
	eos_mounts_free(&ml);
	uint64_t tsize = 0;
	if (!r)
		r = check_target(j, req->force, &tsize, e);
	if (r)
		return r;
	struct statvfs sv;
	if (statvfs(canon, &sv) < 0)
		return eos_fail_sys(e, errno, canon, "statvfs(%s)", canon);
	j->used_before = (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
	j->old_flags = sv.f_flag;
	if (tsize < j->used_before + (256ULL << 20) && !req->force)
		return eos_fail(e, ENOSPC, j->target, "target %s (%llu bytes) is smaller than the %llu bytes "
				"used on %s plus 256 MiB; pass force=True to rely on compression", j->target,
				(unsigned long long)tsize, (unsigned long long)j->used_before, canon);
	eos_strfmt(j->staging, sizeof(j->staging), "%s/%s.new", jn->dir, jn->key);
	eos_strfmt(j->hold, sizeof(j->hold), "%s/%s.old", jn->dir, jn->key);
	snprintf(j->fstab, sizeof(j->fstab), "%s", req->fstab && req->fstab[0] ? req->fstab : "/etc/fstab");
	if (strcmp(comp, "none") == 0)
		snprintf(j->mount_options, sizeof(j->mount_options), "subvol=" SUBVOL);
	else
		snprintf(j->mount_options, sizeof(j->mount_options), "compress=%s,subvol=" SUBVOL, comp);
	j->step = -1;
	return eos_provision_new_uuid(j->uuid, e);
}

static int step_verify(struct journal *j, const struct eos_journal *jn, struct eos_convert_result *res,
		       struct eos_err *e)
{
	char sub[4200];
	snprintf(sub, sizeof(sub), "%s/" SUBVOL, j->staging);
	int r = eos_copy_verify(j->path, sub, &res->verified, e);
	if (r) {
		/* The source changed under the copy: the next run copies again. */
		char msg[EOS_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", e->msg);
		j->step = EOS_CONV_STAGED;
		journal_save(jn->path, j, e);
		r = eos_fail(e, EIO, j->path, "%s (was %s written to during the copy? stop the writers and "
			     "run convert again to copy again)", msg, j->path);
	}
	return r;
}

static int run_step(int step, const struct eos_convert_req *req, struct journal *j,
		    const struct eos_journal *jn, struct eos_convert_result *res, struct eos_err *e)
{
	char spec[96];
	int r = 0;
	switch (step) {
	case EOS_CONV_MKFS:
		return step_mkfs(j, req->force, e);
	case EOS_CONV_STAGED:
		return step_stage(j, e);
	case EOS_CONV_COPIED:
		return step_copy(j, e);
	case EOS_CONV_VERIFIED:
		return step_verify(j, jn, res, e);
	case EOS_CONV_SWITCHED:
		if (!req->force && res->n_open)
			return eos_fail(e, EBUSY, j->path, "refusing to switch %s: %d open file(s) under it, "
					"first: %s (close them, or pass force=True)", j->path, res->n_open,
					res->open_files[0]);
		return step_switch(j, e);
	case EOS_CONV_FSTAB:
		snprintf(spec, sizeof(spec), "UUID=%s", j->uuid);
		r = eos_fstab_add(j->fstab, spec, j->path, "btrfs", j->mount_options, 0, REPLACED_NOTE, e);
		return r < 0 ? r : 0;
	}
	return 0;  /* planned, done: bookkeeping only */
}

static int run_steps(const struct eos_convert_req *req, struct journal *j, const struct eos_journal *jn,
		     struct eos_convert_result *res, struct eos_err *e)
{
	for (int step = j->step + 1; step < EOS_CONV_NSTEPS; step++) {
		int r = run_step(step, req, j, jn, res, e);
		if (r)
			return r;
		j->step = step;
		res->changed = 1;
		r = journal_save(jn->path, j, e);
		if (r)
			return r;
		fill_result(res, j);
		r = crash_point(req, step, e);
		if (r)
			return r;
	}
	open_files(j->path, res);
	return 0;
}

static int check_request(const struct eos_convert_req *req, const char *comp, char *canon, size_t n,
			 struct eos_err *e)
{
	if (!req->path || !req->path[0])
		return eos_fail(e, EINVAL, "", "no path given");
	if (!req->target || !req->target[0])
		return eos_fail(e, EINVAL, req->path, "no target device given: convert needs a free device for "
				"the new BTRFS (target=/dev/...)");
	int r = eos_btrfs_compression_check(comp, e);
	if (r)
		return r;
	char rp[PATH_MAX];
	if (!realpath(req->path, rp))
		return eos_fail_sys(e, errno, req->path, "path '%s'", req->path);
	snprintf(canon, n, "%s", rp);
	return 0;
}

int eos_convert(const struct eos_convert_req *req, struct eos_convert_result *res, struct eos_err *e)
{
	memset(res, 0, sizeof(*res));
	res->step = -1;
	struct journal *j = calloc(1, sizeof(*j));
	struct eos_journal jn;
	jn.lock_fd = -1;
	if (!j)
		return eos_fail(e, ENOMEM, "", "out of memory");
	const char *comp = req->compression && req->compression[0] ? req->compression : "zstd";
	char canon[PATH_MAX];
	int r = check_request(req, comp, canon, sizeof(canon), e);
	if (!r)
		r = open_journal(canon, req->state_dir, &jn, req->dry_run, e);
	if (!r)
		r = journal_load(jn.path, j, e);
	if (r == 1) {
		r = 0;
		res->resumed = 1;
		if (!eos_same_path(req->target, j->target))
			r = eos_fail(e, EINVAL, canon, "a conversion of %s to %s is in progress (journal %s); "
				     "finish it or run convert_rollback first", canon, j->target, jn.path);
	} else if (r == 0) {
		r = plan_new(req, canon, comp, &jn, j, e);
	}
	if (!r) {
		open_files(j->path, res);
		fill_result(res, j);
		if (req->dry_run)
			res->changed = j->step < EOS_CONV_DONE;
		else
			r = run_steps(req, j, &jn, res, e);
	}
	if (j->path[0])
		fill_result(res, j);
	free(j);
	eos_journal_unlock(&jn);
	return r;
}

/* The journal of an conversion in progress, loaded under its lock. */
static int load_locked(const char *path, const char *state_dir, struct journal *j, struct eos_journal *jn,
		       struct eos_err *e)
{
	char canon[PATH_MAX];
	if (!realpath(path, canon))
		return eos_fail_sys(e, errno, path, "path '%s'", path);
	int r = open_journal(canon, state_dir, jn, 1, e);
	if (r)
		return r;
	if (jn->lock_fd < 0)
		return eos_fail(e, ENOENT, canon, "no conversion of %s is in progress (no journal %s)", canon,
				jn->path);
	r = journal_load(jn->path, j, e);
	if (r == 0)
		r = eos_fail(e, ENOENT, canon, "no conversion of %s is in progress", canon);
	return r < 0 ? r : 0;
}

/* Done with a conversion: its journal goes. */
static int drop_journal(struct eos_journal *jn, struct eos_convert_result *res, struct eos_err *e)
{
	if (unlink(jn->path) < 0)
		return eos_fail_sys(e, errno, jn->path, "unlink(%s)", jn->path);
	unlink(jn->lock);
	res->changed = 1;
	return 0;
}

/* Finalize: the old filesystem held aside is let go. */
static int finalize_steps(struct journal *j, const char *fstab, struct eos_mount_list *ml, struct eos_err *e)
{
	(void)fstab;
	if (j->step != EOS_CONV_DONE)
		return eos_fail(e, EINVAL, j->path, "the conversion of %s stopped after step '%s': run convert "
				"again to finish it, or convert_rollback", j->path,
				j->step >= 0 ? eos_convert_step_names[j->step] : "none");
	int r = eos_mounts_read(NULL, ml, e);
	if (r)
		return r;
	if (is_old(eos_mounts_at(ml, j->hold), j) && umount2(j->hold, 0) < 0)
		return eos_fail_sys(e, errno, j->hold, "umount(%s) (the old filesystem)", j->hold);
	rmdir(j->hold);
	return 0;
}

/* The mount table read again (each rollback step changes it). */
static int reread(struct eos_mount_list *ml, struct eos_err *e)
{
	eos_mounts_free(ml);
	return eos_mounts_read(NULL, ml, e);
}

/* The old filesystem back on path, read-write as it was. */
static int old_back(struct journal *j, const struct eos_mount_list *ml, struct eos_err *e)
{
	unsigned long keep = j->old_flags & (KEEP_FLAGS | MS_RDONLY);
	if (is_old(eos_mounts_at(ml, j->path), j))
		return 0;
	if (!is_old(eos_mounts_at(ml, j->hold), j))
		return eos_fail(e, EIO, j->path, "the old filesystem %s is mounted neither at %s nor at %s",
				j->old_source, j->path, j->hold);
	if (mount(j->hold, j->path, "none", MS_BIND, NULL) < 0)
		return eos_fail_sys(e, errno, j->path, "mount --bind %s %s", j->hold, j->path);
	if (mount("none", j->path, "none", MS_REMOUNT | MS_BIND | keep, NULL) < 0)
		return eos_fail_sys(e, errno, j->path, "remount %s read-write", j->path);
	return 0;
}

/* Rollback: the new filesystem off path, the old one back, holding and staging mounts gone,
 * fstab as it was. */
static int rollback_steps(struct journal *j, const char *fstab, struct eos_mount_list *ml, struct eos_err *e)
{
	if (!j->fstab[0])
		snprintf(j->fstab, sizeof(j->fstab), "%s", fstab && fstab[0] ? fstab : "/etc/fstab");
	int r = reread(ml, e);
	if (r)
		return r;
	if (is_new(eos_mounts_at(ml, j->path), j) && umount2(j->path, 0) < 0)
		return eos_fail_sys(e, errno, j->path, "umount(%s) (the new btrfs; are files open on it?)",
				    j->path);
	r = reread(ml, e);
	r = r ? r : old_back(j, ml, e);
	r = r ? r : reread(ml, e);
	if (r)
		return r;
	if (is_old(eos_mounts_at(ml, j->hold), j) && umount2(j->hold, 0) < 0)
		return eos_fail_sys(e, errno, j->hold, "umount(%s)", j->hold);
	if (is_new(eos_mounts_at(ml, j->staging), j) && umount2(j->staging, 0) < 0)
		return eos_fail_sys(e, errno, j->staging, "umount(%s)", j->staging);
	rmdir(j->hold);
	rmdir(j->staging);
	char spec[96];
	snprintf(spec, sizeof(spec), "UUID=%s", j->uuid);
	r = eos_fstab_undo(j->fstab, spec, j->path, REPLACED_NOTE, e);
	return r < 0 ? r : 0;
}

/* End the conversion of path one way or the other (under its lock); the journal goes after. */
static int end_conversion(const char *path, const char *fstab, const char *state_dir,
			  struct eos_convert_result *res, struct eos_err *e,
			  int (*steps)(struct journal *, const char *, struct eos_mount_list *, struct eos_err *))
{
	memset(res, 0, sizeof(*res));
	res->step = -1;
	struct journal *j = calloc(1, sizeof(*j));
	struct eos_mount_list ml = {NULL, 0};
	struct eos_journal jn;
	jn.lock_fd = -1;
	if (!j)
		return eos_fail(e, ENOMEM, path, "out of memory");
	int r = load_locked(path, state_dir, j, &jn, e);
	if (!r) {
		fill_result(res, j);
		r = steps(j, fstab, &ml, e);
	}
	if (!r)
		r = drop_journal(&jn, res, e);
	eos_mounts_free(&ml);
	free(j);
	eos_journal_unlock(&jn);
	return r;
}

int eos_convert_finalize(const char *path, const char *state_dir, struct eos_convert_result *res,
			 struct eos_err *e)
{
	return end_conversion(path, NULL, state_dir, res, e, finalize_steps);
}

int eos_convert_rollback(const char *path, const char *fstab, const char *state_dir,
			 struct eos_convert_result *res, struct eos_err *e)
{
	return end_conversion(path, fstab, state_dir, res, e, rollback_steps);
}
