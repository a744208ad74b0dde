/* Small file-system steps several concerns take: creating a directory with its parents, and
 * telling whether two paths name the same file. */
#ifndef EOS_FSUTIL_H
#define EOS_FSUTIL_H

#include <sys/types.h>

#include "eos/core/err.h"

/* mkdir -p: missing parents 0755, path itself with mode; existing ones are left as they are. */
int eos_mkdir_p(const char *path, mode_t mode, struct eos_err *e);

/* True when a (an absolute path) and b resolve (realpath) to the same path: a mount's source
 * and a device named through a symlink. False when either cannot be resolved. */
int eos_same_path(const char *a, const char *b);

#endif
