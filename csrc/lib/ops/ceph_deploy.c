#include "eos/ops/ceph_deploy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eos/core/buf.h"
#include "eos/core/clock.h"
#include "eos/core/fsutil.h"
#include "eos/core/json.h"
#include "eos/core/spawn.h"

#define CLUSTER "ceph"
#define MAX_ARGV 32

/* Daemon and key names: letters, digits, '_' and '-', not starting with '-'. */
static int check_id(const char *what, const char *id, struct eos_err *e)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > 32 || id[0] == '-')
		goto bad;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			goto bad;
	}
	return 0;
bad:
	return eos_fail(e, EINVAL, "", "invalid %s '%s': use 1-32 of [A-Za-z0-9_-]", what,
			id ? id : "");
}

/* snprintf for paths: -ENAMETOOLONG instead of a silently cut path. */
__attribute__((format(printf, 4, 5)))
static int pathf(struct eos_err *e, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return eos_fail(e, ENAMETOOLONG, buf, "path too long: %s...", buf);
	return 0;
}

static void result_set(struct eos_ceph_deploy_result *res, const char *daemon, const char *action,
		       const char *data)
{
	snprintf(res->daemon, sizeof(res->daemon), "%s", daemon);
	snprintf(res->action, sizeof(res->action), "%s", action);
	snprintf(res->data, sizeof(res->data), "%s", data);
}

/* 0 when dir has no entries; a stale data dir of an old daemon with the same id is refused. */
static int dir_empty(const char *dir, struct eos_err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;
	if (!d)
		return eos_fail_sys(e, errno, dir, "opendir(%s)", dir);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			r = eos_fail(e, EEXIST, dir, "%s is not empty (%s): data of a removed daemon? "
				     "move it away first", dir, de->d_name);
			break;
		}
	closedir(d);
	return r;
}

/* A secret (keyring) file: created 0600, never world-readable, even for a moment. */
static int write_secret(const char *path, const char *data, size_t len, struct eos_err *e)
{
	int r = 0, fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return eos_fail_sys(e, errno, path, "open(%s)", path);
	if (fchmod(fd, 0600) < 0)
		r = eos_fail_sys(e, errno, path, "fchmod(%s)", path);
	for (size_t done = 0; r == 0 && done < len;) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = eos_fail_sys(e, errno, path, "write(%s)", path);
		else
			done += (size_t)n;
	}
	if (close(fd) < 0 && r == 0)
		r = eos_fail_sys(e, errno, path, "close(%s)", path);
	return r;
}

/* argv for a Ceph daemon: prog [-c conf] -i id, then extra (NULL-terminated). */
static int daemon_run(const struct eos_ceph_opts *o, const char *prog, const char *id,
		      const char *const extra[], int timeout_ms, struct eos_err *e)
{
	const char *argv[MAX_ARGV];
	int n = 0;
	argv[n++] = prog;
	if (o->conf) {
		argv[n++] = "-c";
		argv[n++] = o->conf;
	}
	argv[n++] = "-i";
	argv[n++] = id;
	for (int i = 0; extra && extra[i] && n < MAX_ARGV - 1; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	struct eos_run run = EOS_RUN_INIT;
	run.timeout_ms = timeout_ms;
	int r = eos_spawn_ok(argv, &run, e);
	eos_run_free(&run);
	return r;
}

/* ---- what the maps say ---------------------------------------------------------------- */

/* 1 up, 0 down, -ENOENT not in the OSD map. */
static int osd_up(struct eos_rados *c, long id, struct eos_err *e)
{
	int up, in, r = eos_rados_osd_state(c, id, &up, &in, e);
	return r < 0 ? r : up;
}

/* 1 when an element of the JSON list or object has "name": id. */
static int has_name(const struct eos_json *list, const char *id)
{
	for (const struct eos_json *it = list ? list->child : NULL; it; it = it->next) {
		const char *name = eos_json_str(it, "name");
		if (name && strcmp(name, id) == 0)
			return 1;
	}
	return 0;
}

/* 1 when an MDS of this name is in any file system's map or among the standbys. */
static int mds_known(struct eos_rados *c, const char *id, struct eos_err *e)
{
	struct eos_json *j = NULL;
	int r = eos_rados_mon_json(c, "fs dump", &j, e);
	if (r < 0)
		return r;
	r = has_name(eos_json_get(j, "standbys"), id);
	const struct eos_json *fss = eos_json_get(j, "filesystems");
	for (const struct eos_json *fs = fss ? fss->child : NULL; fs && !r; fs = fs->next)
		r = has_name(eos_json_get(eos_json_get(fs, "mdsmap"), "info"), id);
	eos_json_free(j);
	return r;
}

/* Bit 0: in the monmap; bit 1: in quorum. */
static int mon_state(struct eos_rados *c, const char *id, struct eos_err *e)
{
	struct eos_json *j = NULL;
	int r = eos_rados_mon_json(c, "quorum_status", &j, e);
	if (r < 0)
		return r;
	r = 0;
	const struct eos_json *q = eos_json_get(j, "quorum_names");
	for (const struct eos_json *it = q ? q->child : NULL; it; it = it->next)
		if (it->type == EOS_JSON_STRING && strcmp(it->str, id) == 0)
			r |= 2;
	if (has_name(eos_json_get(eos_json_get(j, "monmap"), "mons"), id))
		r |= 1;
	eos_json_free(j);
	return r;
}

static int mgr_known(struct eos_rados *c, const char *id, struct eos_err *e);

enum wait_for { WAIT_OSD_UP, WAIT_MDS, WAIT_QUORUM, WAIT_MGR };

static int transient(int r)
{
	return r == -ETIMEDOUT || r == -EAGAIN || r == -EINTR || r == -ENOTCONN;
}

static int wait_for(struct eos_rados *c, enum wait_for what, long osd, const char *id, int wait_s,
		    struct eos_err *e)
{
	int secs = wait_s > 0 ? wait_s : 60;
	long long deadline = eos_now_ms() + (long long)secs * 1000;
	int r;
	for (;;) {
		if (what == WAIT_OSD_UP)
			r = osd_up(c, osd, e);
		else if (what == WAIT_MDS)
			r = mds_known(c, id, e);
		else if (what == WAIT_MGR)
			r = mgr_known(c, id, e);
		else if ((r = mon_state(c, id, e)) >= 0)
			r = r == 3;
		/* An election answers "try again" for a while: that is "not yet". Any other error
		 * (refused, denied, invalid) will not mend by waiting. */
		if (r < 0 && r != -ENOENT && !transient(r))
			return r;
		if (r == 1)
			return 0;
		if (eos_now_ms() >= deadline)
			break;
		usleep(250 * 1000);
	}
	if (what == WAIT_OSD_UP)
		return eos_fail(e, ETIMEDOUT, "", "osd.%ld started but not up after %d s", osd, secs);
	if (what == WAIT_MDS || what == WAIT_MGR)
		return eos_fail(e, ETIMEDOUT, "", "%s.%s started but not in the %s map after %d s",
				what == WAIT_MDS ? "mds" : "mgr", id, what == WAIT_MDS ? "MDS" : "mgr", secs);
	return eos_fail(e, ETIMEDOUT, "", "mon.%s started but not in quorum after %d s", id, secs);
}

/* ---- OSD ----------------------------------------------------------------------------- */

/* The OSD id whose data dir under root has a "block" link to device (canonical), or -ENOENT. */
static long find_osd(const char *root, const char *device)
{
	DIR *d = opendir(root);
	struct dirent *de;
	long found = -ENOENT;
	if (!d)
		return -ENOENT;
	while (found < 0 && (de = readdir(d))) {
		char link[EOS_PATH_MAX], target[PATH_MAX], *end;
		size_t pre = strlen(CLUSTER "-");
		if (strncmp(de->d_name, CLUSTER "-", pre) != 0)
			continue;
		long id = strtol(de->d_name + pre, &end, 10);
		if (end == de->d_name + pre || *end || id < 0)
			continue;
		snprintf(link, sizeof(link), "%s/%s/block", root, de->d_name);
		if (realpath(link, target) && strcmp(target, device) == 0)
			found = id;
	}
	closedir(d);
	return found;
}

static int read_uuid(char *buf, size_t len, struct eos_err *e)
{
	struct eos_buf b = EOS_BUF_INIT;
	int r = eos_buf_read_file(&b, AT_FDCWD, "/proc/sys/kernel/random/uuid");
	if (r < 0 || b.len < 36) {
		eos_buf_free(&b);
		return eos_fail_sys(e, r < 0 ? r : EIO, "/proc/sys/kernel/random/uuid", "read uuid");
	}
	snprintf(buf, len, "%.36s", b.data);
	eos_buf_free(&b);
	return 0;
}

/* One OSD being added: its device, id and data directory. */
struct osd {
	const struct eos_ceph_opts *o;
	const struct eos_ceph_deploy *d;
	struct eos_rados *c;
	const char *root;
	char dev[PATH_MAX], dir[EOS_PATH_MAX], idbuf[32];
	long id;
};

static int osd_name(struct osd *od, long id, struct eos_ceph_deploy_result *res, struct eos_err *e)
{
	od->id = id;
	snprintf(od->idbuf, sizeof(od->idbuf), "%ld", id);
	snprintf(res->daemon, sizeof(res->daemon), "osd.%ld", id);
	int r = pathf(e, od->dir, sizeof(od->dir), "%s/" CLUSTER "-%ld", od->root, id);
	if (r >= 0)
		snprintf(res->data, sizeof(res->data), "%s", od->dir);
	return r;
}

/* The device has an OSD's data already: 1 when it is up, 0 when it needs starting. */
static int osd_existing(struct osd *od, const char *device, struct eos_ceph_deploy_result *res,
			struct eos_err *e)
{
	int r = osd_name(od, od->id, res, e);
	if (r < 0)
		return r;
	r = osd_up(od->c, od->id, e);
	if (r == -ENOENT)
		return eos_fail(e, ENOENT, od->dir, "osd_add: %s has osd.%ld's data for '%s' but the cluster "
				"has no osd.%ld (purged?): remove the directory first", od->dir, od->id, device,
				od->id);
	if (r >= 0)
		snprintf(res->action, sizeof(res->action), "%s", r == 1 ? "none" : "start");
	return r;
}

/* A new OSD: an id from the cluster, its data directory made by ceph-osd --mkfs, its key
 * registered. */
static int osd_create(struct osd *od, struct eos_ceph_deploy_result *res, struct eos_err *e)
{
	char uuid[40], cmd[512], keyring[EOS_PATH_MAX];
	struct eos_buf out = EOS_BUF_INIT, key = EOS_BUF_INIT;
	struct eos_json *j = NULL;
	int r = read_uuid(uuid, sizeof(uuid), e);
	if (r < 0)
		return r;
	snprintf(cmd, sizeof(cmd), "{\"prefix\": \"osd new\", \"uuid\": \"%s\", \"format\": \"json\"}", uuid);
	r = eos_rados_mon_json(od->c, cmd, &j, e);
	const struct eos_json *jid = r < 0 ? NULL : eos_json_get(j, "osdid");
	if (r >= 0 && (!jid || jid->type != EOS_JSON_NUMBER))
		r = eos_fail(e, EPROTO, "", "osd new: no osdid in the reply");
	if (r >= 0)
		r = osd_name(od, (long)jid->num, res, e);
	eos_json_free(j);
	if (r < 0)
		return r;
	r = eos_mkdir_p(od->dir, 0700, e);
	r = r < 0 ? r : dir_empty(od->dir, e);
	r = r < 0 ? r : pathf(e, keyring, sizeof(keyring), "%s/keyring", od->dir);
	if (r < 0)
		return r;
	const char *mkfs[] = {"--mkfs", "--mkkey", "--no-mon-config", "--osd-uuid", uuid,
			      "--osd-objectstore", "bluestore", "--bluestore-block-path", od->dev,
			      "--osd-data", od->dir, "--keyring", keyring, NULL};
	r = daemon_run(od->o, "ceph-osd", od->idbuf, mkfs, 300000, e);
	if (r >= 0 && (r = eos_buf_read_file(&key, AT_FDCWD, keyring)) < 0)
		r = eos_fail_sys(e, r, keyring, "read %s", keyring);
	if (r >= 0) {
		snprintf(cmd, sizeof(cmd),
			 "{\"prefix\": \"auth add\", \"entity\": \"osd.%ld\", \"caps\": [\"osd\", \"allow *\", "
			 "\"mon\", \"allow profile osd\", \"mgr\", \"allow profile osd\"]}", od->id);
		r = eos_rados_mon_command_in(od->c, cmd, key.data, key.len, &out, e);
	}
	eos_buf_free(&out);
	eos_buf_free(&key);
	return r;
}

static int osd_start(struct osd *od, struct eos_err *e)
{
	char keyring[EOS_PATH_MAX], weight[32];
	int r = pathf(e, keyring, sizeof(keyring), "%s/keyring", od->dir);
	if (r < 0)
		return r;
	snprintf(weight, sizeof(weight), "%g", od->d->crush_weight);
	const char *run[] = {"--osd-data", od->dir, "--keyring", keyring, NULL, NULL, NULL};
	if (od->d->crush_weight >= 0) {
		run[4] = "--osd-crush-initial-weight";
		run[5] = weight;
	}
	r = daemon_run(od->o, "ceph-osd", od->idbuf, run, 120000, e);
	return r < 0 ? r : wait_for(od->c, WAIT_OSD_UP, od->id, NULL, od->d->wait_s, e);
}

int eos_ceph_osd_add(const struct eos_ceph_opts *o, const char *device,
		     const struct eos_ceph_deploy *d, struct eos_ceph_deploy_result *res,
		     struct eos_err *e)
{
	struct osd od = {.o = o, .d = d, .id = -1};
	od.root = d->data_root && *d->data_root ? d->data_root : "/var/lib/ceph/osd";
	struct stat st;
	memset(res, 0, sizeof(*res));
	if (!device || !*device)
		return eos_fail(e, EINVAL, "", "osd_add: no device given");
	if (!realpath(device, od.dev) || stat(od.dev, &st) < 0)
		return eos_fail_sys(e, errno, device, "osd_add: device '%s'", device);
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		return eos_fail(e, EINVAL, device, "osd_add: '%s' is neither a block device nor a file",
				device);
	int r = eos_rados_connect(o, &od.c, e);
	if (r < 0)
		return r;
	od.id = find_osd(od.root, od.dev);
	if (od.id >= 0) {
		r = osd_existing(&od, device, res, e);
		if (r == 0 && !d->test)
			r = osd_start(&od, e);
	} else {
		result_set(res, "osd.?", "create", od.root);
		if (!d->test)
			r = osd_create(&od, res, e);
		if (!d->test && r >= 0)
			r = osd_start(&od, e);
		if (r < 0 && od.id >= 0) {
			/* Leave no half-made OSD in the map: a rerun starts over cleanly. */
			char cmd[160];
			struct eos_buf out = EOS_BUF_INIT;
			struct eos_err ignored;
			snprintf(cmd, sizeof(cmd), "{\"prefix\": \"osd purge-new\", \"id\": %ld, "
				 "\"yes_i_really_mean_it\": true}", od.id);
			eos_rados_mon_command(od.c, cmd, &out, &ignored);
			eos_buf_free(&out);
		}
	}
	eos_rados_close(od.c);
	return r < 0 ? r : 0;
}

/* ---- MDS ----------------------------------------------------------------------------- */

/* MDS and MGR daemons are added the same way: a key from the cluster, a data dir holding it, the
 * daemon started, and a wait until the cluster sees it. What differs is in this table. */
struct keyed_daemon {
	const char *type;          /* "mds", "mgr" */
	const char *default_root;  /* parent of <cluster>-<id> data dirs */
	const char *caps;          /* JSON list for auth get-or-create */
	const char *prog;          /* the daemon binary */
	const char *data_flag;     /* its --<type>-data option */
	int (*known)(struct eos_rados *c, const char *id, struct eos_err *e);
	enum wait_for wait;        /* until the cluster's map names it */
};

static int keyed_daemon_add(const struct keyed_daemon *kd, const struct eos_ceph_opts *o,
			    const char *id, const struct eos_ceph_deploy *d,
			    struct eos_ceph_deploy_result *res, struct eos_err *e)
{
	const char *root = d->data_root && *d->data_root ? d->data_root : kd->default_root;
	char dir[EOS_PATH_MAX], keyring[EOS_PATH_MAX], daemon[64], cmd[512];
	struct eos_rados *c = NULL;
	struct eos_buf out = EOS_BUF_INIT;
	int r;

	memset(res, 0, sizeof(*res));
	r = check_id("daemon id", id, e);
	if (r < 0)
		return r;
	snprintf(daemon, sizeof(daemon), "%s.%s", kd->type, id);
	if (pathf(e, dir, sizeof(dir), "%s/" CLUSTER "-%s", root, id) < 0 ||
	    pathf(e, keyring, sizeof(keyring), "%s/keyring", dir) < 0)
		return -e->code;
	r = eos_rados_connect(o, &c, e);
	if (r < 0)
		return r;
	r = kd->known(c, id, e);
	if (r < 0)
		goto out;
	if (r == 1) {
		result_set(res, daemon, "none", dir);
		r = 0;
		goto out;
	}
	result_set(res, daemon, access(keyring, F_OK) == 0 ? "start" : "create", dir);
	if (d->test) {
		r = 0;
		goto out;
	}
	if (res->action[0] == 'c') {
		r = eos_mkdir_p(dir, 0700, e);
		if (r < 0)
			goto out;
		snprintf(cmd, sizeof(cmd),
			 "{\"prefix\": \"auth get-or-create\", \"entity\": \"%s\", \"caps\": %s}",
			 daemon, kd->caps);
		r = eos_rados_mon_command(c, cmd, &out, e);
		if (r < 0)
			goto out;
		r = write_secret(keyring, out.data ? out.data : "", out.len, e);
		if (r < 0)
			goto out;
	}
	{
		const char *run[] = {kd->data_flag, dir, "--keyring", keyring, NULL};
		r = daemon_run(o, kd->prog, id, run, 120000, e);
		if (r < 0)
			goto out;
	}
	r = wait_for(c, kd->wait, -1, id, d->wait_s, e);
out:
	eos_buf_free(&out);
	eos_rados_close(c);
	return r;
}

int eos_ceph_mds_add(const struct eos_ceph_opts *o, const char *id, const struct eos_ceph_deploy *d,
		     struct eos_ceph_deploy_result *res, struct eos_err *e)
{
	static const struct keyed_daemon mds = {
		"mds", "/var/lib/ceph/mds",
		"[\"mon\", \"allow profile mds\", \"osd\", \"allow rwx\", \"mds\", \"allow\", "
		"\"mgr\", \"allow profile mds\"]",
		"ceph-mds", "--mds-data", mds_known, WAIT_MDS,
	};
	return keyed_daemon_add(&mds, o, id, d, res, e);
}

/* ---- monitor ------------------------------------------------------------------------- */

int eos_ceph_mon_add(const struct eos_ceph_opts *o, const char *id, const struct eos_ceph_deploy *d,
		     struct eos_ceph_deploy_result *res, struct eos_err *e)
{
	const char *root = d->data_root && *d->data_root ? d->data_root : "/var/lib/ceph/mon";
	char dir[EOS_PATH_MAX], keyring[EOS_PATH_MAX], monmap[EOS_PATH_MAX], daemon[64], addrv[256];
	struct eos_rados *c = NULL;
	struct eos_buf out = EOS_BUF_INIT;
	struct stat st;
	int r, state;

	memset(res, 0, sizeof(*res));
	r = check_id("daemon id", id, e);
	if (r < 0)
		return r;
	if (!d->public_addr || !*d->public_addr || strpbrk(d->public_addr, " ,[]"))
		return eos_fail(e, EINVAL, "", "mon_add: invalid address '%s' (want e.g. "
				"v2:10.0.0.2:3300)", d->public_addr ? d->public_addr : "");
	snprintf(addrv, sizeof(addrv), "[%s]", d->public_addr);
	snprintf(daemon, sizeof(daemon), "mon.%s", id);
	if (pathf(e, dir, sizeof(dir), "%s/" CLUSTER "-%s", root, id) < 0 ||
	    pathf(e, keyring, sizeof(keyring), "%s/keyring", dir) < 0)
		return -e->code;
	r = eos_rados_connect(o, &c, e);
	if (r < 0)
		return r;
	state = mon_state(c, id, e);
	if (state < 0) {
		r = state;
		goto out;
	}
	if (state == 3) {
		result_set(res, daemon, "none", dir);
		r = 0;
		goto out;
	}
	int have_data = stat(keyring, &st) == 0;
	if ((state & 1) && !have_data) {
		r = eos_fail(e, EEXIST, dir, "mon_add: mon.%s is in the monmap but has no data here "
			     "(%s): another host has it", id, dir);
		goto out;
	}
	result_set(res, daemon, have_data ? "start" : "create", dir);
	if (d->test) {
		r = 0;
		goto out;
	}
	if (!have_data) {
		/* The current monmap and the mon. key, both from the cluster, then mkfs (which
		 * wants an empty or missing data dir: the files go next to it). */
		char rootbuf[EOS_PATH_MAX];
		snprintf(rootbuf, sizeof(rootbuf), "%s", root);
		r = eos_mkdir_p(rootbuf, 0755, e);
		if (r < 0)
			goto out;
		r = pathf(e, monmap, sizeof(monmap), "%s/." CLUSTER "-%s.monmap.tmp", root, id);
		if (r < 0)
			goto out;
		r = eos_rados_mon_command(c, "{\"prefix\": \"mon getmap\"}", &out, e);
		if (r < 0)
			goto out;
		r = write_secret(monmap, out.data ? out.data : "", out.len, e);
		if (r < 0)
			goto out;
		char tmpkey[EOS_PATH_MAX];
		r = pathf(e, tmpkey, sizeof(tmpkey), "%s/." CLUSTER "-%s.keyring.tmp", root, id);
		if (r < 0)
			goto out;
		r = eos_rados_mon_command(c, "{\"prefix\": \"auth get\", \"entity\": \"mon.\"}", &out, e);
		if (r < 0)
			goto out;
		r = write_secret(tmpkey, out.data ? out.data : "", out.len, e);
		if (r < 0)
			goto out;
		const char *mkfs[] = {"--mkfs", "--monmap", monmap, "--keyring", tmpkey, "--mon-data",
				      dir, NULL};
		r = daemon_run(o, "ceph-mon", id, mkfs, 120000, e);
		unlink(monmap);
		unlink(tmpkey);
		if (r < 0)
			goto out;
	}
	{
		const char *run[] = {"--mon-data", dir, "--public-addrv", addrv, NULL};
		r = daemon_run(o, "ceph-mon", id, run, 120000, e);
		if (r < 0)
			goto out;
	}
	r = wait_for(c, WAIT_QUORUM, -1, id, d->wait_s, e);
out:
	eos_buf_free(&out);
	eos_rados_close(c);
	return r;
}

/* ---- CephFS -------------------------------------------------------------------------- */

int eos_ceph_fs_add(const struct eos_ceph_opts *o, const char *fs_name, const char *metadata_pool,
		    const char *data_pool, const struct eos_ceph_deploy *d,
		    struct eos_ceph_deploy_result *res, struct eos_err *e)
{
	struct eos_rados *c = NULL;
	struct eos_ceph_fsmap m = {0};
	struct eos_buf out = EOS_BUF_INIT;
	char daemon[64], pools[300], cmd[1024];
	int r;

	memset(res, 0, sizeof(*res));
	if (check_id("file system name", fs_name, e) < 0 ||
	    check_id("pool name", metadata_pool, e) < 0 || check_id("pool name", data_pool, e) < 0)
		return -e->code;
	if (strcmp(metadata_pool, data_pool) == 0)
		return eos_fail(e, EINVAL, "", "fs_add: metadata and data pool are both '%s'", data_pool);
	snprintf(daemon, sizeof(daemon), "fs.%s", fs_name);
	snprintf(pools, sizeof(pools), "%s,%s", metadata_pool, data_pool);
	r = eos_rados_connect(o, &c, e);
	if (r < 0)
		return r;
	r = eos_ceph_fs_dump(c, &m, e);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < m.n_fs; i++) {
		struct eos_ceph_fs *fs = &m.fs[i];
		if (strcmp(fs->name, fs_name) != 0)
			continue;
		if (strcmp(fs->metadata_pool, metadata_pool) != 0 || fs->n_data_pools < 1 ||
		    strcmp(fs->data_pools[0], data_pool) != 0) {
			r = eos_fail(e, EEXIST, "", "CephFS '%s' exists with pools %s,%s, not %s", fs_name,
				     fs->metadata_pool, fs->n_data_pools ? fs->data_pools[0] : "-", pools);
			goto out;
		}
		result_set(res, daemon, "none", pools);
		r = 0;
		goto out;
	}
	result_set(res, daemon, "create", pools);
	if (d->test) {
		r = 0;
		goto out;
	}
	r = eos_rados_pool_create(c, metadata_pool, e);
	if (r >= 0)
		r = eos_rados_pool_create(c, data_pool, e);
	if (r < 0)
		goto out;
	snprintf(cmd, sizeof(cmd), "{\"prefix\": \"fs new\", \"fs_name\": \"%s\", \"metadata\": \"%s\", "
		 "\"data\": \"%s\"}", fs_name, metadata_pool, data_pool);
	r = eos_rados_mon_command(c, cmd, &out, e);
out:
	eos_ceph_fsmap_free(&m);
	eos_buf_free(&out);
	eos_rados_close(c);
	return r;
}

/* ---- manager ------------------------------------------------------------------------- */

/* 1 when a mgr of this name is active or standby. */
static int mgr_known(struct eos_rados *c, const char *id, struct eos_err *e)
{
	struct eos_json *j = NULL;
	int r = eos_rados_mon_json(c, "mgr dump", &j, e);
	if (r < 0)
		return r;
	const char *active = eos_json_str(j, "active_name");
	const struct eos_json *avail = eos_json_get(j, "available");
	r = (active && strcmp(active, id) == 0 && avail && avail->boolean) ||
	    has_name(eos_json_get(j, "standbys"), id);
	eos_json_free(j);
	return r;
}

int eos_ceph_mgr_add(const struct eos_ceph_opts *o, const char *id, const struct eos_ceph_deploy *d,
		     struct eos_ceph_deploy_result *res, struct eos_err *e)
{
	static const struct keyed_daemon mgr = {
		"mgr", "/var/lib/ceph/mgr",
		"[\"mon\", \"allow profile mgr\", \"osd\", \"allow *\", \"mds\", \"allow *\"]",
		"ceph-mgr", "--mgr-data", mgr_known, WAIT_MGR,
	};
	return keyed_daemon_add(&mgr, o, id, d, res, e);
}

/* ---- bootstrap ----------------------------------------------------------------------- */

static int run_tool(const char *const argv[], struct eos_err *e)
{
	struct eos_run run = EOS_RUN_INIT;
	run.timeout_ms = 120000;
	int r = eos_spawn_ok(argv, &run, e);
	eos_run_free(&run);
	return r;
}

/* printf onto the end of b, whatever the length: never cut, never read past a buffer. */
static int appendf(struct eos_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int appendf(struct eos_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || eos_buf_reserve(b, (size_t)n + 1) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

static int bootstrap_check(const struct eos_ceph_bootstrap *b, struct eos_err *e)
{
	int r = check_id("daemon id", b->mon_id, e);
	if (r < 0)
		return r;
	if (!b->conf || !*b->conf || !b->admin_keyring || !*b->admin_keyring)
		return eos_fail(e, EINVAL, "", "bootstrap: conf and admin_keyring paths are required");
	if (!b->public_addr || !*b->public_addr || strpbrk(b->public_addr, " ,[]\n") ||
	    strlen(b->public_addr) > 200)
		return eos_fail(e, EINVAL, "", "bootstrap: invalid address '%.200s' (want e.g. "
				"v2:10.0.0.1:3300)", b->public_addr ? b->public_addr : "");
	if (b->extra && strchr(b->extra, '['))
		return eos_fail(e, EINVAL, "", "bootstrap: extra conf must be [global] lines only");
	return 0;
}

/* The paths and names of one bootstrap. */
struct boot {
	const struct eos_ceph_bootstrap *b;
	const char *root, *run_dir, *log_dir;
	char dir[EOS_PATH_MAX], monkey[EOS_PATH_MAX], monmap[EOS_PATH_MAX], daemon[64], addrv[256],
		uuid[40];
};

/* A cluster configured here already: in quorum (1: nothing to do), or ours to start again (0),
 * or another cluster's config (-EEXIST). */
static int bootstrap_existing(struct boot *bt, struct eos_ceph_opts *o, struct eos_ceph_deploy_result *res,
			      char *fsid, size_t fsid_len, struct eos_err *e)
{
	const struct eos_ceph_bootstrap *b = bt->b;
	char buf[EOS_PATH_MAX];
	struct eos_buf conf = EOS_BUF_INIT;
	if (eos_buf_read_file(&conf, AT_FDCWD, b->conf) == 0) {
		const char *f = strstr(conf.data, "fsid = ");
		if (f && fsid_len)
			snprintf(fsid, fsid_len, "%.36s", f + 7);
	}
	eos_buf_free(&conf);
	if (pathf(e, buf, sizeof(buf), "%s/keyring", bt->dir) < 0)
		return -e->code;
	if (access(buf, F_OK) != 0)
		return eos_fail(e, EEXIST, b->conf, "bootstrap: %s exists but %s has no monitor data: not "
				"bootstrapping over another cluster's config", b->conf, bt->dir);
	struct eos_rados *c = NULL;
	o->timeout_s = 3;
	int up = eos_rados_connect(o, &c, e) == 0 && mon_state(c, b->mon_id, e) == 3;
	eos_rados_close(c);
	o->timeout_s = 10;
	result_set(res, bt->daemon, up ? "none" : "start", bt->dir);
	return up;
}

int eos_ceph_conf_text(const struct eos_ceph_bootstrap *b, const char *fsid, struct eos_buf *text,
		       struct eos_err *e)
{
	const char *run_dir = b->run_dir && *b->run_dir ? b->run_dir : "/var/run/ceph";
	const char *log_dir = b->log_dir && *b->log_dir ? b->log_dir : "/var/log/ceph";
	int r = appendf(text, "[global]\nfsid = %s\nmon host = [%s]\nmon initial members = %s\n"
			"auth cluster required = cephx\nauth service required = cephx\n"
			"auth client required = cephx\n", fsid, b->public_addr, b->mon_id);
	r = r ?: appendf(text, "run dir = %s\nadmin socket = $run_dir/$cluster-$name.asok\n"
			 "pid file = $run_dir/$name.pid\n", run_dir);
	r = r ?: appendf(text, "log file = %s/$cluster-$name.log\n", log_dir);
	if (b->extra && *b->extra)
		r = r ?: appendf(text, "%s\n", b->extra);
	r = r ?: appendf(text, "\n[client]\nkeyring = %s\n", b->admin_keyring);
	return r < 0 ? eos_fail_sys(e, ENOMEM, b->conf, "bootstrap") : 0;
}

/* The keys first (0600), then the monitor map. */
static int bootstrap_keys(const struct boot *bt, struct eos_err *e)
{
	const struct eos_ceph_bootstrap *b = bt->b;
	const char *k1[] = {"ceph-authtool", "--create-keyring", bt->monkey, "--gen-key", "-n", "mon.",
			    "--cap", "mon", "allow *", NULL};
	const char *k2[] = {"ceph-authtool", "--create-keyring", b->admin_keyring, "--gen-key",
			    "-n", "client.admin", "--cap", "mon", "allow *", "--cap", "osd",
			    "allow *", "--cap", "mds", "allow *", "--cap", "mgr", "allow *", NULL};
	const char *k3[] = {"ceph-authtool", bt->monkey, "--import-keyring", b->admin_keyring, NULL};
	const char *mm[] = {"monmaptool", "--create", "--fsid", bt->uuid, "--addv", b->mon_id, bt->addrv,
			    bt->monmap, NULL};
	int r;
	/* ceph-authtool writes keyrings 0600 itself; chmod again to be sure. */
	if ((r = run_tool(k1, e)) < 0 || (r = run_tool(k2, e)) < 0 || (r = run_tool(k3, e)) < 0 ||
	    (r = run_tool(mm, e)) < 0)
		return r;
	if (chmod(b->admin_keyring, 0600) < 0 || chmod(bt->monkey, 0600) < 0)
		return eos_fail_sys(e, errno, b->admin_keyring, "chmod");
	return 0;
}

/* A new cluster: fsid, directories, keys, the conf last (its presence means "configured"),
 * the monitor's store. */
static int bootstrap_create(struct boot *bt, const struct eos_ceph_opts *o, char *fsid, size_t fsid_len,
			    struct eos_err *e)
{
	const struct eos_ceph_bootstrap *b = bt->b;
	struct eos_buf text = EOS_BUF_INIT;
	int r = read_uuid(bt->uuid, sizeof(bt->uuid), e);
	if (r < 0)
		return r;
	if (fsid_len)
		snprintf(fsid, fsid_len, "%s", bt->uuid);
	const char *dirs[] = {bt->root, bt->run_dir, bt->log_dir};
	for (size_t i = 0; i < 3 && r >= 0; i++)
		r = eos_mkdir_p(dirs[i], 0755, e);
	r = r < 0 ? r : eos_ceph_conf_text(b, bt->uuid, &text, e);
	r = r < 0 ? r : bootstrap_keys(bt, e);
	r = r < 0 ? r : write_secret(b->conf, text.data, text.len, e);
	eos_buf_free(&text);
	if (r < 0)
		return r;
	chmod(b->conf, 0644);  /* no secrets in it */
	const char *mkfs[] = {"--mkfs", "--monmap", bt->monmap, "--keyring", bt->monkey, "--mon-data",
			      bt->dir, NULL};
	r = daemon_run(o, "ceph-mon", b->mon_id, mkfs, 120000, e);
	unlink(bt->monmap);
	unlink(bt->monkey);
	return r;
}

int eos_ceph_bootstrap(const struct eos_ceph_bootstrap *b, struct eos_ceph_deploy_result *res,
		       char *fsid, size_t fsid_len, struct eos_err *e)
{
	struct boot bt = {.b = b};
	bt.root = b->mon_root && *b->mon_root ? b->mon_root : "/var/lib/ceph/mon";
	bt.run_dir = b->run_dir && *b->run_dir ? b->run_dir : "/var/run/ceph";
	bt.log_dir = b->log_dir && *b->log_dir ? b->log_dir : "/var/log/ceph";
	struct eos_ceph_opts o = {.conf = b->conf, .keyring = b->admin_keyring, .timeout_s = 10};
	memset(res, 0, sizeof(*res));
	if (fsid_len)
		fsid[0] = '\0';
	int r = bootstrap_check(b, e);
	if (r < 0)
		return r;
	snprintf(bt.addrv, sizeof(bt.addrv), "[%s]", b->public_addr);
	snprintf(bt.daemon, sizeof(bt.daemon), "mon.%s", b->mon_id);
	if (pathf(e, bt.dir, sizeof(bt.dir), "%s/" CLUSTER "-%s", bt.root, b->mon_id) < 0 ||
	    pathf(e, bt.monkey, sizeof(bt.monkey), "%s/." CLUSTER "-%s.keyring.tmp", bt.root, b->mon_id) < 0 ||
	    pathf(e, bt.monmap, sizeof(bt.monmap), "%s/." CLUSTER "-%s.monmap.tmp", bt.root, b->mon_id) < 0)
		return -e->code;
	if (access(b->conf, F_OK) == 0) {
		r = bootstrap_existing(&bt, &o, res, fsid, fsid_len, e);
		if (r != 0 || b->test)
			return r < 0 ? r : 0;
	} else {
		result_set(res, bt.daemon, "create", bt.dir);
		if (b->test)
			return 0;
		r = bootstrap_create(&bt, &o, fsid, fsid_len, e);
		if (r < 0)
			return r;
	}
	const char *run[] = {"--mon-data", bt.dir, "--public-addrv", bt.addrv, NULL};
	r = daemon_run(&o, "ceph-mon", b->mon_id, run, 120000, e);
	struct eos_rados *c = NULL;
	if (r >= 0)
		r = eos_rados_connect(&o, &c, e);
	if (r >= 0)
		r = wait_for(c, WAIT_QUORUM, -1, b->mon_id, b->wait_s, e);
	eos_rados_close(c);
	return r;
}

/* ---- client config ------------------------------------------------------------------- */

static int same_content(const char *path, const char *text)
{
	struct eos_buf b = EOS_BUF_INIT;
	int same = eos_buf_read_file(&b, AT_FDCWD, path) == 0 && b.len == strlen(text) &&
		   memcmp(b.data, text, b.len) == 0;
	eos_buf_free(&b);
	return same;
}

int eos_ceph_write_client(const char *conf, const char *conf_text, const char *keyring,
			  const char *keyring_text, int test, struct eos_err *e)
{
	char dir[EOS_PATH_MAX];
	struct stat st;
	int changed = 0, r;
	const char *paths[2] = {conf, keyring}, *texts[2] = {conf_text, keyring_text};
	for (int i = 0; i < 2; i++) {
		if (!paths[i] || paths[i][0] != '/')
			return eos_fail(e, EINVAL, paths[i] ? paths[i] : "",
					"write_client: '%s' is not an absolute path", paths[i] ? paths[i] : "");
		/* The keyring must stay private: a wider mode counts as a change to make. */
		int private_ok = i == 0 || (stat(paths[i], &st) == 0 && (st.st_mode & 0077) == 0);
		if (same_content(paths[i], texts[i]) && private_ok)
			continue;
		changed = 1;
		if (test)
			continue;
		snprintf(dir, sizeof(dir), "%s", paths[i]);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			r = eos_mkdir_p(dir, 0755, e);
			if (r < 0)
				return r;
		}
		r = write_secret(paths[i], texts[i], strlen(texts[i]), e);
		if (r < 0)
			return r;
		if (i == 0 && chmod(paths[i], 0644) < 0)
			return eos_fail_sys(e, errno, paths[i], "chmod(%s)", paths[i]);
	}
	return changed;
}
