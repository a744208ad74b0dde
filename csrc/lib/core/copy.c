#include "eos/core/copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "eos/core/buf.h"

#define CHUNK (1 << 20)

/* (dev, ino) -> something, for hard links: open addressing, grows at half full. */
struct link_ent {
	dev_t dev;
	ino_t ino;
	char *rel;       /* copy: relative path of the first copy */
	ino_t dst_ino;   /* verify: inode of the first entry in dst */
};

struct link_map {
	struct link_ent *v;
	size_t cap, n;
};

static size_t link_hash(dev_t d, ino_t i, size_t cap)
{
	uint64_t h = ((uint64_t)d * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)i * 0xC2B2AE3D27D4EB4FULL);
	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static struct link_ent *link_find(struct link_map *m, dev_t d, ino_t i)
{
	if (!m->cap)
		return NULL;
	for (size_t k = link_hash(d, i, m->cap);; k = (k + 1) & (m->cap - 1)) {
		if (!m->v[k].rel && !m->v[k].dst_ino)
			return NULL;
		if (m->v[k].dev == d && m->v[k].ino == i)
			return &m->v[k];
	}
}

static struct link_ent *link_add(struct link_map *m, dev_t d, ino_t i)
{
	if (2 * (m->n + 1) > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 256;
		struct link_ent *nv = calloc(ncap, sizeof(*nv));
		if (!nv)
			return NULL;
		for (size_t k = 0; k < m->cap; k++) {
			if (!m->v[k].rel && !m->v[k].dst_ino)
				continue;
			size_t j = link_hash(m->v[k].dev, m->v[k].ino, ncap);
			while (nv[j].rel || nv[j].dst_ino)
				j = (j + 1) & (ncap - 1);
			nv[j] = m->v[k];
		}
		free(m->v);
		m->v = nv;
		m->cap = ncap;
	}
	size_t k = link_hash(d, i, m->cap);
	while (m->v[k].rel || m->v[k].dst_ino)
		k = (k + 1) & (m->cap - 1);
	m->v[k].dev = d;
	m->v[k].ino = i;
	m->n++;
	return &m->v[k];
}

static void link_free(struct link_map *m)
{
	for (size_t k = 0; k < m->cap; k++)
		free(m->v[k].rel);
	free(m->v);
	m->v = NULL;
	m->cap = m->n = 0;
}

struct ctx {
	struct eos_copy_stats *st;
	struct eos_err *e;
	dev_t dev;               /* the source filesystem */
	int src_root, dst_root;  /* directory fds */
	const char *src, *dst;   /* roots, for messages */
	struct link_map links;
	struct eos_buf rel;      /* relative path of the current entry */
	char *buf, *buf2;        /* CHUNK each */
	int use_cfr;             /* copy_file_range works between these two filesystems */
};

/* Where the current entry is, for messages. */
static const char *where(struct ctx *c)
{
	return c->rel.len ? c->rel.data : ".";
}

static int rel_push(struct ctx *c, const char *name, size_t *saved)
{
	*saved = c->rel.len;
	if ((c->rel.len && eos_buf_append(&c->rel, "/", 1) < 0) ||
	    eos_buf_append(&c->rel, name, strlen(name)) < 0)
		return eos_fail(c->e, ENOMEM, c->src, "out of memory");
	return 0;
}

static void rel_pop(struct ctx *c, size_t saved)
{
	c->rel.len = saved;
	if (c->rel.data)
		c->rel.data[saved] = '\0';
}

/* "/proc/self/fd/N/name": an entry by directory fd and name, for the l*xattr calls. */
static void fd_path(char *out, size_t n, int dirfd, const char *name)
{
	snprintf(out, n, "/proc/self/fd/%d/%s", dirfd, name);
}

/* xattrs (ACLs included) by open fds when there are (regular files, directories), else by
 * "/proc/self/fd/DIR/name" with the l* calls (symlinks, special files). */
static int copy_xattrs(struct ctx *c, int sdir, int ddir, const char *name, int sfd, int dfd)
{
	char sp[EOS_PATH_MAX], dp[EOS_PATH_MAX];
	int byfd = sfd >= 0 && dfd >= 0;
	if (!byfd) {
		fd_path(sp, sizeof(sp), sdir, name);
		fd_path(dp, sizeof(dp), ddir, name);
	}
	ssize_t n = byfd ? flistxattr(sfd, c->buf2, CHUNK) : llistxattr(sp, c->buf2, CHUNK);
	if (n < 0) {
		if (errno == ENOTSUP)
			return 0;
		return eos_fail_sys(c->e, errno, c->src, "listxattr(%s/%s)", c->src, where(c));
	}
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(c->buf2 + off) + 1) {
		const char *key = c->buf2 + off;
		ssize_t vn = byfd ? fgetxattr(sfd, key, c->buf, CHUNK) : lgetxattr(sp, key, c->buf, CHUNK);
		if (vn < 0)
			return eos_fail_sys(c->e, errno, c->src, "getxattr(%s/%s, %s)", c->src, where(c), key);
		int r = byfd ? fsetxattr(dfd, key, c->buf, (size_t)vn, 0) : lsetxattr(dp, key, c->buf, (size_t)vn, 0);
		if (r < 0)
			return eos_fail_sys(c->e, errno, c->dst, "setxattr(%s/%s, %s)", c->dst, where(c), key);
		c->st->xattrs++;
	}
	return 0;
}

/* Owner, mode, xattrs (ACLs), then times: chown clears set-id bits and capabilities, and
 * every change moves ctime/mtime of directories, so times come last. sfd/dfd: the open
 * entry (-1 when not open: symlinks, special files). */
static int copy_meta(struct ctx *c, int sdir, int ddir, const char *name, const struct stat *s, int sfd,
		     int dfd)
{
	int r = dfd >= 0 ? fchown(dfd, s->st_uid, s->st_gid)
			 : fchownat(ddir, name, s->st_uid, s->st_gid, AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		return eos_fail_sys(c->e, errno, c->dst, "chown(%s/%s)", c->dst, where(c));
	if (!S_ISLNK(s->st_mode)) {
		r = dfd >= 0 ? fchmod(dfd, s->st_mode & 07777) : fchmodat(ddir, name, s->st_mode & 07777, 0);
		if (r < 0)
			return eos_fail_sys(c->e, errno, c->dst, "chmod(%s/%s)", c->dst, where(c));
	}
	r = copy_xattrs(c, sdir, ddir, name, sfd, dfd);
	if (r)
		return r;
	struct timespec ts[2] = {s->st_atim, s->st_mtim};
	r = dfd >= 0 ? futimens(dfd, ts) : utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		return eos_fail_sys(c->e, errno, c->dst, "utimensat(%s/%s)", c->dst, where(c));
	return 0;
}

static int write_all(int fd, const char *p, size_t n, off_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* Data extents only (SEEK_DATA/SEEK_HOLE); holes stay holes. */
static int copy_data(struct ctx *c, int sfd, int dfd, off_t size)
{
	if (ftruncate(dfd, size) < 0)
		return eos_fail_sys(c->e, errno, c->dst, "ftruncate(%s/%s)", c->dst, where(c));
	off_t off = 0;
	while (off < size) {
		off_t data = lseek(sfd, off, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)
				break;  /* only a hole is left */
			return eos_fail_sys(c->e, errno, c->src, "lseek(%s/%s, SEEK_DATA)", c->src, where(c));
		}
		off_t hole = lseek(sfd, data, SEEK_HOLE);
		if (hole < 0)
			return eos_fail_sys(c->e, errno, c->src, "lseek(%s/%s, SEEK_HOLE)", c->src, where(c));
		for (off_t p = data; p < hole;) {
			size_t want = (size_t)(hole - p < CHUNK ? hole - p : CHUNK);
			if (c->use_cfr) {
				/* In the kernel, without a trip through user space; filesystems that cannot
				 * (or kernels refusing cross-filesystem copies) fall back to read/write. */
				loff_t in = p, out = p;
				ssize_t n = copy_file_range(sfd, &in, dfd, &out, want, 0);
				if (n > 0) {
					p += n;
					c->st->data_bytes += (uint64_t)n;
					continue;
				}
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0 && errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP &&
				    errno != ENOSYS)
					return eos_fail_sys(c->e, errno, c->dst, "copy_file_range(%s/%s)", c->dst,
							    where(c));
				if (n < 0)
					c->use_cfr = 0;
				else
					break;  /* 0: the file shrank while copying; verify will say so */
			}
			ssize_t n = pread(sfd, c->buf, want, p);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return eos_fail_sys(c->e, errno, c->src, "read(%s/%s)", c->src, where(c));
			if (n == 0)
				break;  /* the file shrank while copying; verify will say so */
			int r = write_all(dfd, c->buf, (size_t)n, p);
			if (r)
				return eos_fail_sys(c->e, r, c->dst, "write(%s/%s)", c->dst, where(c));
			p += n;
			c->st->data_bytes += (uint64_t)n;
		}
		off = hole;
	}
	return 0;
}

static int copy_dir(struct ctx *c, int sdir, int ddir);

static int copy_entry(struct ctx *c, int sdir, int ddir, const char *name)
{
	struct stat s;
	int r = 0, sfd = -1, dfd = -1;
	if (fstatat(sdir, name, &s, AT_SYMLINK_NOFOLLOW) < 0)
		return eos_fail_sys(c->e, errno, c->src, "stat(%s/%s)", c->src, where(c));
	if (s.st_dev != c->dev)
		return eos_fail(c->e, EXDEV, c->src, "another filesystem is mounted at %s/%s: unmount it "
				"or convert it separately", c->src, where(c));
	if (!S_ISDIR(s.st_mode) && s.st_nlink > 1) {
		struct link_ent *le = link_find(&c->links, s.st_dev, s.st_ino);
		if (le) {
			if (linkat(c->dst_root, le->rel, ddir, name, 0) < 0)
				return eos_fail_sys(c->e, errno, c->dst, "link(%s/%s, %s/%s)", c->dst, le->rel,
						    c->dst, where(c));
			c->st->hardlinks++;
			return 0;
		}
		le = link_add(&c->links, s.st_dev, s.st_ino);
		if (!le || !(le->rel = strdup(where(c))))
			return eos_fail(c->e, ENOMEM, c->src, "out of memory");
	}
	switch (s.st_mode & S_IFMT) {
	case S_IFREG:
		sfd = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
		if (sfd < 0 && errno == EPERM)
			sfd = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0)
			return eos_fail_sys(c->e, errno, c->src, "open(%s/%s)", c->src, where(c));
		dfd = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (dfd < 0) {
			r = eos_fail_sys(c->e, errno, c->dst, "create(%s/%s)", c->dst, where(c));
			break;
		}
		r = copy_data(c, sfd, dfd, s.st_size);
		c->st->files++;
		c->st->bytes += (uint64_t)s.st_size;
		break;
	case S_IFDIR:
		if (mkdirat(ddir, name, 0700) < 0)
			return eos_fail_sys(c->e, errno, c->dst, "mkdir(%s/%s)", c->dst, where(c));
		sfd = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		dfd = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0 || dfd < 0) {
			r = eos_fail_sys(c->e, errno, c->src, "open directory %s/%s", c->src, where(c));
			break;
		}
		r = copy_dir(c, sfd, dfd);
		c->st->dirs++;
		break;
	case S_IFLNK: {
		ssize_t n = readlinkat(sdir, name, c->buf, CHUNK - 1);
		if (n < 0)
			return eos_fail_sys(c->e, errno, c->src, "readlink(%s/%s)", c->src, where(c));
		c->buf[n] = '\0';
		if (symlinkat(c->buf, ddir, name) < 0)
			return eos_fail_sys(c->e, errno, c->dst, "symlink(%s/%s)", c->dst, where(c));
		c->st->symlinks++;
		break;
	}
	default:  /* fifo, socket, character and block devices */
		if (mknodat(ddir, name, s.st_mode & S_IFMT, s.st_rdev) < 0)
			return eos_fail_sys(c->e, errno, c->dst, "mknod(%s/%s)", c->dst, where(c));
		c->st->specials++;
	}
	if (!r)
		r = copy_meta(c, sdir, ddir, name, &s, sfd, dfd);
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	return r;
}

typedef int entry_fn(struct ctx *c, int sdir, int ddir, const char *name);

/* fn on each entry of the source directory sdir (but . and ..), with c's relative path
 * following it; stops at the first error. */
static int each_entry(struct ctx *c, int sdir, int ddir, entry_fn *fn)
{
	int fd = dup(sdir);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return eos_fail_sys(c->e, errno, c->src, "opendir(%s/%s)", c->src, where(c));
	}
	rewinddir(d);  /* a dup shares the offset of an fd read before */
	int r = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		size_t saved;
		r = rel_push(c, de->d_name, &saved);
		if (!r)
			r = fn(c, sdir, ddir, de->d_name);
		rel_pop(c, saved);
		if (r)
			break;
		errno = 0;
	}
	if (!r && errno)
		r = eos_fail_sys(c->e, errno, c->src, "readdir(%s/%s)", c->src, where(c));
	closedir(d);
	return r;
}

static int copy_dir(struct ctx *c, int sdir, int ddir)
{
	return each_entry(c, sdir, ddir, copy_entry);
}

static int ctx_open(struct ctx *c, const char *src, const char *dst, struct eos_copy_stats *st,
		    struct eos_err *e)
{
	memset(c, 0, sizeof(*c));
	memset(st, 0, sizeof(*st));
	c->st = st;
	c->e = e;
	c->src = src;
	c->dst = dst;
	c->src_root = c->dst_root = -1;
	c->use_cfr = 1;
	c->buf = malloc(CHUNK);
	c->buf2 = malloc(CHUNK);
	if (!c->buf || !c->buf2)
		return eos_fail(e, ENOMEM, src, "out of memory");
	c->src_root = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->src_root < 0)
		return eos_fail_sys(e, errno, src, "open(%s)", src);
	c->dst_root = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dst_root < 0)
		return eos_fail_sys(e, errno, dst, "open(%s)", dst);
	struct stat s;
	if (fstat(c->src_root, &s) < 0)
		return eos_fail_sys(e, errno, src, "stat(%s)", src);
	c->dev = s.st_dev;
	return 0;
}

static void ctx_close(struct ctx *c)
{
	if (c->src_root >= 0)
		close(c->src_root);
	if (c->dst_root >= 0)
		close(c->dst_root);
	link_free(&c->links);
	eos_buf_free(&c->rel);
	free(c->buf);
	free(c->buf2);
}

int eos_copy_tree(const char *src, const char *dst, struct eos_copy_stats *st, struct eos_err *e)
{
	struct ctx c;
	int r = ctx_open(&c, src, dst, st, e);
	if (r)
		goto out;
	int fd = dup(c.dst_root);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		r = eos_fail_sys(e, errno, dst, "opendir(%s)", dst);
		goto out;
	}
	struct dirent *de;
	int empty = 1;
	while ((de = readdir(d)))
		empty &= strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	if (!empty) {
		r = eos_fail(e, ENOTEMPTY, dst, "copy destination %s is not empty", dst);
		goto out;
	}
	r = copy_dir(&c, c.src_root, c.dst_root);
	if (r)
		goto out;
	/* The root itself: its metadata onto dst, through the parent-free "." entry. */
	struct stat s;
	if (fstat(c.src_root, &s) < 0) {
		r = eos_fail_sys(e, errno, src, "stat(%s)", src);
		goto out;
	}
	r = copy_meta(&c, c.src_root, c.dst_root, ".", &s, c.src_root, c.dst_root);
	st->dirs++;
out:
	ctx_close(&c);
	return r;
}

/* ---- verify ---------------------------------------------------------------------------- */

static int differ(struct ctx *c, const char *what)
{
	return eos_fail(c->e, EIO, c->dst, "verify: %s/%s differs from %s/%s: %s", c->dst, where(c), c->src,
			where(c), what);
}

/* Sorted "name\0value-length:value" blobs would be exact; comparing name lists and then each
 * value is enough: same count, and every source xattr has the same value in dst. */
static int verify_xattrs(struct ctx *c, int sdir, int ddir, const char *name)
{
	char sp[EOS_PATH_MAX], dp[EOS_PATH_MAX];
	fd_path(sp, sizeof(sp), sdir, name);
	fd_path(dp, sizeof(dp), ddir, name);
	ssize_t sn = llistxattr(sp, c->buf2, CHUNK / 2);
	ssize_t dn = llistxattr(dp, c->buf2 + CHUNK / 2, CHUNK / 2);
	if (sn < 0 && errno == ENOTSUP)
		sn = 0;
	if (sn < 0 || dn < 0)
		return eos_fail_sys(c->e, errno, c->src, "llistxattr(%s)", where(c));
	size_t scount = 0, dcount = 0;
	for (ssize_t off = 0; off < dn; off += (ssize_t)strlen(c->buf2 + CHUNK / 2 + off) + 1)
		dcount++;
	for (ssize_t off = 0; off < sn; off += (ssize_t)strlen(c->buf2 + off) + 1) {
		const char *key = c->buf2 + off;
		scount++;
		ssize_t a = lgetxattr(sp, key, c->buf, CHUNK / 2);
		ssize_t b = lgetxattr(dp, key, c->buf + CHUNK / 2, CHUNK / 2);
		if (a < 0)
			return eos_fail_sys(c->e, errno, c->src, "lgetxattr(%s, %s)", where(c), key);
		if (b != a || memcmp(c->buf, c->buf + CHUNK / 2, (size_t)a) != 0) {
			char what[300];
			snprintf(what, sizeof(what), "xattr %.200s", key);
			return differ(c, what);
		}
		c->st->xattrs++;
	}
	return scount == dcount ? 0 : differ(c, "a different set of xattrs");
}

static int verify_data(struct ctx *c, int sdir, int ddir, const char *name, off_t size)
{
	int r = 0;
	int a = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int b = openat(ddir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (a < 0 || b < 0) {
		r = eos_fail_sys(c->e, errno, c->src, "open(%s) to verify", where(c));
		goto out;
	}
	for (off_t p = 0; p < size;) {
		size_t want = (size_t)(size - p < CHUNK ? size - p : CHUNK);
		ssize_t n1 = pread(a, c->buf, want, p), n2 = pread(b, c->buf2, want, p);
		if (n1 < 0 || n2 < 0) {
			r = eos_fail_sys(c->e, errno, c->src, "read(%s) to verify", where(c));
			goto out;
		}
		if (n1 != n2 || memcmp(c->buf, c->buf2, (size_t)n1) != 0) {
			char what[80];
			snprintf(what, sizeof(what), "contents differ in the MiB at offset %lld", (long long)p);
			r = differ(c, what);
			goto out;
		}
		if (n1 == 0)
			break;
		p += n1;
		c->st->data_bytes += (uint64_t)n1;
	}
out:
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	return r;
}

static int verify_dir(struct ctx *c, int sdir, int ddir);

static int count_entries(int dir, uint64_t *n)
{
	int fd = dup(dir);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(d);  /* a dup shares the offset of an fd read before */
	*n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		*n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return 0;
}

static int verify_entry(struct ctx *c, int sdir, int ddir, const char *name)
{
	struct stat s, d;
	int r = 0;
	if (fstatat(sdir, name, &s, AT_SYMLINK_NOFOLLOW) < 0)
		return eos_fail_sys(c->e, errno, c->src, "stat(%s/%s)", c->src, where(c));
	if (fstatat(ddir, name, &d, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return differ(c, "missing in the copy");
		return eos_fail_sys(c->e, errno, c->dst, "stat(%s/%s)", c->dst, where(c));
	}
	if ((s.st_mode & S_IFMT) != (d.st_mode & S_IFMT))
		return differ(c, "file type");
	if (!S_ISLNK(s.st_mode) && s.st_mode != d.st_mode)
		return differ(c, "mode");
	if (s.st_uid != d.st_uid || s.st_gid != d.st_gid)
		return differ(c, "owner");
	if (s.st_mtim.tv_sec != d.st_mtim.tv_sec || s.st_mtim.tv_nsec != d.st_mtim.tv_nsec)
		return differ(c, "modification time");
	if (!S_ISDIR(s.st_mode) && s.st_nlink != d.st_nlink)
		return differ(c, "number of hard links");
	if (!S_ISDIR(s.st_mode) && s.st_nlink > 1) {
		struct link_ent *le = link_find(&c->links, s.st_dev, s.st_ino);
		if (le) {
			if (le->dst_ino != d.st_ino)
				return differ(c, "hard link structure");
			c->st->hardlinks++;
			return 0;  /* the first link was verified in full */
		}
		le = link_add(&c->links, s.st_dev, s.st_ino);
		if (!le)
			return eos_fail(c->e, ENOMEM, c->src, "out of memory");
		le->dst_ino = d.st_ino ? d.st_ino : 1;
	}
	switch (s.st_mode & S_IFMT) {
	case S_IFREG:
		if (s.st_size != d.st_size)
			return differ(c, "size");
		r = verify_data(c, sdir, ddir, name, s.st_size);
		c->st->files++;
		c->st->bytes += (uint64_t)s.st_size;
		break;
	case S_IFLNK: {
		ssize_t a = readlinkat(sdir, name, c->buf, CHUNK);
		ssize_t b = readlinkat(ddir, name, c->buf2, CHUNK);
		if (a < 0 || a != b || memcmp(c->buf, c->buf2, (size_t)a) != 0)
			return differ(c, "symlink target");
		c->st->symlinks++;
		break;
	}
	case S_IFDIR: {
		int sfd = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int dfd = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0 || dfd < 0)
			r = eos_fail_sys(c->e, errno, c->src, "open directory %s to verify", where(c));
		else
			r = verify_dir(c, sfd, dfd);
		if (sfd >= 0)
			close(sfd);
		if (dfd >= 0)
			close(dfd);
		c->st->dirs++;
		break;
	}
	default:
		if (s.st_rdev != d.st_rdev)
			return differ(c, "device number");
		c->st->specials++;
	}
	if (r)
		return r;
	return verify_xattrs(c, sdir, ddir, name);
}

static int verify_dir(struct ctx *c, int sdir, int ddir)
{
	uint64_t ns = 0, nd = 0;
	if (count_entries(sdir, &ns) < 0 || count_entries(ddir, &nd) < 0)
		return eos_fail_sys(c->e, errno, c->src, "reading directory %s to verify", where(c));
	if (ns != nd) {
		char what[96];
		snprintf(what, sizeof(what), "%llu entries in the source, %llu in the copy",
			 (unsigned long long)ns, (unsigned long long)nd);
		return differ(c, what);
	}
	return each_entry(c, sdir, ddir, verify_entry);
}

int eos_copy_verify(const char *src, const char *dst, struct eos_copy_stats *st, struct eos_err *e)
{
	struct ctx c;
	int r = ctx_open(&c, src, dst, st, e);
	if (!r)
		r = verify_dir(&c, c.src_root, c.dst_root);
	if (!r) {
		struct stat s, d;
		if (fstat(c.src_root, &s) < 0 || fstat(c.dst_root, &d) < 0)
			r = eos_fail_sys(e, errno, src, "stat(%s)", src);
		else if (s.st_mode != d.st_mode || s.st_uid != d.st_uid || s.st_gid != d.st_gid)
			r = eos_fail(e, EIO, dst, "verify: %s differs from %s: mode or owner of the top directory",
				     dst, src);
		else
			r = verify_xattrs(&c, c.src_root, c.dst_root, ".");
		st->dirs++;
	}
	ctx_close(&c);
	return r;
}
