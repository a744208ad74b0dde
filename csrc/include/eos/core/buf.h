/* A growable byte buffer, always NUL-terminated, for command output and file contents. */
#ifndef EOS_BUF_H
#define EOS_BUF_H

#include <stddef.h>

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

/* Read a whole (small) file such as a sysfs attribute. Trailing newline kept. */
int eos_buf_read_file(struct eos_buf *b, int dirfd, const char *path);

#endif
