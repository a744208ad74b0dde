#include "eos/core/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int eos_mkdir_p(const char *path, mode_t mode, struct eos_err *e)
{
	char p[EOS_PATH_MAX];
	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
		return eos_fail(e, ENAMETOOLONG, path, "mkdir: path too long: %s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		int r = mkdir(p, 0755);
		*s = '/';
		if (r < 0 && errno != EEXIST) {
			int err = errno;
			*s = '\0';
			return eos_fail_sys(e, err, p, "mkdir(%s)", p);
		}
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return eos_fail_sys(e, errno, p, "mkdir(%s)", p);
	return 0;
}

int eos_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) ? -errno : 0;
	close(fd);
	return r;
}

int eos_write_all(int fd, const char *data, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	return 0;
}

/* The temp file next to real, with real's mode and owner when it exists. */
static int open_temp(const char *real, char *tmp, size_t n, struct eos_err *e)
{
	struct stat st;
	int have_st = stat(real, &st) == 0;
	if (snprintf(tmp, n, "%s.eos-XXXXXX", real) >= (int)n) {
		tmp[0] = '\0';
		return eos_fail(e, ENAMETOOLONG, real, "path too long for a temporary file: %s", real);
	}
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		int r = eos_fail_sys(e, errno, real, "mkstemp(%s)", tmp);
		tmp[0] = '\0';
		return r;
	}
	if (fchmod(fd, have_st ? st.st_mode & 07777 : 0644) < 0 ||
	    (have_st && fchown(fd, st.st_uid, st.st_gid) < 0)) {
		int r = eos_fail_sys(e, errno, real, "setting mode/owner of %s", tmp);
		close(fd);
		return r;
	}
	return fd;
}

int eos_file_write_atomic(const char *path, const char *data, size_t len, struct eos_err *e)
{
	char tmp[EOS_PATH_MAX + 16], real[EOS_PATH_MAX];
	/* Through a symlink to the real file, which is the one replaced. */
	if (!realpath(path, real) && snprintf(real, sizeof(real), "%s", path) >= (int)sizeof(real))
		return eos_fail(e, ENAMETOOLONG, path, "path too long: %s", path);
	int fd = open_temp(real, tmp, sizeof(tmp), e), r = 0;
	if (fd < 0) {
		r = fd;
		goto out;
	}
	r = eos_write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r) {
		r = eos_fail_sys(e, -r, real, "writing %s", tmp);
		goto out;
	}
	if (rename(tmp, real) < 0) {
		r = eos_fail_sys(e, errno, real, "rename(%s, %s)", tmp, real);
		goto out;
	}
	tmp[0] = '\0';
	/* Make the rename durable. */
	char dir[EOS_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", real);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	eos_fsync_dir(slash ? dir : ".");
out:
	if (tmp[0])
		unlink(tmp);
	return r;
}

int eos_same_path(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];
	if (a[0] != '/' || !realpath(a, ra) || !realpath(b, rb))
		return 0;
	return strcmp(ra, rb) == 0;
}

int eos_open_dir(const char *path, struct eos_err *e)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? fd : eos_fail_sys(e, errno, path, "open %s", path);
}
