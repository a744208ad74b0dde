#include "eos/ops/cleanup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "eos/core/buf.h"

#define MAX_DEPTH 64

/* ---- which directories a rule may name ---- */

/* Refused as a whole: their files belong to everything below them. */
static const char *const system_dirs[] = {
	"/media", "/mnt", "/run", "/var", "/var/cache", NULL,
};
/* Refused as a whole and everywhere below ("/lib" stands for every top-level "/lib*"):
 * the system, its configuration, its state and people's homes. */
static const char *const system_trees[] = {
	"/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/opt", "/proc", "/root", "/sbin", "/srv",
	"/sys", "/usr", "/var/lib", NULL,
};

int eos_cleanup_normalize(const char *path, char *out, size_t len)
{
	if (!path || path[0] != '/' || len < 2)
		return -EINVAL;
	size_t o = 0;
	for (const char *c = path; *c;) {
		while (*c == '/')
			c++;
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.')) {
			c += n;
			continue;
		}
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;  /* the slash before the dropped component */
			c += n;
			continue;
		}
		if (o + 1 + n + 1 > len)
			return -ENAMETOOLONG;
		out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
		c += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

/* realpath of a normalised path; for a missing one, of its deepest existing ancestor followed
 * by the rest. Errors other than a missing component leave the path as it is. */
static void resolve(const char *norm, char *out, size_t len)
{
	char head[EOS_PATH_MAX], real[PATH_MAX];
	snprintf(out, len, "%s", norm);
	snprintf(head, sizeof(head), "%s", norm);
	for (;;) {
		if (realpath(head, real)) {
			const char *rest = norm + strlen(head);
			if (snprintf(out, len, "%s%s", strcmp(real, "/") || !*rest ? real : "", rest) >=
			    (int)len)
				snprintf(out, len, "%s", norm);
			return;
		}
		char *slash = strrchr(head, '/');
		if (errno != ENOENT || !slash || slash == head)
			return;
		*slash = '\0';
	}
}

static int below(const char *p, const char *tree)
{
	size_t n = strlen(tree);
	if (strcmp(tree, "/lib") == 0)  /* /lib, /lib32, /lib64, /libx32 ... and below */
		return strncmp(p, "/lib", 4) == 0;
	return strncmp(p, tree, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* The system directory or tree p is (or is below), or NULL. */
static const char *system_path(const char *p)
{
	if (strcmp(p, "/") == 0)
		return "/";
	for (int k = 0; system_dirs[k]; k++)
		if (strcmp(p, system_dirs[k]) == 0)
			return system_dirs[k];
	for (int k = 0; system_trees[k]; k++)
		if (below(p, system_trees[k]))
			return system_trees[k];
	return NULL;
}

/* Whether allow names canon exactly (after the same lexical normalisation; an entry through a
 * symlink never matches, as no accepted rule goes through one). */
static int allowed(const char *canon, const char *const *allow)
{
	char norm[EOS_PATH_MAX];
	for (size_t k = 0; allow && allow[k]; k++)
		if (eos_cleanup_normalize(allow[k], norm, sizeof(norm)) == 0 && strcmp(norm, canon) == 0)
			return 1;
	return 0;
}

static int check_rule(const struct eos_cleanup_rule *r, const char *const *allow, char *norm,
		      struct eos_err *e)
{
	static const char P[] = "eos:storage:cleanup";
	const char *p = r->path ? r->path : "";
	char canon[EOS_PATH_MAX];
	int rc = eos_cleanup_normalize(p, norm, EOS_PATH_MAX);
	if (rc)
		return eos_fail(e, -rc == ENAMETOOLONG ? ENAMETOOLONG : EINVAL, p,
				"%s: path '%s' is not an absolute directory path%s", P, p,
				rc == -ENAMETOOLONG ? " (too long)" : "");
	resolve(norm, canon, sizeof(canon));
	if (strcmp(norm, canon) != 0)
		return eos_fail(e, EINVAL, p, "%s: path '%s' leads through a symlink (to '%s'): cleanup "
				"never follows symlinks", P, p, canon);
	const char *sys = system_path(canon);
	if (sys && (strcmp(sys, "/") == 0 || !allowed(canon, allow)))
		return eos_fail(e, EINVAL, p, "%s: refusing to clean '%s'%s%s%s: %s '%s'%s", P, p,
				strcmp(p, canon) ? " (that is '" : "", strcmp(p, canon) ? canon : "",
				strcmp(p, canon) ? "')" : "",
				strcmp(sys, canon) ? "below the system tree" : "the system directory", sys,
				strcmp(sys, "/") ? "; name this exact path in pillar "
				"eos:storage:cleanup_allow to allow it" : "");
	if (r->older_than_days == 0 && (!r->match || !r->match[0]))
		return eos_fail(e, EINVAL, p, "%s: '%s' with no age and no name pattern would empty "
				"it; give older_than_days or match", P, p);
	return 0;
}

int eos_cleanup_check(const struct eos_cleanup_rule *r, size_t n, const char *const *allow,
		      struct eos_err *e)
{
	char norm[EOS_PATH_MAX];
	for (size_t i = 0; i < n; i++) {
		int rc = check_rule(&r[i], allow, norm, e);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- files open for writing, from /proc/<pid>/fdinfo ---- */

struct devino {
	uint64_t dev, ino;
};

struct open_set {
	struct devino *v;
	size_t n, cap;
};

static int devino_cmp(const void *a, const void *b)
{
	const struct devino *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int open_set_read(struct open_set *s)
{
	DIR *proc = opendir("/proc");
	struct dirent *pe;
	struct eos_buf b = EOS_BUF_INIT;
	s->v = NULL;
	s->n = s->cap = 0;
	if (!proc)
		return -errno;
	while ((pe = readdir(proc))) {
		if (!isdigit((unsigned char)pe->d_name[0]))
			continue;
		char dir[300];
		snprintf(dir, sizeof(dir), "/proc/%s/fdinfo", pe->d_name);
		DIR *fdi = opendir(dir);
		if (!fdi)
			continue;  /* gone, or not ours to read */
		struct dirent *fe;
		while ((fe = readdir(fdi))) {
			if (!isdigit((unsigned char)fe->d_name[0]))
				continue;
			char p[600];
			snprintf(p, sizeof(p), "%s/%s", dir, fe->d_name);
			if (eos_buf_read_file(&b, AT_FDCWD, p))
				continue;
			const char *fl = strstr(b.data, "flags:");
			if (!fl)
				continue;
			unsigned long flags = strtoul(fl + 6, NULL, 8);
			if ((flags & O_ACCMODE) == O_RDONLY)
				continue;
			snprintf(p, sizeof(p), "/proc/%s/fd/%s", pe->d_name, fe->d_name);
			struct stat st;
			if (stat(p, &st) || !S_ISREG(st.st_mode))
				continue;
			if (s->n == s->cap) {
				size_t cap = s->cap ? s->cap * 2 : 256;
				struct devino *v = realloc(s->v, cap * sizeof(*v));
				if (!v) {
					closedir(fdi);
					closedir(proc);
					eos_buf_free(&b);
					return -ENOMEM;
				}
				s->v = v;
				s->cap = cap;
			}
			s->v[s->n++] = (struct devino){st.st_dev, st.st_ino};
		}
		closedir(fdi);
	}
	closedir(proc);
	eos_buf_free(&b);
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), devino_cmp);
	return 0;
}

static int open_set_has(const struct open_set *s, uint64_t dev, uint64_t ino)
{
	struct devino k = {dev, ino};
	return s->n && bsearch(&k, s->v, s->n, sizeof(k), devino_cmp) != NULL;
}

/* ---- opening a directory without following any symlink ---- */

/* fd of dir, opened component by component from "/" with O_NOFOLLOW: -ELOOP/-ENOTDIR when a
 * component is a symlink or not a directory, -ENOENT when missing. */
static int open_dir_nofollow(const char *dir)
{
	char buf[EOS_PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char *save = NULL;
	for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, "..") == 0 || strcmp(c, ".") == 0) {
			close(fd);
			return -EINVAL;
		}
		int nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int err = errno;
		close(fd);
		if (nfd < 0)
			return -err;
		fd = nfd;
	}
	return fd;
}

/* The directory of each planned file, opened without following symlinks. The plan is sorted
 * by path, so files of one directory come together: the fd is kept while the directory stays
 * the same. A kept fd still names the directory that was checked, whatever is renamed since. */
struct parent_dir {
	char path[EOS_PATH_MAX];
	int fd;   /* -1: none open */
	int err;  /* the -errno of the last failed open of path */
};

/* For an absolute file path: its parent's fd (borrowed; -ENOENT, -ELOOP... when it cannot be
 * opened, -EINVAL when path is not absolute or has no name) and *name its last component. */
static int parent_dir_get(struct parent_dir *pd, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	if (!slash || path[0] != '/' || !slash[1])
		return -EINVAL;
	size_t dl = (size_t)(slash - path);
	if (dl >= sizeof(pd->path))
		return -ENAMETOOLONG;
	*name = slash + 1;
	const char *dir = dl ? path : "/";
	size_t len = dl ? dl : 1;
	if (strlen(pd->path) == len && strncmp(pd->path, dir, len) == 0)
		return pd->fd >= 0 ? pd->fd : pd->err;
	if (pd->fd >= 0)
		close(pd->fd);
	memcpy(pd->path, dir, len);
	pd->path[len] = '\0';
	pd->fd = open_dir_nofollow(pd->path);
	pd->err = pd->fd < 0 ? pd->fd : 0;
	return pd->fd >= 0 ? pd->fd : pd->err;
}

static void parent_dir_close(struct parent_dir *pd)
{
	if (pd->fd >= 0)
		close(pd->fd);
	pd->fd = -1;
	pd->path[0] = '\0';
}

/* ---- the plan ---- */

struct plan_ctx {
	const struct eos_cleanup_rule *rules;
	int64_t cutoff;  /* files older than this (both times), or INT64_MAX */
	const struct open_set *open;
	struct eos_cleanup_plan *p;
	size_t cap;
	struct eos_err *e;
};

static int add_item(struct plan_ctx *c, const char *path, const struct stat *st, size_t rule)
{
	struct eos_cleanup_plan *p = c->p;
	if (p->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct eos_cleanup_item *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return eos_fail(c->e, ENOMEM, path, "out of memory");
		p->v = v;
		c->cap = cap;
	}
	struct eos_cleanup_item *it = &p->v[p->n];
	it->path = strdup(path);
	if (!it->path)
		return eos_fail(c->e, ENOMEM, path, "out of memory");
	it->bytes = (uint64_t)st->st_blocks * 512;
	it->dev = st->st_dev;
	it->ino = st->st_ino;
	it->rule = rule;
	p->bytes += it->bytes;
	p->n++;
	return 0;
}

static int walk(struct plan_ctx *c, int dfd, const char *dir, size_t rule, uint64_t root_dev,
		int depth)
{
	const struct eos_cleanup_rule *r = &c->rules[rule];
	DIR *d = fdopendir(dfd);
	if (!d) {
		int err = errno;
		close(dfd);
		return eos_fail_sys(c->e, err, dir, "fdopendir %s", dir);
	}
	int res = 0;
	struct dirent *de;
	char path[EOS_PATH_MAX];
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", name) >=
		    (int)sizeof(path))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW))
			continue;  /* vanished */
		if (S_ISLNK(st.st_mode)) {
			c->p->skipped_symlinks++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (!r->recursive)
				continue;
			if ((uint64_t)st.st_dev != root_dev) {
				c->p->skipped_mounts++;
				continue;
			}
			if (depth >= MAX_DEPTH)
				continue;
			int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				continue;  /* replaced by a symlink meanwhile, or unreadable */
			struct stat sst;
			/* What we opened must be what we examined (not swapped meanwhile). */
			if (fstat(sub, &sst) || sst.st_dev != st.st_dev || sst.st_ino != st.st_ino) {
				close(sub);
				c->p->skipped_mounts++;
				continue;
			}
			res = walk(c, sub, path, rule, root_dev, depth + 1);
			if (res)
				break;
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (r->match && r->match[0] && fnmatch(r->match, name, FNM_PERIOD) != 0)
			continue;
		if (r->older_than_days && (st.st_atime >= c->cutoff || st.st_mtime >= c->cutoff))
			continue;
		if (st.st_nlink > 1) {
			/* Its other name may live outside the rule (a hard link into /etc, a home). */
			c->p->skipped_links++;
			continue;
		}
		if (open_set_has(c->open, st.st_dev, st.st_ino)) {
			c->p->skipped_open++;
			continue;
		}
		res = add_item(c, path, &st, rule);
		if (res)
			break;
	}
	closedir(d);
	return res;
}

static int item_cmp(const void *a, const void *b)
{
	const struct eos_cleanup_item *x = a, *y = b;
	return strcmp(x->path, y->path);
}

void eos_cleanup_plan_free(struct eos_cleanup_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].path);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

int eos_cleanup_plan(const struct eos_cleanup_rule *r, size_t n, const char *const *allow,
		     int64_t now, struct eos_cleanup_plan *out, struct eos_err *e)
{
	struct open_set os = {NULL, 0, 0};
	char(*norm)[EOS_PATH_MAX] = calloc(n ? n : 1, sizeof(*norm));
	int res = 0;
	memset(out, 0, sizeof(*out));
	if (!norm)
		return eos_fail(e, ENOMEM, NULL, "out of memory for %zu cleanup rules", n);
	for (size_t i = 0; i < n && !res; i++)
		res = check_rule(&r[i], allow, norm[i], e);
	if (!res && (res = open_set_read(&os)))
		res = eos_fail_sys(e, -res, "/proc", "reading /proc/*/fdinfo");
	struct plan_ctx c = {.rules = r, .open = &os, .p = out, .e = e};
	for (size_t i = 0; i < n && !res; i++) {
		/* The normalised path, opened without following any symlink: what was checked. */
		const char *dir = norm[i];
		c.cutoff = now - (int64_t)r[i].older_than_days * 86400;
		int fd = open_dir_nofollow(dir);
		if (fd == -ENOENT)
			continue;
		if (fd < 0) {
			res = eos_fail_sys(e, -fd, dir, "opening %s without following symlinks", dir);
			break;
		}
		struct stat st;
		if (fstat(fd, &st)) {
			res = eos_fail_sys(e, errno, dir, "fstat %s", dir);
			close(fd);
			break;
		}
		res = walk(&c, fd, dir, i, st.st_dev, 0);
	}
	free(os.v);
	free(norm);
	if (res) {
		eos_cleanup_plan_free(out);
		return res;
	}
	/* Two rules may select the same file: keep it once. */
	if (out->n) {
		qsort(out->v, out->n, sizeof(*out->v), item_cmp);
		size_t k = 0;
		for (size_t i = 0; i < out->n; i++) {
			if (k && strcmp(out->v[k - 1].path, out->v[i].path) == 0) {
				out->bytes -= out->v[i].bytes;
				free(out->v[i].path);
				continue;
			}
			out->v[k++] = out->v[i];
		}
		out->n = k;
	}
	return 0;
}

typedef int item_fn(int dfd, const char *name, const struct eos_cleanup_item *it,
		    const struct open_set *os, void *res, struct eos_err *e);

/* What applying and compressing share: the open files of every process, then each planned
 * item's parent directory. An item whose directory is gone counts as missing, one whose path
 * now goes through a symlink as changed; fn acts on the others. The first error stops. */
static int each_item(const struct eos_cleanup_item *v, size_t n, size_t *missing, size_t *changed,
		     item_fn *fn, void *res, struct eos_err *e)
{
	struct open_set os;
	int r = open_set_read(&os);
	if (r)
		return eos_fail_sys(e, -r, "/proc", "reading /proc/*/fdinfo");
	struct parent_dir pd = {.fd = -1};
	for (size_t i = 0; i < n && !r; i++) {
		const char *name = NULL;
		int dfd = parent_dir_get(&pd, v[i].path, &name);
		if (dfd >= 0)
			r = fn(dfd, name, &v[i], &os, res, e);
		else if (dfd == -ENOENT)
			++*missing;
		else
			++*changed;  /* a directory on the way became a symlink */
	}
	parent_dir_close(&pd);
	free(os.v);
	return r;
}

static int apply_one(int fd, const char *name, const struct eos_cleanup_item *it,
		     const struct open_set *os, void *resp, struct eos_err *e)
{
	struct eos_cleanup_result *res = resp;
	struct stat st;
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		res->missing++;
	} else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_dev != it->dev ||
		   (uint64_t)st.st_ino != it->ino || st.st_nlink > 1) {
		res->changed++;  /* replaced, or hard-linked since the plan */
	} else if (open_set_has(os, st.st_dev, st.st_ino)) {
		res->open_now++;
	} else if (unlinkat(fd, name, 0) == 0) {
		res->removed++;
		res->removed_bytes += (uint64_t)st.st_blocks * 512;
	} else if (errno == ENOENT) {
		res->missing++;
	} else {
		return eos_fail_sys(e, errno, it->path, "unlink %s", it->path);
	}
	return 0;
}

int eos_cleanup_apply(const struct eos_cleanup_item *v, size_t n, struct eos_cleanup_result *res,
		      struct eos_err *e)
{
	memset(res, 0, sizeof(*res));
	return each_item(v, n, &res->missing, &res->changed, apply_one, res, e);
}

/* ---- compression of rotated logs ---- */

/* gzip the open file in to a new file name.gz in dfd. 0, 1 when name.gz exists, or -errno. */
static int gzip_to(int dfd, const char *name, int in, const struct stat *st, uint64_t *gz_bytes)
{
	char tmp[512], dst[512];
	if (snprintf(dst, sizeof(dst), "%s.gz", name) >= (int)sizeof(dst) ||
	    snprintf(tmp, sizeof(tmp), ".%s.gz.eos-%ld", name, (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	struct stat dst_st;
	if (fstatat(dfd, dst, &dst_st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	int out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	int r = 0;
	int gfd = dup(out);
	gzFile gz = gfd >= 0 ? gzdopen(gfd, "wb9") : NULL;
	if (!gz) {
		if (gfd >= 0)
			close(gfd);
		r = -ENOMEM;
		goto fail;
	}
	char buf[1 << 16];
	for (;;) {
		ssize_t k = read(in, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			gzclose(gz);
			goto fail;
		}
		if (k == 0)
			break;
		if (gzwrite(gz, buf, (unsigned)k) != (int)k) {
			r = -EIO;
			gzclose(gz);
			goto fail;
		}
	}
	if (gzclose(gz) != Z_OK) {
		r = -EIO;
		goto fail;
	}
	struct timespec times[2] = {st->st_atim, st->st_mtim};
	if (fchmod(out, st->st_mode & 07777) || fchown(out, st->st_uid, st->st_gid) ||
	    futimens(out, times) || fsync(out)) {
		r = -errno;
		goto fail;
	}
	if (renameat2(dfd, tmp, dfd, dst, RENAME_NOREPLACE)) {
		r = errno == EEXIST ? 1 : -errno;
		goto fail;
	}
	struct stat gst;
	if (fstat(out, &gst) == 0)
		*gz_bytes = (uint64_t)gst.st_blocks * 512;
	close(out);
	return 0;
fail:
	close(out);
	unlinkat(dfd, tmp, 0);
	return r;
}

static int compress_one(int dfd, const char *name, const struct eos_cleanup_item *it,
			const struct open_set *os, void *resp, struct eos_err *e)
{
	struct eos_compress_result *res = resp;
	int r = 0;
	int in = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (in < 0) {
		if (errno == ENOENT)
			res->missing++;
		else
			res->changed++;  /* ELOOP: now a symlink */
	} else if (fstat(in, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_dev != it->dev ||
		   (uint64_t)st.st_ino != it->ino || st.st_nlink > 1) {
		res->changed++;
	} else if (open_set_has(os, st.st_dev, st.st_ino)) {
		res->open_now++;
	} else {
		uint64_t gz = 0;
		int g = gzip_to(dfd, name, in, &st, &gz);
		struct stat now;
		if (g == 1) {
			res->exists++;
		} else if (g < 0) {
			r = eos_fail_sys(e, -g, it->path, "compressing %s", it->path);
		} else if (fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
			   now.st_dev == st.st_dev && now.st_ino == st.st_ino &&
			   now.st_size == st.st_size && unlinkat(dfd, name, 0) == 0) {
			res->compressed++;
			res->bytes_before += (uint64_t)st.st_blocks * 512;
			res->bytes_after += gz;
		} else {
			/* Changed while we compressed it: keep the original, drop our copy. */
			char dst[512];
			snprintf(dst, sizeof(dst), "%s.gz", name);
			unlinkat(dfd, dst, 0);
			res->changed++;
		}
	}
	if (in >= 0)
		close(in);
	return r;
}

int eos_compress_apply(const struct eos_cleanup_item *v, size_t n, struct eos_compress_result *res,
		       struct eos_err *e)
{
	memset(res, 0, sizeof(*res));
	return each_item(v, n, &res->missing, &res->changed, compress_one, res, e);
}
