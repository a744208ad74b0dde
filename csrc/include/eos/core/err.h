/* Error reporting for the eos C library.
 *
 * Every library function returns 0 (or a count) on success and a negative errno on failure,
 * after filling a struct eos_err: the errno, the path involved and a message that names the
 * failing call. The Python binding turns it into an OSError subclass carrying all three. */
#ifndef EOS_ERR_H
#define EOS_ERR_H

#include <stddef.h>

#define EOS_PATH_MAX 4096
#define EOS_MSG_MAX 2048

struct eos_err {
	int code;                 /* positive errno */
	char path[EOS_PATH_MAX];  /* the path or object the error is about, may be empty */
	char msg[EOS_MSG_MAX];    /* human-readable, names the failing call */
};

void eos_err_clear(struct eos_err *e);

/* Fill e and return -code. fmt describes what failed; no strerror is appended. */
int eos_fail(struct eos_err *e, int code, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Like eos_fail, appending ": <strerror(code)>" to the message. */
int eos_fail_sys(struct eos_err *e, int code, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
