#include "eos/drivers/btrfs/btrfs_sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eos/core/buf.h"

static int str_cmp(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

static void fs_free(struct eos_btrfs_fs *f)
{
	free(f->uuid);
	free(f->label);
	for (size_t i = 0; i < f->n_devices; i++)
		free(f->devices[i]);
	free(f->devices);
	memset(f, 0, sizeof(*f));
}

static uint64_t read_u64(int dirfd, const char *name, struct eos_buf *b)
{
	if (eos_buf_read_file(b, dirfd, name) || !b->len)
		return 0;
	return strtoull(b->data, NULL, 10);
}

/* Fill f from dirfd (an fsid directory). 0, 1 when it is not a filesystem directory, -errno. */
static int fs_read(int dirfd, const char *name, struct eos_btrfs_fs *f)
{
	struct eos_buf b = EOS_BUF_INIT;
	int r = 0;
	memset(f, 0, sizeof(*f));
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 1 : -errno;
	int dfd = openat(fd, "devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		close(fd);
		return 1;  /* "features" and other non-filesystem entries */
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		goto out;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char **v = realloc(f->devices, (f->n_devices + 1) * sizeof(*v));
		if (!v) {
			r = -ENOMEM;
			break;
		}
		f->devices = v;
		if (!(v[f->n_devices] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		f->n_devices++;
	}
	closedir(d);
	if (r)
		goto out;
	if (f->n_devices > 1)
		qsort(f->devices, f->n_devices, sizeof(*f->devices), str_cmp);
	f->uuid = strdup(name);
	if (eos_buf_read_file(&b, fd, "label") == 0) {
		while (b.len && b.data[b.len - 1] == '\n')
			b.data[--b.len] = '\0';
		f->label = strdup(b.data ? b.data : "");
	} else {
		f->label = strdup("");
	}
	if (!f->uuid || !f->label)
		r = -ENOMEM;
	f->nodesize = read_u64(fd, "nodesize", &b);
	f->sectorsize = read_u64(fd, "sectorsize", &b);
out:
	eos_buf_free(&b);
	close(fd);
	if (r)
		fs_free(f);
	return r;
}

int eos_btrfs_sysfs_scan(const char *dir, struct eos_btrfs_fs_list *out, struct eos_err *e)
{
	const char *p = dir ? dir : "/sys/fs/btrfs";
	int r = 0;
	out->v = NULL;
	out->n = 0;
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : eos_fail_sys(e, errno, p, "open %s", p);
	DIR *d = fdopendir(fd);
	if (!d) {
		r = eos_fail_sys(e, errno, p, "fdopendir %s", p);
		close(fd);
		return r;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		struct eos_btrfs_fs *v = realloc(out->v, (out->n + 1) * sizeof(*v));
		if (!v) {
			r = eos_fail(e, ENOMEM, p, "out of memory");
			goto error;
		}
		out->v = v;
		r = fs_read(fd, de->d_name, &out->v[out->n]);
		if (r < 0) {
			r = eos_fail_sys(e, -r, p, "reading %s/%s", p, de->d_name);
			goto error;
		}
		if (r == 0)
			out->n++;
		r = 0;
	}
	closedir(d);
	return (int)out->n;
error:
	closedir(d);
	eos_btrfs_fs_list_free(out);
	return r;
}

void eos_btrfs_fs_list_free(struct eos_btrfs_fs_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		fs_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
