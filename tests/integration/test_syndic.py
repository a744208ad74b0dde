"""Eos through Salt's syndic topology, with real daemons (tests/support/fleet.py): a master of
masters (order_masters, the Eos reactors and runners), two syndics (a salt-master and a
salt-syndic each) and one minion under each syndic, laid out as README "A larger fleet" says.

- the node-join reactor on the top acts on a minion under a syndic: its salt/minion/<id>/start,
  forwarded by the syndic, runs orchestration.node_addition, whose eos_roles.apply assigns
  roles that the minion reads from its own master;
- `salt '*' eos_storage.analyze` from the top reaches the minions under both syndics;
- `salt-run eos_roles.calculate` on the top sees every node through the syndics (the top holds
  only the syndics' keys).

The full N is bench/bench_fleet.py's (--syndics).
"""
import json
import os
import time

import pytest

from tests.support import fleet as fleetlib

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

UP = 240  # bound for the daemons to come up on a loaded 2-core machine
LEAVES = {"eos-syndic-a": "eos-leaf-a", "eos-syndic-b": "eos-leaf-b"}


def _json(p):
    assert p.returncode == 0, (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return json.loads(p.stdout)


@pytest.fixture(scope="module")
def topology(tmp_path_factory, request):
    if os.geteuid() != 0:
        pytest.skip(f"the fleet's daemons run as root; running as uid {os.geteuid()}")
    fl = fleetlib.Fleet(str(tmp_path_factory.mktemp("syndic")),
                        pillar={"eos": {"cluster": {"join_settle": 2}, "services": {"manage": False}}})
    bus = None
    try:
        # syndic_wait: how long the top waits for the syndics' lists of the minions they
        # targeted before a job may end (5 s by default, on every publish); the syndics are on
        # this host.
        top = fl.master_of_masters("eos-top", {**fleetlib.reactor_wiring(), "eos_roles_grains_timeout": 20,
                                               "syndic_wait": 2})
        syndics = fl.syndics(list(LEAVES), top, ready_timeout=UP)
        bus = fleetlib.Bus(top)  # open before the minions start: their start events are the joins
        started = time.time()
        for syn in syndics:
            fl.minion(syn, LEAVES[syn.id])
        ids = sorted(LEAVES.values())
        # Each minion is up once its start event, forwarded by its syndic, is on the top's bus
        # (watched, not polled: every poll would be a publish through both syndic masters).
        for mid in ids:
            bus.wait(f"salt/minion/{mid}/start", UP, since=started)
        yield top, syndics, ids, started, bus
    finally:
        if bus:
            bus.close()
        assert not fl.stop()


def _joined(bus, since):
    """The minion ids whose node_addition orchestration finished (its last step fires
    eos/cluster/roles/changed on the top with data joined: <id>)."""
    return {d.get("joined") for _, _, d in bus.tags("eos/cluster/roles/changed", since) if isinstance(d, dict)}


def test_node_join_reactor_acts_for_minions_under_syndics(topology):
    top, _, ids, started, bus = topology
    deadline = time.monotonic() + UP
    while not _joined(bus, started) >= set(ids) and time.monotonic() < deadline:
        time.sleep(1)
    runs = bus.runs("runner.state.orchestrate", started)
    assert _joined(bus, started) >= set(ids), (bus.tags("eos/cluster/", started), runs)
    # The test never calls apply: only the reactor's orchestrations can have run it, one per
    # join (pillar eos_join:id, the id of the forwarded salt/minion/<id>/start) ...
    joined = {((a.get("pillar") or {}).get("eos_join") or {}).get("id")
              for d in runs for a in d.get("fun_args") or [] if isinstance(a, dict)}
    assert joined >= set(ids), runs
    # ... and what they wrote on the top reached each minion's pillar through its own syndic
    # master (the shared pillar root).
    seen = _json(top.cli("salt", "--out=json", "--static", "--timeout=10", "-L", ",".join(ids),
                         "pillar.get", "eos:roles", timeout=120))
    assert all(isinstance(seen.get(m), dict) and sorted(seen[m]) == ids for m in ids), seen


def test_analyze_from_the_top_reaches_every_minion(topology):
    top, _, ids, _, _ = topology
    # The syndics' own ids match '*' on the top but never answer: the CLI waits for them until
    # --timeout and one find_job round, so it is short; minions still running are waited for.
    got = _json(top.cli("salt", "--out=json", "--static", "--timeout=5", "*", "eos_storage.analyze",
                        "record=False", timeout=300))
    assert sorted(got) == ids, got
    for mid in ids:
        assert isinstance(got[mid], dict) and got[mid].get("mounts"), (mid, got[mid])


def test_calculate_sees_every_node_through_the_syndics(topology):
    top, syndics, ids, _, _ = topology
    assert sorted(os.listdir(os.path.join(top.conf["pki_dir"], "minions"))) == sorted(s.id for s in syndics)
    plan = _json(top.cli("salt-run", "--out=json", "eos_roles.calculate", timeout=300))
    assert sorted(plan["assignment"]) == ids, plan
    assert plan["node_count"] == len(ids) and not plan["unresponsive"], plan
