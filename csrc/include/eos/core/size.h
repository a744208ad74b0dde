/* The one parser for size requests: "+50G", "200GiB", "1.5T", "100%FREE", "max", "auto". */
#ifndef EOS_SIZE_H
#define EOS_SIZE_H

#include <stdint.h>

#include "eos/core/err.h"

enum eos_size_kind {
	EOS_SIZE_ABSOLUTE,  /* grow to bytes */
	EOS_SIZE_GROW_BY,   /* grow by bytes ("+50G") */
	EOS_SIZE_PCT_FREE,  /* pct percent of the free space below ("100%FREE") */
	EOS_SIZE_MAX,       /* everything the layer below offers */
	EOS_SIZE_AUTO,      /* enough to go back under the warning level, decided by the planner */
};

struct eos_size_req {
	enum eos_size_kind kind;
	uint64_t bytes;     /* for ABSOLUTE and GROW_BY, > 0 */
	unsigned pct;       /* for PCT_FREE, 1..100 */
};

/* Units K, M, G, T, P (optionally followed by "iB" or "B") are binary, as in LVM; a bare
 * number is bytes. Rejects negative, zero, overflowing and malformed input with -EINVAL and
 * a message quoting it. */
int eos_size_parse(const char *s, struct eos_size_req *req, struct eos_err *e);

/* Human form of a byte count for messages ("50.0 GiB"). */
void eos_size_format(uint64_t bytes, char *dst, unsigned n);

#endif
