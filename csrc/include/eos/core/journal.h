/* The lock, journal and key of a multi-step operation (expand, convert, and any later one).
 *
 * Every operation keeps its files under one state root (Salt: pillar/config
 * eos:storage:state_dir, default /var/lib/eos), in <root>/<op>/:
 *   <key>.lock     flock'ed for the whole run: one run per object at a time;
 *   <key>.journal  what the run aims at and how far it got (its format is the operation's).
 * The key names the object the operation changes (a mount point, a device). It is readable
 * and collision-free: the object's name with unsafe bytes replaced, cut to
 * EOS_JOURNAL_KEY_READABLE bytes, then "-" and 16 hex digits of a 64-bit FNV-1a hash of the
 * whole name, so two long paths that share a prefix never share a journal. */
#ifndef EOS_JOURNAL_H
#define EOS_JOURNAL_H

#include <stddef.h>

#include "eos/core/err.h"

#define EOS_JOURNAL_KEY_READABLE 96
#define EOS_JOURNAL_KEY_MAX (EOS_JOURNAL_KEY_READABLE + 18)

struct eos_journal {
	char dir[EOS_PATH_MAX];       /* <root>/<op> */
	char key[EOS_JOURNAL_KEY_MAX];
	char path[EOS_PATH_MAX];      /* <dir>/<key>.journal */
	char lock[EOS_PATH_MAX];      /* <dir>/<key>.lock */
	int lock_fd;                  /* -1 when not held */
	long long lock_wait_ms;       /* how long the lock took */
};

/* The key of name (see above). Never fails: out must hold EOS_JOURNAL_KEY_MAX bytes. */
void eos_journal_key(const char *name, char out[EOS_JOURNAL_KEY_MAX]);

/* Fill dir, key, path and lock of j for operation op on the object name (hashed into the key
 * unless key_is_name: then name is used as the key as it is, for keys that are short and safe
 * already such as "dev-8-16"). -ENAMETOOLONG when root is too long. Locks nothing. */
int eos_journal_init(struct eos_journal *j, const char *root, const char *op, const char *name,
		     int key_is_name, struct eos_err *e);

/* Create dir (mode 0700) and take the lock. timeout_ms 0: fail at once with -EBUSY when another
 * run holds it; > 0: wait that long, then -ETIMEDOUT. what names the operation in the message. */
int eos_journal_lock(struct eos_journal *j, long timeout_ms, const char *what, struct eos_err *e);

/* Release the lock (the lock file stays: removing it would race with a waiter). */
void eos_journal_unlock(struct eos_journal *j);

/* A journal left where an older version kept it (legacy_path) moves to j->path, unless j->path
 * exists already. Call with the lock held. 1 moved, 0 nothing to move, -errno. */
int eos_journal_adopt(struct eos_journal *j, const char *legacy_path, struct eos_err *e);

/* Append one formatted line to the open journal fd (fdatasync when sync). A line longer than
 * EOS_JOURNAL_LINE_MAX is an error, never cut. */
#define EOS_JOURNAL_LINE_MAX 8192
int eos_journal_append(int fd, const char *path, int sync, struct eos_err *e, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Write a journal whole, in place, and (sync) make it durable with one fdatasync: the file is kept
 * from run to run and overwritten in whole zero-padded blocks (its text ends at the first NUL),
 * so that the fdatasync has no metadata to commit and only its first creation costs a
 * directory fsync too. A reader must find the writer's last line (e.g. "begin") and check
 * what the writer put there to tell a torn write (old and new blocks mixed by a crash during
 * this write) before trusting the rest. On success *fd_out is open at the end of the text for
 * appending (eos_journal_append). */
int eos_journal_write(const char *path, const char *data, size_t len, int sync, int *fd_out,
		      struct eos_err *e);

/* The journal at path opened for appending at the end of its text (*fd_out), or *fd_out = -1
 * when there is none. 0 or -errno. */
int eos_journal_open_end(const char *path, int *fd_out, struct eos_err *e);

/* The same line added to b instead (a journal written whole); path is for the message. */
struct eos_buf;
int eos_journal_add(struct eos_buf *b, const char *path, struct eos_err *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
