/* A parallel, exact disk usage walker (see eos/ops/walk.h).
 *
 * Every directory in flight is a node: its name, a pointer to its parent, its cumulative
 * sums and two counters. `pending` counts the node's own scan plus its child directories not
 * finished yet; when it drops to zero the node is complete: its sums go into the parent, it is
 * offered to the top-directories heap and freed. `fd_users` counts the node's own scan plus
 * its child directories not opened yet; when it drops to zero the directory fd is closed. So
 * memory and open fds follow the directories in flight, never the size of the tree.
 * Open fds are also capped (a quarter of RLIMIT_NOFILE): past the cap a directory does not keep
 * its fd for its children, which then reopen it component by component from the root (kept
 * open for the whole walk), checking its inode; that costs syscalls only in odd trees (deep
 * chains with a sibling directory at every level).
 *
 * Workers share one stack of directories to scan (LIFO keeps the walk depth-first, which keeps
 * the set of directories in flight small). A scan reads entries with getdents64 into a large
 * buffer and calls statx once per non-directory entry; a directory entry (d_type) is statx'ed
 * through its own fd once opened, so the normal cost is one statx per entry plus openat,
 * getdents64 and close per directory. Hard links: a set of inode numbers, only for non-directories
 * with nlink > 1 (the device is always the root's, since other filesystems are skipped). */
#include "eos/ops/walk.h"
#include "eos/core/fsutil.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DENTS_BUF (256 * 1024)
#define MAX_THREADS 64
#define DEFAULT_THREADS_PER_CPU 4   /* walks wait on metadata reads: more threads than CPUs */
#define DEFAULT_MAX_THREADS 16
#define DEFAULT_MAX_ERRORS 100
#define STX_MASK (STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_INO | STATX_BLOCKS | STATX_SIZE | \
		  STATX_MNT_ID)
#define STX_FLAGS (AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT)
#define OPEN_DIR (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

struct node {
	struct node *parent;
	struct node *next;             /* in the work stack */
	_Atomic uint64_t bytes, apparent, files;
	atomic_int pending;            /* own scan + child directories not finished */
	atomic_int fd_users;           /* own scan + child directories not opened */
	int fd;
	unsigned depth;
	uint64_t ino;
	bool fd_kept;                  /* fd stays open for the children (else they reopen it) */
	bool counted;                  /* a directory of this filesystem: counted and listed */
	size_t namelen;
	char name[];
};

struct heap {
	struct eos_walk_item *v;
	size_t n, cap, limit;
};

struct inoset {
	uint64_t *v;                   /* open addressing; 0 = empty slot */
	size_t cap, n;
	bool has_zero;
};

struct ctx {
	const char *root;              /* normalized root path */
	const char *prefix;            /* what children's paths start with ("" for "/") */
	size_t prefixlen;
	unsigned maxdepth;
	size_t max_errors;
	uint32_t dev_major, dev_minor;
	uint64_t mnt_id;
	bool have_mnt_id;
	struct statx root_st;
	struct node *root_node;
	atomic_int open_fds;           /* directory fds kept open (the root's included) */
	int fd_budget;

	pthread_mutex_t lock;          /* stack, active */
	pthread_cond_t cond;
	struct node *stack;
	unsigned active;

	pthread_mutex_t ino_lock;
	struct inoset inos;

	pthread_mutex_t res_lock;      /* dirs heap and errors */
	struct heap dirs;
	struct eos_walk_error *errors;
	size_t n_errors;
	uint64_t errors_total;

	atomic_int fatal;              /* -ENOMEM when something could not be allocated */
};

struct worker {
	struct ctx *c;
	pthread_t tid;
	bool started;
	char *buf;
	struct heap files;
	uint64_t nfiles, ndirs;
};

/* ---- top-N heaps (min-heap: the smallest kept item at v[0]) ---- */

static int item_less(const struct eos_walk_item *a, const struct eos_walk_item *b)
{
	if (a->bytes != b->bytes)
		return a->bytes < b->bytes;
	if (a->apparent != b->apparent)
		return a->apparent < b->apparent;
	return strcmp(a->path, b->path) > 0;
}

/* Could (bytes, apparent) enter the heap? With ties, an equal size may still win on the path
 * (used for directories, which are few); without, equal sizes are refused cheaply (files). */
static bool heap_may_take(const struct heap *h, uint64_t bytes, uint64_t apparent, bool ties)
{
	if (h->limit == 0)
		return false;
	if (h->n < h->limit)
		return true;
	const struct eos_walk_item *m = &h->v[0];
	if (bytes != m->bytes)
		return bytes > m->bytes;
	if (apparent != m->apparent)
		return apparent > m->apparent;
	return ties;
}

static void sift_down(struct heap *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, s = i;
		if (l < h->n && item_less(&h->v[l], &h->v[s]))
			s = l;
		if (r < h->n && item_less(&h->v[r], &h->v[s]))
			s = r;
		if (s == i)
			return;
		struct eos_walk_item t = h->v[i];
		h->v[i] = h->v[s];
		h->v[s] = t;
		i = s;
	}
}

/* Takes ownership of it->path (freed when refused). 0 or -ENOMEM. */
static int heap_offer(struct heap *h, struct eos_walk_item *it)
{
	if (h->n < h->limit) {
		if (h->n == h->cap) {
			size_t cap = h->cap ? h->cap * 2 : 16;
			if (cap > h->limit)
				cap = h->limit;
			struct eos_walk_item *v = realloc(h->v, cap * sizeof(*v));
			if (!v) {
				free(it->path);
				return -ENOMEM;
			}
			h->v = v;
			h->cap = cap;
		}
		size_t i = h->n++;
		h->v[i] = *it;
		while (i > 0) {
			size_t p = (i - 1) / 2;
			if (!item_less(&h->v[i], &h->v[p]))
				break;
			struct eos_walk_item t = h->v[i];
			h->v[i] = h->v[p];
			h->v[p] = t;
			i = p;
		}
		return 0;
	}
	if (h->limit == 0 || !item_less(&h->v[0], it)) {
		free(it->path);
		return 0;
	}
	free(h->v[0].path);
	h->v[0] = *it;
	sift_down(h, 0);
	return 0;
}

static void heap_free(struct heap *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].path);
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

static int item_cmp_desc(const void *a, const void *b)
{
	const struct eos_walk_item *x = a, *y = b;
	if (item_less(x, y))
		return 1;
	if (item_less(y, x))
		return -1;
	return 0;
}

/* ---- the set of hard-linked inodes already counted ---- */

static size_t ino_hash(uint64_t ino, size_t cap)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1);
}

/* 1 when added (first time seen), 0 when already there, -ENOMEM. */
static int inoset_add(struct inoset *s, uint64_t ino)
{
	if (ino == 0) {
		bool was = s->has_zero;
		s->has_zero = true;
		return !was;
	}
	if ((s->n + 1) * 4 > s->cap * 3) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint64_t *v = calloc(cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->v[i])
				continue;
			size_t j = ino_hash(s->v[i], cap);
			while (v[j])
				j = (j + 1) & (cap - 1);
			v[j] = s->v[i];
		}
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	size_t j = ino_hash(ino, s->cap);
	while (s->v[j]) {
		if (s->v[j] == ino)
			return 0;
		j = (j + 1) & (s->cap - 1);
	}
	s->v[j] = ino;
	s->n++;
	return 1;
}

/* ---- paths, errors ---- */

/* The path of node n (and of leaf inside it, when given); NULL when out of memory. */
static char *node_path(const struct ctx *c, const struct node *n, const char *leaf)
{
	if (!n->parent && !leaf)
		return strdup(c->root);
	size_t leaflen = leaf ? strlen(leaf) : 0;
	size_t len = c->prefixlen + (leaf ? 1 + leaflen : 0);
	for (const struct node *p = n; p->parent; p = p->parent)
		len += 1 + p->namelen;
	char *s = malloc(len + 1);
	if (!s)
		return NULL;
	char *end = s + len;
	*end = '\0';
	if (leaf) {
		end -= leaflen;
		memcpy(end, leaf, leaflen);
		*--end = '/';
	}
	for (const struct node *p = n; p->parent; p = p->parent) {
		end -= p->namelen;
		memcpy(end, p->name, p->namelen);
		*--end = '/';
	}
	memcpy(s, c->prefix, c->prefixlen);
	return s;
}

static void set_fatal(struct ctx *c)
{
	atomic_store(&c->fatal, -ENOMEM);
}

/* An error below the root: kept (up to max_errors) and counted; the walk carries on. */
static void record_error(struct ctx *c, const struct node *n, const char *leaf, int code,
			 const char *call)
{
	pthread_mutex_lock(&c->res_lock);
	c->errors_total++;
	if (c->n_errors < c->max_errors) {
		if (!c->errors) {
			c->errors = calloc(c->max_errors, sizeof(*c->errors));
			if (!c->errors)
				set_fatal(c);
		}
		if (c->errors) {
			char sbuf[256];
			const char *s = strerror_r(code, sbuf, sizeof(sbuf));
			struct eos_walk_error *er = &c->errors[c->n_errors];
			er->path = node_path(c, n, leaf);
			er->code = code;
			if (asprintf(&er->msg, "%s: %s", call, s) < 0)
				er->msg = NULL;
			if (er->path && er->msg) {
				c->n_errors++;
			} else {
				free(er->path);
				free(er->msg);
				set_fatal(c);
			}
		}
	}
	pthread_mutex_unlock(&c->res_lock);
}

/* ---- the walk ---- */

static bool same_fs(const struct ctx *c, const struct statx *st)
{
	if (st->stx_dev_major != c->dev_major || st->stx_dev_minor != c->dev_minor)
		return false;
	return !c->have_mnt_id || !(st->stx_mask & STATX_MNT_ID) || st->stx_mnt_id == c->mnt_id;
}

static void push(struct ctx *c, struct node *n)
{
	pthread_mutex_lock(&c->lock);
	n->next = c->stack;
	c->stack = n;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void release_fd(struct ctx *c, struct node *n)
{
	if (atomic_fetch_sub(&n->fd_users, 1) == 1) {
		close(n->fd);
		n->fd = -1;
		atomic_fetch_sub(&c->open_fds, 1);
	}
}

/* Reopen directory p (whose fd was not kept) from the root, one component at a time with
 * O_NOFOLLOW, and check it is still the same inode. A new fd, or -errno. */
static int reopen(struct ctx *c, const struct node *p)
{
	const struct node **chain = malloc(sizeof(*chain) * (p->depth + 1));
	if (!chain)
		return -ENOMEM;
	size_t k = 0;
	for (const struct node *q = p; q->parent; q = q->parent)
		chain[k++] = q;
	int fd = c->root_node->fd, ret = 0;
	while (k-- > 0) {
		int nfd = openat(fd, chain[k]->name, OPEN_DIR);
		int err = errno;
		if (fd != c->root_node->fd)
			close(fd);
		if (nfd < 0) {
			ret = -err;
			goto out;
		}
		fd = nfd;
	}
	struct statx st;
	if (statx(fd, "", AT_EMPTY_PATH | STX_FLAGS, STATX_INO, &st) < 0 || st.stx_ino != p->ino) {
		close(fd);
		ret = -ESTALE;
		goto out;
	}
	ret = fd;
out:
	free(chain);
	return ret;
}

static struct node *node_new(struct node *parent, const char *name, size_t namelen)
{
	struct node *n = calloc(1, sizeof(*n) + namelen + 1);
	if (!n)
		return NULL;
	n->parent = parent;
	n->depth = parent ? parent->depth + 1 : 0;
	atomic_init(&n->pending, 1);
	atomic_init(&n->fd_users, 1);
	atomic_init(&n->bytes, 0);
	atomic_init(&n->apparent, 0);
	atomic_init(&n->files, 0);
	n->fd = -1;
	n->namelen = namelen;
	memcpy(n->name, name, namelen);
	return n;
}

static void push_child(struct worker *w, struct node *n, const char *name)
{
	struct node *ch = node_new(n, name, strlen(name));
	if (!ch) {
		set_fatal(w->c);
		return;
	}
	atomic_fetch_add(&n->pending, 1);
	if (n->fd_kept)
		atomic_fetch_add(&n->fd_users, 1);
	push(w->c, ch);
}

static void offer_dir(struct ctx *c, struct node *n)
{
	pthread_mutex_lock(&c->res_lock);
	uint64_t bytes = atomic_load(&n->bytes), apparent = atomic_load(&n->apparent);
	if (heap_may_take(&c->dirs, bytes, apparent, true)) {
		struct eos_walk_item it = {node_path(c, n, NULL), bytes, apparent,
					   atomic_load(&n->files), n->depth};
		if (!it.path || heap_offer(&c->dirs, &it) < 0)
			set_fatal(c);
	}
	pthread_mutex_unlock(&c->res_lock);
}

/* Drop one pending count of n; complete it (and the ancestors it completes) when it was the
 * last. The root is never freed here: the caller reads its sums. */
static void finish(struct ctx *c, struct node *n)
{
	while (atomic_fetch_sub(&n->pending, 1) == 1) {
		if (n->counted && n->depth <= c->maxdepth)
			offer_dir(c, n);
		struct node *p = n->parent;
		if (!p)
			return;
		atomic_fetch_add(&p->bytes, atomic_load(&n->bytes));
		atomic_fetch_add(&p->apparent, atomic_load(&n->apparent));
		atomic_fetch_add(&p->files, atomic_load(&n->files));
		free(n);
		n = p;
	}
}

/* Hard-linked non-directories count once: true the first time an inode is seen. */
static bool count_once(struct ctx *c, const struct statx *st)
{
	if (st->stx_nlink <= 1)
		return true;
	pthread_mutex_lock(&c->ino_lock);
	int r = inoset_add(&c->inos, st->stx_ino);
	pthread_mutex_unlock(&c->ino_lock);
	if (r < 0)
		set_fatal(c);
	return r > 0;
}

static void count_dir_self(struct worker *w, struct node *n, const struct statx *st)
{
	atomic_fetch_add(&n->bytes, st->stx_blocks * 512);
	atomic_fetch_add(&n->apparent, st->stx_size);
	n->counted = true;
	w->ndirs++;
}

/* The parent's fd for opening child n: p->fd (held for us) or a reopened one. */
static int parent_fd(struct ctx *c, struct node *n)
{
	struct node *p = n->parent;
	if (p->fd_kept)
		return p->fd;
	int fd = reopen(c, p);
	if (fd < 0) {
		if (fd == -ENOMEM)
			set_fatal(c);
		else
			record_error(c, n, NULL, -fd, "openat (reopening its parent directory)");
	}
	return fd;
}

static void parent_done(struct ctx *c, struct node *n, int pfd)
{
	if (n->parent->fd_kept)
		release_fd(c, n->parent);
	else
		close(pfd);
}

/* Open child directory n of p. 0 with n->fd set and its own blocks counted, or -1 when there
 * is nothing to scan (error recorded, other filesystem, race). */
static int open_child(struct worker *w, struct node *n)
{
	struct ctx *c = w->c;
	struct statx st;
	int pfd = parent_fd(c, n);
	if (pfd < 0)
		return -1;
	int fd = openat(pfd, n->name, OPEN_DIR);
	if (fd < 0) {
		int err = errno;
		/* Like du: an unreadable directory still counts its own blocks. */
		int sr = statx(pfd, n->name, STX_FLAGS, STX_MASK, &st);
		int serr = errno;
		parent_done(c, n, pfd);
		if (sr < 0) {
			record_error(c, n, NULL, serr, "statx");
		} else if (!same_fs(c, &st)) {
			/* another filesystem: not counted, like du -x */
		} else if (S_ISDIR(st.stx_mode)) {
			count_dir_self(w, n, &st);
			record_error(c, n, NULL, err, "openat");
		} else {
			/* Replaced by a non-directory since getdents64: count it as one. */
			if (count_once(c, &st)) {
				atomic_fetch_add(&n->bytes, st.stx_blocks * 512);
				atomic_fetch_add(&n->apparent, st.stx_size);
				atomic_fetch_add(&n->files, 1);
				w->nfiles++;
			}
		}
		return -1;
	}
	int sr = statx(fd, "", AT_EMPTY_PATH | STX_FLAGS, STX_MASK, &st);
	int serr = errno;
	parent_done(c, n, pfd);
	if (sr < 0) {
		record_error(c, n, NULL, serr, "statx");
		close(fd);
		return -1;
	}
	if (!same_fs(c, &st)) {
		close(fd);
		return -1;
	}
	n->fd = fd;
	n->ino = st.stx_ino;
	atomic_fetch_add(&c->open_fds, 1);
	count_dir_self(w, n, &st);
	return 0;
}

static void scan(struct worker *w, struct node *n)
{
	struct ctx *c = w->c;
	uint64_t lb = 0, la = 0, lf = 0;
	for (;;) {
		long r = syscall(SYS_getdents64, n->fd, w->buf, DENTS_BUF);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			record_error(c, n, NULL, errno, "getdents64");
			break;
		}
		if (r == 0)
			break;
		for (long off = 0; off < r;) {
			struct eos_dirent64 *d = (struct eos_dirent64 *)(w->buf + off);
			off += d->d_reclen;
			const char *name = d->d_name;
			if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
				continue;
			if (d->d_type == DT_DIR) {
				push_child(w, n, name);
				continue;
			}
			struct statx st;
			if (statx(n->fd, name, STX_FLAGS, STX_MASK, &st) < 0) {
				record_error(c, n, name, errno, "statx");
				continue;
			}
			if (S_ISDIR(st.stx_mode)) {          /* DT_UNKNOWN */
				push_child(w, n, name);
				continue;
			}
			if (!same_fs(c, &st))                /* a file bind-mounted from elsewhere */
				continue;
			if (!count_once(c, &st))
				continue;
			uint64_t b = st.stx_blocks * 512;
			lb += b;
			la += st.stx_size;
			lf++;
			if (heap_may_take(&w->files, b, st.stx_size, false)) {
				struct eos_walk_item it = {node_path(c, n, name), b, st.stx_size, 0,
							   n->depth + 1};
				if (!it.path || heap_offer(&w->files, &it) < 0)
					set_fatal(c);
			}
		}
	}
	atomic_fetch_add(&n->bytes, lb);
	atomic_fetch_add(&n->apparent, la);
	atomic_fetch_add(&n->files, lf);
	w->nfiles += lf;
}

static void visit(struct worker *w, struct node *n)
{
	struct ctx *c = w->c;
	if (!n->parent) {
		count_dir_self(w, n, &c->root_st);
	} else if (open_child(w, n) < 0) {
		finish(c, n);
		return;
	}
	/* Decided before any child is pushed; children read it after popping them (the stack
	 * mutex orders it). */
	n->fd_kept = !n->parent || atomic_load(&c->open_fds) <= c->fd_budget;
	scan(w, n);
	release_fd(c, n);
	finish(c, n);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct ctx *c = w->c;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->stack && c->active > 0)
			pthread_cond_wait(&c->cond, &c->lock);
		if (!c->stack) {
			pthread_cond_broadcast(&c->cond);
			break;
		}
		struct node *n = c->stack;
		c->stack = n->next;
		c->active++;
		pthread_mutex_unlock(&c->lock);
		visit(w, n);
		pthread_mutex_lock(&c->lock);
		c->active--;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static unsigned thread_count(const struct eos_walk_opts *o)
{
	if (o->threads)
		return o->threads > MAX_THREADS ? MAX_THREADS : o->threads;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	n *= DEFAULT_THREADS_PER_CPU;
	return n > DEFAULT_MAX_THREADS ? DEFAULT_MAX_THREADS : (unsigned)n;
}

/* Open and check the root; fills c->root_st and the filesystem identity. Returns the fd. */
static int open_root(struct ctx *c, struct eos_err *e)
{
	const char *path = c->root;
	struct statx st;
	if (statx(AT_FDCWD, path, STX_FLAGS, STATX_TYPE, &st) < 0)
		return eos_fail_sys(e, errno, path, "statx('%s')", path);
	if (S_ISLNK(st.stx_mode))
		return eos_fail(e, ELOOP, path, "'%s' is a symbolic link; top_consumers does not follow "
				"symlinks (give the directory it points to)", path);
	if (!S_ISDIR(st.stx_mode))
		return eos_fail(e, ENOTDIR, path, "'%s' is not a directory", path);
	int fd = open(path, OPEN_DIR);
	if (fd < 0)
		return eos_fail_sys(e, errno, path, "open('%s')", path);
	if (statx(fd, "", AT_EMPTY_PATH | STX_FLAGS, STX_MASK, &c->root_st) < 0) {
		int err = errno;
		close(fd);
		return eos_fail_sys(e, err, path, "statx('%s')", path);
	}
	c->dev_major = c->root_st.stx_dev_major;
	c->dev_minor = c->root_st.stx_dev_minor;
	c->have_mnt_id = (c->root_st.stx_mask & STATX_MNT_ID) != 0;
	c->mnt_id = c->root_st.stx_mnt_id;
	return fd;
}

/* Run the walk: worker 0 on the calling thread, the others on threads of their own. */
static void run_workers(struct worker *ws, unsigned nthreads)
{
	/* Workers get no signals: they belong to the thread that called us. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 1; i < nthreads; i++)
		ws[i].started = pthread_create(&ws[i].tid, NULL, work, &ws[i]) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	work(&ws[0]);
	for (unsigned i = 1; i < nthreads; i++)
		if (ws[i].started)
			pthread_join(ws[i].tid, NULL);
}

/* The workers' counts and largest files merged into r, the largest directories moved to it.
 * -ENOMEM when the walk or the merge ran out of memory. */
static int collect(struct ctx *c, struct worker *ws, unsigned nthreads, const struct eos_walk_opts *o,
		   const struct node *root, struct eos_walk_result *r)
{
	if (atomic_load(&c->fatal))
		return -ENOMEM;
	r->bytes = atomic_load(&root->bytes);
	r->apparent = atomic_load(&root->apparent);
	struct heap files = {.limit = o->limit};
	for (unsigned i = 0; i < nthreads; i++) {
		r->files += ws[i].nfiles;
		r->dirs += ws[i].ndirs;
		for (size_t j = 0; j < ws[i].files.n; j++) {
			if (heap_offer(&files, &ws[i].files.v[j]) < 0)
				set_fatal(c);
		}
		ws[i].files.n = 0;     /* the paths now belong to files */
	}
	if (atomic_load(&c->fatal)) {
		heap_free(&files);
		return -ENOMEM;
	}
	if (files.n > 1)
		qsort(files.v, files.n, sizeof(*files.v), item_cmp_desc);
	r->top_files = files.v;
	r->n_top_files = files.n;
	if (c->dirs.n > 1)
		qsort(c->dirs.v, c->dirs.n, sizeof(*c->dirs.v), item_cmp_desc);
	r->top_dirs = c->dirs.v;
	r->n_top_dirs = c->dirs.n;
	c->dirs.v = NULL;
	c->dirs.n = 0;
	r->errors = c->errors;
	r->n_errors = c->n_errors;
	r->errors_total = c->errors_total;
	c->errors = NULL;
	c->n_errors = 0;
	return 0;
}

static void ctx_init(struct ctx *c, const char *rootpath, const struct eos_walk_opts *o)
{
	c->root = rootpath;
	c->prefix = strcmp(rootpath, "/") == 0 ? "" : rootpath;
	c->prefixlen = strlen(c->prefix);
	c->maxdepth = o->depth;
	c->max_errors = o->max_errors ? o->max_errors : DEFAULT_MAX_ERRORS;
	c->dirs.limit = o->limit;
	atomic_init(&c->fatal, 0);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	pthread_mutex_init(&c->ino_lock, NULL);
	pthread_mutex_init(&c->res_lock, NULL);
	struct rlimit rl;
	rlim_t soft = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
	c->fd_budget = soft == RLIM_INFINITY || soft / 4 > 4096 ? 4096 : soft / 4 < 8 ? 8 : (int)(soft / 4);
}

static void ctx_free(struct ctx *c, struct worker *ws, unsigned nthreads)
{
	for (size_t i = 0; i < c->n_errors; i++) {
		free(c->errors[i].path);
		free(c->errors[i].msg);
	}
	free(c->errors);
	heap_free(&c->dirs);
	free(c->inos.v);
	for (unsigned i = 0; ws && i < nthreads; i++) {
		heap_free(&ws[i].files);
		free(ws[i].buf);
	}
	free(ws);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->ino_lock);
	pthread_mutex_destroy(&c->res_lock);
}

/* The root node (holding fd for the whole walk) and the workers; NULL when out of memory. */
static struct worker *walk_alloc(struct ctx *c, int fd, unsigned nthreads, const struct eos_walk_opts *o,
				 struct node **rootp)
{
	struct node *root = node_new(NULL, "", 0);
	struct worker *ws = calloc(nthreads, sizeof(*ws));
	int ok = root && ws;
	for (unsigned i = 0; ok && i < nthreads; i++) {
		ws[i].c = c;
		ws[i].files.limit = o->limit;
		ws[i].buf = malloc(DENTS_BUF);
		ok = ws[i].buf != NULL;
	}
	if (!ok) {
		for (unsigned i = 0; ws && i < nthreads; i++)
			free(ws[i].buf);
		free(ws);
		free(root);
		*rootp = NULL;
		return NULL;
	}
	*rootp = root;
	root->fd = fd;
	root->ino = c->root_st.stx_ino;
	atomic_fetch_add(&root->fd_users, 1);     /* kept for the whole walk: reopen() starts there */
	atomic_init(&c->open_fds, 1);
	c->root_node = root;
	return ws;
}

int eos_walk_top_consumers(const char *path, const struct eos_walk_opts *o,
			   struct eos_walk_result *r, struct eos_err *e)
{
	struct ctx c = {0};
	struct worker *ws = NULL;
	struct node *root = NULL;
	unsigned nthreads = thread_count(o);
	int ret = 0;

	memset(r, 0, sizeof(*r));
	if (!path || !*path)
		return eos_fail(e, EINVAL, "", "top_consumers: the path is empty");
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	char *rootpath = strndup(path, len);
	if (!rootpath)
		return eos_fail_sys(e, ENOMEM, path, "strndup");
	ctx_init(&c, rootpath, o);
	int fd = open_root(&c, e);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	ws = walk_alloc(&c, fd, nthreads, o, &root);
	if (!ws) {
		close(fd);
		ret = eos_fail_sys(e, ENOMEM, path, "top_consumers: allocating the walk");
		goto out;
	}
	push(&c, root);
	run_workers(ws, nthreads);
	release_fd(&c, root);
	if (collect(&c, ws, nthreads, o, root, r) < 0)
		ret = eos_fail_sys(e, ENOMEM, path, "top_consumers: walking '%s'", path);
out:
	if (ret)
		eos_walk_result_free(r);
	ctx_free(&c, ws, nthreads);
	free(root);
	free(rootpath);
	return ret;
}

void eos_walk_result_free(struct eos_walk_result *r)
{
	for (size_t i = 0; i < r->n_top_dirs; i++)
		free(r->top_dirs[i].path);
	for (size_t i = 0; i < r->n_top_files; i++)
		free(r->top_files[i].path);
	for (size_t i = 0; i < r->n_errors; i++) {
		free(r->errors[i].path);
		free(r->errors[i].msg);
	}
	free(r->top_dirs);
	free(r->top_files);
	free(r->errors);
	memset(r, 0, sizeof(*r));
}
