/* Taking this host's OSDs out of a cluster safely, and finding them.
 *
 * Removal drains first: the OSD gets CRUSH weight 0 and is marked out; then (bounded) nothing
 * happens until no PG maps to it, the OSD itself reports storing no PG, every PG is
 * active+clean and Ceph calls it safe to destroy (`osd safe-to-destroy`); only then is its
 * daemon stopped, it is purged from the maps and its data directory removed. A drain that does
 * not finish in time puts the weight and the in flag back and changes nothing else. */
#ifndef EOS_CEPH_OSD_REMOVE_H
#define EOS_CEPH_OSD_REMOVE_H

#include "eos/core/err.h"
#include "eos/drivers/ceph/rados.h"

/* An OSD whose data directory (<root>/ceph-<id>, with a "block" link) is on this host. */
struct eos_ceph_local_osd {
	long id;
	char data[EOS_PATH_MAX];
	char device[EOS_PATH_MAX];   /* where "block" points (canonical), "" when it dangles */
};

/* The OSD data directories under root, sorted by id; *out malloc'ed (free it). Returns the
 * count; a missing root is 0 OSDs. */
int eos_ceph_local_osds(const char *root, struct eos_ceph_local_osd **out, struct eos_err *e);

struct eos_ceph_osd_drain {
	const char *data_root;  /* the directory holding ceph-<id>; default /var/lib/ceph/osd */
	int test;               /* 1: change nothing, say what would be done */
	int wait_s;             /* bound on the drain and the safety check; <= 0: 600 s */
};

struct eos_ceph_osd_removed {
	char daemon[64];        /* "osd.3" */
	char action[16];        /* "remove" (drained, stopped, purged), "none" (not in the map,
				 * no data here) or "cleanup" (purged earlier: leftovers removed) */
	long long drain_ms;     /* how long the PGs took to leave it */
	long pgs_at_start;      /* PGs on it when it was marked out (-1: unknown) */
};

int eos_ceph_osd_remove(const struct eos_ceph_opts *o, long id, const struct eos_ceph_osd_drain *d,
			struct eos_ceph_osd_removed *res, struct eos_err *e);

#endif
