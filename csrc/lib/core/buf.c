#include "eos/core/buf.h"

#include <stdarg.h>
#include <stdio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int eos_buf_reserve(struct eos_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int eos_buf_append(struct eos_buf *b, const void *p, size_t n)
{
	int r = eos_buf_reserve(b, n);
	if (r)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

void eos_buf_reset(struct eos_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void eos_buf_free(struct eos_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int eos_buf_read_file(struct eos_buf *b, int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	eos_buf_reset(b);
	for (;;) {
		int r = eos_buf_reserve(b, 4096);
		if (r) {
			close(fd);
			return r;
		}
		ssize_t n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return r;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
	}
	b->data[b->len] = '\0';      /* an empty file: reserve() allocated, nothing was written */
	close(fd);
	return 0;
}

void eos_strfmt(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

uint64_t eos_fnv1a64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}
