/* A growable byte buffer, always NUL-terminated, for command output and file contents. */
#ifndef EOS_BUF_H
#define EOS_BUF_H

#include <stddef.h>
#include <stdint.h>

struct eos_buf {
	char *data;
	size_t len;
	size_t cap;
};

#define EOS_BUF_INIT {NULL, 0, 0}

int eos_buf_reserve(struct eos_buf *b, size_t extra);   /* 0 or -ENOMEM */
int eos_buf_append(struct eos_buf *b, const void *p, size_t n);
void eos_buf_reset(struct eos_buf *b);                   /* len = 0, keeps memory */
void eos_buf_free(struct eos_buf *b);

/* snprintf into a fixed buffer where a cut is acceptable on purpose (messages, display
 * strings); paths that must not be cut are checked by their callers. */
void eos_strfmt(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* 64-bit FNV-1a of a string: the collision-resistant tail of names cut to a length. */
uint64_t eos_fnv1a64(const char *s);

/* Read a whole (small) file such as a sysfs attribute. Trailing newline kept. */
int eos_buf_read_file(struct eos_buf *b, int dirfd, const char *path);

#endif
