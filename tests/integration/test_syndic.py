"""Eos through Salt's syndic topology, with real daemons (tests/support/fleet.py): a master of
masters (order_masters, the Eos reactors and runners), two syndics (a salt-master and a
salt-syndic each) and one minion under each syndic. All masters share file_roots and the pillar
root, as README "A larger fleet" says to lay them out.

- `salt '*' eos_storage.analyze` on the top master reaches the minions under both syndics;
- `salt-run eos_roles.calculate` on the top sees every node through the syndics (the top holds
  only the syndics' keys);
- the node-join reactor on the top acts on a minion under a syndic: its salt/minion/<id>/start,
  forwarded by the syndic, runs orchestration.node_addition, and the assignment written on the
  top reaches that minion's pillar through its own master.

The full N is bench/bench_fleet.py's.
"""
import json
import os
import time

import pytest

from tests.support import fleet as fleetlib

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

UP = 300  # bound for the daemons to come up on a loaded 2-core machine


def _json(p):
    assert p.returncode == 0, (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return json.loads(p.stdout)


@pytest.fixture(scope="module")
def topology(tmp_path_factory, request):
    if os.geteuid() != 0:
        pytest.skip(f"the fleet's daemons run as root; running as uid {os.geteuid()}")
    fl = fleetlib.Fleet(str(tmp_path_factory.mktemp("syndic")),
                        pillar={"eos": {"cluster": {"join_settle": 2}, "services": {"manage": False}}})
    try:
        top = fl.master("eos-top", {"order_masters": True, **fleetlib.reactor_wiring(),
                                    "eos_roles_grains_timeout": 20})
        fleetlib.wait_for_master(top, UP)
        syndics = [fl.syndic(f"eos-syndic-{x}", top, ready_timeout=UP) for x in "ab"]
        ids = [f"eos-leaf-{x}" for x in "ab"]
        started = time.time()
        for mid, syn in zip(ids, syndics):
            fl.minion(syn, mid)
        fleetlib.wait_for_minions(top, ids, UP)
        yield top, syndics, ids, started, fl
    finally:
        assert not fl.stop()


def test_analyze_from_the_top_reaches_every_minion(topology):
    top, syndics, ids, _, _ = topology
    got = _json(top.cli("salt", "--out=json", "--static", "--timeout=60", "*", "saltutil.sync_modules",
                        timeout=300))
    assert sorted(got) == sorted(ids), got
    got = _json(top.cli("salt", "--out=json", "--static", "--timeout=60", "*", "eos_storage.analyze",
                        "record=False", timeout=300))
    assert sorted(got) == sorted(ids), got
    for mid in ids:
        assert isinstance(got[mid], dict) and got[mid].get("mounts"), (mid, got[mid])


def test_calculate_sees_every_node_through_the_syndics(topology):
    top, syndics, ids, _, _ = topology
    assert sorted(os.listdir(os.path.join(top.conf["pki_dir"], "minions"))) == sorted(s.id for s in syndics)
    plan = _json(top.cli("salt-run", "--out=json", "eos_roles.calculate", timeout=300))
    assert sorted(plan["assignment"]) == sorted(ids), plan
    assert plan["node_count"] == len(ids) and not plan["unresponsive"], plan


def test_node_join_reactor_acts_for_a_minion_under_a_syndic(topology):
    top, syndics, ids, started, _ = topology
    deadline = time.monotonic() + UP
    seen = None
    while time.monotonic() < deadline:
        p = top.cli("salt", "--out=json", "--static", "--timeout=30", "-L", ",".join(ids),
                    "pillar.get", "eos:roles", timeout=120)
        seen = json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip() else {}
        vals = [seen.get(m) for m in ids]
        if all(isinstance(v, dict) and sorted(v) == sorted(ids) for v in vals):
            break
        time.sleep(3)
    else:
        pytest.fail(f"the node-join reactor on the top never assigned roles to {ids}; last seen {seen!r}")
    # Written by the top's eos_roles.apply (run by orchestration.node_addition), read by each
    # minion from its own syndic master through the shared pillar root.
    state = json.load(open(os.path.join(top.conf["cachedir"], "eos_roles", "state.json")))
    # The test never calls apply: only the reactor's orchestration can have written it.
    assert state["calculated_at"] >= started and sorted(state["last"]["assignment"]) == sorted(ids)
