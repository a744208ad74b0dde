"""A plain Python implementation of the role rules of csrc/lib/ops/roles.c (see eos/ops/roles.h).

Not part of the product: it is what a user would otherwise write, the baseline of
bench/bench_roles.py, and an independent oracle in tests/unit/test_roles.py. It is the
straightforward algorithm (each of the k nodes of a role picked by a scan of every node) and
gives the whole plan of eos.roles_calculate: assignment, reasons, warnings, changes, counts and
churn must match the C implementation exactly.
"""
GIB = 1 << 30
MIB = 1 << 20
ROLES = ["monolith", "edge", "core", "data", "message", "observe", "compute", "app"]
MINS = {  # cpus, RAM GiB, unused disk GiB
    "monolith": (0, 0, 0), "edge": (2, 4, 50), "core": (4, 8, 100), "data": (4, 16, 500),
    "message": (2, 8, 50), "observe": (4, 8, 200), "compute": (8, 32, 100), "app": (2, 4, 0),
}
PLACED = ["core", "data", "edge", "message", "observe"]


def target(role, n):
    if n <= 1:
        return 1 if role == "monolith" and n == 1 else 0
    return {
        "core": 5 if n >= 7 else 3 if n >= 3 else 1,
        "data": 3 if n >= 3 else 1,
        "edge": 3 if n >= 15 else 2 if n >= 7 else 1,
        "message": 3 if n >= 15 else 1 if n >= 6 else 0,
        "observe": 2 if n >= 15 else 1 if n >= 8 else 0,
    }.get(role, 0)


def eligible(node, role):
    cpus, mem, disk = MINS[role]
    return (node["cpus"] >= cpus and node["mem_bytes"] >= mem * GIB // 10 * 9
            and node["disk_bytes"] >= disk * GIB)


def _has(nd):
    return (f"{nd['cpus']} CPUs, {nd['mem_bytes'] // MIB} MiB RAM, "
            f"{nd.get('disk_bytes', 0) // GIB} GiB unused disk")


def _needs(role):
    cpus, mem, disk = MINS[role]
    return f"needs {cpus} CPUs, {mem} GiB RAM, {disk} GiB unused disk"


def _pick_reason(nd, role, tier, nth, k):
    """The reason of the nth of k nodes of a replicated role (C: describe_pick)."""
    where = f", zone '{nd['zone']}'" if nd.get("zone") else ""
    head = f"{role} {nth} of {k}:"
    if tier == 0:
        return f"{head} kept, already {role} and meets its minimums ({_has(nd)}{where})"
    if tier == 2:
        return (f"{head} kept below its minimums ({_needs(role)}; has {_has(nd)}{where}): "
                "no eligible node is left")
    if tier == 3:
        return (f"{head} below its minimums ({_needs(role)}; has {_has(nd)}{where}) but no "
                "eligible node is left")
    why = "most resources among the eligible nodes"
    if role == "data":
        why = "most unused disk among the eligible nodes"
    elif role == "edge":
        why = "has a public address" if nd.get("public") else "no eligible node with a public address is left"
    return f"{head} meets its minimums, {why} ({_has(nd)}{where})"


def _fallback(nd, role):
    return (f"{nd['id']} holds {role} below its minimums ({_needs(role)}; has {_has(nd)}): no "
            "eligible node is left")


def _changes(ids, roles, raw, current):
    changes = {}
    for i, nid in enumerate(ids):
        if roles[i] != raw[i]:
            changes[nid] = {"added": [r for r in ROLES if r in roles[i] - raw[i]],
                            "removed": [r for r in ROLES if r in raw[i] - roles[i]],
                            "new": not raw[i]}
    for nid in sorted(set(current) - set(ids)):
        changes[nid] = {"added": [], "removed": [r for r in ROLES if r in current[nid]],
                        "departed": True}
    return changes


def calculate(nodes, current=None):
    current = current or {}
    nodes = sorted(nodes, key=lambda nd: nd["id"])
    ids = [nd["id"] for nd in nodes]
    if not nodes:
        raise ValueError("empty inventory")
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate node id")
    n = len(nodes)
    raw = [set(current.get(i, ())) for i in ids]
    cur = [set(ROLES) if "monolith" in r else r for r in raw]
    zone = [nd.get("zone") or "" for nd in nodes]
    nzones = len(set(zone))
    roles = [set() for _ in nodes]
    reasons = [{} for _ in nodes]
    warnings = []

    def tier(i, role):
        return (0 if eligible(nodes[i], role) else 2) + (role not in cur[i])

    def key(i, role, zcount, load):
        nd = nodes[i]
        other = len(raw[i] - {role, "app", "monolith"})
        k = [tier(i, role), zcount.get(zone[i], 0)]
        if role == "edge":
            k.append(not nd.get("public"))
        if role == "data":
            k.append(-nd["disk_bytes"])
        k += [load[i], other, -nd["cpus"], -nd["mem_bytes"], -nd["disk_bytes"], i]
        return k

    def pick(best, role, nth, k):
        t = tier(best, role)
        roles[best].add(role)
        reasons[best][role] = _pick_reason(nodes[best], role, t, nth, k)
        if t >= 2:
            warnings.append(_fallback(nodes[best], role))

    if n == 1:
        roles[0].add("monolith")
        reasons[0]["monolith"] = f"monolith: a one-node cluster, {ids[0]} holds every role"
    else:
        for role in PLACED:
            zcount = {}
            load = [len(r) for r in roles]   # roles given before this one
            k = target(role, n)
            for nth in range(1, k + 1):
                best = min((i for i in range(n) if role not in roles[i]),
                           key=lambda i: key(i, role, zcount, load))
                pick(best, role, nth, k)
                zcount[zone[best]] = zcount.get(zone[best], 0) + 1
            if k and nzones > 1 and len(zcount) < min(k, nzones):
                warnings.append(f"{role}: {k} nodes in only {len(zcount)} of {nzones} zones (the "
                                "nodes kept for stability share zones)")
        if n >= 9:
            picked = False
            for i in range(n):
                if not roles[i] and eligible(nodes[i], "compute"):
                    roles[i].add("compute")
                    reasons[i]["compute"] = ("compute: kept, holds no other role and meets the compute minimums"
                                             if "compute" in cur[i] else
                                             "compute: holds no other role and meets the compute minimums")
                    picked = True
            if not picked:
                load = [len(r) for r in roles]
                pick(min(range(n), key=lambda i: key(i, "compute", {}, load)), "compute", 1, 1)
        free = [i for i in range(n) if not roles[i]]
        compute = [i for i in range(n) if "compute" in roles[i]]
        why = ("app: holds no other role" if free else
               "app: no node is free of other roles, apps run on the compute nodes" if compute else
               "app: small cluster, no node is free of other roles: apps run beside them")
        for i in free or compute or range(n):
            roles[i].add("app")
            reasons[i]["app"] = why
            if not eligible(nodes[i], "app"):
                warnings.append(f"{ids[i]} holds app below its minimums (needs 2 CPUs, 4 GiB RAM; "
                                f"has {nodes[i]['cpus']} CPUs, {nodes[i]['mem_bytes'] // MIB} MiB RAM)")

    return {
        "assignment": {ids[i]: [r for r in ROLES if r in roles[i]] for i in range(n)},
        "reasons": {ids[i]: reasons[i] for i in range(n)},
        "changes": _changes(ids, roles, raw, current),
        "warnings": warnings,
        "counts": {r: sum(r in rs for rs in roles) for r in ROLES},
        "churn": sum(len((roles[i] ^ raw[i]) - {"app"}) for i in range(n) if raw[i]),
        "node_count": n,
    }
