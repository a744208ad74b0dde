#include "eos/ops/ceph_osd_remove.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eos/core/buf.h"
#include "eos/core/clock.h"
#include "eos/core/json.h"

#define CLUSTER_PREFIX "ceph-"
#define STOP_WAIT_MS 30000
/* How long "drained" must hold without a break before the OSD stops: peering right after the
 * map change can report a PG active+clean on its new OSD for a moment before it finds objects
 * missing there (seen here); two OSD report intervals (osd_mon_report_interval, 5 s). */
#define SETTLE_MS 10000

/* ---- this host's OSD data directories --------------------------------------------------- */

static int by_id(const void *a, const void *b)
{
	long x = ((const struct eos_ceph_local_osd *)a)->id, y = ((const struct eos_ceph_local_osd *)b)->id;
	return (x > y) - (x < y);
}

/* "ceph-<n>" -> n, or -1. */
static long dir_id(const char *name)
{
	char *end;
	size_t pre = strlen(CLUSTER_PREFIX);
	if (strncmp(name, CLUSTER_PREFIX, pre) != 0 || name[pre] < '0' || name[pre] > '9')
		return -1;
	long id = strtol(name + pre, &end, 10);
	return *end || id < 0 || id > INT_MAX ? -1 : id;
}

int eos_ceph_local_osds(const char *root, struct eos_ceph_local_osd **out, struct eos_err *e)
{
	struct eos_ceph_local_osd *list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	*out = NULL;
	DIR *d = opendir(root);
	if (!d)
		return errno == ENOENT ? 0 : eos_fail_sys(e, errno, root, "opendir(%s)", root);
	while ((de = readdir(d))) {
		long id = dir_id(de->d_name);
		char link[EOS_PATH_MAX + 16];
		if (id < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			void *grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				free(list);
				closedir(d);
				return eos_fail_sys(e, ENOMEM, root, "listing OSDs under %s", root);
			}
			list = grown;
		}
		struct eos_ceph_local_osd *it = &list[n];
		memset(it, 0, sizeof(*it));
		it->id = id;
		snprintf(it->data, sizeof(it->data), "%s/%s", root, de->d_name);
		snprintf(link, sizeof(link), "%s/block", it->data);
		char target[PATH_MAX];
		if (realpath(link, target))
			snprintf(it->device, sizeof(it->device), "%s", target);
		else if (errno != ENOENT)
			continue;    /* not an OSD's directory we can read: not ours to list */
		n++;
	}
	closedir(d);
	if (n)
		qsort(list, n, sizeof(*list), by_id);
	*out = list;
	return (int)n;
}

/* ---- what the cluster says ------------------------------------------------------------- */

static int command(struct eos_rados *c, struct eos_err *e, const char *fmt, long id)
{
	char cmd[256];
	struct eos_buf out = EOS_BUF_INIT;
	snprintf(cmd, sizeof(cmd), fmt, id);
	int r = eos_rados_mon_command(c, cmd, &out, e);
	eos_buf_free(&out);
	return r;
}

/* The OSD's CRUSH weight (osd tree), or -1 when it is not in the CRUSH map. */
static int crush_weight(struct eos_rados *c, long id, double *weight, struct eos_err *e)
{
	struct eos_json *j = NULL;
	int r = eos_rados_mon_json(c, "osd tree", &j, e);
	if (r < 0)
		return r;
	const struct eos_json *nodes = eos_json_get(j, "nodes");
	*weight = -1;
	for (const struct eos_json *it = nodes ? nodes->child : NULL; it; it = it->next) {
		uint64_t v;
		const struct eos_json *w = eos_json_get(it, "crush_weight");
		if (eos_json_u64(it, "id", &v) == 0 && (long)v == id && w && w->type == EOS_JSON_NUMBER)
			*weight = w->num;
	}
	eos_json_free(j);
	return 0;
}

static int reweight(struct eos_rados *c, long id, double weight, struct eos_err *e)
{
	char cmd[160];
	struct eos_buf out = EOS_BUF_INIT;
	snprintf(cmd, sizeof(cmd), "{\"prefix\": \"osd crush reweight\", \"name\": \"osd.%ld\", "
		 "\"weight\": %.6f}", id, weight);
	int r = eos_rados_mon_command(c, cmd, &out, e);
	eos_buf_free(&out);
	return r;
}

/* How many PGs have the OSD in their up or acting set (the manager's view), or -errno; the
 * first few as "pgid state" in seen (for the message when the drain does not finish). */
static long pgs_on(struct eos_rados *c, long id, char *seen, size_t seen_len, struct eos_err *e)
{
	char cmd[128];
	struct eos_json *j = NULL;
	snprintf(cmd, sizeof(cmd), "{\"prefix\": \"pg ls-by-osd\", \"osd\": %ld, \"format\": \"json\"}", id);
	int r = eos_rados_mon_json(c, cmd, &j, e);
	if (r < 0)
		return r;
	/* Pacific answers {"pg_ready": ..., "pg_stats": [...]}, older releases the bare list. A
	 * manager without PG statistics yet knows nothing: counted as "not drained". */
	const struct eos_json *list = j->type == EOS_JSON_ARRAY ? j : eos_json_get(j, "pg_stats");
	const struct eos_json *ready = eos_json_get(j, "pg_ready");
	long n = list && list->type == EOS_JSON_ARRAY ? (long)list->n : 0;
	size_t used = 0;
	seen[0] = '\0';
	for (const struct eos_json *pg = n ? list->child : NULL; pg && used + 1 < seen_len; pg = pg->next) {
		const char *pgid = eos_json_str(pg, "pgid"), *state = eos_json_str(pg, "state");
		int w = snprintf(seen + used, seen_len - used, "%s%s %s", used ? ", " : "",
				 pgid ? pgid : "?", state ? state : "?");
		used = w < 0 ? seen_len : used + (size_t)w;
	}
	if (ready && ready->type == EOS_JSON_BOOL && !ready->boolean)
		n = LONG_MAX;
	eos_json_free(j);
	return n;
}

/* How many PGs the OSD itself says it stores (osd df "pgs": strays not yet deleted count),
 * or -errno; LONG_MAX when the manager has no statistics from it. */
static long pgs_stored(struct eos_rados *c, long id, struct eos_err *e)
{
	struct eos_json *j = NULL;
	int r = eos_rados_mon_json(c, "osd df", &j, e);
	if (r < 0)
		return r;
	const struct eos_json *nodes = eos_json_get(j, "nodes");
	long n = LONG_MAX;
	for (const struct eos_json *it = nodes ? nodes->child : NULL; it; it = it->next) {
		uint64_t v, pgs;
		if (eos_json_u64(it, "id", &v) == 0 && (long)v == id && eos_json_u64(it, "pgs", &pgs) == 0)
			n = (long)pgs;
	}
	eos_json_free(j);
	return n;
}

/* 1 when every PG is active+clean (or there is none), 0 when not yet. */
static int all_clean(struct eos_rados *c, struct eos_err *e)
{
	struct eos_ceph_status *st = calloc(1, sizeof(*st));
	if (!st)
		return eos_fail_sys(e, ENOMEM, "", "ceph status");
	int r = eos_ceph_status(c, st, e);
	if (r >= 0) {
		uint64_t clean = 0;
		for (size_t i = 0; i < st->n_pgstates; i++)
			if (strcmp(st->pgstates[i].state, "active+clean") == 0)
				clean = st->pgstates[i].count;
		r = clean == st->pgs;
	}
	free(st);
	return r;
}

/* ---- the daemon and its data on this host ---------------------------------------------- */

/* The pid of the ceph-osd running with --osd-data dir (as eos_ceph_osd_add starts it), or 0. */
static pid_t find_daemon(const char *dir)
{
	DIR *proc = opendir("/proc");
	struct dirent *pe;
	pid_t found = 0;
	if (!proc)
		return 0;
	while (!found && (pe = readdir(proc))) {
		char path[300], argv[8192];
		if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", pe->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, argv, sizeof(argv) - 1);
		close(fd);
		if (n <= 0)
			continue;
		argv[n] = '\0';
		const char *base = strrchr(argv, '/');
		if (strcmp(base ? base + 1 : argv, "ceph-osd") != 0)
			continue;
		for (const char *a = argv; a < argv + n; a += strlen(a) + 1)
			if (strcmp(a, "--osd-data") == 0 && a + strlen(a) + 1 < argv + n &&
			    strcmp(a + strlen(a) + 1, dir) == 0)
				found = (pid_t)atol(pe->d_name);
	}
	closedir(proc);
	return found;
}

/* Gone, or a zombie nobody here reaps (a daemonized process is not our child). */
static int gone(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	const char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] == 'Z';
}

/* SIGTERM, a bounded wait, then SIGKILL. */
static int stop_daemon(const char *dir, long id, struct eos_err *e)
{
	pid_t pid = find_daemon(dir);
	if (!pid)
		return 0;
	int sig = SIGTERM;
	long long deadline = eos_now_ms() + STOP_WAIT_MS;
	for (;;) {
		if (kill(pid, sig) < 0 && errno != ESRCH)
			return eos_fail_sys(e, errno, dir, "kill osd.%ld (pid %d)", id, (int)pid);
		while (!gone(pid) && eos_now_ms() < deadline)
			usleep(100 * 1000);
		if (gone(pid))
			return 0;
		if (sig == SIGKILL)
			return eos_fail(e, ETIMEDOUT, dir, "osd.%ld (pid %d) still runs after SIGKILL", id, (int)pid);
		sig = SIGKILL;
		deadline = eos_now_ms() + 5000;
	}
}

/* An OSD data directory holds files and links only (block, keyring, fsid, whoami...). */
static int remove_data(const char *dir, struct eos_err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;
	if (!d)
		return errno == ENOENT ? 0 : eos_fail_sys(e, errno, dir, "opendir(%s)", dir);
	while (r == 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    unlinkat(dirfd(d), de->d_name, 0) < 0)
			r = eos_fail_sys(e, errno, dir, "remove %s/%s", dir, de->d_name);
	closedir(d);
	if (r == 0 && rmdir(dir) < 0)
		r = eos_fail_sys(e, errno, dir, "rmdir(%s)", dir);
	return r;
}

/* ---- removal ---------------------------------------------------------------------------- */

/* CRUSH weight 0 and out, then wait until no PG lives on it and all are active+clean. Weight 0
 * first: an OSD that is only "out" still draws CRUSH's choices, and on a small cluster some
 * PGs then find no OSD at all (an empty up set) instead of moving. On timeout the weight and
 * the in flag are put back: a drain that cannot finish leaves the cluster as it found it. */
static int drain(struct eos_rados *c, long id, int was_in, long long deadline,
		 struct eos_ceph_osd_removed *res, struct eos_err *e)
{
	long long start = eos_now_ms();
	double weight;
	int r = crush_weight(c, id, &weight, e);
	r = r < 0 || weight <= 0 ? r : reweight(c, id, 0, e);
	r = r < 0 ? r : command(c, e, "{\"prefix\": \"osd out\", \"ids\": [\"%ld\"]}", id);
	long on = 0;
	long long since = 0;
	int clean = 0;
	char seen[512];
	while (r >= 0) {
		on = pgs_on(c, id, seen, sizeof(seen), e);
		if (on < 0)
			return (int)on;
		if (res->pgs_at_start < 0 && on != LONG_MAX)
			res->pgs_at_start = on;
		/* The manager's PG map may lag behind peering: the OSD's own count of the PGs it
		 * still stores, and Ceph's own verdict, must agree before anything stops. */
		if (on == 0 && (on = pgs_stored(c, id, e)) < 0)
			return (int)on;
		clean = on == 0 ? all_clean(c, e) : 0;
		if (clean == 1) {
			int safe = command(c, e, "{\"prefix\": \"osd safe-to-destroy\", \"ids\": [\"%ld\"]}", id);
			if (safe < 0 && safe != -EBUSY && safe != -EAGAIN)
				return safe;
			clean = safe == 0;
		}
		if (clean < 0)
			return clean;
		since = clean == 1 ? (since ? since : eos_now_ms()) : 0;
		if (since && eos_now_ms() - since >= SETTLE_MS)
			break;
		if (eos_now_ms() >= deadline) {
			char count[32];
			struct eos_err ignored;
			if (weight > 0)
				reweight(c, id, weight, &ignored);
			if (was_in)
				command(c, &ignored, "{\"prefix\": \"osd in\", \"ids\": [\"%ld\"]}", id);
			snprintf(count, sizeof(count), on == LONG_MAX ? "unknown (no PG statistics)" : "%ld", on);
			return eos_fail(e, ETIMEDOUT, "", "osd.%ld not drained in time: PGs still on it: %s%s%s%s; "
					"its CRUSH weight and in flag put back, nothing removed", id, count,
					on ? " (" : ", but not every PG is active+clean or Ceph does not call it safe to destroy",
					on ? seen : "", on ? ")" : "");
		}
		usleep(500 * 1000);
	}
	res->drain_ms = eos_now_ms() - start;
	return r;
}

static int remove_known(struct eos_rados *c, long id, int in, const char *dir, long long deadline,
			struct eos_ceph_osd_removed *res, struct eos_err *e)
{
	int r = drain(c, id, in, deadline, res, e);
	r = r < 0 ? r : stop_daemon(dir, id, e);
	r = r < 0 ? r : command(c, e, "{\"prefix\": \"osd down\", \"ids\": [\"%ld\"]}", id);
	/* The monitor's own purge: the manager's "osd purge" front repeats the safety check we
	 * made while the OSD still reported, and cannot make it for a stopped one. */
	r = r < 0 ? r : command(c, e, "{\"prefix\": \"osd purge-actual\", \"id\": %ld, "
				"\"yes_i_really_mean_it\": true}", id);
	return r < 0 ? r : remove_data(dir, e);
}

int eos_ceph_osd_remove(const struct eos_ceph_opts *o, long id, const struct eos_ceph_osd_drain *d,
			struct eos_ceph_osd_removed *res, struct eos_err *e)
{
	const char *root = d->data_root && *d->data_root ? d->data_root : "/var/lib/ceph/osd";
	char dir[EOS_PATH_MAX];
	struct eos_rados *c;
	struct stat st;
	int up, in = 0;
	memset(res, 0, sizeof(*res));
	res->pgs_at_start = -1;
	if (id < 0 || id > INT_MAX)
		return eos_fail(e, EINVAL, "", "invalid OSD id %ld", id);
	snprintf(res->daemon, sizeof(res->daemon), "osd.%ld", id);
	if (snprintf(dir, sizeof(dir), "%s/" CLUSTER_PREFIX "%ld", root, id) >= (int)sizeof(dir))
		return eos_fail(e, ENAMETOOLONG, root, "path too long under %s", root);
	int r = eos_rados_connect(o, &c, e);
	if (r < 0)
		return r;
	long long deadline = eos_now_ms() + (long long)(d->wait_s > 0 ? d->wait_s : 600) * 1000;
	int here = stat(dir, &st) == 0;
	r = eos_rados_osd_state(c, id, &up, &in, e);
	if (r == -ENOENT) {
		/* Purged earlier (a rerun after a crash): what is left here goes. */
		snprintf(res->action, sizeof(res->action), "%s", here ? "cleanup" : "none");
		r = here && !d->test ? stop_daemon(dir, id, e) : 0;
		r = r < 0 || !here || d->test ? r : remove_data(dir, e);
	} else if (r >= 0) {
		snprintf(res->action, sizeof(res->action), "remove");
		if (!d->test)
			r = remove_known(c, id, in, dir, deadline, res, e);
	}
	eos_rados_close(c);
	(void)up;
	return r < 0 ? r : 0;
}
