"""A hostile minion on a real master with two real minions (pytest-salt-factories): minion A
fires hostile events at every reactor Eos ships, wired as salt/reactor/eos_reactor.conf says.

Canaries on minion B (an old file its cleanup rules would remove, a running service its
degraded rules would stop) are never touched; the same canaries on A show that A's own,
legitimate (signed) events do act, on A only. Afterwards the master's job cache holds exactly
the jobs of A's legitimate events, each targeted at [A] with tgt_type list, with the hostile
strings passed as literal arguments."""
import json
import os
import subprocess
import sys
import time

import pytest
import yaml
from saltfactories.utils import random_string

from eos import events
from tests.support import initd, saltenv
from tests.support.saltenv import REPO

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

OLD = time.time() - 10 * 86400
# This test's own look at the master (jobs.active asks every minion with saltutil.running).
OWN_JOBS = ("runner.jobs.list_jobs", "runner.jobs.active", "saltutil.running")
# What a node's own schedule runs once its roles are applied (salt/roles/node_exporter.sls).
SCHEDULED = ("eos_storage.export_metrics",)
MB_STRING = "A" * (1 << 20)
INJECTION = "/srv\n  eos_pwn:\n    local.cmd.run:\n      - tgt: '*'\n      - arg: [touch /pwned]"
JINJA = "{{ salt['cmd.run']('touch /pwned') }}{% for x in range(9) %}{% endfor %}"


@pytest.fixture(scope="module")
def ids():
    return {"a": random_string("eos-hostile-a-"), "b": random_string("eos-victim-b-")}


@pytest.fixture(scope="module")
def canaries(tmp_path_factory, ids, request):
    reason = request.config._eos_ns_reason
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("canaries")
    services = initd.InitD(str(base / "services"))
    out = {}
    for key, mid in ids.items():
        scratch = base / f"scratch-{key}"
        scratch.mkdir()
        old = scratch / "old.log"
        old.write_bytes(b"\x11" * 4096)
        os.utime(old, (OLD, OLD))
        out[key] = {"id": mid, "scratch": str(scratch), "file": str(old),
                    "service": services.install(f"eos-canary-{key}")}
    out["services"] = services
    yield out
    services.close()


@pytest.fixture(scope="module")
def master(salt_factories, ids, canaries):
    overrides = saltenv.reactor_master_overrides(eos_roles_grains_timeout=5)
    factory = salt_factories.salt_master_daemon(random_string("eos-hostile-master-"), overrides=overrides)
    pillar = factory.config["pillar_roots"]["base"][0]
    top = {"base": {ids[k]: [f"eos_{k}"] for k in ids}}
    with open(os.path.join(pillar, "top.sls"), "w") as f:
        yaml.safe_dump(top, f)
    for key in ids:
        # The role states' services (OpenBao, node exporter ...) are not what this test is
        # about: they would only make the joins slow and depend on names resolving.
        data = {"eos": {"cluster": {"join_settle": 1}, "services": {"manage": False},
                        "storage": {"cleanup": [{"path": canaries[key]["scratch"], "older_than_days": 7}],
                                    "degraded": {"services": {"all": [canaries[key]["service"]]}}}}}
        with open(os.path.join(pillar, f"eos_{key}.sls"), "w") as f:
            yaml.safe_dump(data, f)
    with factory.started(start_timeout=120):
        yield factory


@pytest.fixture(scope="module")
def minions(master, ids, event_listener):
    start = time.time()
    overrides = {"log_level_logfile": "info", "enable_fqdns_grains": False, **initd.SALT_PROVIDERS}
    with master.salt_minion_daemon(ids["a"], overrides=overrides).started(start_timeout=120) as a, \
            master.salt_minion_daemon(ids["b"], overrides=overrides).started(start_timeout=120) as b:
        # Both joins (salt/minion/<id>/start -> node_addition) finish before the test looks.
        _wait(lambda: {e.data.get("joined") or e.data.get("id") for e in event_listener.get_events(
            [(master.id, "eos/cluster/roles/changed"), (master.id, "eos/cluster/join/failed")],
            after_time=start)} >= {a.id, b.id}, "both joins done", timeout=300)
        _wait_idle(master)
        yield {"a": a, "b": b}


def _wait_idle(master, timeout=180):
    run = master.salt_run_cli(timeout=60)
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:
        assert time.monotonic() < deadline, "jobs still running on the master"
        active = run.run("jobs.active").data
        quiet = quiet + 1 if not active else 0
        time.sleep(3)


def _jobs(master):
    ret = master.salt_run_cli(timeout=60).run("jobs.list_jobs")
    assert ret.returncode == 0, ret
    return ret.data


def _fire(minion, evs):
    path = os.path.join(minion.config["root_dir"], "hostile-events.json")
    with open(path, "w") as f:
        json.dump(evs, f)
    proc = subprocess.run([sys.executable, "-m", "tests.support.minion_events", minion.config_file, path],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _signed(minion, tag, payload, mid=None, ts=None):
    """Signed with the minion's real key, as its beacon does (mid: claim another id)."""
    return events.sign({"pki_dir": minion.config["pki_dir"], "id": mid or minion.id}, tag, payload, now=ts)


def _figures(level, target="/srv", used=80.0, **extra):
    return {"target": target, "level": level, "previous": "ok", "used_pct": used, "inodes_pct": 1.0,
            **extra}


def _envelope(mid, tag, payload):
    """What the master fires for an event.fire_master: the batch form can forge exactly this."""
    return {"id": mid, "tag": tag, "data": payload, "cmd": "_minion_event", "pretag": None}


def _hostile(a, b):
    th = "eos/storage/threshold/"
    single = []
    for tag, payload in [
        (th + "cleanup", _figures("cleanup")),                                     # unsigned
        (th + "cleanup", _signed(a, th + "cleanup", _figures("cleanup", used=INJECTION))),
        (th + "cleanup", _signed(a, th + "cleanup", _figures("cleanup", used=True))),
        (th + "cleanup", _signed(a, th + "cleanup", _figures("cleanup", used=1e9))),
        (th + "cleanup", _signed(a, th + "cleanup", {"target": "/srv", "level": "cleanup"})),
        (th + "cleanup", _signed(a, th + "cleanup", _figures("cleanup", target=MB_STRING))),
        (th + "cleanup", _signed(a, th + "cleanup", _figures("cleanup", target=["/srv"]))),
        (th + "cleanup", _signed(a, th + "cleanup", _figures("cleanup", target="/srv\0/etc"))),
        (th + "cleanup", _signed(a, th + "cleanup", _figures("cleanup", previous=JINJA))),
        (th + "cleanup", _signed(a, th + "cleanup", _figures("degraded"))),        # level mismatch
        (th + "pwn", _signed(a, th + "pwn", _figures("pwn"))),                      # unknown level
        (th + "cleanup/x", _signed(a, th + "cleanup/x", _figures("cleanup"))),
        (th + "{{ 7*7 }}", _signed(a, th + "{{ 7*7 }}", _figures("cleanup"))),
        (th + "degraded", _signed(a, th + "degraded", _figures("degraded"), ts=time.time() - 3600)),
        (th + "degraded", dict(_signed(a, th + "degraded", _figures("degraded")), _sig="Zm9v")),
        (th + "cleanup", "not a mapping"),
        ("eos/cluster/join", {"id": b.id, "failed_checks": {}}),                    # unsigned
        ("salt/minion/" + b.id + "/start", {"id": b.id}),                           # tag names B
    ]:
        single.append({"form": "single", "tag": tag, "data": payload})
    # The batch form: the master fires these data as they are, envelope included.
    batch = []
    for tag, fake in [
        (th + "degraded", _envelope(b.id, th + "degraded", _figures("degraded"))),
        (th + "degraded", _envelope(b.id, th + "degraded", _signed(a, th + "degraded", _figures("degraded")))),
        (th + "degraded", _envelope(b.id, th + "degraded", _signed(a, th + "degraded", _figures("degraded"),
                                                                   mid=b.id))),
        (th + "cleanup", _envelope("*", th + "cleanup", _signed(a, th + "cleanup", _figures("cleanup"), mid="*"))),
        (th + "cleanup", _envelope("eos-victim-[a-z]*", th + "cleanup", _figures("cleanup"))),
        (th + "cleanup", _envelope("b?,*", th + "cleanup", _figures("cleanup"))),
        (th + "cleanup", _envelope(MB_STRING, th + "cleanup", _figures("cleanup"))),
        ("eos/cluster/join", _envelope("*", "eos/cluster/join", {"failed_checks": {}})),
        ("salt/minion/*/start", {"id": "*", "tag": "salt/minion/*/start", "data": "started"}),
        ("salt/minion/" + b.id + "/start", {"id": b.id + "\n- x", "data": "started"}),
        ("salt/auth", {"id": "*", "act": "pend", "result": True, "pub": "x"}),
        ("salt/auth", {"id": "eos-*", "act": "pend", "result": True, "pub": "x"}),
    ]:
        batch.append({"form": "batch", "tag": tag, "data": fake})
    return single + batch


def _legitimate(a, b):
    """A's own signed events; the strings that pass the type checks stay literal arguments.
    Returns the events and the jobs (function, keyword arguments) they must cause on A."""
    th = "eos/storage/threshold/"
    evs, jobs = [], []

    def add(level, payload, expect):
        evs.append({"form": "single", "tag": th + level, "data": _signed(a, th + level, payload)})
        jobs.extend(expect)

    add("degraded", _figures("degraded", target=INJECTION, id=b.id),
        [("eos_storage.cleanup", {"level": "degraded"}),
         ("eos_services.stop_noncritical", {"reason": f"storage degraded on {INJECTION}"})])
    add("emergency", _figures("emergency", target=JINJA, id="*"),
        [("eos_storage.emergency", {"target": JINJA}),
         ("eos_services.stop_noncritical", {"reason": f"storage emergency on {JINJA}"})])
    add("cleanup", _figures("cleanup", used=76), [("eos_storage.cleanup", {"level": "cleanup"})])
    return evs, jobs


def _kwargs(job):
    out = {}
    for arg in job.get("Arguments") or []:
        if isinstance(arg, dict):
            out.update({k: v for k, v in arg.items() if k != "__kwarg__"})
    return out


def _log(master):
    path = master.config["log_file"]
    if not os.path.isabs(path):
        path = os.path.join(master.config["root_dir"], path)
    with open(path, errors="replace") as f:
        return f.read()


def _wait(pred, what, timeout=90):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(1)


def test_hostile_events_act_on_nothing_beyond_the_sender(master, minions, canaries):
    a, b = minions["a"], minions["b"]
    services = canaries["services"]
    b_pid = services.pid(canaries["b"]["service"])
    before = set(_jobs(master))
    log_before = len(_log(master))

    hostile = _hostile(a, b)
    assert all(r is True for r in _fire(a, hostile)), "the minion did not send every event"
    legit, expected = _legitimate(a, b)
    assert all(r is True for r in _fire(a, legit))

    # A's own events act on A: its canaries go (the positive control)...
    _wait(lambda: not os.path.exists(canaries["a"]["file"]), "A's old file removed")
    _wait(lambda: not services.running(canaries["a"]["service"]), "A's service stopped")
    _wait(lambda: len(set(_jobs(master)) - before) >= len(expected), "A's jobs in the job cache")
    _wait_idle(master)

    # ... and nothing of B's is touched.
    assert os.path.exists(canaries["b"]["file"])
    assert services.running(canaries["b"]["service"]) and services.pid(canaries["b"]["service"]) == b_pid

    jobs = {jid: job for jid, job in _jobs(master).items()
            if jid not in before and job["Function"] not in OWN_JOBS}
    # A's own schedule (the roles A's legitimate join applied: the node exporter's metrics every
    # minute) returns its jobs to the cache too, recorded with A's id as target: A's, not the
    # master's doing, and never B's.
    scheduled = {jid: job for jid, job in jobs.items() if job["Function"] in SCHEDULED}
    assert all(job["Target"] == a.id for job in scheduled.values()), scheduled
    jobs = {jid: job for jid, job in jobs.items() if jid not in scheduled}
    got = sorted((j["Function"], json.dumps(_kwargs(j), sort_keys=True)) for j in jobs.values())
    want = sorted((fun, json.dumps(kw, sort_keys=True)) for fun, kw in expected)
    assert got == want, json.dumps(jobs, indent=1)[:6000]
    for job in jobs.values():
        assert job["Target"] == [a.id] and job["Target-type"] == "list", job

    # Every hostile event was dropped with a log line that names why.
    log = _log(master)[log_before:]
    dropped = [line for line in log.splitlines() if "reactor: dropped" in line]
    assert len(dropped) >= len(hostile), "\n".join(dropped)
    assert any(f"signature of {b.id}" in line for line in dropped), "the forged envelope naming B"
    assert max(len(line) for line in dropped) < 2000, "a 1 MB value was logged whole"
    assert not os.path.exists("/pwned")
