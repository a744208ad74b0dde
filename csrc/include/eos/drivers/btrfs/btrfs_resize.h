/* BTRFS: BTRFS_IOC_RESIZE per member device (eos/btrfs_ioctl.h lists the members). */
#ifndef EOS_BTRFS_RESIZE_H
#define EOS_BTRFS_RESIZE_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

/* Resize member devid to bytes (0: "devid:max"). */
int eos_btrfs_resize(const char *mountpoint, uint64_t devid, uint64_t bytes, struct eos_err *e);

#endif
