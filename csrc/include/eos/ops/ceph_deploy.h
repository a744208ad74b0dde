/* Adding Ceph daemons on this host without systemd or cephadm: an OSD on a local device or
 * file (bluestore), a monitor, an MDS. Each is idempotent (a daemon that exists and runs is
 * left alone; one that exists but is stopped is started) and has a test mode that changes
 * nothing and says what it would do. Keys are made on the cluster (auth commands through
 * librados) and written 0600; daemons are started with an argv vector (eos_spawn) and
 * daemonize themselves; every wait is bounded. */
#ifndef EOS_CEPH_DEPLOY_H
#define EOS_CEPH_DEPLOY_H

#include "eos/core/err.h"
#include "eos/drivers/ceph/rados.h"

struct eos_ceph_deploy {
	const char *data_root;    /* the directory holding <cluster>-<id>; per daemon type default
				   * /var/lib/ceph/{osd,mon,mds} */
	const char *public_addr;  /* mon: its address, e.g. "v2:127.0.0.1:3301" (required) */
	double crush_weight;      /* osd: initial CRUSH weight; < 0: by size (Ceph's default) */
	int test;                 /* 1: change nothing, fill the result with the plan */
	int wait_s;               /* wait for up / quorum / MDS map; <= 0: 60 s */
};

#define EOS_CEPH_DEPLOY_INIT {NULL, NULL, -1.0, 0, 0}

struct eos_ceph_deploy_result {
	char daemon[64];          /* "osd.3", "mon.b", "mds.b" ("osd.?" before it exists) */
	char action[16];          /* "none", "create", "start" */
	char data[EOS_PATH_MAX];  /* its data directory */
};

int eos_ceph_osd_add(const struct eos_ceph_opts *o, const char *device,
		     const struct eos_ceph_deploy *d, struct eos_ceph_deploy_result *res,
		     struct eos_err *e);
int eos_ceph_mon_add(const struct eos_ceph_opts *o, const char *id, const struct eos_ceph_deploy *d,
		     struct eos_ceph_deploy_result *res, struct eos_err *e);
int eos_ceph_mds_add(const struct eos_ceph_opts *o, const char *id, const struct eos_ceph_deploy *d,
		     struct eos_ceph_deploy_result *res, struct eos_err *e);

/* A CephFS file system with its metadata and data pools (created when missing). Result:
 * daemon = "fs.<name>", action "create" or "none"; data = "<metadata>,<data>". A file system of
 * that name with other pools is an error (-EEXIST), not silently accepted. */
int eos_ceph_fs_add(const struct eos_ceph_opts *o, const char *fs_name, const char *metadata_pool,
		    const char *data_pool, const struct eos_ceph_deploy *d,
		    struct eos_ceph_deploy_result *res, struct eos_err *e);

/* A manager daemon (key 0600, started, waited for in the mgr map). */
int eos_ceph_mgr_add(const struct eos_ceph_opts *o, const char *id, const struct eos_ceph_deploy *d,
		     struct eos_ceph_deploy_result *res, struct eos_err *e);

/* The first monitor of a new cluster on this host: fsid, ceph.conf, the mon. and client.admin
 * keys (ceph-authtool; the admin keyring 0600), monmap (monmaptool), ceph-mon --mkfs, start,
 * quorum. Idempotent: with conf already there and the monitor in quorum nothing is done; a
 * stopped one is started. */
struct eos_ceph_bootstrap {
	const char *conf;           /* ceph.conf to write */
	const char *admin_keyring;  /* client.admin keyring to write (0600) */
	const char *mon_id;
	const char *public_addr;    /* "v2:10.0.0.1:3300" */
	const char *mon_root;       /* default /var/lib/ceph/mon */
	const char *run_dir;        /* default /var/run/ceph */
	const char *log_dir;        /* default /var/log/ceph */
	const char *extra;          /* more "key = value" lines for [global], may be NULL */
	int test, wait_s;
};

int eos_ceph_bootstrap(const struct eos_ceph_bootstrap *b, struct eos_ceph_deploy_result *res,
		       char *fsid, size_t fsid_len, struct eos_err *e);

/* The ceph.conf bootstrap writes for b and fsid, appended to out: [global] with the fsid, the
 * one monitor and cephx, then [client]. Any length: nothing is cut. */
struct eos_buf;
int eos_ceph_conf_text(const struct eos_ceph_bootstrap *b, const char *fsid, struct eos_buf *out,
		       struct eos_err *e);

/* This host as a client of the cluster: conf (0644) and the client keyring (0600) as handed
 * over by the master. Returns 1 when a file changed, 0 when both were already identical. */
int eos_ceph_write_client(const char *conf, const char *conf_text, const char *keyring,
			  const char *keyring_text, int test, struct eos_err *e);

#endif
