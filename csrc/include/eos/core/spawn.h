/* Running external tools: argv vector, posix_spawn, a timeout, no shell, ever. */
#ifndef EOS_SPAWN_H
#define EOS_SPAWN_H

#include "eos/core/buf.h"
#include "eos/core/err.h"

struct eos_run {
	int timeout_ms;        /* <= 0: 60 s */
	struct eos_buf out;    /* stdout of the child */
	struct eos_buf err;    /* stderr of the child, kept for error messages */
	int status;            /* exit code, or 128 + signal */
	long elapsed_ms;
};

#define EOS_RUN_INIT {0, EOS_BUF_INIT, EOS_BUF_INIT, -1, 0}

/* Run argv[0] (looked up in PATH) with stdin from /dev/null and LC_ALL=C. Returns 0 when
 * the child ran and exited (whatever its status), -ETIMEDOUT when it was killed at the
 * timeout, or a negative errno when it could not be started. */
int eos_spawn(const char *const argv[], struct eos_run *run, struct eos_err *e);

/* eos_spawn, then fail with -EIO (message: the command and its stderr) unless it exited 0. */
int eos_spawn_ok(const char *const argv[], struct eos_run *run, struct eos_err *e);

void eos_run_free(struct eos_run *run);

#endif
