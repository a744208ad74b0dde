#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "check.h"
#include "eos/drivers/mounts.h"

/* Escapes as the kernel writes them (space \040, tab \011, newline \012, backslash \134),
 * optional fields, a non-UTF-8 byte, an empty super-options field and a garbage line. */
static const char *MOUNTINFO =
	"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n"
	"40 27 7:0 / /mnt/a\\040b rw,relatime shared:12 master:3 - xfs /dev/loop0 rw,attr2\n"
	"41 27 7:1 / /mnt/new\\012line\\011tab rw - btrfs /dev/loop1 rw,space_cache=v2\n"
	"42 27 7:2 /sub /mnt/back\\134slash\\377 ro - ext4 /dev/loop\\0402 ro\n"
	"43 27 0:50 / /mnt/a\\040b/in rw - tmpfs tmp\\040fs \n"
	"this line is not mountinfo\n"
	"44 27 7:3 / /mnt/a\\040b rw - xfs /dev/loop3 rw\n";

void test_mounts(void)
{
	struct eos_err e;
	struct eos_mount_list l;
	char path[] = "/tmp/eos-mountinfo-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, MOUNTINFO, strlen(MOUNTINFO)) == (ssize_t)strlen(MOUNTINFO));
	close(fd);

	CHECK(eos_mounts_read(path, &l, &e) == 0);
	CHECK(l.n == 6);
	if (l.n == 6) {
		CHECK(l.v[0].id == 27 && l.v[0].parent_id == 1 && l.v[0].major == 254 && l.v[0].minor == 0);
		CHECK(strcmp(l.v[0].target, "/") == 0 && strcmp(l.v[0].source, "/dev/vda") == 0);
		CHECK(strcmp(l.v[1].target, "/mnt/a b") == 0 && strcmp(l.v[1].fstype, "xfs") == 0);
		CHECK(strcmp(l.v[1].options, "rw,relatime") == 0 && strcmp(l.v[1].super_options, "rw,attr2") == 0);
		CHECK(strcmp(l.v[2].target, "/mnt/new\nline\ttab") == 0);
		CHECK(strcmp(l.v[3].target, "/mnt/back\\slash\xff") == 0 && strcmp(l.v[3].root, "/sub") == 0);
		CHECK(strcmp(l.v[3].source, "/dev/loop 2") == 0);
		CHECK(strcmp(l.v[4].source, "tmp fs") == 0 && strcmp(l.v[4].super_options, "") == 0);
		CHECK(l.v[5].id == 44);
	}
	/* eos_mounts_find needs real paths: "/" resolves to the root entry. */
	char canon[4096];
	const struct eos_mount *m = eos_mounts_find(&l, "/", canon, sizeof(canon), &e);
	CHECK(m && m->id == 27 && strcmp(canon, "/") == 0);
	CHECK(eos_mounts_find(&l, "/nonexistent-eos-dir/x", canon, sizeof(canon), &e) == NULL);
	CHECK(e.code == ENOENT && strcmp(e.path, "/nonexistent-eos-dir/x") == 0);
	eos_mounts_free(&l);
	CHECK(l.n == 0 && l.v == NULL);

	/* A file with no mountinfo lines at all is an empty list, a missing file an error. */
	unlink(path);
	CHECK(eos_mounts_read(path, &l, &e) == -ENOENT && strcmp(e.path, path) == 0);

	/* The live table has "/" and usage agrees with statvfs. */
	CHECK(eos_mounts_read(NULL, &l, &e) == 0 && l.n > 0);
	int has_root = 0;
	for (size_t i = 0; i < l.n; i++)
		has_root |= strcmp(l.v[i].target, "/") == 0;
	CHECK(has_root);
	eos_mounts_free(&l);

	struct eos_usage u;
	struct statvfs s;
	CHECK(eos_usage_get("/", &u, &e) == 0 && statvfs("/", &s) == 0);
	CHECK(u.size == (uint64_t)s.f_blocks * s.f_frsize && u.files == s.f_files);
	CHECK(u.used + u.free == u.size && u.avail <= u.free && u.files_used + u.files_free == u.files);
	CHECK(eos_usage_get("/nonexistent-eos-dir", &u, &e) == -ENOENT);
	CHECK(strcmp(e.path, "/nonexistent-eos-dir") == 0 && strstr(e.msg, "statvfs") != NULL);
	CHECK(eos_fstype_is_virtual("proc") && !eos_fstype_is_virtual("tmpfs") && !eos_fstype_is_virtual("xfs"));
}

/* Parsing mountinfo text others chose (mount points, sources): escapes decoded, malformed lines
 * skipped, a truncated escape kept as it is, an empty text an empty list. */
void test_mounts_parse(void)
{
	struct eos_err e;
	struct eos_mount_list l;
	char text[] = "171 151 0:40 / /tmp/a\\040b rw,relatime - tmpfs my\\040src rw\n"
		      "garbage line\n"
		      "172 151 0:41 / /x\\13 rw - tmpfs none\n"
		      "173 151 x:y / /bad rw - tmpfs none rw\n"
		      "174 151 0:42 / /only-dash rw -\n";
	CHECK(eos_mounts_parse(text, "test", &l, &e) == 0 && l.n == 2);
	CHECK(l.n == 2 && strcmp(l.v[0].target, "/tmp/a b") == 0 && strcmp(l.v[0].source, "my src") == 0);
	CHECK(l.n == 2 && strcmp(l.v[1].target, "/x\\13") == 0 && strcmp(l.v[1].super_options, "") == 0);
	CHECK(eos_mounts_at(&l, "/tmp/a b") == &l.v[0]);
	eos_mounts_free(&l);
	char empty[] = "";
	CHECK(eos_mounts_parse(empty, "test", &l, &e) == 0 && l.n == 0);
	CHECK(eos_mounts_parse(NULL, "test", &l, &e) == 0 && l.n == 0);
}
