/* eos_buf_read_file: an empty file gives an empty, NUL-terminated buffer. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "eos/core/buf.h"

void test_buf_read_file(void)
{
	char path[] = "/tmp/eos-test-buf-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	struct eos_buf b = EOS_BUF_INIT;
	CHECK(eos_buf_read_file(&b, AT_FDCWD, path) == 0);
	CHECK(b.len == 0 && b.data && strlen(b.data) == 0);
	CHECK(write(fd, "abc\n", 4) == 4);
	CHECK(eos_buf_read_file(&b, AT_FDCWD, path) == 0);
	CHECK(b.len == 4 && strcmp(b.data, "abc\n") == 0);
	eos_buf_free(&b);
	close(fd);
	unlink(path);
}
