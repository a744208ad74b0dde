"""The CephFS orchestration through a real salt-master and three real salt-minions on
127.0.0.1 (pytest-salt-factories): `salt-run state.orchestrate orchestration.cephfs` forms a
three-monitor cluster with a bluestore OSD per minion (sparse 10 GiB files), CephFS and MDS
daemons; the daemons run on distinct ports with distinct data dirs and are killed at the end
(by the pids in the cluster's run dir, which the minions' eos_ceph calls started)."""
import json
import os
import shutil
import signal
import tempfile
import time

import pytest
import yaml

import eos
from tests.support import ceph_cluster
from tests.support.saltenv import SALT_TREE

N_MINIONS = 3
TEST_CONF = {
    "osd pool default size": 1, "osd pool default min size": 1,
    "mon allow pool size one": "true", "mon warn on pool no redundancy": "false",
    "mon data avail warn": 1, "osd crush chooseleaf type": 0,
    "mon warn on insecure global id reclaim allowed": "false",
    "auth allow insecure global id reclaim": "false", "mgr stats period": 1,
    "osd pool default pg num": 8, "osd pool default pg autoscale mode": "off",
    "bluestore cache autotune": "false", "bluestore cache size": 67108864,
}


@pytest.fixture(scope="module")
def ceph_dirs(request):
    missing = ceph_cluster.missing_tools()
    if missing:
        pytest.fail(f"Ceph programs not installed: {', '.join(missing)}")
    if os.geteuid() != 0:
        pytest.skip(f"Ceph daemons need root here; running as uid {os.geteuid()}")
    if request.config._eos_ns_reason:
        pytest.skip(request.config._eos_ns_reason)
    base = tempfile.mkdtemp(prefix="eos-ceph-orch-")
    dirs = {k: os.path.join(base, k) for k in ("etc", "mon", "mgr", "osd", "mds", "run", "log",
                                               "dev", "pillar")}
    for d in dirs.values():
        os.makedirs(d)
    dirs["base"] = base
    yield dirs
    _kill_daemons(dirs)
    shutil.rmtree(base, ignore_errors=True)


def _kill_daemons(dirs):
    """SIGKILL the Ceph daemons of this cluster (pid files in its run dir, checked against
    their command line naming this cluster's conf)."""
    conf = os.path.join(dirs["etc"], "ceph.conf").encode()
    pids = []
    for name in os.listdir(dirs["run"]):
        if not name.endswith(".pid"):
            continue
        try:
            with open(os.path.join(dirs["run"], name)) as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if conf not in f.read():
                    continue
            os.kill(pid, signal.SIGKILL)
            pids.append(pid)
        except (OSError, ValueError):
            continue
    deadline = time.monotonic() + 30
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if os.path.exists(f"/proc/{p}")
                and open(f"/proc/{p}/stat").read().split(")")[-1].split()[0] != "Z"]
        time.sleep(0.1)


@pytest.fixture(scope="module")
def ceph_salt(salt_factories, ceph_dirs, openbao_dev):
    """A master serving this tree (runners from salt/_runners) and three minions whose pillar
    points eos_ceph at the private dirs and at a real OpenBao (dev mode), through which the
    cluster's client key goes from the first node to the others."""
    from saltfactories.utils import random_string

    pillar = {"eos": {"ceph": {
        "conf": os.path.join(ceph_dirs["etc"], "ceph.conf"),
        "keyring": os.path.join(ceph_dirs["etc"], "ceph.client.admin.keyring"),
        "mon_data_root": ceph_dirs["mon"], "mgr_data_root": ceph_dirs["mgr"],
        "osd_data_root": ceph_dirs["osd"], "mds_data_root": ceph_dirs["mds"],
        "run_dir": ceph_dirs["run"], "log_dir": ceph_dirs["log"],
        "conf_extra": TEST_CONF, "timeout": 15, "wait": 90,
    }, "vault": {"addr": openbao_dev.addr, "token_file": openbao_dev.token_file}}}
    with open(os.path.join(ceph_dirs["pillar"], "top.sls"), "w") as f:
        yaml.safe_dump({"base": {"*": ["eos"]}}, f)
    with open(os.path.join(ceph_dirs["pillar"], "eos.sls"), "w") as f:
        yaml.safe_dump(pillar, f)
    master = salt_factories.salt_master_daemon(random_string("eos-cm-"), overrides={
        "interface": "127.0.0.1",
        "file_roots": {"base": [SALT_TREE]},
        "pillar_roots": {"base": [ceph_dirs["pillar"]]},
        "runner_dirs": [os.path.join(SALT_TREE, "_runners")],
        "fileserver_backend": ["roots"],
    })
    with master.started(start_timeout=120):
        minions = [master.salt_minion_daemon(f"n{i}{random_string('', uppercase=False)[:5]}",
                                             overrides={
                                                 "module_dirs": [os.path.join(SALT_TREE, "_modules")],
                                                 "states_dirs": [os.path.join(SALT_TREE, "_states")],
                                                 "enable_fqdns_grains": False,
                                             }) for i in range(1, N_MINIONS + 1)]
        started = []
        try:
            for m in minions:
                m.start(start_timeout=120)
                started.append(m)
            yield master, [m.id for m in minions]
        finally:
            _kill_daemons(ceph_dirs)
            for m in started:
                m.terminate()


def test_orchestration_forms_a_cephfs_cluster(ceph_salt, ceph_dirs, openbao_dev):
    master, nodes = ceph_salt
    mon_addrs = {n: f"v2:127.0.0.1:{ceph_cluster.free_port()}" for n in nodes}
    devices = {}
    for n in nodes:
        dev = os.path.join(ceph_dirs["dev"], f"{n}.img")
        with open(dev, "wb") as f:
            f.truncate(10 << 30)
        devices[n] = [dev]
    orch = {"eos": {"cephfs": {"nodes": nodes, "name": "cephfs", "mon_addrs": mon_addrs,
                               "devices": devices, "wait": 180}}}
    run = master.salt_run_cli(timeout=900)
    ret = run.run("state.orchestrate", "orchestration.cephfs", f"pillar={json.dumps(orch)}")
    assert ret.returncode == 0, ret
    (state,) = ret.data["data"][next(iter(ret.data["data"]))].values()
    assert state["result"] is True, state
    summary = state["changes"]["return"]
    assert sorted(summary["mons"]) == sorted(nodes)
    assert len(summary["osds"]) == N_MINIONS
    assert summary["health"] == "HEALTH_OK"

    conn = {"conf": os.path.join(ceph_dirs["etc"], "ceph.conf"),
            "keyring": os.path.join(ceph_dirs["etc"], "ceph.client.admin.keyring"), "timeout": 15}
    assert os.stat(conn["keyring"]).st_mode & 0o077 == 0
    # The key the other nodes wrote came through the secrets store.
    from eos import vault

    stored = vault.kv_get(vault.connect(openbao_dev.addr, token_file=openbao_dev.token_file),
                          f"eos/ceph/{summary['fsid']}/client")
    assert stored["keyring_text"] == open(conn["keyring"]).read()
    st = eos.ceph_status(**conn)
    assert st["fsid"] == summary["fsid"]
    assert st["mons"]["total"] == 3 and sorted(st["mons"]["quorum"]) == sorted(nodes)
    assert st["osds"] == {"total": 3, "up": 3, "in": 3}
    assert st["usage"]["total_bytes"] == 3 * (10 << 30)
    fs = eos.ceph_fs_status(**conn)
    (cephfs,) = fs["filesystems"]
    assert cephfs["name"] == "cephfs" and cephfs["data_pools"] == ["cephfs_data"]
    assert [m["state"] for m in cephfs["mds"]] == ["up:active"] and fs["standbys"] == 1
    assert eos.cephfs_write("/orchestrated/hello", b"hello from eos", **conn) == 14
    assert eos.cephfs_read("/orchestrated/hello", **conn) == b"hello from eos"

    # Rerun straight through the runner: every step finds its work done.
    ret = run.run("eos_ceph.create_cephfs", f"nodes={','.join(nodes)}",
                  f"mon_addrs={json.dumps(mon_addrs)}", f"devices={json.dumps(devices)}")
    assert ret.returncode == 0, ret
    assert all(step["changes"] == {} for step in ret.data["steps"]), ret.data["steps"]
    assert ret.data["fsid"] == summary["fsid"]


def test_runner_fails_clearly_on_a_missing_node(ceph_salt):
    master, nodes = ceph_salt
    ret = master.salt_run_cli(timeout=120).run("eos_ceph.create_cephfs", "nodes=eos-no-such-node")
    assert ret.returncode != 0, ret
    assert "eos-no-such-node" in str(ret.data) + ret.stdout + ret.stderr
