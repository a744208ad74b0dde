"""A plain Python implementation of the role rules of csrc/lib/ops/roles.c (see eos/ops/roles.h).

Not part of the product: it is what a user would otherwise write, the baseline of
bench/bench_roles.py, and an independent oracle in tests/unit/test_roles.py (assignment and
churn must match the C implementation exactly; reasons and warnings are not reproduced).
"""
GIB = 1 << 30
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
    roles = [set() for _ in nodes]

    def tier(i, role):
        return (0 if eligible(nodes[i], role) else 2) + (role not in cur[i])

    def key(i, role, zcount):
        nd = nodes[i]
        other = len(raw[i] - {role, "app", "monolith"})
        k = [tier(i, role), zcount.get(zone[i], 0)]
        if role == "edge":
            k.append(not nd.get("public"))
        if role == "data":
            k.append(-nd["disk_bytes"])
        k += [len(roles[i]), other, -nd["cpus"], -nd["mem_bytes"], -nd["disk_bytes"], i]
        return k

    if n == 1:
        roles[0].add("monolith")
    else:
        for role in PLACED:
            zcount = {}
            for _ in range(target(role, n)):
                best = min((i for i in range(n) if role not in roles[i]),
                           key=lambda i: key(i, role, zcount))
                roles[best].add(role)
                zcount[zone[best]] = zcount.get(zone[best], 0) + 1
        if n >= 9:
            picked = False
            for i in range(n):
                if not roles[i] and eligible(nodes[i], "compute"):
                    roles[i].add("compute")
                    picked = True
            if not picked:
                best = min(range(n), key=lambda i: key(i, "compute", {}))
                roles[best].add("compute")
        free = [i for i in range(n) if not roles[i]]
        compute = [i for i in range(n) if "compute" in roles[i]]
        for i in free or compute or range(n):
            roles[i].add("app")

    assignment = {ids[i]: [r for r in ROLES if r in roles[i]] for i in range(n)}
    churn = sum(len((roles[i] ^ raw[i]) - {"app"}) for i in range(n) if raw[i])
    return {"assignment": assignment, "churn": churn}
