/* BTRFS library checks that need no device: input validation and refusals off btrfs.
 * Subvolumes, snapshots and usage on a real BTRFS are tested through the binding
 * (tests/functional/test_eos_btrfs.py). */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "eos/drivers/btrfs/btrfs.h"

void test_btrfs_compression_check(void)
{
	struct eos_err e;
	const char *good[] = {"zstd", "zstd:1", "zstd:15", "zlib", "zlib:9", "lzo", "none"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(eos_btrfs_compression_check(good[i], &e) == 0);
	const char *bad[] = {"", "zstd:0", "zstd:16", "zstd:", "zstd:3x", "zstd:-1", "zlib:10", "lzo:1",
			     "none:1", "gzip", "ZSTD", "zstd 3", "zstd;rm -rf /"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		eos_err_clear(&e);
		CHECK(eos_btrfs_compression_check(bad[i], &e) == -EINVAL);
		CHECK(bad[i][0] == '\0' || strstr(e.msg, bad[i]) != NULL);  /* the input is quoted */
	}
	CHECK(eos_btrfs_compression_check(NULL, &e) == -EINVAL);
}

void test_btrfs_refusals(void)
{
	struct eos_err e;
	struct eos_btrfs_subvol s;
	struct eos_btrfs_usage u;
	struct eos_btrfs_subvol_list l;
	char buf[32];

	/* /proc is never btrfs. */
	CHECK(eos_btrfs_check("/proc", &e) == -EINVAL && strstr(e.msg, "not on a btrfs") != NULL);
	CHECK(eos_btrfs_subvol_show("/proc", &s, &e) == -EINVAL);
	CHECK(eos_btrfs_usage("/proc", &u, &e) == -EINVAL && u.spaces == NULL);
	CHECK(eos_btrfs_subvol_list("/proc", &l, &e) == -EINVAL && l.v == NULL && l.n == 0);
	CHECK(eos_btrfs_compression_get("/proc", buf, sizeof(buf), &e) == -EINVAL);
	struct eos_btrfs_extent_stats x;
	CHECK(eos_btrfs_extent_stats("/proc", &x, &e) == -EINVAL && x.disk_bytes == 0);
	CHECK(eos_btrfs_subvol_create("/proc/eos-subvol", &e) == -EINVAL);
	CHECK(strstr(e.msg, "/proc/eos-subvol") != NULL);
	CHECK(eos_btrfs_check("/nonexistent-eos-path", &e) == -ENOENT);

	/* Names that do not name a new entry, refused before anything is touched. */
	CHECK(eos_btrfs_subvol_create("", &e) == -EINVAL);
	CHECK(eos_btrfs_subvol_create("/proc/..", &e) == -EINVAL && strstr(e.msg, "'..'") != NULL);
	CHECK(eos_btrfs_subvol_create("/proc/x/", &e) == -EINVAL);
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	CHECK(eos_btrfs_subvol_create(longname, &e) == -ENAMETOOLONG);
	CHECK(eos_btrfs_snapshot("/proc", "/proc/snap", 1, &e) == -EINVAL);
	CHECK(eos_btrfs_compression_set("/proc", "zstd:99", &e) == -EINVAL &&
	      strstr(e.msg, "zstd:99") != NULL);
}
