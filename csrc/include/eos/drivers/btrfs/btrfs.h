/* BTRFS: subvolumes and snapshots (libbtrfsutil), the compression property (the
 * btrfs.compression xattr) and allocation (BTRFS_IOC_FS_INFO / DEV_INFO / SPACE_INFO). */
#ifndef EOS_BTRFS_H
#define EOS_BTRFS_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/err.h"

struct eos_btrfs_subvol {
	uint64_t id;
	uint64_t parent_id;      /* 0 for the top level */
	uint64_t dir_id;
	uint64_t flags;          /* root item flags */
	uint64_t generation, ctransid, otransid;
	int read_only;
	char uuid[37];
	char parent_uuid[37];    /* "" when not a snapshot */
	char received_uuid[37];  /* "" when not received */
	int64_t otime, ctime;    /* seconds since the epoch */
	char *path;              /* relative to the top level (id 5); "" for the top level */
};

struct eos_btrfs_subvol_list {
	struct eos_btrfs_subvol *v;
	size_t n;
};

/* 0 when path is on a mounted BTRFS, -EINVAL with "not on a btrfs filesystem" otherwise
 * (or the stat/statfs error). */
int eos_btrfs_check(const char *path, struct eos_err *e);

/* Create the subvolume path (its parent must exist on a BTRFS; the last component must be a
 * plain name: not empty, ".", ".." or longer than 255 bytes). */
int eos_btrfs_subvol_create(const char *path, struct eos_err *e);

/* Delete the subvolume (or snapshot) at path; recursive also deletes subvolumes below it.
 * A path that is not a subvolume is refused with -EINVAL. */
int eos_btrfs_subvol_delete(const char *path, int recursive, struct eos_err *e);

/* Information about the subvolume at path (-EINVAL when path is not a subvolume).
 * The caller frees out->path with eos_btrfs_subvol_clear. */
int eos_btrfs_subvol_show(const char *path, struct eos_btrfs_subvol *out, struct eos_err *e);
void eos_btrfs_subvol_clear(struct eos_btrfs_subvol *s);

/* Every subvolume of the filesystem path is on (not the top level itself), pre-order.
 * Returns the count. */
int eos_btrfs_subvol_list(const char *path, struct eos_btrfs_subvol_list *out, struct eos_err *e);
void eos_btrfs_subvol_list_free(struct eos_btrfs_subvol_list *l);

/* Set / get the read-only flag of a subvolume. */
int eos_btrfs_subvol_set_read_only(const char *path, int read_only, struct eos_err *e);

/* Snapshot the subvolume source at dest (read_only: a read-only snapshot). */
int eos_btrfs_snapshot(const char *source, const char *dest, int read_only, struct eos_err *e);

/* Validate a compression value: "zstd", "zstd:1".."zstd:15", "zlib", "zlib:1".."zlib:9",
 * "lzo" or "none". -EINVAL quoting the input otherwise. */
int eos_btrfs_compression_check(const char *value, struct eos_err *e);

/* The btrfs.compression property of path into buf ("" when unset). */
int eos_btrfs_compression_get(const char *path, char *buf, size_t len, struct eos_err *e);

/* Set the btrfs.compression property ("none": never compress; NULL or "": remove the property
 * so that the mount option decides). Applies to data written afterwards; on a directory,
 * to files created in it afterwards. */
int eos_btrfs_compression_set(const char *path, const char *value, struct eos_err *e);

struct eos_btrfs_chunk_space {
	uint64_t flags;
	const char *type;      /* "data", "metadata", "system", "data+metadata", "globalreserve" */
	const char *profile;   /* "single", "dup", "raid1", ... */
	uint64_t total;        /* logical bytes allocated to this kind of chunk */
	uint64_t used;         /* logical bytes used in them */
	unsigned ratio;        /* raw bytes per logical byte (dup/raid1: 2) */
};

struct eos_btrfs_device {
	uint64_t devid;
	uint64_t size;         /* bytes of the device given to btrfs */
	uint64_t allocated;    /* raw bytes allocated to chunks on it */
	char path[1024];
};

struct eos_btrfs_usage {
	char fsid[37];
	uint64_t num_devices;
	uint32_t nodesize, sectorsize;
	uint64_t generation;
	struct eos_btrfs_chunk_space *spaces;
	size_t n_spaces;
	struct eos_btrfs_device *devices;
	size_t n_devices;
	/* Summary, as `btrfs filesystem usage` computes it. */
	uint64_t device_size, device_allocated, device_unallocated;
	uint64_t data_total, data_used, metadata_total, metadata_used, system_total, system_used;
	uint64_t free_estimated;  /* unused data space + unallocated / data ratio */
};

int eos_btrfs_usage(const char *path, struct eos_btrfs_usage *u, struct eos_err *e);

/* What the file data of one subvolume takes on disk, from its file extent items
 * (BTRFS_IOC_TREE_SEARCH, as compsize counts): each extent once however often it is
 * referenced; inline extents included, holes and preallocated space not. */
struct eos_btrfs_extent_stats {
	uint64_t disk_bytes;          /* on disk, after compression */
	uint64_t uncompressed_bytes;  /* the same extents before compression */
	uint64_t referenced_bytes;    /* what the inodes reference (shared extents counted per use;
				       * compsize counts per path, so hard links twice) */
	uint64_t compressed_disk_bytes;  /* part of disk_bytes in compressed extents */
	uint64_t extents, inline_extents;
};

/* For the subvolume that path is in. Needs CAP_SYS_ADMIN. */
int eos_btrfs_extent_stats(const char *path, struct eos_btrfs_extent_stats *s, struct eos_err *e);
void eos_btrfs_usage_free(struct eos_btrfs_usage *u);

#endif
