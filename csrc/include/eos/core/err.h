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
	char path2[EOS_PATH_MAX]; /* the second one, where an operation has two (src and dst) */
	char msg[EOS_MSG_MAX];    /* human-readable, names the failing call */
};

void eos_err_clear(struct eos_err *e);

/* Fill e and return -code. fmt describes what failed; no strerror is appended. */
int eos_fail(struct eos_err *e, int code, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Name the second path of the error just filled (eos_fail and eos_fail_sys clear it); returns
 * -e->code so that "return eos_err_path2(e, dst);" follows a failure. */
int eos_err_path2(struct eos_err *e, const char *path2);

/* Like eos_fail, appending ": <strerror(code)>" to the message. */
int eos_fail_sys(struct eos_err *e, int code, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
