/* lvm's view of the devices (see lvm_view.h). The filter follows lvm's regex filter
 * (lib/filters/filter-regex.c): a device passes a list when, for one of its names, the first
 * pattern that matches is "a", or when no pattern matches any of its names; it is shown when it
 * passes global_filter and filter. lvm's names for a device are its node and the links to it
 * under /dev (no udev database here: obtain_device_list_from_udev changes nothing). */
#include "eos/drivers/lvm/lvm_view.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

int eos_lvm_view_load(struct eos_lvm_view *v)
{
	const char *dir = getenv("LVM_SYSTEM_DIR");
	char path[4200];
	int devicesfile = 1, ok = 1;
	struct stat st;
	memset(v, 0, sizeof(*v));
	if (!dir || !*dir)
		dir = "/etc/lvm";
	snprintf(path, sizeof(path), "%s/lvm.conf", dir);
	ok = load_file(v, path, &devicesfile);
	snprintf(path, sizeof(path), "%s/lvmlocal.conf", dir);
	ok = ok && load_file(v, path, &devicesfile);
	snprintf(path, sizeof(path), "%s/devices/system.devices", dir);
	if (ok && devicesfile && stat(path, &st) == 0)
		ok = 0;
	if (!ok)
		eos_lvm_view_free(v);
	return ok;
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
