/* Role calculation: which node of a cluster does what.
 *
 * Input: the nodes (id, CPUs, RAM, unused disk, public address, zone) and the current
 * assignment; output: the new assignment with a reason for every (node, role), the changes,
 * the churn and warnings. Pure computation, no I/O, deterministic: nodes are sorted by id
 * first, every choice is a total order ending with the id, so the same inventory in any order
 * gives the same answer.
 *
 * Rules (n = number of nodes):
 *  - n == 1: the node is "monolith" (holds everything).
 *  - core (quorum): 1 for n <= 2, 3 from 3 nodes, 5 from 7 nodes; always odd.
 *  - data: 1 for n == 2, 3 from 3 nodes, the nodes with the most unused disk.
 *  - edge: 1, 2 from 7 nodes, 3 from 15; nodes with a public address first.
 *  - message: 1 from 6 nodes, 3 from 15. observe: 1 from 8 nodes, 2 from 15.
 *  - compute from 9 nodes: every node that holds no other role and meets the compute
 *    minimums (at least one node).
 *  - app: every node that holds no other role; when none is left, the compute nodes, or in a
 *    small cluster every node (apps run beside the other roles).
 *  - Each replicated role is placed one node at a time, choosing by (in this order):
 *    already holds the role and meets its minimums (stability) > meets the minimums >
 *    already holds it below the minimums > below the minimums (only when no eligible node is
 *    left: a warning says so); then fewest nodes of this role in the node's zone (spread over
 *    failure domains); then (edge) public address; (data) most unused disk; fewest roles
 *    given so far in this calculation; fewest other roles in the current assignment (minimal
 *    churn); most CPUs, RAM, disk; id.
 *  - RAM is compared with 10% slack: the kernel's MemTotal (Salt's mem_total) is a few
 *    percent below the installed RAM, so an "8 GiB" machine reports about 7.7 GiB.
 */
#ifndef EOS_ROLES_H
#define EOS_ROLES_H

#include <stddef.h>
#include <stdint.h>

#include "eos/core/buf.h"
#include "eos/core/err.h"

enum eos_role {
	EOS_ROLE_MONOLITH,
	EOS_ROLE_EDGE,
	EOS_ROLE_CORE,
	EOS_ROLE_DATA,
	EOS_ROLE_MESSAGE,
	EOS_ROLE_OBSERVE,
	EOS_ROLE_COMPUTE,
	EOS_ROLE_APP,
	EOS_ROLE_COUNT
};

#define EOS_ROLE_BIT(r) (1u << (r))
#define EOS_ROLE_ALL ((1u << EOS_ROLE_COUNT) - 1)

struct eos_role_min {
	unsigned cpus;
	unsigned mem_gib;
	unsigned disk_gib;   /* unused disk */
};

const char *eos_role_name(enum eos_role r);
/* The role named name, or -EINVAL with a message quoting it. */
int eos_role_parse(const char *name, struct eos_err *e);
const struct eos_role_min *eos_role_minimum(enum eos_role r);
/* How many nodes hold r in an n-node cluster (replicated roles; 0 for compute and app, which
 * take "the rest", and for roles that do not exist at that size). */
unsigned eos_roles_target(enum eos_role r, size_t n);

/* Bounds of the inventory: an id or zone is 1..EOS_ROLE_ID_MAX bytes without control
 * characters; cpus 1..EOS_ROLE_CPUS_MAX, mem_bytes 1..EOS_ROLE_BYTES_MAX, disk_bytes at most
 * EOS_ROLE_BYTES_MAX. */
#define EOS_ROLE_ID_MAX 255
#define EOS_ROLE_CPUS_MAX (1u << 20)
#define EOS_ROLE_BYTES_MAX (1ULL << 60)

struct eos_role_node {
	const char *id;
	const char *zone;        /* NULL or "" when unknown */
	unsigned cpus;
	uint64_t mem_bytes;
	uint64_t disk_bytes;     /* unused disk (eos_storage grain unused_bytes) */
	int public_addr;
};

/* One node of the current assignment (it may have left the cluster). */
struct eos_role_current {
	const char *id;
	unsigned roles;          /* EOS_ROLE_BIT set */
};

struct eos_role_out {
	const char *id;          /* the caller's string */
	size_t input_index;      /* index in the caller's node array */
	unsigned roles;          /* new assignment */
	unsigned current;        /* current assignment (0 for a new node) */
	size_t reason[EOS_ROLE_COUNT];  /* offsets into result text, for the roles set */
};

struct eos_roles_result {
	size_t n;
	struct eos_role_out *nodes;          /* sorted by id */
	size_t ndeparted;
	struct eos_role_current *departed;   /* current nodes absent from the inventory, by id */
	struct eos_buf text;                 /* NUL-separated reasons and warnings */
	size_t nwarnings;
	size_t *warnings;                    /* offsets into text */
	unsigned churn;     /* roles other than app added or removed on nodes present before and after */
	unsigned counts[EOS_ROLE_COUNT];     /* nodes holding each role */
};

static inline const char *eos_roles_text(const struct eos_roles_result *r, size_t off)
{
	return r->text.data + off;
}

/* Calculate the assignment. nodes: the inventory (ids unique, n >= 1); cur: the current
 * assignment (may be empty). Returns 0 and fills res (free with eos_roles_result_free), or
 * -EINVAL (empty inventory, duplicate or empty id, a field out of its bounds, quoting the node
 * and the field) / -ENOMEM with e filled and res empty. */
int eos_roles_calculate(const struct eos_role_node *nodes, size_t n,
			const struct eos_role_current *cur, size_t ncur,
			struct eos_roles_result *res, struct eos_err *e);
void eos_roles_result_free(struct eos_roles_result *res);

#endif
