/* Copying a directory tree exactly, and verifying the copy: owners, modes, times (ns), xattrs
 * (so POSIX ACLs and capabilities), hard links, sparse files, symlinks, device nodes, fifos
 * and any byte string as a name. Used by eos_storage.convert. */
#ifndef EOS_COPY_H
#define EOS_COPY_H

#include <stdint.h>

#include "eos/core/err.h"

struct eos_copy_stats {
	uint64_t files, dirs, symlinks, hardlinks, specials, xattrs;
	uint64_t bytes;       /* apparent size of the regular files */
	uint64_t data_bytes;  /* bytes in data extents (what was read and written) */
};

/* Copy the contents of the directory src into the existing, empty directory dst, then give
 * dst the metadata of src. Does not cross into other filesystems mounted below src: such a
 * mount point is refused with -EXDEV naming it. */
int eos_copy_tree(const char *src, const char *dst, struct eos_copy_stats *st, struct eos_err *e);

/* Compare src and dst entry by entry: type, mode, owner, mtime, size, symlink target,
 * xattrs, hard link structure, no extra or missing names, and the contents byte for byte.
 * 0 when identical; -EIO naming the first difference otherwise. */
int eos_copy_verify(const char *src, const char *dst, struct eos_copy_stats *st, struct eos_err *e);

#endif
