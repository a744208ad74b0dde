#include "eos/core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void eos_err_clear(struct eos_err *e)
{
	e->code = 0;
	e->path[0] = '\0';
	e->path2[0] = '\0';
	e->msg[0] = '\0';
}

int eos_err_path2(struct eos_err *e, const char *path2)
{
	snprintf(e->path2, sizeof(e->path2), "%s", path2 ? path2 : "");
	return -e->code;
}

static int vfail(struct eos_err *e, int code, const char *path, int add_strerror,
		 const char *fmt, va_list ap)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		code = EIO;
	e->code = code;
	snprintf(e->path, sizeof(e->path), "%s", path ? path : "");
	e->path2[0] = '\0';
	int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (add_strerror && n >= 0 && (size_t)n < sizeof(e->msg)) {
		char buf[256];
		/* GNU strerror_r returns a pointer that may or may not be buf. */
		const char *s = strerror_r(code, buf, sizeof(buf));
		snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", s);
	}
	return -code;
}

int eos_fail(struct eos_err *e, int code, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfail(e, code, path, 0, fmt, ap);
	va_end(ap);
	return r;
}

int eos_fail_sys(struct eos_err *e, int code, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfail(e, code, path, 1, fmt, ap);
	va_end(ap);
	return r;
}
