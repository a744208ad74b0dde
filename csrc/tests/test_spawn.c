#include <errno.h>
#include <string.h>

#include "check.h"
#include "eos/core/spawn.h"

void test_spawn(void)
{
	struct eos_run run = EOS_RUN_INIT;
	struct eos_err e;
	const char *echo[] = {"echo", "a b;c", NULL};
	CHECK(eos_spawn(echo, &run, &e) == 0 && run.status == 0);
	CHECK(run.out.data && strcmp(run.out.data, "a b;c\n") == 0);  /* no shell: ';' is data */

	const char *fail[] = {"ls", "/nonexistent-eos-path", NULL};
	CHECK(eos_spawn_ok(fail, &run, &e) == -EIO);
	CHECK(strstr(e.msg, "nonexistent-eos-path") != NULL);

	const char *missing[] = {"eos-no-such-program", NULL};
	/* valgrind runs posix_spawn's vfork as a fork, so there the exec failure shows as 127. */
	int rc = eos_spawn(missing, &run, &e);
	CHECK(rc == -ENOENT || (rc == 0 && run.status == 127));

	const char *slow[] = {"sleep", "10", NULL};
	run.timeout_ms = 100;
	CHECK(eos_spawn(slow, &run, &e) == -ETIMEDOUT);
	CHECK(run.elapsed_ms < 5000);
	eos_run_free(&run);
}
