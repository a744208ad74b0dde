"""Eos through Salt's syndic topology, with real daemons (tests/support/fleet.py): a master of
masters (order_masters, the Eos reactors and runners), two syndics (a salt-master and a
salt-syndic each) and one minion under each syndic, laid out as README "A larger fleet" says.

- the node-join reactor on the top acts on a minion under a syndic: its salt/minion/<id>/start,
  forwarded by the syndic, runs orchestration.node_addition, whose eos_roles.apply assigns
  roles that the minion reads from its own master;
- `salt '*' test.ping` and `eos_storage.analyze` from the top reach the minions under both
  syndics;
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
        top = fl.master_of_masters("eos-top", {**fleetlib.reactor_wiring(), "eos_roles_grains_timeout": 20})
        syndics = fl.syndics(list(LEAVES), top, ready_timeout=UP)
        bus = fleetlib.Bus(top)  # open before the minions start: their start events are the joins
        started = time.time()
        for syn in syndics:
            fl.minion(syn, LEAVES[syn.id])
        ids = sorted(LEAVES.values())
        fleetlib.wait_for_minions(top, ids, UP)
        yield top, syndics, ids, started, bus
    finally:
        if bus:
            bus.close()
        assert not fl.stop()


def test_node_join_reactor_acts_for_minions_under_syndics(topology):
    top, _, ids, started, bus = topology
    for mid in ids:  # forwarded by its syndic under the original tag, which the reactor matches
        assert bus.tags(f"salt/minion/{mid}/start", started), mid
    deadline = time.monotonic() + UP
    seen = None
    while time.monotonic() < deadline:
        p = top.cli("salt", "--out=json", "--static", "--timeout=30", "-L", ",".join(ids),
                    "pillar.get", "eos:roles", timeout=120)
        seen = json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip() else {}
        if all(isinstance(seen.get(m), dict) and sorted(seen[m]) == ids for m in ids):
            break
        time.sleep(3)
    else:
        pytest.fail(f"the node-join reactor on the top never assigned roles to {ids}; last seen {seen!r}")
    # The test never calls apply: only the reactor's orchestrations can have run it, one per
    # join (pillar eos_join:id), and what they wrote on the top reached each minion's pillar
    # through its own syndic master (the shared pillar root).
    runs = bus.runs("runner.state.orchestrate", started)
    joined = {((a.get("pillar") or {}).get("eos_join") or {}).get("id")
              for d in runs for a in d.get("fun_args") or [] if isinstance(a, dict)}
    assert joined >= set(ids), runs


def test_ping_and_analyze_from_the_top_reach_every_minion(topology):
    top, _, ids, _, _ = topology
    # The syndics' own ids match '*' on the top but never answer: the CLI waits for them until
    # --timeout, so it is short.
    got = _json(top.cli("salt", "--out=json", "--static", "--timeout=20", "*", "test.ping", timeout=300))
    assert got == {m: True for m in ids}, got
    got = _json(top.cli("salt", "--out=json", "--static", "--timeout=30", "*", "eos_storage.analyze",
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
