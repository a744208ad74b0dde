#include "eos/core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eos/core/clock.h"

extern char **environ;

/* The child's environment: ours, with the locale forced to C so tools print parseable text. */
static char **child_env(void)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 3, sizeof(*env));
	if (!env)
		return NULL;
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "LC_ALL=", 7) == 0 || strncmp(environ[i], "LANG=", 5) == 0)
			continue;
		env[j++] = environ[i];
	}
	env[j++] = "LC_ALL=C";
	env[j++] = "LANG=C";
	env[j] = NULL;
	return env;
}

static void describe(char *dst, size_t n, const char *const argv[])
{
	size_t off = 0;
	dst[0] = '\0';
	for (size_t i = 0; argv[i] && off + 1 < n; i++) {
		int w = snprintf(dst + off, n - off, "%s%s", i ? " " : "", argv[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static int drain(int fd, struct eos_buf *b)
{
	char chunk[65536];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n > 0)
		return eos_buf_append(b, chunk, (size_t)n) ? -ENOMEM : 1;
	if (n == 0)
		return 0;
	return (errno == EINTR || errno == EAGAIN) ? 1 : -errno;
}

int eos_spawn(const char *const argv[], struct eos_run *run, struct eos_err *e)
{
	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	int fa_ok = 0, r = 0;
	pid_t pid = -1;
	char **env = NULL;
	long start = eos_now_ms();
	int timeout = run->timeout_ms > 0 ? run->timeout_ms : 60000;

	eos_buf_reset(&run->out);
	eos_buf_reset(&run->err);
	run->status = -1;
	if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		r = eos_fail_sys(e, errno, argv[0], "pipe2");
		goto out;
	}
	env = child_env();
	if (!env) {
		r = eos_fail(e, ENOMEM, argv[0], "out of memory");
		goto out;
	}
	if (posix_spawn_file_actions_init(&fa)) {
		r = eos_fail(e, ENOMEM, argv[0], "posix_spawn_file_actions_init");
		goto out;
	}
	fa_ok = 1;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	int sr = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, env);
	if (sr) {
		pid = -1;
		r = eos_fail_sys(e, sr, argv[0], "cannot run %s", argv[0]);
		goto out;
	}
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;

	struct pollfd pfd[2] = {{outp[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
	int open_fds = 2;
	while (open_fds > 0) {
		long left = timeout - (eos_now_ms() - start);
		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			pid = -1;
			char cmd[512];
			describe(cmd, sizeof(cmd), argv);
			r = eos_fail(e, ETIMEDOUT, argv[0], "%s: timed out after %d ms", cmd, timeout);
			goto out;
		}
		int pr = poll(pfd, 2, (int)left);
		if (pr < 0 && errno != EINTR) {
			r = eos_fail_sys(e, errno, argv[0], "poll");
			goto out;
		}
		for (int i = 0; i < 2 && pr > 0; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			int d = drain(pfd[i].fd, i == 0 ? &run->out : &run->err);
			if (d < 0) {
				r = eos_fail_sys(e, -d, argv[0], "reading output of %s", argv[0]);
				goto out;
			}
			if (d == 0) {
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			r = eos_fail_sys(e, errno, argv[0], "waitpid");
			pid = -1;
			goto out;
		}
	}
	pid = -1;
	run->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	free(env);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	run->elapsed_ms = eos_now_ms() - start;
	return r;
}

int eos_spawn_ok(const char *const argv[], struct eos_run *run, struct eos_err *e)
{
	int r = eos_spawn(argv, run, e);
	if (r)
		return r;
	if (run->status == 0)
		return 0;
	char cmd[512];
	describe(cmd, sizeof(cmd), argv);
	/* Keep the tool's own words; strip the trailing newline. */
	size_t n = run->err.len;
	while (n && (run->err.data[n - 1] == '\n' || run->err.data[n - 1] == ' '))
		n--;
	return eos_fail(e, EIO, argv[0], "%s exited with status %d: %.*s", cmd, run->status,
			(int)(n > 1500 ? 1500 : n), run->err.data ? run->err.data : "");
}

void eos_run_free(struct eos_run *run)
{
	eos_buf_free(&run->out);
	eos_buf_free(&run->err);
}
