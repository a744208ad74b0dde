"""Node join across a real salt-master and real salt-minions on 127.0.0.1 (pytest-salt-factories).

The master runs this tree's reactor (salt/reactor/node_join.sls) and runners, with a private
pillar root. Key acceptance goes through eos: the factories' own auto-accept is switched off, pillar
eos:cluster:auto_accept is on and each minion's key fingerprint is registered in
eos:cluster:expected_keys (its key pair made before it starts), so every minion joins through
the reactor (salt/auth -> eos_roles.accept_key; salt/minion/*/start -> orchestration.node_addition).

Fixtures are local to this file (the generic master/minion fixtures of the harness branch are
not used yet).
"""
import contextlib
import os
import pathlib
import time

import pytest
import yaml
from pytestshellutils.exceptions import FactoryTimeout
from saltfactories.utils import random_string

from tests.support import saltenv, saltkeys

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ROLES_WAIT = 240   # bound for a join to show in every minion's pillar

REACTOR = [
    {"salt/minion/*/start": ["salt://reactor/node_join.sls"]},
    {"eos/cluster/join": ["salt://reactor/node_join.sls"]},
    {"salt/auth": ["salt://reactor/node_join.sls"]},
]


def _no_factories_accept(master, payload):
    """Keys are accepted by eos_roles.accept_key (pillar eos:cluster:auto_accept), not the factories."""


@pytest.fixture(scope="module")
def master(salt_factories):
    overrides = {
        "file_roots": {"base": [saltenv.SALT_TREE]},
        "runner_dirs": [os.path.join(saltenv.SALT_TREE, "_runners")],
        "reactor": REACTOR,
        "peer_run": {".*": ["eos_roles.master_info"]},
        "eos_roles_grains_timeout": 5,
        "open_mode": False,
        "auto_accept": False,
        "log_level_logfile": "info",
    }
    factory = salt_factories.salt_master_daemon(
        random_string("eos-master-"), overrides=overrides, on_auth_event_callback=_no_factories_accept)
    # The factories' private pillar root comes first in pillar_roots: eos_roles writes there.
    pillar = pathlib.Path(factory.config["pillar_roots"]["base"][0])
    (pillar / "top.sls").write_text(yaml.safe_dump({"base": {"*": ["eos_test"]}}))
    (pillar / "eos_test.sls").write_text(yaml.safe_dump(
        {"eos": {"cluster": {"auto_accept": True, "join_settle": 2},
                 # role assignment and join only; the services: test_roles_serving.py
                 "services": {"manage": False}}}))
    factory.eos_pillar = pillar
    with factory.started(start_timeout=120):
        yield factory


def _minion(master, name, cpus, mem_mib, disk_gib, zone):
    grains = {"num_cpus": cpus, "mem_total": mem_mib, "eos_zone": zone,
              "eos_storage": {"unused_bytes": disk_gib << 30, "unused_devices": [],
                              "total_bytes": disk_gib << 30, "free_bytes": disk_gib << 30}}
    minion = master.salt_minion_daemon(name, overrides={"grains": grains, "log_level_logfile": "info"})
    finger = saltkeys.pregenerate(minion.config["pki_dir"], master.config["hash_type"])
    path = master.eos_pillar / "eos_test.sls"
    data = yaml.safe_load(path.read_text())
    data["eos"]["cluster"].setdefault("expected_keys", {})[minion.id] = finger
    path.write_text(yaml.safe_dump(data))
    return minion


def _pillars(master, ids, timeout=20):
    try:
        ret = master.salt_cli(timeout=timeout + 10).run(
            "-L", f"--timeout={timeout}", "pillar.get", "eos:roles", "unmask=True", minion_tgt=",".join(ids))
    except FactoryTimeout:  # `salt` itself slow on a loaded machine: the caller polls again
        return {}
    return ret.data if isinstance(ret.data, dict) else {}


def _wait_for_assignment(master, ids, timeout=ROLES_WAIT):
    """Until every minion in ids sees the same eos:roles covering exactly ids; returns it."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = _pillars(master, ids)
        values = [seen.get(m) for m in ids]
        if all(isinstance(v, dict) and sorted(v) == sorted(ids) for v in values) and \
                all(v == values[0] for v in values):
            return values[0]
        time.sleep(3)
    pytest.fail(f"eos:roles did not converge on {sorted(ids)} within {timeout} s; last seen: {seen!r}; "
                f"master log tail: {_log_tail(master)}")


def _log_tail(master, n=4000):
    path = master.config["log_file"]
    if not os.path.isabs(path):
        path = os.path.join(master.config["root_dir"], path)
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return "(no log)"
    keep = [line for line in text.splitlines() if "eos" in line.lower() or "ERROR" in line]
    return "\n".join(keep)[-n:]


def _wait_for_event(event_listener, master, tag, predicate, after_time, timeout):
    """The first event with this tag after after_time whose data satisfies predicate (bounded)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        seen = event_listener.get_events([(master.id, tag)], after_time=after_time)
        for ev in seen:
            if predicate(ev.data):
                return ev
        time.sleep(2)
    pytest.fail(f"no {tag} event matching within {timeout} s; seen: {[e.data for e in seen]}; "
                f"master log: {_log_tail(master)}")


def _role_state_problems(master, minions, assignment):
    grains = master.salt_cli(timeout=60).run("-L", "--timeout=30", "grains.get", "eos_roles",
                                             minion_tgt=",".join(m.id for m in minions)).data or {}
    problems = []
    for m in minions:
        roles = assignment[m.id]
        base = m.config["root_dir"]
        for role in roles:
            marker = os.path.join(base, "etc", "eos", "roles", role)
            if not os.path.isfile(marker) or f"node: {m.id}" not in open(marker).read():
                problems.append(f"{m.id}: no marker {marker}")
        if sorted(grains.get(m.id) or []) != sorted(roles):
            problems.append(f"{m.id}: grain eos_roles {grains.get(m.id)!r}, pillar {roles!r}")
    return problems


def _assert_role_states(master, minions, assignment, timeout=120):
    """The role states were applied: markers and grain eos_roles match the assignment (bounded:
    the pillar is refreshed before the states run)."""
    deadline = time.monotonic() + timeout
    while True:
        problems = _role_state_problems(master, minions, assignment)
        if not problems:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"role states not applied within {timeout} s: {problems}; "
                        f"master log: {_log_tail(master)}")
        time.sleep(3)


def _join_handed_over_before_its_preparation(master, event_listener, minion):
    """A join whose orchestration starts while another eos_roles.apply settles hands itself over
    as the orchestration renders: the orchestration ends at once, and the settling run prepares
    the minion (test.ping, saltutil.sync_all, saltutil.refresh_grains: one job each for all the
    joins it holds), then announces the join. A handed join whose minion never answers is
    announced failed, and fails only itself."""
    import threading

    marker = pathlib.Path(master.config["cachedir"]) / "eos_roles" / "settling.json"
    start = time.time()
    settling = []
    leader = threading.Thread(target=lambda: settling.append(
        master.salt_run_cli(timeout=400).run("eos_roles.apply", "settle=15", "timeout=10")))
    leader.start()
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert marker.exists(), f"eos_roles.apply never settled; master log: {_log_tail(master)}"
        handed = {}

        def orchestrate(mid, attempts):
            handed[mid] = master.salt_run_cli(timeout=120).run(
                "state.orchestrate", "orchestration.node_addition",
                f'pillar={{"eos_join": {{"id": "{mid}", "trigger": "handover-test", "wait_attempts": {attempts}}}}}')

        joins = [threading.Thread(target=orchestrate, args=a) for a in ((minion.id, 6), ("eos-ghost-handed", 1))]
        for t in joins:
            t.start()
        for t in joins:
            t.join(timeout=150)
    finally:
        leader.join(timeout=400)
    assert sorted(handed) == sorted([minion.id, "eos-ghost-handed"]), handed
    for mid, ret in handed.items():
        out = str(ret.data)
        assert ret.returncode == 0, ret
        assert "eos-join-handed-over" in out and "handed to the eos_roles.apply settling" in out, out
        assert "eos-join-sync" not in out, out   # none of its own preparation steps ran
    assert settling and settling[0].returncode == 0, settling
    ran = settling[0].data
    assert minion.id in ran["joins"] and "eos-ghost-handed" not in ran["joins"], ran
    assert "test.ping" in ran["join_failures"]["eos-ghost-handed"], ran
    _wait_for_event(event_listener, master, "eos/cluster/roles/changed",
                    lambda d: d.get("joined") == minion.id and d.get("trigger") == "handover-test", start, 60)
    _wait_for_event(event_listener, master, "eos/cluster/join/failed",
                    lambda d: d.get("id") == "eos-ghost-handed" and "test.ping" in d.get("reason", ""), start, 60)
    # the settling run prepared the minion itself, by exact id
    jobs = [e.data for e in event_listener.get_events([(master.id, "salt/job/*/new")], after_time=start)]
    for fun in ("test.ping", "saltutil.sync_all", "saltutil.refresh_grains"):
        assert any(j.get("fun") == fun and j.get("tgt_type") == "list" and minion.id in (j.get("tgt") or [])
                   for j in jobs), (fun, jobs)


def test_node_join_end_to_end(master, event_listener):
    with contextlib.ExitStack() as stack:
        minions = []
        for i, (cpus, mem, disk, zone) in enumerate([(8, 32768, 2000, "z1"), (8, 32768, 1500, "z2"),
                                                     (8, 32768, 1000, "z3")]):
            m = _minion(master, random_string(f"eos-node{i}-"), cpus, mem, disk, zone)
            stack.enter_context(m.started(start_timeout=180))
            minions.append(m)
        ids = [m.id for m in minions]

        # Three minions started together: one consistent assignment, core quorum of 3.
        three = _wait_for_assignment(master, ids)
        assert sum("core" in r for r in three.values()) == 3, three
        assert sum("data" in r for r in three.values()) == 3
        _assert_role_states(master, minions, three)

        # A fourth node joins: the reactor runs the orchestration on its start event.
        start = time.time()
        fourth = _minion(master, random_string("eos-node3-"), 16, 65536, 4000, "z1")
        stack.enter_context(fourth.started(start_timeout=180))
        minions.append(fourth)
        ids.append(fourth.id)
        four = _wait_for_assignment(master, ids)
        joined_in = time.time() - start
        # stability: the three core members stay, the newcomer is app only (4 nodes: core 3, data 3)
        for mid in ids[:3]:
            assert "core" in four[mid] and "data" in four[mid], four
        assert "core" not in four[fourth.id]
        assert "app" in four[fourth.id]
        _assert_role_states(master, minions, four)
        _wait_for_event(event_listener, master, "eos/cluster/roles/changed",
                        lambda d: d.get("joined") == fourth.id, start, 60)
        pillar_file = yaml.safe_load((master.eos_pillar / "eos_roles.sls").read_text())
        assert pillar_file["eos"]["cluster"]["node_count"] == 4
        assert (master.eos_pillar / "eos_roles.sls.prev").exists()
        assert joined_in < ROLES_WAIT

        # eos_cluster.join: pre-join health checks (clock against the master through
        # publish.runner, disk, Salt version, names), then eos/cluster/join -> the orchestration.
        start = time.time()
        ret = master.salt_cli(timeout=90).run("eos_cluster.join", "min_free_bytes=1",
                                              minion_tgt=fourth.id)
        assert ret.returncode == 0, ret
        checks = ret.data["health"]["checks"]
        assert "from the master's" in checks["clock"]["comment"], checks["clock"]
        assert checks["salt_version"]["master_version"], checks
        join = _wait_for_event(event_listener, master, "eos/cluster/join",
                               lambda d: d.get("id") == fourth.id, start, 30)
        assert join.data["data"]["failed_checks"] == {}
        _wait_for_event(event_listener, master, "eos/cluster/roles/changed",
                        lambda d: d.get("trigger") == "eos/cluster/join" and d.get("joined") == fourth.id,
                        start, ROLES_WAIT)  # behind the start event's own join (lock + settle)
        # a join that fails its health check is refused and fires nothing
        ret = master.salt_cli(timeout=60).run("eos_cluster.join", f"min_free_bytes={1 << 62}",
                                              minion_tgt=fourth.id)
        assert "pre-join health check failed" in str(ret.data)

        _join_handed_over_before_its_preparation(master, event_listener, minions[1])

        # One node stops: the recalculation reports it and moves its roles.
        gone = minions[0]
        gone.terminate()
        alive = [m for m in minions if m is not gone]
        ran_at = time.time()
        ret = master.salt_run_cli(timeout=180).run("eos_roles.apply", "timeout=5")
        assert ret.returncode == 0, ret
        plan = ret.data
        # The role states of the nodes that changed went out in one job (`state.apply roles`,
        # which reads each node's roles from the pillar just refreshed), not in one job per
        # distinct role set awaited one after the other (six sets: 30 s at 10 nodes).
        role_jobs = {e.data.get("jid") for e in event_listener.get_events([(master.id, "salt/job/*/new")],
                                                                          after_time=ran_at)
                     if e.data.get("fun") == "state.apply"}
        assert len(role_jobs) == (1 if plan["applied"] else 0), (role_jobs, plan["applied"])
        assert plan["unresponsive"] == [gone.id]
        assert any(gone.id in w for w in plan["warnings"])
        assert sorted(plan["assignment"]) == sorted(m.id for m in alive)
        assert sum("core" in r for r in plan["assignment"].values()) == 3
        assert plan["changes"][gone.id]["departed"] is True
        after = _wait_for_assignment(master, [m.id for m in alive], timeout=60)
        assert after == plan["assignment"]
        assert not _role_state_problems(master, alive, after)   # applied by the run itself

    # A join of a minion that never answers fails the orchestration (no false success) and
    # fires eos/cluster/join/failed; the assignment stays.
    start = time.time()
    ret = master.salt_run_cli(timeout=120).run(
        "state.orchestrate", "orchestration.node_addition",
        'pillar={"eos_join": {"id": "eos-ghost", "wait_attempts": 1}}')
    assert ret.returncode != 0, ret
    _wait_for_event(event_listener, master, "eos/cluster/join/failed",
                    lambda d: d.get("id") == "eos-ghost", start, 30)
    assert yaml.safe_load((master.eos_pillar / "eos_roles.sls").read_text())["eos"]["roles"] == after
