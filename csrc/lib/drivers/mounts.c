#include "eos/drivers/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "eos/core/buf.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n &&
		    s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			*o++ = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
			i += 3;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

static void mount_free(struct eos_mount *m)
{
	free(m->root);
	free(m->target);
	free(m->options);
	free(m->fstype);
	free(m->source);
	free(m->super_options);
}

/* Split a line into space-separated fields; returns the count (at most max). */
static size_t split(char *line, char **f, size_t *len, size_t max)
{
	size_t n = 0;
	char *p = line;
	while (*p && n < max) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		f[n] = p;
		while (*p && *p != ' ')
			p++;
		len[n] = (size_t)(p - f[n]);
		n++;
	}
	return n;
}

static int parse_line(char *line, struct eos_mount *m)
{
	char *f[64];
	size_t len[64];
	size_t n = split(line, f, len, 64);
	/* id parent maj:min root target options [optional...] - fstype source superopts */
	size_t sep = 0;
	for (size_t i = 6; i < n; i++) {
		if (len[i] == 1 && f[i][0] == '-') {
			sep = i;
			break;
		}
	}
	if (n < 9 || !sep || sep + 2 >= n)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->id = atoi(f[0]);
	m->parent_id = atoi(f[1]);
	if (sscanf(f[2], "%u:%u", &m->major, &m->minor) != 2)
		return -EINVAL;
	m->root = unescape(f[3], len[3]);
	m->target = unescape(f[4], len[4]);
	m->options = unescape(f[5], len[5]);
	m->fstype = unescape(f[sep + 1], len[sep + 1]);
	m->source = unescape(f[sep + 2], len[sep + 2]);
	m->super_options = sep + 3 < n ? unescape(f[sep + 3], len[sep + 3]) : strdup("");
	if (!m->root || !m->target || !m->options || !m->fstype || !m->source || !m->super_options) {
		mount_free(m);
		return -ENOMEM;
	}
	return 0;
}

int eos_mounts_read(const char *path, struct eos_mount_list *out, struct eos_err *e)
{
	struct eos_buf b = EOS_BUF_INIT;
	const char *p = path ? path : "/proc/self/mountinfo";
	out->v = NULL;
	out->n = 0;
	int r = eos_buf_read_file(&b, AT_FDCWD, p);
	if (r)
		return eos_fail_sys(e, -r, p, "reading %s", p);
	r = eos_mounts_parse(b.data, p, out, e);
	eos_buf_free(&b);
	return r;
}

int eos_mounts_parse(char *text, const char *what, struct eos_mount_list *out, struct eos_err *e)
{
	const char *p = what;
	int r = 0;
	out->v = NULL;
	out->n = 0;
	size_t cap = 0;
	char *save = NULL;
	if (!text)
		return 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (out->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct eos_mount *v = realloc(out->v, cap * sizeof(*v));
			if (!v) {
				r = eos_fail(e, ENOMEM, p, "out of memory");
				goto fail;
			}
			out->v = v;
		}
		r = parse_line(line, &out->v[out->n]);
		if (r == -ENOMEM) {
			r = eos_fail(e, ENOMEM, p, "out of memory");
			goto fail;
		}
		if (r == 0)
			out->n++;
	}
	return 0;
fail:
	eos_mounts_free(out);
	return r;
}

void eos_mounts_free(struct eos_mount_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		mount_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const struct eos_mount *eos_mounts_find(const struct eos_mount_list *l, const char *path,
					char *canon, size_t canon_len, struct eos_err *e)
{
	char real[PATH_MAX];
	if (!realpath(path, real)) {
		eos_fail_sys(e, errno, path, "realpath");
		return NULL;
	}
	if (canon)
		snprintf(canon, canon_len, "%s", real);
	const struct eos_mount *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *t = l->v[i].target;
		size_t n = strlen(t);
		int match = (n == 1 && t[0] == '/') ||
			    (strncmp(real, t, n) == 0 && (real[n] == '\0' || real[n] == '/'));
		/* Later entries shadow earlier ones on the same target. */
		if (match && n >= best_len) {
			best = &l->v[i];
			best_len = n;
		}
	}
	if (!best)
		eos_fail(e, ENOENT, path, "no mount contains %s", real);
	return best;
}

int eos_usage_get(const char *path, struct eos_usage *u, struct eos_err *e)
{
	struct statvfs s;
	if (statvfs(path, &s))
		return eos_fail_sys(e, errno, path, "statvfs");
	uint64_t fr = s.f_frsize ? s.f_frsize : s.f_bsize;
	u->bsize = fr;
	u->size = (uint64_t)s.f_blocks * fr;
	u->free = (uint64_t)s.f_bfree * fr;
	u->avail = (uint64_t)s.f_bavail * fr;
	u->used = u->size - u->free;
	u->files = s.f_files;
	u->files_free = s.f_ffree;
	u->files_used = s.f_files >= s.f_ffree ? s.f_files - s.f_ffree : 0;
	return 0;
}

int eos_fstype_is_virtual(const char *t)
{
	static const char *const virt[] = {
		"proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "debugfs", "tracefs",
		"securityfs", "pstore", "bpf", "configfs", "fusectl", "hugetlbfs", "autofs",
		"binfmt_misc", "efivarfs", "rpc_pipefs", "nsfs", "devtmpfs", "selinuxfs", NULL,
	};
	for (int i = 0; virt[i]; i++)
		if (strcmp(t, virt[i]) == 0)
			return 1;
	return 0;
}

const struct eos_mount *eos_mounts_at(const struct eos_mount_list *l, const char *target)
{
	const struct eos_mount *m = NULL;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].target, target) == 0)
			m = &l->v[i];
	return m;
}
