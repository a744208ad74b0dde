#!/usr/bin/env python3
"""The fleet: one real salt-master and N real salt-minions on this machine (tests/support/fleet.py),
each minion with its own id, root_dir, cachedir, loopback source address and, in a mount
namespace of its own, its own loop-backed XFS at the same path (as separate machines have).
The master runs this tree's reactors (salt/reactor/eos_reactor.conf) with the eos runners.

Measured, in one run per N (`make fleet N=10,50,100`, or EOS_FLEET_N):
- starting all N together: time until every minion answers, then until they all hold one
  consistent role assignment (node-join reactor -> orchestration.node_addition ->
  eos_roles.apply); the generations written, the orchestrations the reactor started and how
  many times each minion's role state was applied;
- memory per minion (RSS of its whole process session, idle);
- `salt '*' eos_storage.analyze` beside Salt's `disk.usage`, and `eos_storage.expand MOUNT
  test=True` (medians of rounds);
- a threshold storm: every filesystem pushed past the cleanup level at once; each minion must get
  exactly one eos_storage.cleanup, and `salt-run manage.status` is timed during the storm;
- the master's CPU seconds (its whole session) for each measurement.
Results go to bench/README.md under "Fleet"."""
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

from bench.common import write_section  # noqa: E402
from tests.support import fleet as fleetlib  # noqa: E402
from tests.support.mountns import enter_private_mount_namespace  # noqa: E402

HEADING = "## Fleet: Eos on N real minions"
ROUNDS = int(os.environ.get("EOS_FLEET_ROUNDS", "3"))
SETTLE = int(os.environ.get("EOS_FLEET_SETTLE", "10"))
LOG_LEVEL = os.environ.get("EOS_FLEET_LOG_LEVEL", "warning")  # of every daemon's log file
MiB = 1 << 20


def salt_json(master, *args, timeout=300):
    """(seconds, parsed output, rc) of `salt --static --out=json ARGS`."""
    t0 = time.monotonic()
    p = master.cli("salt", "--out=json", "--static", *args, timeout=timeout)
    took = time.monotonic() - t0
    try:
        data = json.loads(p.stdout) if p.stdout.strip() else {}
    except ValueError:
        data = {}
    return took, data, p.returncode


def measured(master, fn):
    """(result of fn, master CPU seconds it cost)."""
    c0 = master.daemon.cpu_seconds()
    res = fn()
    return res, master.daemon.cpu_seconds() - c0


def assignment_written(fl, ids, timeout):
    """Until the master's pillar file eos_roles.sls assigns roles to every id, or timeout.
    Reading the file on this host adds no job to the start it measures (polling every
    minion's pillar did), and loses nothing: the event bus did, at N=50 the bench's own
    listener was dropped as a slow subscriber and waited out its timeout for an
    eos/cluster/roles/changed it never got."""
    import yaml

    path = os.path.join(fl.pillar_root, "eos_roles.sls")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                roles = (yaml.safe_load(f) or {}).get("eos", {}).get("roles") or {}
        except (OSError, yaml.YAMLError):
            roles = {}
        if set(roles) >= set(ids):
            return
        time.sleep(1)


def converge(master, ids, timeout):
    """Seconds until every minion's eos:roles covers exactly ids and all agree; the assignment."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        _, got, _ = salt_json(master, "-L", ",".join(ids), f"--timeout={answer_timeout(len(ids))}", "pillar.get", "eos:roles", "unmask=True")
        vals = [got.get(m) for m in ids]
        if all(isinstance(v, dict) and sorted(v) == sorted(ids) for v in vals) and \
                all(v == vals[0] for v in vals) and synced(master, ids):
            return time.monotonic() - start, vals[0]
        time.sleep(3)
    raise RuntimeError(f"no consistent role assignment on {len(ids)} minions within {timeout} s")


def synced(master, ids):
    """Whether every minion holds Eos's modules: its join synced it. The assignment covers every
    accepted key at once, grains or not, so a minion can have its roles before its join ran."""
    _, got, _ = salt_json(master, "-L", ",".join(ids), f"--timeout={answer_timeout(len(ids))}",
                          "sys.list_modules", "eos_*")
    return all(isinstance(got.get(m), list) and "eos_storage" in got[m] for m in ids)


def roles_generation(fl):
    """The generation of the assignment eos_roles.apply wrote (pillar eos:cluster:roles_generation)."""
    import yaml

    with open(os.path.join(fl.pillar_root, "eos_roles.sls")) as f:
        return yaml.safe_load(f)["eos"]["cluster"]["roles_generation"]


def salt_run_json(master, *args, timeout=300):
    p = master.cli("salt-run", "--out=json", *args, timeout=timeout)
    if p.returncode:
        raise RuntimeError(f"salt-run {' '.join(args)}: rc {p.returncode}: {p.stderr[-500:]}")
    return json.loads(p.stdout) if p.stdout.strip() else {}


def applied_from_job_cache(master, since):
    """{minion: how many state.apply jobs it returned} since `since`, from the master's job cache
    (the event bus drops job events under load, and a syndic passes some on late: counting
    them undercounted)."""
    floor = datetime.datetime.fromtimestamp(since).strftime("%Y%m%d%H%M%S%f")
    jobs = salt_run_json(master, "jobs.list_jobs", "search_function=state.apply")
    applied = {}
    for jid in sorted(j for j in jobs if j >= floor):
        for m in salt_run_json(master, "jobs.lookup_jid", jid):
            applied[m] = applied.get(m, 0) + 1
    return applied


def fill(daemon, mountpoint, pct):
    """Inside the minion's own mount namespace: fallocate a file so that its XFS is at pct %."""
    ns = ["nsenter", "-t", str(daemon.pid), "-m", "--"]
    out = subprocess.run(ns + ["df", "-B1", "--output=size,used", mountpoint], capture_output=True,
                         text=True, check=True).stdout.split()
    size, used = int(out[-2]), int(out[-1])
    want = int(size * pct / 100) - used
    subprocess.run(ns + ["fallocate", "-l", str(max(want, MiB)), os.path.join(mountpoint, "fill")],
                   check=True, capture_output=True)


def answer_timeout(n):
    """Salt's -t for a fleet-wide call: the default 5 s gives up on minions still forking the job
    when N of them share two CPUs (N=50 got no answer at load 65); a longer wait changes no
    wall time that is measured, since salt returns as soon as every minion has answered."""
    return max(30, 2 * n)


def medians(master, ids, argv, rounds=ROUNDS):
    """Median wall seconds and median master CPU of `salt -L ids ARGV`, checking every answer."""
    walls, cpus = [], []
    for _ in range(rounds):
        (took, data, rc), cpu = measured(master, lambda: salt_json(
            master, "-L", ",".join(ids), f"--timeout={answer_timeout(len(ids))}", *argv))
        bad = [m for m in ids if not isinstance(data.get(m), (dict, list))]
        if rc or bad:
            raise RuntimeError(f"salt {' '.join(argv)}: rc {rc}, no proper answer from {bad[:10]}; "
                               f"{bad[0] if bad else ''} said {str(data.get(bad[0]) if bad else '')[:300]!r}")
        walls.append(took)
        cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus)


def start_masters(fl, syndics):
    """The master the minions talk to, for each minion slot: the one master, or with syndics a
    master of masters (node-join reactor, runners) and `syndics` syndic masters, each with the
    threshold reactor (its minions' signed events are verified there: README "A larger
    fleet"). Returns (top, [master per slot], seconds until every master's request workers
    answered): the minions start on masters that are up, as in a fleet whose master has been
    running before they boot (fleetlib.wait_for_workers)."""
    wiring = fleetlib.reactor_wiring()
    opts = {"worker_threads": 8, "eos_roles_grains_timeout": 30}
    if not syndics:
        top = fl.master("eos-fleet-master", {**wiring, **opts})
        t = time.monotonic()
        fleetlib.wait_for_master(top, 300)
        fleetlib.wait_for_workers(top, 300)
        return top, [top], time.monotonic() - t
    t = time.monotonic()
    top = fl.master_of_masters("eos-fleet-top", {**wiring, **opts})
    threshold = [r for r in wiring["reactor"] if "eos/storage/threshold/*" in r]
    lower = fl.syndics([f"eos-fleet-syndic-{j}" for j in range(syndics)], top,
                       {"reactor": threshold, "worker_threads": 4}, ready_timeout=300)
    for m in [top, *lower]:
        fleetlib.wait_for_workers(m, 300)
    return top, lower, time.monotonic() - t


def show_logs(fl, lines=15):
    """The tails of the masters' logs and of the first minion's, to stderr: the work directory
    (and with it every log) is removed when the run ends."""
    logs = [d.log for d in fl.daemons if "minion" not in os.path.basename(d.log)]
    logs += [d.log for d in fl.daemons if "minion" in os.path.basename(d.log)][:1]
    for log in [f for log in logs for f in (log, log + ".out")]:
        try:
            with open(log, errors="replace") as f:
                tail = f.readlines()[-lines:]
        except OSError as exc:
            tail = [f"({exc})\n"]
        print(f"--- {log}", *tail, sep="", file=sys.stderr)


def run_one(n, work, syndics=0):
    mnt = os.path.join(work, "srv")
    pillar = {"eos": {"cluster": {"join_settle": SETTLE}, "services": {"manage": False},
                      "storage": {"cleanup": [{"path": os.path.join(mnt, "scratch"), "older_than_days": 7}]}}}
    fl = fleetlib.Fleet(os.path.join(work, f"n{n}s{syndics}"), pillar=pillar, log_level=LOG_LEVEL)
    res = {"n": n, "syndics": syndics, "load_start": os.getloadavg()[0]}
    bus = None
    try:
        top, masters, res["masters_ready_s"] = start_masters(fl, syndics)
        bus = fleetlib.Bus(top)
        ids = [f"eos-fleet-{n}-{i:03d}" for i in range(n)]
        beacon = {"eos_storage": [{"mounts": [mnt]}, {"thresholds": {"check_interval": 2}},
                                  {"node_count": 1}]}
        t0, c0 = time.time(), top.daemon.cpu_seconds()
        minions = {m: fl.minion(masters[i % len(masters)], m, {"beacons": beacon}, mountpoint=mnt)
                   for i, m in enumerate(ids)}
        res["up_s"] = fleetlib.wait_for_minions(top, ids, 300 + 10 * n, minions.values())
        assignment_written(fl, ids, 300 + 10 * n)
        _, assignment = converge(top, ids, 300 + 10 * n)
        res["converge_s"] = time.time() - t0
        res["start_cpu"] = top.daemon.cpu_seconds() - c0
        time.sleep(SETTLE + 5)  # orchestrations still in flight finish (they must add nothing)
        res["generation"] = roles_generation(fl)
        res["orchestrations"] = len(bus.runs("runner.state.orchestrate", t0))
        applied = applied_from_job_cache(top, t0)
        res["applied_once"] = sum(1 for m in ids if applied.get(m) == 1)
        res["applied_max"] = max(applied.values() or [0])
        res["roles"] = sorted({r for v in assignment.values() for r in v})
        res["rss_mib"] = statistics.median(d.rss_bytes() for d in minions.values()) / MiB

        res["analyze"] = medians(top, ids, ["eos_storage.analyze", "record=False"])
        res["disk_usage"] = medians(top, ids, ["disk.usage"])
        res["expand"] = medians(top, ids, ["eos_storage.expand", mnt, "test=True"])

        # The storm: every filesystem past the cleanup level (75 % on the single tier) at once.
        ts = time.time()
        c1 = top.daemon.cpu_seconds()
        for m in ids:
            fill(minions[m], mnt, 78)
        status_s = []
        deadline = time.monotonic() + 120 + 3 * n
        while time.monotonic() < deadline:
            t = time.monotonic()
            p = top.cli("salt-run", "--out=json", "manage.status", timeout=120)
            status_s.append(time.monotonic() - t if p.returncode == 0 else float("inf"))
            done = {m for targets, _ in bus.new_jobs("eos_storage.cleanup", ts) for m in targets}
            if done >= set(ids):
                break
        time.sleep(10)  # a duplicate would show now
        per = {}
        for targets, _ in bus.new_jobs("eos_storage.cleanup", ts):
            for m in targets:
                per[m] = per.get(m, 0) + 1
        res["storm_events"] = len(bus.tags("eos/storage/threshold/cleanup", ts))
        res["storm_once"] = sum(1 for m in ids if per.get(m) == 1)
        res["storm_max"] = max(per.values() or [0])
        res["storm_s"] = time.time() - ts
        res["status_max_s"] = max(status_s or [float("inf")])
        res["storm_cpu"] = top.daemon.cpu_seconds() - c1
        res["master_rss_mib"] = top.daemon.rss_bytes() / MiB
        res["load_end"] = os.getloadavg()[0]
    except Exception as exc:
        show_logs(fl)
        exc.eos_measured = dict(res, load_end=os.getloadavg()[0])
        raise
    finally:
        if bus:
            bus.close()
        errors = fl.stop()
        if errors:
            print("cleanup:", errors, file=sys.stderr)
    return res


def row(r):
    a, d, e = r["analyze"], r["disk_usage"], r["expand"]
    layout = f"{r['n']}" + (f" ({r['syndics']} syndics)" if r["syndics"] else "")
    return (f"| {layout} | {r['up_s']:.0f} s | {r['converge_s']:.0f} s, gen {r['generation']}, "
            f"{r['orchestrations']} orch., once {r['applied_once']}/{r['n']} | {r['start_cpu']:.0f} s | "
            f"{r['rss_mib']:.0f} MiB | {a[0]:.1f} s ({a[1]:.1f} s) | {d[0]:.1f} s ({d[1]:.1f} s) | "
            f"{e[0]:.1f} s ({e[1]:.1f} s) | {r['storm_once']}/{r['n']} once (max {r['storm_max']}), "
            f"{r['storm_s']:.0f} s, status ≤ {r['status_max_s']:.1f} s, {r['storm_cpu']:.0f} s | "
            f"{r['load_start']:.1f} → {r['load_end']:.1f} |")


def kept_rows(heading, fresh):
    """The section's earlier rows for the sizes this run did not measure (so `make fleet N=50`
    does not wipe the N=10 row), then the fresh ones, in order of N."""
    from bench.common import README

    text = open(README).read() if os.path.exists(README) else ""
    start = text.find(heading + "\n")
    end = text.find("\n## ", start + 1) if start >= 0 else -1
    old = text[start:end if end >= 0 else None].splitlines() if start >= 0 else []
    key = lambda r: r.split("|")[1].strip()  # noqa: E731
    now = {key(r) for r in fresh}
    rows = [r for r in old if r.startswith("| ") and key(r)[:1].isdigit() and key(r) not in now]
    return sorted(rows + fresh, key=lambda r: int(key(r).split()[0]))


def main(argv):
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sizes", nargs="?", default=os.environ.get("EOS_FLEET_N", "10"))
    ap.add_argument("--syndics", type=int, default=int(os.environ.get("EOS_FLEET_SYNDICS", "0")),
                    help="a master of masters and this many syndics, the minions spread over them")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (logs, job cache, eos_roles state) and print its path")
    args = ap.parse_args(argv)
    # Stopped by a signal, the fleet still stops by pid and its loop devices are detached (a
    # background job's SIGINT is ignored unless set back here).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = [int(x) for x in args.sizes.split(",")]
    reason = enter_private_mount_namespace()
    if reason:
        print(f"bench_fleet: {reason}", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="eos-fleet-")
    rows, failed = [], []
    try:
        for n in sizes:
            try:
                r = run_one(n, work, args.syndics)
            except Exception as exc:  # pylint: disable=broad-except
                failed.append(f"N={n}: {exc}")
                print(f"N={n} failed: {exc}", file=sys.stderr)
                print(json.dumps({"failed": str(exc)[:300], **getattr(exc, "eos_measured", {})}, default=str),
                      flush=True)  # what was measured before it failed (N=100: up and converge)
                continue
            print(json.dumps(r, default=str), flush=True)
            rows.append(row(r))
    finally:
        if args.keep:
            print(f"bench_fleet: work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    heading = HEADING + (" through syndics" if args.syndics else "")
    if rows:
        write_section(heading, "\n".join([
            heading, "",
            f"`make fleet N=...` (`bench/bench_fleet.py`): one salt-master and N salt-minions on this "
            "machine, or with `--syndics S` a master of masters and S syndics holding N/S minions each "
            "(the top runs the node-join reactor, each syndic's master the threshold reactor; "
            f"all on this machine, {os.cpu_count()} CPUs, shared with other work: see the load average), each minion "
            "with its own root, loopback address and loop-backed XFS in its own mount namespace; join "
            f"settle {SETTLE} s. Wall time, and in brackets the master's (with syndics the top's) CPU seconds, medians of "
            f"{ROUNDS} rounds.", "",
            "| N | all answer | one role assignment | master CPU (start) | RSS per minion | "
            "`eos_storage.analyze` | `disk.usage` | `expand MNT test=True` | threshold storm "
            "(cleanup once each, duration, manage.status, master CPU) | load |",
            "|---|---|---|---|---|---|---|---|---|---|", *kept_rows(heading, rows),
            *([""] + [f"Failed: {f}" for f in failed] if failed else []),
        ]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
