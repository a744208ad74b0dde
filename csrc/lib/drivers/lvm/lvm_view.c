/* lvm's view of the devices (see lvm_view.h). The filter follows lvm's regex filter
 * (lib/filters/filter-regex.c): a device passes a list when, for one of its names, the first
 * pattern that matches is "a", or when no pattern matches any of its names; it is shown when it
 * passes global_filter and filter. lvm's names for a device are its node and the links to it
 * under /dev (no udev database here: obtain_device_list_from_udev changes nothing). */
#include "eos/drivers/lvm/lvm_view.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "eos/core/buf.h"
#include "eos/drivers/lvm/lvm_meta.h"

void eos_lvm_view_free(struct eos_lvm_view *v)
{
	for (size_t i = 0; i < v->n; i++)
		regfree(&v->re[i]);
	v->n = 0;
}

/* Only what lvm's own regex engine and POSIX ERE read the same way: no intervals, no
 * backslash classes (an escaped punctuation mark is fine). */
static int regex_portable(const char *s)
{
	for (; *s; s++) {
		if (*s == '{' || *s == '}')
			return 0;
		if (*s == '\\' && !(s[1] && strchr(".^$|()[]*+?/\\-", s[1])))
			return 0;
		if (*s == '\\')
			s++;
	}
	return 1;
}

/* One "a|regex|" pattern: lvm takes the character after a/r as the delimiter, or its closing
 * bracket for ( [ {. */
static int add_pattern(struct eos_lvm_view *v, const char *pat, unsigned char list)
{
	if (v->n >= EOS_LVM_VIEW_MAX || (pat[0] != 'a' && pat[0] != 'r') || !pat[1])
		return 0;
	char open = pat[1], close = open == '(' ? ')' : open == '[' ? ']' : open == '{' ? '}' : open;
	const char *body = pat + 2, *end = strrchr(body, close);
	if (!end || end[1])
		return 0;
	char re[EOS_LVM_META_STR];
	snprintf(re, sizeof(re), "%.*s", (int)(end - body), body);
	if (!regex_portable(re) || regcomp(&v->re[v->n], re, REG_EXTENDED | REG_NOSUB))
		return 0;
	v->accept[v->n] = pat[0] == 'a';
	v->list[v->n++] = list;
	return 1;
}

static int add_list(struct eos_lvm_view *v, const struct eos_lvm_node *n, unsigned char list)
{
	if (n->type != EOS_LVM_META_LIST)
		return 0;
	for (const struct eos_lvm_node *i = n->child; i; i = i->next)
		if (i->type != EOS_LVM_META_STR_T || !add_pattern(v, i->str, list))
			return 0;
	return 1;
}

/* A setting of the devices section eos can honour: 1, or 0. *devicesfile: use_devicesfile. */
static int devices_key(struct eos_lvm_view *v, const struct eos_lvm_node *n, int *devicesfile)
{
	if (strcmp(n->key, "filter") == 0)
		return add_list(v, n, 1);
	if (strcmp(n->key, "global_filter") == 0)
		return add_list(v, n, 0);
	if (strcmp(n->key, "use_devicesfile") == 0 && n->type == EOS_LVM_META_INT) {
		*devicesfile = n->num != 0;
		return 1;
	}
	/* Without a udev database lvm lists /dev itself either way. */
	return strcmp(n->key, "obtain_device_list_from_udev") == 0 && n->type == EOS_LVM_META_INT &&
	       access("/run/udev/data", F_OK) != 0;
}

/* One configuration file: 1 when every setting that decides what lvm sees is one eos
 * honours (added to v), else 0. A missing file sets nothing. */
static int load_file(struct eos_lvm_view *v, const char *path, int *devicesfile)
{
	struct eos_buf b = EOS_BUF_INIT;
	struct eos_lvm_node *root = NULL;
	struct eos_err e;
	int r = eos_buf_read_file(&b, AT_FDCWD, path);
	if (r) {
		eos_buf_free(&b);
		return r == -ENOENT;
	}
	r = eos_lvm_meta_parse(b.data ? b.data : "", b.len, &root, &e) == 0;
	for (const struct eos_lvm_node *s = root ? root->child : NULL; r && s; s = s->next) {
		if (s->type != EOS_LVM_META_SECTION || strcmp(s->key, "tags") == 0) {
			r = 0;
			continue;
		}
		int dev = strcmp(s->key, "devices") == 0, glob = strcmp(s->key, "global") == 0;
		for (const struct eos_lvm_node *k = s->child; r && k && (dev || glob); k = k->next)
			r = dev ? devices_key(v, k, devicesfile) : strcmp(k->key, "activation") == 0;
	}
	eos_lvm_meta_free(root);
	eos_buf_free(&b);
	return r;
}

/* lvm.conf then lvmlocal.conf of dir: 1 when eos honours every setting that decides what lvm
 * sees (v filled), else 0 (v emptied). *devicesfile: use_devicesfile as they leave it. */
static int load_confs(struct eos_lvm_view *v, const char *dir, int *devicesfile)
{
	char path[4200];
	memset(v, 0, sizeof(*v));
	*devicesfile = 1;
	snprintf(path, sizeof(path), "%s/lvm.conf", dir);
	int ok = load_file(v, path, devicesfile);
	snprintf(path, sizeof(path), "%s/lvmlocal.conf", dir);
	ok = ok && load_file(v, path, devicesfile);
	if (!ok)
		eos_lvm_view_free(v);
	return ok;
}

static const char *system_dir(void)
{
	const char *dir = getenv("LVM_SYSTEM_DIR");
	return dir && *dir ? dir : "/etc/lvm";
}

/* A devices file in use decides which devices lvm reads: only lvm knows. */
static int devicesfile_used(const char *dir, int devicesfile)
{
	char path[4200];
	struct stat st;
	snprintf(path, sizeof(path), "%s/devices/system.devices", dir);
	return devicesfile && stat(path, &st) == 0;
}

int eos_lvm_view_load(struct eos_lvm_view *v)
{
	const char *dir = system_dir();
	int devicesfile;
	if (!load_confs(v, dir, &devicesfile))
		return 0;
	if (devicesfile_used(dir, devicesfile)) {
		eos_lvm_view_free(v);
		return 0;
	}
	return 1;
}

/* ---- the view kept while the configuration files are unchanged ------------------------------ */

/* lvm.conf is over 100 KB, mostly comments, and one eos.probe asks for the view more than once:
 * the last view is kept while lvm.conf and lvmlocal.conf are the same files (device, inode, size,
 * mtime and ctime to the nanosecond, or both still absent), and only when they did not change
 * while they were read. Callers hold a reference, so a view replaced meanwhile stays valid
 * until they put it back (glibc's regexec may run on one regex_t from several threads). */
struct kept_view {
	struct eos_lvm_view v;   /* first: callers get &kept->v */
	unsigned refs;
	int ok, devicesfile;
	char dir[4096];
	struct stat st[2];
	int present[2];
};

static struct kept_view *kept;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

static int same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The identity of dir's two configuration files into k: 0, or -1 when one cannot be told
 * (a stat error other than absence, or a path too long). */
static int conf_identity(struct kept_view *k, const char *dir)
{
	static const char *const names[2] = {"lvm.conf", "lvmlocal.conf"};
	char path[4200];
	if (snprintf(k->dir, sizeof(k->dir), "%s", dir) >= (int)sizeof(k->dir))
		return -1;
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		k->present[i] = stat(path, &k->st[i]) == 0;
		if (!k->present[i] && errno != ENOENT)
			return -1;
		if (!k->present[i])
			memset(&k->st[i], 0, sizeof(k->st[i]));
	}
	return 0;
}

static int same_identity(const struct kept_view *a, const struct kept_view *b)
{
	for (int i = 0; i < 2; i++)
		if (a->present[i] != b->present[i] || (a->present[i] && !same_stat(&a->st[i], &b->st[i])))
			return 0;
	return strcmp(a->dir, b->dir) == 0;
}

static void put_locked(struct kept_view *k)
{
	if (k && --k->refs == 0) {
		eos_lvm_view_free(&k->v);
		free(k);
	}
}

/* The kept view when it is of these files (a reference taken), else NULL. */
static struct kept_view *kept_hit(const struct kept_view *id)
{
	pthread_mutex_lock(&kept_lock);
	struct kept_view *k = kept && same_identity(kept, id) ? kept : NULL;
	if (k)
		k->refs++;
	pthread_mutex_unlock(&kept_lock);
	return k;
}

/* Read the files again into a new view (one reference for the caller); kept for the next
 * caller when the files did not change while they were read. NULL: out of memory. */
static struct kept_view *kept_load(const struct kept_view *id, int cacheable)
{
	struct kept_view *k = malloc(sizeof(*k)), after;
	if (!k)
		return NULL;
	*k = *id;
	k->refs = 1;
	k->ok = load_confs(&k->v, id->dir, &k->devicesfile);
	if (cacheable && conf_identity(&after, id->dir) == 0 && same_identity(&after, id)) {
		pthread_mutex_lock(&kept_lock);
		put_locked(kept);
		kept = k;
		k->refs++;
		pthread_mutex_unlock(&kept_lock);
	}
	return k;
}

const struct eos_lvm_view *eos_lvm_view_get(void)
{
	struct kept_view id, *k;
	const char *dir = system_dir();
	memset(&id, 0, sizeof(id));
	int cacheable = conf_identity(&id, dir) == 0;
	if (!cacheable)
		snprintf(id.dir, sizeof(id.dir), "%s", dir);
	k = cacheable ? kept_hit(&id) : NULL;
	if (!k && !(k = kept_load(&id, cacheable)))
		return NULL;
	if (k->ok && !devicesfile_used(k->dir, k->devicesfile))
		return &k->v;
	eos_lvm_view_put(&k->v);
	return NULL;
}

void eos_lvm_view_put(const struct eos_lvm_view *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&kept_lock);
	put_locked((struct kept_view *)v);
	pthread_mutex_unlock(&kept_lock);
}

/* ---- applying the filter ------------------------------------------------------------------ */

struct alias {
	dev_t rdev;
	char *path;
};

struct aliases {
	struct alias *v;
	size_t n;
};

static void walk_dev(struct aliases *a, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *de; (de = readdir(d));) {
		char p[4096];
		struct stat st;
		if (de->d_name[0] == '.' || snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= (int)sizeof(p) ||
		    lstat(p, &st))
			continue;
		if (S_ISDIR(st.st_mode) && depth < 6) {
			walk_dev(a, p, depth + 1);
			continue;
		}
		if (S_ISLNK(st.st_mode) && stat(p, &st))
			continue;
		if (!S_ISBLK(st.st_mode))
			continue;
		struct alias *v = realloc(a->v, (a->n + 1) * sizeof(*v));
		char *s = strdup(p);
		if (!v || !s) {
			free(s);
			a->v = v ? v : a->v;
			continue;
		}
		a->v = v;
		v[a->n++] = (struct alias){st.st_rdev, s};
	}
	closedir(d);
}

/* The first pattern of list that matches name: 'a', 'r', or 0 when none does. */
static char first_match(const struct eos_lvm_view *v, unsigned char list, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->list[i] == list && regexec(&v->re[i], name, 0, NULL, 0) == 0)
			return v->accept[i] ? 'a' : 'r';
	return 0;
}

/* Whether the device passes list under its names; *by_own: its own name alone accepted it. */
static int passes(const struct eos_lvm_view *v, unsigned char list, const struct eos_lvm_dev *d,
		  const struct aliases *a, int *by_own)
{
	char m = first_match(v, list, d->path);
	int rejected = m == 'r';
	if (m == 'a')
		return 1;
	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i].rdev != makedev(d->major, d->minor) || strcmp(a->v[i].path, d->path) == 0)
			continue;
		m = first_match(v, list, a->v[i].path);
		if (m == 'a') {
			*by_own = 0;
			return 1;
		}
		rejected |= m == 'r';
	}
	return !rejected;
}

int eos_lvm_view_apply(const struct eos_lvm_view *v, struct eos_lvm_dev *devs, size_t *n)
{
	struct aliases a = {NULL, 0};
	int r = 0;
	size_t k = 0;
	if (!v->n)
		return 0;
	walk_dev(&a, "/dev", 0);
	for (size_t i = 0; i < *n; i++) {
		int by_own = 1;
		int shown = passes(v, 0, &devs[i], &a, &by_own) && passes(v, 1, &devs[i], &a, &by_own);
		if (shown && !by_own)
			r = -ENOTSUP;
		if (shown)
			devs[k++] = devs[i];
	}
	*n = k;
	for (size_t i = 0; i < a.n; i++)
		free(a.v[i].path);
	free(a.v);
	return r;
}
