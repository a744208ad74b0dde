"""The roles glue through real Salt, without daemons: the role states with `salt-call --local`,
the eos_roles runner in-process (RunnerClient with a private master config) on inventory files,
and the eos_cluster health checks through the loader."""
import json
import os
import time

import pytest
import yaml

from tests.support import saltenv

GIB = 1 << 30
MIB = 1 << 20


# --- role states ------------------------------------------------------------------------------

def _root(salt_local):
    with open(os.path.join(salt_local.conf, "minion")) as f:
        return yaml.safe_load(f)["root_dir"]


def test_role_states_apply_and_remove(salt_local):
    root = _root(salt_local)
    me = "eos-test-minion"
    # Only the roles' marks here (eos:services:manage false): the services themselves are
    # tested in test_role_services.py and tests/integration/test_roles_serving.py.
    salt_local.pillar({"eos": {"roles": {me: ["core", "data"], "other": ["core"], "third": ["core"]},
                               "cluster": {"node_count": 3}, "services": {"manage": False}}})
    r = salt_local.call("state.apply", "roles.core,roles.data,roles.absent")
    assert r.returncode == 0, r
    assert all(v["result"] for v in r.data.values()), r
    marker = open(os.path.join(root, "etc/eos/roles/core")).read()
    assert f"node: {me}" in marker and "cluster_nodes: 3" in marker
    assert os.path.isfile(os.path.join(root, "etc/eos/roles/data"))
    g = salt_local.call("grains.get", "eos_roles")
    assert sorted(g.data) == ["core", "data"]

    # idempotent: a second run changes nothing
    again = salt_local.call("state.apply", "roles.core,roles.data,roles.absent")
    assert again.returncode == 0 and not any(v["changes"] for v in again.data.values()), again

    # the node becomes app: core and data marks go, app's arrive
    salt_local.pillar({"eos": {"roles": {me: ["app"]}, "cluster": {"node_count": 1},
                               "services": {"manage": False}}})
    r = salt_local.call("state.apply", "roles.app,roles.absent")
    assert r.returncode == 0, r
    assert not os.path.exists(os.path.join(root, "etc/eos/roles/core"))
    assert not os.path.exists(os.path.join(root, "etc/eos/core"))
    assert os.path.isfile(os.path.join(root, "etc/eos/roles/app"))
    assert salt_local.call("grains.get", "eos_roles").data == ["app"]

    # a role the pillar does not give this node fails, clearly
    r = salt_local.call("state.apply", "roles.edge")
    assert r.returncode != 0
    assert any("does not give eos-test-minion the edge role" in v["comment"] for v in r.data.values())
    assert not os.path.exists(os.path.join(root, "etc/eos/roles/edge"))


def test_role_states_test_mode_changes_nothing(salt_local):
    root = _root(salt_local)
    salt_local.pillar({"eos": {"roles": {"eos-test-minion": ["edge"]}}})
    r = salt_local.call("state.apply", "roles.edge", "test=True")
    assert r.returncode == 0, r
    assert any(v["result"] is None for v in r.data.values())
    assert not os.path.exists(os.path.join(root, "etc/eos/roles/edge"))


# --- runner, in-process -----------------------------------------------------------------------

@pytest.fixture
def runner(tmp_path):
    import salt.runner

    root = tmp_path / "master"
    opts = saltenv.master_opts(str(root))
    pillar = root / "pillar"

    class Runner:
        pillar_dir = pillar
        master_opts = opts

        @staticmethod
        def run(fun, **kw):
            # A client per call: concurrent calls stand for separate salt-run invocations, and
            # Salt's RunnerClient is not safe to share between threads.
            client = salt.runner.RunnerClient(opts)
            return client.cmd(fun, kwarg=kw, print_event=False, full_return=True)

    return Runner


def _grains(cpus, mem_gib, disk_gib, zone=None, public=None):
    g = {"num_cpus": cpus, "mem_total": mem_gib * 1024, "eos_storage": {"unused_bytes": disk_gib * GIB}}
    if zone:
        g["eos_zone"] = zone
    if public is not None:
        g["eos_public"] = public
    return g


def _inventory(tmp_path, n, fmt="yaml", name="inv"):
    nodes = [{"id": f"node{i}", "grains": _grains(8, 32, 1000 + i, zone="abc"[i % 3])} for i in range(n)]
    path = tmp_path / f"{name}.{fmt}"
    path.write_text(yaml.safe_dump(nodes) if fmt == "yaml" else json.dumps(nodes))
    return str(path)


def test_runner_calculate_from_files(runner, tmp_path):
    inv = _inventory(tmp_path, 4, "yaml")
    out = runner.run("eos_roles.calculate", inventory=inv)
    assert out["success"], out["return"]
    plan = out["return"]
    assert plan["node_count"] == 4 and plan["counts"]["core"] == 3
    assert plan["unresponsive"] == []
    assert all(plan["reasons"][n] for n in plan["assignment"])
    # what-if with a current assignment (JSON) and a fifth node
    cur = tmp_path / "cur.json"
    cur.write_text(json.dumps(plan["assignment"]))
    out = runner.run("eos_roles.calculate", inventory=_inventory(tmp_path, 5, "json"), current=str(cur))
    assert out["success"], out["return"]
    assert out["return"]["churn"] == 0
    assert out["return"]["changes"]["node4"]["new"] is True


def test_runner_mem_total_is_mib(runner, tmp_path):
    # 7,900 MiB of mem_total meets core's 8 GiB (MemTotal slack); 4 CPUs, 100 GiB
    inv = tmp_path / "inv.json"
    inv.write_text(json.dumps([{"id": "a", "grains": {"num_cpus": 4, "mem_total": 7900,
                                                      "eos_storage": {"unused_bytes": 100 * GIB}}}] +
                              [{"id": f"b{i}", "grains": _grains(4, 8, 100)} for i in range(2)]))
    plan = runner.run("eos_roles.calculate", inventory=str(inv))["return"]
    assert not [w for w in plan["warnings"] if "holds core" in w], plan["warnings"]


@pytest.mark.parametrize("content, words", [
    ("[{'grains': {}}]", ["needs an 'id'"]),
    ('[{"id": "x", "grains": {"num_cpus": "four", "mem_total": 1}}]', ["'num_cpus'", "'four'"]),
    ('[{"id": "x", "grains": {"num_cpus": 4, "mem_total": 8000, "eos_storage": {"unused_bytes": -5}}}]',
     ["'unused_bytes'", "-5"]),
    ("{a: [", ["neither JSON nor YAML"]),
    ("[]", ["non-empty list"]),
])
def test_runner_bad_inventory(runner, tmp_path, content, words):
    inv = tmp_path / "bad.yaml"
    inv.write_text(content)
    out = runner.run("eos_roles.calculate", inventory=str(inv))
    assert not out["success"]
    text = json.dumps(out["return"])
    for w in words:
        assert w in text, text
    assert not os.listdir(runner.pillar_dir)


def test_runner_apply_writes_pillar_and_rolls_back(runner, tmp_path):
    pillar = runner.pillar_dir
    first = runner.run("eos_roles.apply", inventory=_inventory(tmp_path, 3, name="three"))
    assert first["success"], first
    data = yaml.safe_load((pillar / "eos_roles.sls").read_text())
    assert data["eos"]["cluster"]["node_count"] == 3
    assert data["eos"]["roles"] == first["return"]["assignment"]
    assert yaml.safe_load((pillar / "top.sls").read_text()) == {"base": {"*": ["eos_roles"]}}
    assert not (pillar / "eos_roles.sls.prev").exists()

    second = runner.run("eos_roles.apply", inventory=_inventory(tmp_path, 7, name="seven"))
    assert second["success"], second
    assert second["return"]["generation"] == 2 and second["return"]["changed"]
    now = yaml.safe_load((pillar / "eos_roles.sls").read_text())
    prev = yaml.safe_load((pillar / "eos_roles.sls.prev").read_text())
    assert now["eos"]["cluster"]["node_count"] == 7 and prev["eos"]["cluster"]["node_count"] == 3
    # stability: the three first nodes keep their core role
    for n in ("node0", "node1", "node2"):
        assert "core" in now["eos"]["roles"][n]
    # no stray temp files
    assert sorted(p.name for p in pillar.iterdir()) == ["eos_roles.sls", "eos_roles.sls.prev", "top.sls"]

    back = runner.run("eos_roles.rollback")
    assert back["success"], back
    assert yaml.safe_load((pillar / "eos_roles.sls").read_text())["eos"]["roles"] == data["eos"]["roles"]
    assert yaml.safe_load((pillar / "eos_roles.sls.prev").read_text())["eos"]["roles"] == now["eos"]["roles"]

    # an operator's own top file keeps its entries
    (pillar / "top.sls").write_text(yaml.safe_dump({"base": {"*": ["site"]}}))
    assert runner.run("eos_roles.apply", inventory=_inventory(tmp_path, 3, name="three"))["success"]
    assert yaml.safe_load((pillar / "top.sls").read_text()) == {"base": {"*": ["site", "eos_roles"]}}


def test_runner_rollback_without_previous_fails(runner):
    out = runner.run("eos_roles.rollback")
    assert not out["success"]
    assert "no previous assignment" in json.dumps(out["return"])


# --- eos_cluster health checks --------------------------------------------------------------

def test_health_check_masterless(loaders, tmp_path):
    mod = loaders.modules.eos_cluster
    out = mod.health_check(path=str(tmp_path), min_free_bytes=1)
    checks = out["checks"]
    assert set(checks) == {"clock", "disk", "salt_version", "names"}
    assert checks["disk"]["result"] is True and checks["disk"]["avail_bytes"] > 0
    assert checks["salt_version"]["result"] is True
    assert checks["names"]["result"] is True
    # no master to ask: the kernel's clock discipline decides, and says so
    assert "master time unavailable" in checks["clock"]["comment"]
    assert checks["clock"]["result"] == checks["clock"]["kernel"]["synchronized"]
    assert out["result"] == all(c["result"] for c in checks.values())

    huge = mod.health_check(path=str(tmp_path), min_free_bytes=1 << 60)
    assert huge["result"] is False and "below the" in huge["checks"]["disk"]["comment"]


def test_join_refuses_when_a_check_fails(loaders, tmp_path):
    from salt.exceptions import CommandExecutionError

    with pytest.raises(CommandExecutionError) as exc:
        loaders.modules.eos_cluster.join(path=str(tmp_path), min_free_bytes=1 << 60)
    assert "pre-join health check failed" in str(exc.value) and "disk:" in str(exc.value)


def test_health_check_bad_arguments(loaders):
    from salt.exceptions import CommandExecutionError

    with pytest.raises(CommandExecutionError, match="'lots'"):
        loaders.modules.eos_cluster.health_check(min_free_bytes="lots")


def test_accept_key_follows_pillar(runner):
    import salt.crypt
    import salt.key

    def status():
        keys = salt.key.get_key(runner.master_opts)
        return (keys.list_status("pre").get("minions_pre", []),
                keys.list_status("acc").get("minions", []))

    pki = runner.pillar_dir.parent / "pki"
    _priv, pub = salt.crypt.gen_keys(2048)
    (pki / "minions_pre" / "newnode").write_text(pub if isinstance(pub, str) else pub.decode())
    assert status() == (["newnode"], [])
    # default: eos:cluster:auto_accept is off -> the key stays pending
    out = runner.run("eos_roles.accept_key", minion_id="newnode")
    assert out["success"], out["return"]
    assert out["return"]["accepted"] is False and "salt-key -a newnode" in out["return"]["comment"]
    assert status() == (["newnode"], [])
    # on, but no fingerprint registered, or another one -> still pending
    import salt.utils.crypt

    pub_path = runner.pillar_dir.parent / "newnode.pub"
    pub_path.write_text(pub if isinstance(pub, str) else pub.decode())
    finger = salt.utils.crypt.pem_finger(path=str(pub_path), sum_type=runner.master_opts["hash_type"])
    (runner.pillar_dir / "top.sls").write_text(yaml.safe_dump({"base": {"*": ["site"]}}))
    for expected, why in [({}, "no fingerprint for newnode"), ({"newnode": "00:11"}, "not the registered '00:11'")]:
        (runner.pillar_dir / "site.sls").write_text(yaml.safe_dump(
            {"eos": {"cluster": {"auto_accept": True, "expected_keys": expected}}}))
        out = runner.run("eos_roles.accept_key", minion_id="newnode")
        assert out["return"]["accepted"] is False and why in out["return"]["comment"], out["return"]
        assert status() == (["newnode"], [])
    # the registered fingerprint -> accepted
    (runner.pillar_dir / "site.sls").write_text(yaml.safe_dump(
        {"eos": {"cluster": {"auto_accept": True, "expected_keys": {"newnode": finger}}}}))
    out = runner.run("eos_roles.accept_key", minion_id="newnode")
    assert out["return"]["accepted"] is True, out["return"]
    assert status() == ([], ["newnode"])
    # nothing pending for it any more
    assert runner.run("eos_roles.accept_key", minion_id="newnode")["return"]["accepted"] is False


def test_concurrent_applies_are_serialized_and_debounced(runner, tmp_path):
    """Six joins at once (the orchestration calls apply with settle): one calculation, the other
    five are covered by it; one consistent pillar."""
    import threading

    inv = _inventory(tmp_path, 7, name="seven")
    results, errors = [], []

    def one():
        try:
            results.append(runner.run("eos_roles.apply", inventory=inv, settle=2))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors and len(results) == 6
    assert all(r["success"] for r in results), [r["return"] for r in results]
    ran = [r["return"] for r in results if "skipped" not in r["return"]]
    skipped = [r["return"] for r in results if "skipped" in r["return"]]
    assert len(ran) == 1 and len(skipped) == 5
    # A request that finds the run settling hands itself over and returns at once (a join's
    # orchestration then frees its reactor thread); one that came later is covered by its result.
    covered = [s for s in skipped if "handed_to" not in s]
    assert all(s["generation"] == 1 and s["assignment"] == ran[0]["assignment"] for s in covered)
    data = yaml.safe_load((runner.pillar_dir / "eos_roles.sls").read_text())
    assert data["eos"]["roles"] == ran[0]["assignment"] and data["eos"]["cluster"]["roles_generation"] == 1


def test_staggered_joins_give_one_calculation(runner, tmp_path):
    """Joins that keep arriving during the settle (a fleet starting over minutes) extend it: one
    calculation after the last join, every other request covered by it. With a fixed settle, the
    join 6 s in (after the first run had calculated) ran a second calculation."""
    import threading

    inv = _inventory(tmp_path, 7, name="staggered")
    results, errors = [], []

    def one():
        try:
            results.append(runner.run("eos_roles.apply", inventory=inv, settle=5))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = []
    for _ in range(3):
        threads.append(threading.Thread(target=one))
        threads[-1].start()
        time.sleep(3)
    for t in threads:
        t.join(timeout=300)
    assert not errors and len(results) == 3
    ran = [r["return"] for r in results if "skipped" not in r["return"]]
    assert len(ran) == 1, [r["return"] for r in results]
    assert ran[0]["generation"] == 1


def test_a_join_still_being_prepared_holds_the_calculation(runner, tmp_path):
    """Two joins start together (node_addition's first step, eos_roles.joining); one reaches
    apply at once, the other only after its sync and grains outlasted the settle, as on a busy
    master with a fleet starting together: one calculation covers both. Before, the first
    calculated when its settle ended and the second, arriving later, calculated again."""
    import threading

    import salt.runner

    client = salt.runner.RunnerClient(runner.master_opts)  # the calls made from this thread

    def joining(**kw):
        return client.cmd("eos_roles.joining", kwarg=kw, print_event=False, full_return=True)

    inv = _inventory(tmp_path, 7, name="preparing")
    for mid in ("early-node", "late-node"):
        assert joining(minion_id=mid)["success"]
    results = []
    first = threading.Thread(target=lambda: results.append(
        runner.run("eos_roles.apply", inventory=inv, settle=1, joining="early-node")))
    first.start()
    time.sleep(4)  # the late join is still being prepared, well past the settle
    results.append(runner.run("eos_roles.apply", inventory=inv, settle=1, joining="late-node"))
    first.join(timeout=120)
    assert len(results) == 2 and all(r["success"] for r in results), results
    ran = [r["return"] for r in results if "skipped" not in r["return"]]
    assert len(ran) == 1, [r["return"] for r in results]
    # The late join found the first run still settling (waiting for it): it was handed over, and
    # the first run announced both joins.
    late = [r["return"] for r in results if "skipped" in r["return"]]
    assert len(late) == 1 and "handed_to" in late[0] and "settling" in late[0]["skipped"], late
    assert ran[0]["joins"] == ["early-node", "late-node"], ran[0]
    assert joining(minion_id="late-node", done=True)["return"] == []
    # an id is checked like any event's: no glob, bounded, quoted back
    bad = joining(minion_id="web-*")
    assert not bad["success"] and "web-*" in str(bad["return"])
