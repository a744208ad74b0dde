"""eos-bootstrap end to end, each "machine" a network namespace of its own (own address on a
private 10.251.x.0/24 LAN the test makes, own hostname, private mounts): a master bootstrapped
from its own root, nodes joining by address and by Salt's SSDP discovery, registration through
salt-api over HTTPS; and the faults: a wrong master fingerprint, an unauthenticated webhook, a
key without a registered fingerprint, a bootstrap killed halfway, a master gone during a join.

The venv is this checkout's .venv (``--venv``): a PyPI install would take minutes per machine."""
import json
import os
import shutil
import signal
import tempfile
import time

import pytest
import yaml

from tests.support import netns, saltkeys
from tests.support.saltenv import VENV_BIN

BOOTSTRAP = os.path.join(VENV_BIN, "eos-bootstrap")
VENV = os.path.dirname(VENV_BIN)
LAN = f"10.251.{os.getpid() % 200 + 20}"


def bootstrap(machine, *args, timeout=600):
    return machine.run([BOOTSTRAP, *args, "--venv", VENV, "--root", root(machine)], timeout=timeout)


def root(machine):
    return os.path.join(machine.dir, "root")


def salt(machine, prog, *args, timeout=120):
    proc = machine.run([os.path.join(VENV_BIN, prog), "-c", os.path.join(root(machine), "etc", "salt"),
                        "--out=json", *args], timeout=timeout)
    return proc, (json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else None)


def result(proc):
    assert proc.returncode == 0, f"rc {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr[-4000:]}"
    return json.loads(proc.stdout)


def expect_key(master, mid, finger):
    """Register a node's fingerprint in the master's pillar, as an operator would."""
    path = os.path.join(root(master), "srv", "eos", "pillar", "eos.sls")
    with open(path) as f:
        data = yaml.safe_load(f)
    data["eos"]["cluster"]["expected_keys"][mid] = finger
    with open(path, "w") as f:
        yaml.safe_dump(data, f)


def node_with_key(lan, base, name):
    node = lan.attach(netns.Machine(name, base))
    finger = saltkeys.pregenerate(os.path.join(root(node), "etc", "salt", "pki", "minion"), "sha256")
    return node, finger


@pytest.fixture(scope="module")
def base():
    reason = netns.skip_reason()
    if reason:
        pytest.skip(reason)
    # Short: Salt's unix sockets live under each machine's root (108-byte limit).
    path = tempfile.mkdtemp(prefix="eos-bs-")
    machines = []
    yield path, machines
    for m in machines:
        m.close()
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(base):
    path, machines = base
    master = netns.Machine("eosmaster", path)
    machines.append(master)
    lan = netns.Lan(master, LAN)
    proc = bootstrap(master, "master", "--id", "eosmaster", "--discovery")
    summary = result(proc)
    return master, lan, summary


def assert_monolith(master, mid):
    """monolith's states apply every role, each adding its grain as its states run: the
    bootstrap returns once the first is held, monolith's own comes after the included roles."""
    grains = wait_for(lambda: salt(master, "salt", "-L", mid, "grains.get", "eos_roles")[1],
                      lambda g: "monolith" in ((g or {}).get(mid) or []), timeout=300)
    assert "monolith" in ((grains or {}).get(mid) or []), grains


def test_master_bootstrap(cluster):
    master, _, summary = cluster
    assert summary["master_fingerprint"].count(":") == 31
    roles = result(master.run([os.path.join(VENV_BIN, "salt-run"), "-c",
                               os.path.join(root(master), "etc", "salt"), "--out=json", "eos_roles.calculate"]))
    assert roles["assignment"] == {"eosmaster": ["monolith"]}, roles
    assert_monolith(master, "eosmaster")
    again = result(bootstrap(master, "master", "--id", "eosmaster", "--discovery"))
    assert again["master_fingerprint"] == summary["master_fingerprint"]


def _join(node, master_summary, *args, wait=90):
    return bootstrap(node, "join", *args, "--id", node.hostname, "--wait", str(wait),
                     "--master-fingerprint", master_summary["master_fingerprint"],
                     "--min-free-bytes", "1048576")


def test_join_by_address_gets_roles(cluster, base):
    master, lan, summary = cluster
    node, finger = node_with_key(lan, base[0], "node1")
    base[1].append(node)
    expect_key(master, "node1", finger)
    out = result(_join(node, summary, master.address))
    assert out["fingerprint"] == finger
    assert out["roles"], out
    _, grains = salt(master, "salt", "-L", "node1", "grains.get", "eos_roles")
    assert grains["node1"] == out["roles"]


def test_join_by_discovery(cluster, base):
    master, lan, summary = cluster
    node, finger = node_with_key(lan, base[0], "node2")
    base[1].append(node)
    expect_key(master, "node2", finger)
    out = result(_join(node, summary, "--auto-discover"))
    assert out["master"] == f"{master.address}:4506"
    assert out["roles"], out


def test_wrong_master_fingerprint_configures_nothing(cluster, base):
    """Salt's minion sees the master's key once the master accepted its own (a pending key gets
    no answer with it): node3 is registered, accepted, and then refuses the master."""
    master, lan, summary = cluster
    node, finger = node_with_key(lan, base[0], "node3")
    base[1].append(node)
    expect_key(master, "node3", finger)
    wrong = ":".join(["ab"] * 32)
    proc = bootstrap(node, "join", master.address, "--id", "node3", "--master-fingerprint", wrong,
                     "--min-free-bytes", "1048576", "--wait", "90", timeout=300)
    assert proc.returncode == 1, proc
    assert f"not '{wrong}': refused, nothing configured" in proc.stderr
    assert summary["master_fingerprint"] in proc.stderr
    assert not os.path.exists(os.path.join(root(node), "etc", "salt", "minion"))
    assert not os.path.exists(os.path.join(root(node), "etc", "eos", "bootstrap.json"))
    assert not [p for p in node.pids() if b"salt-minion" in open(f"/proc/{p}/cmdline", "rb").read()]
    bad = bootstrap(node, "join", master.address, "--master-fingerprint", "not-a-fingerprint")
    assert bad.returncode == 2 and "'not-a-fingerprint' is not a sha256 fingerprint" in bad.stderr


def api(machine, summary, path, body=None, token=None):
    """(HTTP status, JSON body or None) of one HTTPS call from inside machine, with curl as the
    README shows it, the bootstrap's certificate pinned."""
    argv = ["curl", "-sS", "--max-time", "60", "--cacert", summary["api_cert"], "-o", "/dev/stdout",
            "-w", "\n%{http_code}", "-H", "Accept: application/json"]
    if token:
        argv += ["-H", f"X-Auth-Token: {token}"]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    proc = machine.run(argv + [summary["api"] + path], timeout=90)
    assert proc.returncode == 0, proc.stderr
    text, _, status = proc.stdout.rpartition("\n")
    try:
        return int(status), json.loads(text)
    except ValueError:
        return int(status), None


def credentials(summary, user):
    with open(summary["api_credentials"]) as f:
        return {"username": user, "password": json.load(f)[user], "eauth": "file"}


def login(machine, summary, user):
    status, body = api(machine, summary, "/login", credentials(summary, user))
    assert status == 200, (status, body)
    return body["return"][0]["token"]


def run_runner(machine, summary, user, fun, **kwargs):
    """/run with the user's eauth credentials in the lowstate (Salt 3008.3's /run refuses a
    /login token there with 401; credentials are its other documented form)."""
    status, body = api(machine, summary, "/run", [{"client": "runner", "fun": fun, **credentials(summary, user),
                                                    **kwargs}])
    assert status == 200, (status, body)
    return body["return"][0]


def wait_for(fetch, ok, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(1)


def test_pending_key_then_registration_and_acceptance_through_salt_api(cluster, base):
    """A key without a registered fingerprint stays pending; the node registers through the
    webhook (which accepts nothing), an operator accepts through /run, the rerun joins."""
    master, lan, summary = cluster
    node, finger = node_with_key(lan, base[0], "node4")
    base[1].append(node)
    # The api answers on the master's LAN address: reach it from inside the LAN.
    summary = dict(summary, api=f"https://{master.address}:8000")
    pending = _join(node, summary, master.address, wait=6)
    assert pending.returncode == 3, pending
    assert "still pending" in pending.stderr and finger in pending.stderr
    _, keys = salt(master, "salt-key", "-L")
    assert "node4" in keys["minions_pre"] and "node4" not in keys["minions"]

    status, _ = api(node, summary, "/hook/eos/cluster/register", {"id": "intruder", "fingerprint": finger})
    assert status == 401
    node_token = login(node, summary, "eos-node")
    status, _ = api(node, summary, "/hook/eos/cluster/register", {"id": "node4", "fingerprint": finger},
                    node_token)
    assert status == 200
    info = wait_for(lambda: run_runner(node, summary, "eos-node", "eos_cluster.info"),
                    lambda i: "node4" in i["registrations"])
    assert info["registrations"]["node4"]["pending_key_matches"] is True
    assert "intruder" not in info["registrations"]
    assert "node4" in info["pending"]  # the registration accepted nothing
    status, _ = api(node, summary, "/run", [{"client": "runner", "fun": "eos_roles.accept_key",
                                             **credentials(summary, "eos-node"),
                                             "minion_id": "node4", "fingerprint": finger}])
    assert status in (401, 403), status  # eos-node may not accept keys
    _, keys = salt(master, "salt-key", "-L")
    assert "node4" in keys["minions_pre"]
    accepted = run_runner(master, summary, "eos-operator", "eos_roles.accept_key", minion_id="node4",
                          fingerprint=finger)
    assert accepted["accepted"] is True, accepted
    calc = run_runner(master, summary, "eos-operator", "eos_roles.calculate")
    assert "eosmaster" in calc["assignment"], calc
    out = result(_join(node, summary, master.address))
    assert out["roles"], out


def test_killed_bootstrap_converges_then_master_gone_during_join(base):
    path, machines = base
    master = netns.Machine("eosm2", path)
    machines.append(master)
    lan = netns.Lan(master, f"10.251.{os.getpid() % 200 + 20 + 1}")
    proc = master.popen([BOOTSTRAP, "master", "--venv", VENV, "--root", root(master), "--id", "eosm2"])
    state = os.path.join(root(master), "etc", "eos", "bootstrap.json")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with open(state) as f:
                if "master" in json.load(f)["steps"]:
                    break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    with open(state) as f:
        assert "roles" not in json.load(f)["steps"]
    summary = result(bootstrap(master, "master", "--id", "eosm2"))
    with open(state) as f:
        steps = json.load(f)["steps"]
    assert {"config", "keys", "master", "minion", "sync", "api", "roles"} <= set(steps)
    assert_monolith(master, "eosm2")

    node = lan.attach(netns.Machine("node5", path))
    machines.append(node)
    joining = node.popen([BOOTSTRAP, "join", master.address, "--venv", VENV, "--root", root(node),
                          "--id", "node5", "--master-fingerprint", summary["master_fingerprint"],
                          "--min-free-bytes", "1048576", "--wait", "120"])
    pending = os.path.join(root(master), "etc", "salt", "pki", "master", "minions_pre", "node5")
    deadline = time.monotonic() + 90
    while not os.path.exists(pending) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert os.path.exists(pending), "node5's key never reached the master"
    gone = time.monotonic()
    pid = int(open(os.path.join(root(master), "var", "run", "salt-master.pid")).read())
    os.kill(pid, signal.SIGKILL)
    for p in master.pids():
        with open(f"/proc/{p}/cmdline", "rb") as f:
            if b"salt-master" in f.read():
                os.kill(p, signal.SIGKILL)
    out, err = joining.communicate(timeout=60)
    assert joining.returncode == 1, (out, err)
    assert f"the master {master.address}:4506 went away while waiting for the key to be accepted" in err
    assert time.monotonic() - gone < 45

    undone = result(master.run([BOOTSTRAP, "rollback", "--root", root(master)]))
    assert undone == {"rolled_back": "master"}
    assert not os.path.exists(state)
    assert not os.path.exists(os.path.join(root(master), "etc", "salt", "master"))
    assert not [p for p in master.pids() if b"salt-" in open(f"/proc/{p}/cmdline", "rb").read()]
