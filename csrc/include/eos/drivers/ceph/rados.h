/* Ceph cluster state through librados: connect with timeouts, monitor commands (JSON in and
 * out, parsed with json.h), cluster usage, pools, CephFS maps.
 *
 * Every call is bounded: client_mount_timeout, rados_mon_op_timeout and rados_osd_op_timeout
 * are set from opts->timeout_s, so an unreachable monitor or a wrong key gives -ETIMEDOUT or
 * -EACCES/-EPERM instead of a hang. */
#ifndef EOS_RADOS_H
#define EOS_RADOS_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/buf.h"
#include "eos/core/err.h"
#include "eos/core/json.h"

struct eos_ceph_opts {
	const char *conf;      /* ceph.conf path; NULL: librados' default search */
	const char *keyring;   /* overrides the conf's keyring; may be NULL */
	const char *name;      /* "client.admin" when NULL */
	const char *mon_host;  /* overrides the conf's mon host; may be NULL */
	int timeout_s;         /* <= 0: 10 s */
};

struct eos_rados;  /* a connected cluster handle */

int eos_rados_connect(const struct eos_ceph_opts *o, struct eos_rados **out, struct eos_err *e);
void eos_rados_close(struct eos_rados *c);

/* Send one monitor command (a JSON object such as {"prefix":"status","format":"json"}).
 * The output goes to out; a non-zero return carries the monitor's status text. */
int eos_rados_mon_command(struct eos_rados *c, const char *cmd, struct eos_buf *out,
			  struct eos_err *e);
/* The same with an input buffer (a keyring for "auth add"). */
int eos_rados_mon_command_in(struct eos_rados *c, const char *cmd, const char *in, size_t inlen,
			     struct eos_buf *out, struct eos_err *e);
/* {"prefix": prefix, "format": "json"} sent and parsed; a prefix starting with '{' is sent
 * as the whole command. */
int eos_rados_mon_json(struct eos_rados *c, const char *prefix, struct eos_json **out,
		       struct eos_err *e);

struct eos_rados_usage {
	uint64_t total_bytes, used_bytes, avail_bytes, objects;
};
int eos_rados_cluster_stat(struct eos_rados *c, struct eos_rados_usage *u, struct eos_err *e);

/* Pool names as consecutive NUL-terminated strings in out (count returned). */
int eos_rados_pool_list(struct eos_rados *c, struct eos_buf *out, struct eos_err *e);
/* 0 created, 1 already there; -errno on failure. */
int eos_rados_pool_create(struct eos_rados *c, const char *pool, struct eos_err *e);
/* Pool name for an id into buf; 0 or -errno. */
int eos_rados_pool_name(struct eos_rados *c, int64_t id, char *buf, size_t len, struct eos_err *e);
/* OSD id as the OSD map has it: 0 with *up and *in set, -ENOENT when the map has no such OSD. */
int eos_rados_osd_state(struct eos_rados *c, long id, int *up, int *in, struct eos_err *e);

/* ---- `status` digested ---------------------------------------------------------------- */

#define EOS_CEPH_MAX_CHECKS 32
#define EOS_CEPH_MAX_MONS 16
#define EOS_CEPH_MAX_PGSTATES 32

struct eos_ceph_check {
	char name[64], severity[16], message[256];
};

struct eos_ceph_pgstate {
	char state[128];
	uint64_t count;
};

struct eos_ceph_status {
	char fsid[64];
	char health[32];                     /* HEALTH_OK / HEALTH_WARN / HEALTH_ERR */
	size_t n_checks;
	struct eos_ceph_check checks[EOS_CEPH_MAX_CHECKS];
	uint64_t num_mons;
	size_t n_quorum;
	char quorum[EOS_CEPH_MAX_MONS][64];  /* names of the monitors in quorum */
	uint64_t osds, osds_up, osds_in;
	uint64_t pgs, pools, objects;
	size_t n_pgstates;
	struct eos_ceph_pgstate pgstates[EOS_CEPH_MAX_PGSTATES];
	uint64_t bytes_total, bytes_used, bytes_avail, data_bytes;
	int mgr_available;
	uint64_t mds_up, mds_in, mds_max, mds_standby;
};

int eos_ceph_status(struct eos_rados *c, struct eos_ceph_status *st, struct eos_err *e);

/* ---- pools (osd pool ls detail + df) ------------------------------------------------- */

struct eos_ceph_pool {
	char name[128];
	int64_t id;
	uint64_t size, min_size, pg_num;
	char application[64];                /* first application, "" when none */
	uint64_t stored, objects, bytes_used, max_avail;
};

/* *out is malloc'ed (free it); returns the count. */
int eos_ceph_pools(struct eos_rados *c, struct eos_ceph_pool **out, struct eos_err *e);

/* ---- CephFS maps (fs dump) ----------------------------------------------------------- */

#define EOS_CEPH_MAX_DATA_POOLS 8
#define EOS_CEPH_MAX_MDS 16

struct eos_ceph_mds {
	char name[64];
	int64_t rank;
	char state[32];
};

struct eos_ceph_fs {
	char name[128];
	int64_t id;
	char metadata_pool[128];
	size_t n_data_pools;
	char data_pools[EOS_CEPH_MAX_DATA_POOLS][128];
	uint64_t max_mds;
	size_t n_mds;
	struct eos_ceph_mds mds[EOS_CEPH_MAX_MDS];
};

struct eos_ceph_fsmap {
	size_t n_fs;
	struct eos_ceph_fs *fs;              /* malloc'ed */
	uint64_t standbys;
};

int eos_ceph_fs_dump(struct eos_rados *c, struct eos_ceph_fsmap *m, struct eos_err *e);
void eos_ceph_fsmap_free(struct eos_ceph_fsmap *m);

#endif
