#include "eos/core/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int eos_mkdir_p(const char *path, mode_t mode, struct eos_err *e)
{
	char p[EOS_PATH_MAX];
	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
		return eos_fail(e, ENAMETOOLONG, path, "mkdir: path too long: %s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		int r = mkdir(p, 0755);
		*s = '/';
		if (r < 0 && errno != EEXIST) {
			int err = errno;
			*s = '\0';
			return eos_fail_sys(e, err, p, "mkdir(%s)", p);
		}
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return eos_fail_sys(e, errno, p, "mkdir(%s)", p);
	return 0;
}

int eos_same_path(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];
	if (a[0] != '/' || !realpath(a, ra) || !realpath(b, rb))
		return 0;
	return strcmp(ra, rb) == 0;
}
