"""Key acceptance on a real master (pytest-salt-factories) through the node-join reactor
(salt/auth -> eos_roles.accept_key): exact ids, fingerprints registered in pillar, and pillar
compiled at most once per id per eos_accept_pillar_ttl seconds."""
import os
import time

import pytest
import yaml
from saltfactories.utils import random_string

from tests.support import saltenv, saltkeys

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

TTL = 20


def _no_factories_accept(master, payload):
    """Keys are accepted by eos_roles.accept_key, not the factories."""


@pytest.fixture(scope="module")
def master(salt_factories):
    overrides = saltenv.reactor_master_overrides(open_mode=False, auto_accept=False,
                                                 eos_accept_pillar_ttl=TTL)
    factory = salt_factories.salt_master_daemon(
        random_string("eos-keys-master-"), overrides=overrides, on_auth_event_callback=_no_factories_accept)
    factory.eos_pillar = factory.config["pillar_roots"]["base"][0]
    with factory.started(start_timeout=120):
        yield factory


def _pillar(master, expected):
    with open(os.path.join(master.eos_pillar, "top.sls"), "w") as f:
        yaml.safe_dump({"base": {"*": ["eos_keys"]}}, f)
    with open(os.path.join(master.eos_pillar, "eos_keys.sls"), "w") as f:
        yaml.safe_dump({"eos": {"cluster": {"auto_accept": True, "expected_keys": expected}}}, f)


def _keys(master):
    ret = master.salt_key_cli().run("-L")
    assert ret.returncode == 0, ret
    return ret.data


def _wait_for(master, pred, what, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        keys = _keys(master)
        if pred(keys):
            return keys
        assert time.monotonic() < deadline, f"{what} within {timeout} s: {keys}"
        time.sleep(1)


def _settled(master, ids, seconds=8):
    """Give the reactor time to act on the salt/auth of ids, then return the key lists (a key
    that should stay pending must still be pending after the reactor ran)."""
    _wait_for(master, lambda k: set(ids) <= set(k["minions_pre"]) | set(k["minions"]), "keys seen")
    time.sleep(seconds)
    return _keys(master)


def test_only_a_registered_fingerprint_gets_a_key_accepted(master, tmp_path):
    ids = {k: random_string(f"eos-key-{k}-") for k in ("good", "nofp", "wrongfp", "victim")}
    ids["wild"] = ids["victim"][:-3] + "*"       # a glob that matches the victim's id
    conf, finger = {}, {}
    for k, mid in ids.items():
        conf[k], finger[k] = saltkeys.minion_with_key(str(tmp_path / k), mid, master)
    _pillar(master, {ids["good"]: finger["good"], ids["wrongfp"]: finger["victim"],
                     ids["wild"]: finger["wild"]})

    for k in ("victim", "nofp", "wrongfp", "wild", "good"):
        saltkeys.knock(conf[k])
    keys = _wait_for(master, lambda k: ids["good"] in k["minions"], "the registered key accepted")
    keys = _settled(master, list(ids.values()))
    assert keys["minions"] == [ids["good"]], keys
    assert sorted(keys["minions_pre"]) == sorted(ids[k] for k in ("nofp", "wrongfp", "victim", "wild")), keys
    assert saltkeys.knock(conf["good"]).returncode == 0   # the accepted key really works

    # By hand: the glob id is refused (quoted), nothing else is accepted; an exact id whose
    # fingerprint is not registered stays pending.
    run = master.salt_run_cli(timeout=60)
    ret = run.run("eos_roles.accept_key", ids["wild"])
    assert ret.returncode != 0 and repr(ids["wild"]) in ret.stdout + ret.stderr, ret
    ret = run.run("eos_roles.accept_key", ids["nofp"])
    assert ret.returncode == 0 and ret.data["accepted"] is False, ret
    assert "expected_keys" in ret.data["comment"]
    ret = run.run("eos_roles.accept_key", ids["wrongfp"])
    assert ret.data["accepted"] is False and finger["wrongfp"] in ret.data["comment"], ret
    assert _keys(master)["minions"] == [ids["good"]]


def test_pillar_is_compiled_once_per_id_per_interval(master, tmp_path):
    mid = random_string("eos-key-late-")
    confdir, finger = saltkeys.minion_with_key(str(tmp_path / "late"), mid, master)
    _pillar(master, {})
    # Taken before the knock: the reactor compiles the pillar while the knock runs, and a
    # loaded machine can keep the knock going for seconds after that.
    before = time.monotonic()
    saltkeys.knock(confdir)
    first = time.monotonic()
    assert mid in _settled(master, [mid], seconds=4)["minions_pre"]
    # Registered now, but the reactor still holds the pillar it compiled for this id: a new
    # knock within the interval is not accepted ...
    _pillar(master, {mid: finger})
    saltkeys.knock(confdir)
    if time.monotonic() - before < TTL - 6:
        assert mid in _settled(master, [mid], seconds=4)["minions_pre"]
    # ... and once the interval has passed, the next knock is.
    time.sleep(max(0.0, TTL + 1 - (time.monotonic() - first)))
    saltkeys.knock(confdir)
    _wait_for(master, lambda k: mid in k["minions"], "accepted after the pillar interval")
