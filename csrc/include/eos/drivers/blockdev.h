/* Inventory of block devices from sysfs (/sys/class/block): one openat per attribute, no tools. */
#ifndef EOS_BLOCKDEV_H
#define EOS_BLOCKDEV_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

struct eos_blockdev {
	char *name;             /* "loop0", "vda1" */
	char *path;             /* "/dev/" name (with '!' turned into '/', as the kernel names nodes) */
	unsigned major, minor;
	uint64_t size;          /* bytes (sysfs "size" is in 512-byte sectors, always) */
	int rotational;         /* queue/rotational; a partition reports its disk's */
	int read_only;          /* ro */
	int removable;          /* removable; a partition reports its disk's */
	const char *kind;       /* static: "disk", "partition", "loop", "dm", "md", "zram", "ram",
				 * "nbd", "rom" */
	int partition;          /* partition number, 0 when not a partition */
	char *parent;           /* the disk a partition belongs to, else NULL */
	char *backing_file;     /* loop/backing_file of an attached loop device, else NULL */
	char *dm_name;          /* dm/name of a device-mapper device, else NULL */
	char **holders;         /* names under holders/ (devices built on this one) */
	size_t n_holders;
	char **slaves;          /* names under slaves/ (devices this one is built on) */
	size_t n_slaves;
};

struct eos_blockdev_list {
	struct eos_blockdev *v;
	size_t n;
};

/* Scan classdir (NULL: /sys/class/block). Returns the number of devices, sorted by name, or
 * -errno. A device that vanishes during the scan is left out, not an error. */
int eos_blockdev_scan(const char *classdir, struct eos_blockdev_list *out, struct eos_err *e);
void eos_blockdev_list_free(struct eos_blockdev_list *l);

/* The device with this name, or NULL. */
const struct eos_blockdev *eos_blockdev_find(const struct eos_blockdev_list *l, const char *name);
/* The device with this major:minor, or NULL. */
const struct eos_blockdev *eos_blockdev_find_devno(const struct eos_blockdev_list *l,
						   unsigned major, unsigned minor);

#endif
