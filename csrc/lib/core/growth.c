#include "eos/core/growth.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eos/core/buf.h"
#include "eos/core/fsutil.h"

#define NAME_MAX_LEN 200  /* escaped names longer than this are cut and hashed */

int eos_samples_name(const char *target, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char buf[NAME_MAX_LEN + 8];
	size_t o = 0;
	const char *p = target;
	int cut = 0;
	while (*p == '/')
		p++;
	size_t len = strlen(p);
	while (len && p[len - 1] == '/')
		len--;
	if (len == 0) {
		buf[o++] = '-';
	}
	for (size_t i = 0; i < len && !cut; i++) {
		unsigned char c = (unsigned char)p[i];
		char tmp[4];
		size_t k = 0;
		if (c == '/') {
			/* Collapse repeated slashes, as systemd-escape does. */
			if (i > 0 && p[i - 1] == '/')
				continue;
			tmp[k++] = '-';
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   c == ':' || c == '_' || (c == '.' && i > 0)) {
			tmp[k++] = (char)c;
		} else {
			tmp[k++] = '\\';
			tmp[k++] = 'x';
			tmp[k++] = hex[c >> 4];
			tmp[k++] = hex[c & 15];
		}
		if (o + k > NAME_MAX_LEN) {
			cut = 1;
			break;
		}
		memcpy(buf + o, tmp, k);
		o += k;
	}
	buf[o] = '\0';
	int w;
	if (cut)
		w = snprintf(out, n, "%s~%016" PRIx64, buf, eos_fnv1a64(target));
	else
		w = snprintf(out, n, "%s", buf);
	if (w < 0 || (size_t)w >= n)
		return -ENAMETOOLONG;
	return 0;
}

int eos_samples_path(const char *cachedir, const char *target, char *out, size_t n,
		     struct eos_err *e)
{
	char name[NAME_MAX_LEN + 32];
	if (eos_samples_name(target, name, sizeof(name)))
		return eos_fail(e, ENAMETOOLONG, target, "sample file name for %s", target);
	int w = snprintf(out, n, "%s/eos/samples/%s", cachedir, name);
	if (w < 0 || (size_t)w >= n)
		return eos_fail(e, ENAMETOOLONG, cachedir, "sample path under %s is too long", cachedir);
	return 0;
}

/* mkdir -p, mode 0700 for what it creates. */
static int mkdirs(const char *dir, struct eos_err *e)
{
	char p[EOS_PATH_MAX];
	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return eos_fail(e, ENAMETOOLONG, dir, "path too long");
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0700) && errno != EEXIST)
				return eos_fail_sys(e, errno, p, "mkdir %s", p);
			*s = c;
			if (!c)
				break;
		}
	}
	struct stat st;
	if (stat(p, &st))
		return eos_fail_sys(e, errno, p, "stat %s", p);
	if (!S_ISDIR(st.st_mode))
		return eos_fail(e, ENOTDIR, p, "%s is not a directory", p);
	return 0;
}

/* Parse one line; 0 when it is a well-formed sample. */
static int parse_sample(const char *line, struct eos_sample *s)
{
	char *end;
	errno = 0;
	double t = strtod(line, &end);
	if (errno || end == line || *end != ' ')
		return -1;
	const char *p = end + 1;
	if (*p < '0' || *p > '9')
		return -1;
	unsigned long long used = strtoull(p, &end, 10);
	if (errno || *end != ' ')
		return -1;
	p = end + 1;
	if (*p < '0' || *p > '9')
		return -1;
	unsigned long long size = strtoull(p, &end, 10);
	if (errno || *end != '\0')
		return -1;
	s->t = t;
	s->used = used;
	s->size = size;
	return 0;
}

static int parse_samples(char *text, struct eos_sample **out, size_t *n)
{
	struct eos_sample *v = NULL;
	size_t cnt = 0, cap = 0;
	char *save = NULL;
	/* A final line without its newline is a torn append: strtok_r would return it, so cut it. */
	char *last_nl = strrchr(text, '\n');
	if (last_nl)
		last_nl[1] = '\0';
	else
		text[0] = '\0';
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct eos_sample s;
		if (line[0] == '#' || parse_sample(line, &s))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			struct eos_sample *nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[cnt++] = s;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int eos_samples_read(const char *cachedir, const char *target, struct eos_sample **out,
		     size_t *n, struct eos_err *e)
{
	char path[EOS_PATH_MAX];
	struct eos_buf b = EOS_BUF_INIT;
	*out = NULL;
	*n = 0;
	int r = eos_samples_path(cachedir, target, path, sizeof(path), e);
	if (r)
		return r;
	r = eos_buf_read_file(&b, AT_FDCWD, path);
	if (r == -ENOENT) {
		r = 0;
		goto out;
	}
	if (r) {
		r = eos_fail_sys(e, -r, path, "reading samples %s", path);
		goto out;
	}
	if (parse_samples(b.data, out, n))
		r = eos_fail(e, ENOMEM, path, "out of memory reading %s", path);
out:
	eos_buf_free(&b);
	return r;
}

static int fmt_sample(char *line, size_t n, const struct eos_sample *s)
{
	return snprintf(line, n, "%.3f %" PRIu64 " %" PRIu64 "\n", s->t, s->used, s->size);
}

/* Rewrite path keeping the newest EOS_SAMPLES_KEEP samples younger than the max age, through a
 * temporary file and rename. Called with the lock held. */
static int prune(const char *path, double now, struct eos_err *e)
{
	struct eos_buf in = EOS_BUF_INIT, outb = EOS_BUF_INIT;
	struct eos_sample *v = NULL;
	size_t n = 0;
	int r = eos_buf_read_file(&in, AT_FDCWD, path);
	if (r) {
		r = eos_fail_sys(e, -r, path, "reading samples %s", path);
		goto out;
	}
	if (parse_samples(in.data, &v, &n)) {
		r = eos_fail(e, ENOMEM, path, "out of memory");
		goto out;
	}
	size_t first = n > EOS_SAMPLES_KEEP ? n - EOS_SAMPLES_KEEP : 0;
	for (size_t i = first; i < n; i++) {
		char line[96];
		if (v[i].t < now - EOS_SAMPLES_MAX_AGE)
			continue;
		int w = fmt_sample(line, sizeof(line), &v[i]);
		if (eos_buf_append(&outb, line, (size_t)w)) {
			r = eos_fail(e, ENOMEM, path, "out of memory");
			goto out;
		}
	}
	r = eos_file_write_atomic(path, outb.data ? outb.data : "", outb.len, e);
out:
	free(v);
	eos_buf_free(&in);
	eos_buf_free(&outb);
	return r;
}

int eos_samples_append(const char *cachedir, const char *target, const struct eos_sample *s,
		       struct eos_err *e)
{
	char path[EOS_PATH_MAX], dir[EOS_PATH_MAX], lock[EOS_PATH_MAX + 8];
	int lfd = -1, fd = -1, r;
	r = eos_samples_path(cachedir, target, path, sizeof(path), e);
	if (r)
		return r;
	snprintf(dir, sizeof(dir), "%s/eos/samples", cachedir);
	r = mkdirs(dir, e);
	if (r)
		return r;
	snprintf(lock, sizeof(lock), "%s/.lock", dir);
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0)
		return eos_fail_sys(e, errno, lock, "open %s", lock);
	if (flock(lfd, LOCK_EX)) {
		r = eos_fail_sys(e, errno, lock, "flock %s", lock);
		goto out;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = eos_fail_sys(e, errno, path, "open %s", path);
		goto out;
	}
	char line[96];
	int w = fmt_sample(line, sizeof(line), s);
	r = eos_write_all(fd, line, (size_t)w);
	if (r) {
		r = eos_fail_sys(e, -r, path, "appending to %s", path);
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st)) {
		r = eos_fail_sys(e, errno, path, "fstat %s", path);
		goto out;
	}
	if (st.st_size > EOS_SAMPLES_MAX_BYTES)
		r = prune(path, s->t, e);
out:
	if (fd >= 0)
		close(fd);
	close(lfd);  /* releases the lock */
	return r;
}

void eos_growth_compute(const struct eos_sample *v, size_t n, double window, uint64_t avail,
			struct eos_growth *g)
{
	memset(g, 0, sizeof(*g));
	if (n == 0)
		return;
	if (window <= 0)
		window = EOS_GROWTH_WINDOW_DEFAULT;
	double tmax = v[0].t;
	for (size_t i = 1; i < n; i++)
		if (v[i].t > tmax)
			tmax = v[i].t;
	double from = tmax - window;
	/* Least squares on centred values (numerically stable with unix times and byte counts). */
	double st = 0, su = 0, tmin = tmax;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].t < from)
			continue;
		st += v[i].t;
		su += (double)v[i].used;
		if (v[i].t < tmin)
			tmin = v[i].t;
		k++;
	}
	g->samples = k;
	g->span = tmax - tmin;
	if (k < 2)
		return;
	double mt = st / (double)k, mu = su / (double)k, sxy = 0, sxx = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].t < from)
			continue;
		double dt = v[i].t - mt;
		sxy += dt * ((double)v[i].used - mu);
		sxx += dt * dt;
	}
	if (!(sxx > 0))
		return;
	double per_s = sxy / sxx;
	g->has_rate = 1;
	g->bytes_per_hour = per_s * 3600.0;
	if (per_s > 0) {
		g->has_eta = 1;
		g->seconds_to_full = (double)avail / per_s;
	}
}
