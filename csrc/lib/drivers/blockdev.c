#include "eos/core/fsutil.h"
#include "eos/drivers/blockdev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SYS_CLASS_BLOCK "/sys/class/block"

/* Read a small sysfs attribute relative to dirfd into buf, trailing whitespace stripped.
 * Returns the length or -errno. */
static int attr_read(int dirfd, const char *name, char *buf, size_t len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return (int)n;
}

/* An integer attribute, or dflt when absent or unreadable. */
static long long attr_ll(int dirfd, const char *name, long long dflt)
{
	char buf[64], *end;
	if (attr_read(dirfd, name, buf, sizeof(buf)) <= 0)
		return dflt;
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	return (errno || end == buf) ? dflt : v;
}

static int exists_at(int dirfd, const char *name)
{
	return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* Room for the largest entry getdents64 can return (a 255-byte name). */
#define DIRENT_MAX (sizeof(struct eos_dirent64) + 256 + 8)

static int name_add(char ***out, size_t *n, size_t *cap, const char *name)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 4;
		char **v = realloc(*out, c * sizeof(*v));
		if (!v)
			return -ENOMEM;
		*out = v;
		*cap = c;
	}
	if (!((*out)[*n] = strdup(name)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* Entry names of the directory dirfd/sub, sorted; missing directory: empty list. Read with
 * getdents64 directly: a directory listing fills the buffer until its end or until the next
 * entry does not fit, so a reply that leaves room for the largest entry was the whole
 * directory. For holders/ and slaves/ of every device that is one call instead of readdir's
 * two plus fdopendir's fstat and fcntls. */
static int list_names(int dirfd, const char *sub, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	char buf[8192] __attribute__((aligned(8)));
	size_t cap = 0;
	int r = 0;
	for (;;) {
		long got = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = got < 0 ? -errno : 0;
			break;
		}
		for (long off = 0; off < got && !r;) {
			const struct eos_dirent64 *d = (const struct eos_dirent64 *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] != '.')
				r = name_add(out, n, &cap, d->d_name);
		}
		if (r || (size_t)got + DIRENT_MAX <= sizeof(buf))
			break;
	}
	close(fd);
	if (!r && *n > 1)
		qsort(*out, *n, sizeof(**out), name_cmp);
	return r;
}

static void names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void dev_free(struct eos_blockdev *d)
{
	free(d->name);
	free(d->path);
	free(d->parent);
	free(d->backing_file);
	free(d->dm_name);
	names_free(d->holders, d->n_holders);
	names_free(d->slaves, d->n_slaves);
	memset(d, 0, sizeof(*d));
}

static const char *kind_of(int devfd, const char *name)
{
	if (exists_at(devfd, "partition"))
		return "partition";
	/* The kernel names device-mapper devices dm-N and md arrays mdN or md_NAME: only
	 * those can have dm/ or md/ (two lookups saved on every other device). */
	if (strncmp(name, "dm-", 3) == 0 && exists_at(devfd, "dm"))
		return "dm";
	if (strncmp(name, "md", 2) == 0 && exists_at(devfd, "md"))
		return "md";
	if (strncmp(name, "loop", 4) == 0)
		return "loop";
	if (strncmp(name, "zram", 4) == 0)
		return "zram";
	if (strncmp(name, "ram", 3) == 0)
		return "ram";
	if (strncmp(name, "nbd", 3) == 0)
		return "nbd";
	if (strncmp(name, "sr", 2) == 0)
		return "rom";
	return "disk";
}

/* The disk a partition belongs to: the directory above it in the device's sysfs path. */
static char *parent_of(int classfd, const char *name)
{
	char link[4096];
	ssize_t n = readlinkat(classfd, name, link, sizeof(link) - 1);
	if (n <= 0)
		return NULL;
	link[n] = '\0';
	char *last = strrchr(link, '/');
	if (!last)
		return NULL;
	*last = '\0';
	char *prev = strrchr(link, '/');
	return strdup(prev ? prev + 1 : link);
}

/* Fill d from the sysfs directory classfd/name. Returns 0, 1 when the device vanished, or
 * -errno. */
static int dev_read(int classfd, const char *name, struct eos_blockdev *d, struct eos_err *e,
		    const char *classdir)
{
	char buf[4096];
	int r = 0;
	int fd = openat(classfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;  /* vanished, or not a device directory */
		return eos_fail_sys(e, errno, classdir, "openat %s/%s", classdir, name);
	}
	memset(d, 0, sizeof(*d));
	if (attr_read(fd, "dev", buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "%u:%u", &d->major, &d->minor) != 2) {
		/* Not a block device directory (or it vanished): skip. */
		close(fd);
		return 1;
	}
	d->name = strdup(name);
	d->path = malloc(strlen(name) + 6);
	if (!d->name || !d->path)
		goto nomem;
	sprintf(d->path, "/dev/%s", name);
	for (char *p = d->path + 5; *p; p++)
		if (*p == '!')
			*p = '/';
	long long sectors = attr_ll(fd, "size", 0);
	d->size = sectors > 0 ? (uint64_t)sectors * 512u : 0;
	d->read_only = attr_ll(fd, "ro", 0) != 0;
	d->kind = kind_of(fd, name);
	if (strcmp(d->kind, "partition") == 0) {
		d->partition = (int)attr_ll(fd, "partition", 0);
		d->parent = parent_of(classfd, name);
		/* A partition has no queue/ or removable of its own: its disk's apply. */
		d->rotational = attr_ll(fd, "../queue/rotational", 0) != 0;
		d->removable = attr_ll(fd, "../removable", 0) != 0;
	} else {
		d->rotational = attr_ll(fd, "queue/rotational", 0) != 0;
		d->removable = attr_ll(fd, "removable", 0) != 0;
	}
	if (strcmp(d->kind, "loop") == 0 && attr_read(fd, "loop/backing_file", buf, sizeof(buf)) > 0 &&
	    !(d->backing_file = strdup(buf)))
		goto nomem;
	if (strcmp(d->kind, "dm") == 0 && attr_read(fd, "dm/name", buf, sizeof(buf)) > 0 &&
	    !(d->dm_name = strdup(buf)))
		goto nomem;
	if ((r = list_names(fd, "holders", &d->holders, &d->n_holders)) ||
	    (r = list_names(fd, "slaves", &d->slaves, &d->n_slaves))) {
		close(fd);
		dev_free(d);
		return eos_fail_sys(e, -r, classdir, "reading %s/%s/holders and slaves", classdir, name);
	}
	close(fd);
	return 0;
nomem:
	close(fd);
	dev_free(d);
	return eos_fail(e, ENOMEM, classdir, "out of memory");
}

static int dev_cmp(const void *a, const void *b)
{
	return strverscmp(((const struct eos_blockdev *)a)->name, ((const struct eos_blockdev *)b)->name);
}

int eos_blockdev_scan(const char *classdir, struct eos_blockdev_list *out, struct eos_err *e)
{
	const char *dir = classdir ? classdir : SYS_CLASS_BLOCK;
	size_t cap = 0;
	int r = 0;
	out->v = NULL;
	out->n = 0;
	int fd = eos_open_dir(dir, e);
	if (fd < 0)
		return fd;
	DIR *d = fdopendir(fd);
	if (!d) {
		r = eos_fail_sys(e, errno, dir, "fdopendir %s", dir);
		close(fd);
		return r;
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 32;
			struct eos_blockdev *v = realloc(out->v, cap * sizeof(*v));
			if (!v) {
				r = eos_fail(e, ENOMEM, dir, "out of memory");
				goto error;
			}
			out->v = v;
		}
		r = dev_read(fd, de->d_name, &out->v[out->n], e, dir);
		if (r < 0)
			goto error;
		if (r == 0)
			out->n++;
		r = 0;
		errno = 0;
	}
	if (errno) {
		r = eos_fail_sys(e, errno, dir, "readdir %s", dir);
		goto error;
	}
	closedir(d);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), dev_cmp);
	return (int)out->n;
error:
	closedir(d);
	eos_blockdev_list_free(out);
	return r;
}

void eos_blockdev_list_free(struct eos_blockdev_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		dev_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const struct eos_blockdev *eos_blockdev_find(const struct eos_blockdev_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

const struct eos_blockdev *eos_blockdev_find_devno(const struct eos_blockdev_list *l,
						   unsigned major, unsigned minor)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].major == major && l->v[i].minor == minor)
			return &l->v[i];
	return NULL;
}
