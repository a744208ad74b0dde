"""Role calculation at 10,000, 100,000 and 300,000 nodes: eos.roles_calculate through its binding
(a list of node dicts in, the whole plan out: assignment, a reason for every (node, role),
changes, warnings), fresh and with the current assignment (one node gone, one new). Against:
bench/roles_ref.py, a plain Python implementation of the same rules giving the same plan (at
10,000 nodes: it needs seconds per run beyond), and the floor of any implementation that returns
this plan: Python's own dict comprehensions building objects of the same shape, no calculation.
Medians of CPU times (time.process_time: the machine is shared) over rounds, in one run; the
load average is recorded. Results go to bench/README.md under "Role calculation"."""
import gc
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import eos  # noqa: E402
from bench import roles_ref  # noqa: E402
from bench.common import write_section  # noqa: E402

GIB = 1 << 30
SIZES = (10_000, 100_000, 300_000)
ROUNDS = {10_000: 11, 100_000: 7, 300_000: 3}
PY_ROUNDS = 3
TARGET_MS = 300   # at 100,000 nodes (issue #15)
HEADING = "## Role calculation"


def inventory(n, seed=10000):
    rnd = random.Random(seed)
    nodes = [{"id": f"node-{i:06d}", "cpus": rnd.choice([2, 4, 8, 16, 32]),
              "mem_bytes": rnd.choice([4, 8, 16, 32, 64, 128]) * GIB,
              "disk_bytes": rnd.choice([0, 60, 200, 600, 2000, 8000]) * GIB,
              "public": rnd.random() < 0.02, "zone": f"zone-{rnd.randrange(6)}"}
             for i in range(n)]
    rnd.shuffle(nodes)
    return nodes


def median_cpu(fn, rounds):
    """Median CPU time of fn() in this process; the result is dropped outside the timing (what
    the caller pays to free it is not the calculation's)."""
    times = []
    for _ in range(rounds):
        t = time.process_time()
        out = fn()
        times.append(time.process_time() - t)
        del out
    return statistics.median(times)


def floor(plan):
    """Objects of the plan's shape built by dict comprehensions from a finished plan, with the
    cyclic GC off as eos.roles_calculate has it while it builds (else its passes over the
    growing heap dominate)."""
    a, r = plan["assignment"], plan["reasons"]
    gc.disable()
    try:
        return ({i: list(v) for i, v in a.items()}, {i: dict(v) for i, v in r.items()},
                {i: {"added": list(v), "removed": [], "new": True} for i, v in a.items()})
    finally:
        gc.enable()


def measure(n):
    nodes = inventory(n)
    plan = eos.roles_calculate(nodes)
    # the stable path: the current assignment, one node gone and one new
    later = nodes[1:] + [dict(nodes[0], id="node-new")]
    row = {
        "n": n,
        "fresh": median_cpu(lambda: eos.roles_calculate(nodes), ROUNDS[n]),
        "current": median_cpu(lambda: eos.roles_calculate(later, plan["assignment"]), ROUNDS[n]),
        "floor": median_cpu(lambda: floor(plan), ROUNDS[n]),
        "load": os.getloadavg()[0],
    }
    if n == SIZES[0]:
        assert roles_ref.calculate(nodes) == plan, "C and the plain implementation disagree"
        row["py_fresh"] = median_cpu(lambda: roles_ref.calculate(nodes), PY_ROUNDS)
        row["py_current"] = median_cpu(lambda: roles_ref.calculate(later, plan["assignment"]), PY_ROUNDS)
    return row


def ms(t):
    return f"{t * 1e3:.0f} ms" if t >= 0.0095 else f"{t * 1e3:.1f} ms"


def main():
    rows = [measure(n) for n in SIZES]
    by = {r["n"]: r for r in rows}
    lin = {k: by[300_000][k] / by[100_000][k] for k in ("fresh", "current")}
    small = by[SIZES[0]]
    table = "\n".join(
        f"| {r['n']:,} | {ms(r['fresh'])} | {ms(r['current'])} | {ms(r['floor'])} | {r['load']:.1f} |"
        for r in rows)
    worst = max(by[100_000]["fresh"], by[100_000]["current"]) * 1e3
    lines = [f"roles: {r['n']} nodes: fresh {ms(r['fresh'])}, with the current assignment "
             f"{ms(r['current'])}, floor {ms(r['floor'])}, load {r['load']:.1f}" for r in rows]
    lines.append(f"roles: 300k/100k: fresh {lin['fresh']:.2f}x, with assignment {lin['current']:.2f}x")
    print("\n".join(lines))
    write_section(HEADING, f"""{HEADING}

`python bench/bench_roles.py`: inventories of mixed nodes (CPUs, RAM, unused disk, 6 zones, 2%
with a public address), a list of dicts through `eos.roles_calculate`, which returns the whole
plan (assignment, a reason for every (node, role), changes, warnings). "With the current
assignment": the plan of the same inventory less one node plus a new one. Floor: only building
Python objects of the plan's shape (dict comprehensions), the least any implementation returning
this plan pays (GC off while it builds, as in eos). Median CPU time (`time.process_time`; the machine is shared, load average at each
size in the table) of {ROUNDS[10_000]}, {ROUNDS[100_000]} and {ROUNDS[300_000]} rounds, in one run.

| nodes | fresh | with the current assignment | floor (objects only) | load |
|---|---|---|---|---|
{table}

Linear growth, 300,000 / 100,000 nodes: **{lin['fresh']:.2f}x** fresh, **{lin['current']:.2f}x** with the
assignment (3.00x is linear). Target at 100,000 nodes, under {TARGET_MS} ms: {"met" if worst < TARGET_MS
else f"NOT met ({worst:.0f} ms at load {by[100_000]['load']:.1f})"}.
Against `bench/roles_ref.py` (the same plan in plain Python, each node of a role picked by a scan
of all), at {SIZES[0]:,} nodes: {ms(small['py_fresh'])} fresh (**{small['py_fresh'] / small['fresh']:.0f}x**
the C time), {ms(small['py_current'])} with the assignment (**{small['py_current'] / small['current']:.0f}x**).
""")


if __name__ == "__main__":
    main()
