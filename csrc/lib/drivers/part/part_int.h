/* Private to the partition driver: the libfdisk context of a disk. */
#ifndef EOS_PART_INT_H
#define EOS_PART_INT_H

#include <libfdisk.h>
#include <stdint.h>

#include "eos/drivers/part.h"

/* A context on disk's GPT or MBR table: read-only when fd < 0, else through fd (read-write,
 * left open by part_close). Other tables, hybrid GPTs and no table are refused. */
int part_open(const char *disk, int fd, struct fdisk_context **out, struct eos_err *e);
void part_close(struct fdisk_context *cxt);
int part_entry(struct fdisk_context *cxt, unsigned partno, uint64_t *start, uint64_t *size);
uint64_t part_last_usable(struct fdisk_context *cxt, uint64_t sectors, uint64_t sector, int *capped);

#endif
