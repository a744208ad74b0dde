#!/usr/bin/env python3
"""eos_ceph.status (librados in-process, digested in C) vs `ceph status --format json` (the
CLI a user would run), against a real single-host cluster started for the run
(tests/support/ceph_cluster.py) and killed afterwards. One run: N calls of each, alternating.
Results go to bench/README.md under "Ceph: eos_ceph.status vs ceph status".

EOS_BENCH_CEPH_CALLS=N changes the number of calls of each (default 20)."""
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

import eos  # noqa: E402
from tests.support import ceph_cluster as cc  # noqa: E402

CALLS = int(os.environ.get("EOS_BENCH_CEPH_CALLS", "20"))
HEADING = "## Ceph: eos_ceph.status vs ceph status"


def write_section(body):
    path = os.path.join(HERE, "README.md")
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = "# Benchmarks\n"
    start = text.find(HEADING)
    if start >= 0:
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start] + text[end + 1:] if end >= 0 else text[:start]
    text = text.rstrip("\n") + "\n\n" + HEADING + "\n\n" + body.rstrip("\n") + "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    missing = cc.missing_tools()
    if missing:
        sys.exit(f"bench_ceph: Ceph programs not installed: {', '.join(missing)}")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="eos-bench-ceph-") as base:
        cluster = cc.CephCluster(base)
        try:
            t = time.perf_counter()
            cluster.start(timeout=90)
            boot = time.perf_counter() - t
            conn = {"conf": cluster.conf, "keyring": cluster.keyring, "timeout": 10}
            cli = ["ceph", "-c", cluster.conf, "status", "--format", "json"]
            eos_times, cli_times = [], []
            for _ in range(CALLS):
                t = time.perf_counter()
                st = eos.ceph_status(**conn)
                eos_times.append(time.perf_counter() - t)
                assert st["health"] == "HEALTH_OK", st
                t = time.perf_counter()
                subprocess.run(cli, check=True, capture_output=True)
                cli_times.append(time.perf_counter() - t)
        finally:
            errors = cluster.stop()
            if errors:
                print(f"bench_ceph: teardown: {errors}", file=sys.stderr)
    e, c = statistics.median(eos_times), statistics.median(cli_times)
    body = f"""`python bench/bench_ceph.py`: a real single-host cluster (mon, mgr, one memstore OSD,
CephFS with one MDS) on 127.0.0.1, started in {boot:.1f} s. One run, {CALLS} calls of each,
alternating; 2 CPUs, load average at the start {load:.1f} (other work shares this machine).
eos: `eos.ceph_status(conf=...)` in this process — what `eos_ceph.status` calls: connect
(cephx), one `status` monitor command, JSON digested in C, disconnect. CLI:
`ceph -c CONF status --format json` (a new process each time, as a user or script runs it).

| | median | min | max |
|---|---|---|---|
| eos_ceph.status (librados in-process) | {e * 1000:.1f} ms | {min(eos_times) * 1000:.1f} ms | {max(eos_times) * 1000:.1f} ms |
| `ceph status --format json` | {c * 1000:.1f} ms | {min(cli_times) * 1000:.1f} ms | {max(cli_times) * 1000:.1f} ms |

Ratio (CLI / eos, medians): **{c / e:.1f}x**.
"""
    write_section(body)
    print(body)


if __name__ == "__main__":
    main()
