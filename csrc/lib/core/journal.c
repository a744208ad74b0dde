#include "eos/core/journal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eos/core/buf.h"
#include "eos/core/clock.h"
#include "eos/core/fsutil.h"

void eos_journal_key(const char *name, char out[EOS_JOURNAL_KEY_MAX])
{
	size_t o = 0;
	const char *s = name;
	while (*s == '/')
		s++;
	for (; *s && o < EOS_JOURNAL_KEY_READABLE; s++) {
		unsigned char c = (unsigned char)*s;
		out[o++] = isalnum(c) || c == '.' || c == '-' ? (char)c : '_';
	}
	snprintf(out + o, EOS_JOURNAL_KEY_MAX - o, "-%016llx", (unsigned long long)eos_fnv1a64(name));
}

int eos_journal_init(struct eos_journal *j, const char *root, const char *op, const char *name,
		     int key_is_name, struct eos_err *e)
{
	memset(j, 0, sizeof(*j));
	j->lock_fd = -1;
	if (key_is_name) {
		if (snprintf(j->key, sizeof(j->key), "%s", name) >= (int)sizeof(j->key) || strchr(name, '/'))
			return eos_fail(e, EINVAL, name, "journal key '%.200s' is not a short file name", name);
	} else {
		eos_journal_key(name, j->key);
	}
	int n1 = snprintf(j->dir, sizeof(j->dir), "%s/%s", root, op);
	int n2 = snprintf(j->path, sizeof(j->path), "%s/%s.journal", j->dir, j->key);
	int n3 = snprintf(j->lock, sizeof(j->lock), "%s/%s.lock", j->dir, j->key);
	if (n1 >= (int)sizeof(j->dir) || n2 >= (int)sizeof(j->path) || n3 >= (int)sizeof(j->lock))
		return eos_fail(e, ENAMETOOLONG, root, "state directory too long: %.200s...", root);
	return 0;
}

int eos_journal_lock(struct eos_journal *j, long timeout_ms, const char *what, struct eos_err *e)
{
	int r = eos_mkdir_p(j->dir, 0700, e);
	if (r)
		return r;
	int fd = open(j->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return eos_fail_sys(e, errno, j->lock, "open lock file %s", j->lock);
	long long start = eos_now_ms();
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		if (err == EINTR)
			continue;
		if (err != EWOULDBLOCK)
			r = eos_fail_sys(e, err, j->lock, "flock %s", j->lock);
		else if (timeout_ms <= 0)
			r = eos_fail(e, EBUSY, j->lock, "another %s is running (lock %s)", what, j->lock);
		else if (eos_now_ms() - start > timeout_ms)
			r = eos_fail(e, ETIMEDOUT, j->lock, "another %s holds %s; gave up after %ld ms", what,
				     j->lock, timeout_ms);
		if (r) {
			close(fd);
			return r;
		}
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	j->lock_wait_ms = eos_now_ms() - start;
	j->lock_fd = fd;
	return 0;
}

void eos_journal_unlock(struct eos_journal *j)
{
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	j->lock_fd = -1;
}

int eos_journal_adopt(struct eos_journal *j, const char *legacy_path, struct eos_err *e)
{
	struct stat st;
	if (!legacy_path || !legacy_path[0] || strcmp(legacy_path, j->path) == 0 ||
	    stat(j->path, &st) == 0 || stat(legacy_path, &st) < 0)
		return 0;
	if (rename(legacy_path, j->path) == 0) {
		eos_fsync_dir(j->dir);
		return 1;
	}
	if (errno != EXDEV) {
		eos_fail_sys(e, errno, legacy_path, "moving the journal %s to %s", legacy_path, j->path);
		return eos_err_path2(e, j->path);
	}
	/* Another file system: copy it whole, then remove the old one. */
	struct eos_buf b = EOS_BUF_INIT;
	int r = eos_buf_read_file(&b, AT_FDCWD, legacy_path);
	if (r)
		r = eos_fail_sys(e, -r, legacy_path, "reading the journal %s", legacy_path);
	else
		r = eos_file_write_atomic(j->path, b.data ? b.data : "", b.len, e);
	eos_buf_free(&b);
	if (!r && unlink(legacy_path) < 0)
		r = eos_fail_sys(e, errno, legacy_path, "removing the moved journal %s", legacy_path);
	return r ? r : 1;
}

static int vline(char *line, size_t n, const char *path, struct eos_err *e, const char *fmt, va_list ap)
{
	int len = vsnprintf(line, n, fmt, ap);
	if (len < 0 || (size_t)len >= n)
		return eos_fail(e, ENAMETOOLONG, path, "a journal line for %s is longer than %zu bytes", path,
				n - 1);
	return len;
}

/* The formatted line appended to b, or else written to fd (fdatasync'd with sync). */
static int vput(int fd, int sync, struct eos_buf *b, const char *path, struct eos_err *e,
		const char *fmt, va_list ap)
{
	char line[EOS_JOURNAL_LINE_MAX];
	int n = vline(line, sizeof(line), path, e, fmt, ap);
	if (n < 0)
		return n;
	if (b)
		return eos_buf_append(b, line, (size_t)n) ? eos_fail(e, ENOMEM, path, "out of memory") : 0;
	errno = 0;
	if (write(fd, line, (size_t)n) != n || (sync && fdatasync(fd)))
		return eos_fail_sys(e, errno ? errno : EIO, path, "write journal %s", path);
	return 0;
}

/* A journal is written in whole blocks, zero-padded, with room for the lines appended after
 * it: the next run overwrites the same allocated blocks of a file whose size does not change,
 * so its fdatasync writes one block and flushes, with no metadata to commit (truncating and
 * rewriting cost a filesystem journal commit as well, about as much again). */
#define JOURNAL_BLOCK 4096
#define JOURNAL_SLACK 1024

int eos_journal_write(const char *path, const char *data, size_t len, int sync, int *fd_out,
		      struct eos_err *e)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return eos_fail_sys(e, errno, path, "open journal %s", path);
	if (fstat(fd, &st) < 0) {
		int err = errno;
		close(fd);
		return eos_fail_sys(e, err, path, "stat journal %s", path);
	}
	int created = sync && st.st_size == 0;
	size_t size = (len + JOURNAL_SLACK + JOURNAL_BLOCK - 1) / JOURNAL_BLOCK * JOURNAL_BLOCK;
	char *block = calloc(1, size);
	int r = block ? 0 : -ENOMEM;
	if (!r) {
		memcpy(block, data, len);
		ssize_t n = pwrite(fd, block, size, 0);
		r = n == (ssize_t)size ? 0 : n < 0 ? -errno : -EIO;
	}
	free(block);
	if (r == 0 && (size_t)st.st_size > size && ftruncate(fd, (off_t)size) < 0)
		r = -errno;
	if (r == 0 && sync && fdatasync(fd) < 0)
		r = -errno;
	if (r == 0 && lseek(fd, (off_t)len, SEEK_SET) < 0)
		r = -errno;
	if (r) {
		close(fd);
		return eos_fail_sys(e, -r, path, "write journal %s", path);
	}
	if (created) {
		char dir[EOS_PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
		eos_fsync_dir(slash ? dir : ".");
	}
	*fd_out = fd;
	return 0;
}

int eos_journal_open_end(const char *path, int *fd_out, struct eos_err *e)
{
	struct eos_buf b = EOS_BUF_INIT;
	int r = eos_buf_read_file(&b, AT_FDCWD, path);
	*fd_out = -1;
	if (r) {
		eos_buf_free(&b);
		return r == -ENOENT ? 0 : eos_fail_sys(e, -r, path, "read journal %s", path);
	}
	size_t len = b.data ? strnlen(b.data, b.len) : 0;
	eos_buf_free(&b);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : eos_fail_sys(e, errno, path, "open journal %s", path);
	if (lseek(fd, (off_t)len, SEEK_SET) < 0) {
		int err = errno;
		close(fd);
		return eos_fail_sys(e, err, path, "seek journal %s", path);
	}
	*fd_out = fd;
	return 0;
}

int eos_journal_append(int fd, const char *path, int sync, struct eos_err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vput(fd, sync, NULL, path, e, fmt, ap);
	va_end(ap);
	return r;
}

int eos_journal_add(struct eos_buf *b, const char *path, struct eos_err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vput(-1, 0, b, path, e, fmt, ap);
	va_end(ap);
	return r;
}
