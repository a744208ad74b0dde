#include "eos/core/fstab.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "eos/core/buf.h"
#include "eos/core/fsutil.h"

#define SPEC_MAX 1024

int eos_fstab_escape(const char *s, char *out, size_t len)
{
	size_t o = 0;
	for (; *s; s++) {
		int esc = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\\';
		if (o + (esc ? 4 : 1) >= len) {
			if (len)
				out[0] = '\0';
			return -ENAMETOOLONG;
		}
		if (esc)
			o += (size_t)snprintf(out + o, len - o, "\\%03o", (unsigned char)*s);
		else
			out[o++] = *s;
	}
	out[o] = '\0';
	return 0;
}

static void fstab_unescape(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			out[o++] = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
}

/* One line of an fstab and, when it is an entry, its spec and unescaped target. */
struct line {
	const char *text;
	size_t n;
	int entry;
	char spec[SPEC_MAX], target[EOS_PATH_MAX];
};

static void parse_fields(struct line *l)
{
	const char *t = l->text;
	size_t i = 0, n = l->n;
	l->entry = 0;
	while (i < n && (t[i] == ' ' || t[i] == '\t'))
		i++;
	if (i == n || t[i] == '#')
		return;
	size_t s0 = i;
	while (i < n && t[i] != ' ' && t[i] != '\t')
		i++;
	/* A spec longer than any we write or look for matches none of ours (never a cut one). */
	if (i - s0 >= sizeof(l->spec))
		l->spec[0] = '\0';
	else
		snprintf(l->spec, sizeof(l->spec), "%.*s", (int)(i - s0), t + s0);
	while (i < n && (t[i] == ' ' || t[i] == '\t'))
		i++;
	size_t t0 = i;
	while (i < n && t[i] != ' ' && t[i] != '\t')
		i++;
	if (i == t0)
		return;
	fstab_unescape(t + t0, i - t0, l->target, sizeof(l->target));
	l->entry = 1;
}

/* The next line of b from *pos into l; 0 at the end. */
static int next_line(const struct eos_buf *b, size_t *pos, struct line *l)
{
	if (!b->data || *pos >= b->len)
		return 0;
	l->text = b->data + *pos;
	const char *nl = memchr(l->text, '\n', b->len - *pos);
	l->n = nl ? (size_t)(nl - l->text) : b->len - *pos;
	*pos += l->n + 1;
	parse_fields(l);
	return 1;
}

static int read_fstab(const char *fstab, struct eos_buf *b, struct eos_err *e)
{
	int r = eos_buf_read_file(b, AT_FDCWD, fstab);
	if (r == -ENOENT) {
		eos_buf_reset(b);
		return 0;
	}
	if (r)
		return eos_fail_sys(e, r, fstab, "reading %s", fstab);
	return 0;
}

static int put(struct eos_buf *out, const char *note, const char *text, size_t n)
{
	if (note && (eos_buf_append(out, "# ", 2) < 0 || eos_buf_append(out, note, strlen(note)) < 0 ||
		     eos_buf_append(out, ": ", 2) < 0))
		return -ENOMEM;
	if (eos_buf_append(out, text, n) < 0 || eos_buf_append(out, "\n", 1) < 0)
		return -ENOMEM;
	return 0;
}

/* Unless reading failed (r), write out when count says something changed; free both buffers.
 * Returns count, or -errno. */
static int commit(const char *fstab, struct eos_buf *old, struct eos_buf *out, int r, int count,
		  struct eos_err *e)
{
	if (!r && count < 0)
		r = eos_fail(e, ENOMEM, fstab, "out of memory building %s", fstab);
	else if (!r && count)
		r = eos_file_write_atomic(fstab, out->data ? out->data : "", out->len, e);
	eos_buf_free(old);
	eos_buf_free(out);
	return r ? r : count;
}

int eos_fstab_find(const char *fstab, const char *target, char *buf, size_t len, struct eos_err *e)
{
	struct eos_buf b = EOS_BUF_INIT;
	struct line l;
	buf[0] = '\0';
	int r = read_fstab(fstab, &b, e);
	for (size_t pos = 0; !r && next_line(&b, &pos, &l);)
		if (l.entry && strcmp(l.target, target) == 0)
			snprintf(buf, len, "%s", l.spec);  /* the last entry wins, as mount does */
	eos_buf_free(&b);
	return r;
}

int eos_fstab_target_of(const char *fstab, const char *spec, char *buf, size_t len, struct eos_err *e)
{
	struct eos_buf b = EOS_BUF_INIT;
	struct line l;
	buf[0] = '\0';
	int r = read_fstab(fstab, &b, e);
	for (size_t pos = 0; !r && !buf[0] && next_line(&b, &pos, &l);)
		if (l.entry && strcmp(l.spec, spec) == 0)
			snprintf(buf, len, "%s", l.target);
	eos_buf_free(&b);
	return r;
}

int eos_fstab_undo(const char *fstab, const char *spec, const char *target, const char *note,
		   struct eos_err *e)
{
	struct eos_buf old = EOS_BUF_INIT, out = EOS_BUF_INIT;
	struct line l, inner;
	char prefix[256];
	snprintf(prefix, sizeof(prefix), "# %s: ", note);
	size_t plen = strlen(prefix);
	int count = 0, r = read_fstab(fstab, &old, e);
	for (size_t pos = 0; !r && count >= 0 && next_line(&old, &pos, &l);) {
		if (l.entry && strcmp(l.spec, spec) == 0 && strcmp(l.target, target) == 0) {
			count++;  /* dropped */
			continue;
		}
		if (l.n > plen && strncmp(l.text, prefix, plen) == 0) {
			inner.text = l.text + plen;
			inner.n = l.n - plen;
			parse_fields(&inner);
			if (inner.entry && strcmp(inner.target, target) == 0) {
				count++;  /* restored */
				l = inner;
			}
		}
		if (put(&out, NULL, l.text, l.n))
			count = -1;
	}
	return commit(fstab, &old, &out, r, count, e);
}

int eos_fstab_add(const char *fstab, const char *spec, const char *target, const char *fstype,
		  const char *options, int pass, const char *replace_note, struct eos_err *e)
{
	struct eos_buf old = EOS_BUF_INIT, out = EOS_BUF_INIT;
	struct line l;
	char etarget[EOS_PATH_MAX], entry[EOS_PATH_MAX + 2048];
	int r = read_fstab(fstab, &old, e), count = 1;
	if (r)
		goto out;
	if (eos_fstab_escape(target, etarget, sizeof(etarget))) {
		r = eos_fail(e, ENAMETOOLONG, target, "the mount point is too long for an fstab entry once "
			     "escaped: %.200s...", target);
		goto out;
	}
	int len = snprintf(entry, sizeof(entry), "%s\t%s\t%s\t%s\t0\t%d", spec, etarget, fstype,
			   options && options[0] ? options : "defaults", pass);
	if (len < 0 || (size_t)len >= sizeof(entry)) {
		r = eos_fail(e, ENAMETOOLONG, target, "the fstab entry for %.200s would be longer than %zu "
			     "bytes", target, sizeof(entry) - 1);
		goto out;
	}
	for (size_t pos = 0; count > 0 && next_line(&old, &pos, &l);) {
		int mine = l.entry && strcmp(l.target, target) == 0;
		if (mine && strcmp(l.spec, spec) == 0) {
			count = 0;  /* already there */
			break;
		}
		if (mine && !replace_note) {
			r = eos_fail(e, EEXIST, fstab, "%s already has an entry for %s: '%.*s'", fstab, target,
				     (int)l.n, l.text);
			goto out;
		}
		if (put(&out, mine ? replace_note : NULL, l.text, l.n))
			count = -1;
	}
	if (count > 0 && put(&out, NULL, entry, (size_t)len))
		count = -1;
	return commit(fstab, &old, &out, 0, count, e);
out:
	eos_buf_free(&old);
	eos_buf_free(&out);
	return r;
}

int eos_fstab_disable(const char *fstab, const char *spec, const char *note, struct eos_err *e)
{
	struct eos_buf old = EOS_BUF_INIT, out = EOS_BUF_INIT;
	struct line l;
	int count = 0, r = read_fstab(fstab, &old, e);
	for (size_t pos = 0; !r && count >= 0 && next_line(&old, &pos, &l);) {
		int mine = l.entry && strcmp(l.spec, spec) == 0;
		count += mine;
		if (put(&out, mine ? note : NULL, l.text, l.n))
			count = -1;
	}
	return commit(fstab, &old, &out, r, count, e);
}
