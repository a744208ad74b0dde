"""eos_ceph against a real single-host Ceph cluster (tests/support/ceph_cluster.py): through
real Salt (salt-call --local with the cluster in pillar) and through the binding (librados,
libcephfs), with CephFS I/O checked both ways against a ceph-fuse mount."""
import json
import os
import time
import uuid

import pytest

import eos


@pytest.fixture
def ceph_salt(salt_local, ceph_cluster):
    """salt-call --local whose pillar points eos_ceph at the test cluster."""
    salt_local.pillar({"eos": {"ceph": {"conf": ceph_cluster.conf,
                                        "keyring": ceph_cluster.keyring, "timeout": 10}}})
    return salt_local


def conn(cluster, **kw):
    return {"conf": cluster.conf, "keyring": cluster.keyring, "timeout": 10, **kw}


def test_status_through_salt(ceph_salt, ceph_cluster):
    res = ceph_salt.call("eos_ceph.status")
    assert res.returncode == 0, res
    st = res.data
    cli = ceph_cluster.status()
    assert st["fsid"] == cli["fsid"] == ceph_cluster.fsid
    assert st["health"] == "HEALTH_OK", st["checks"]
    assert st["checks"] == []
    assert st["mons"] == {"total": 1, "quorum": ["a"]}
    assert st["osds"] == {"total": 1, "up": 1, "in": 1}
    assert st["pgs"]["total"] == cli["pgmap"]["num_pgs"] > 0
    assert st["pgs"]["states"] == {"active+clean": st["pgs"]["total"]}
    assert st["pgs"]["pools"] == cli["pgmap"]["num_pools"]
    assert st["usage"]["total_bytes"] == cli["pgmap"]["bytes_total"] == 512 << 20
    assert 0 < st["usage"]["used_bytes"] < st["usage"]["total_bytes"]
    assert st["mgr_available"] is True
    assert st["mds"]["up"] == 1 and st["mds"]["in"] == 1


def test_pools_and_fs_status_through_salt(ceph_salt, ceph_cluster):
    res = ceph_salt.call("eos_ceph.pools")
    assert res.returncode == 0, res
    by_name = {p["name"]: p for p in res.data}
    cli = {p["pool_name"]: p for p in ceph_cluster.ceph("osd", "pool", "ls", "detail",
                                                         fmt_json=True)}
    assert set(by_name) == set(cli)
    for name in ("cephfs_metadata", "cephfs_data"):
        p = by_name[name]
        assert p["id"] == cli[name]["pool_id"]
        assert (p["size"], p["min_size"], p["pg_num"]) == (1, 1, 8)
        assert p["application"] == "cephfs"
    assert by_name["cephfs_metadata"]["objects"] > 0   # the MDS wrote its tables

    res = ceph_salt.call("eos_ceph.fs_status")
    assert res.returncode == 0, res
    (fs,) = res.data["filesystems"]
    assert fs["name"] == "cephfs"
    assert fs["metadata_pool"] == "cephfs_metadata"
    assert fs["data_pools"] == ["cephfs_data"]
    assert fs["max_mds"] == 1
    assert fs["mds"] == [{"name": "a", "rank": 0, "state": "up:active"}]
    assert res.data["standbys"] == 0


def test_pool_create_test_mode_then_idempotent(ceph_salt, ceph_cluster):
    pool = f"eos-{uuid.uuid4().hex[:8]}"
    res = ceph_salt.call("eos_ceph.pool_create", pool, "test=True")
    assert res.returncode == 0, res
    assert res.data["changes"] == {"created": pool}
    assert pool not in ceph_cluster.ceph("osd", "pool", "ls", fmt_json=True)
    try:
        res = ceph_salt.call("eos_ceph.pool_create", pool)
        assert res.returncode == 0, res
        assert res.data["changes"] == {"created": pool}
        assert pool in ceph_cluster.ceph("osd", "pool", "ls", fmt_json=True)
        res = ceph_salt.call("eos_ceph.pool_create", pool)
        assert res.returncode == 0 and res.data["changes"] == {}, res
    finally:
        ceph_cluster.ceph("osd", "pool", "rm", pool, pool, "--yes-i-really-really-mean-it")


def test_bad_arguments_are_quoted(ceph_salt):
    res = ceph_salt.call("eos_ceph.status", "timeout=soon")
    assert res.returncode != 0
    assert "'soon'" in res.stdout + res.stderr
    res = ceph_salt.call("eos_ceph.pool_create", "a/b")
    assert res.returncode != 0
    assert "'a/b'" in res.stdout + res.stderr


def test_binding_matches_cli(ceph_cluster):
    k = conn(ceph_cluster)
    assert sorted(eos.ceph_pool_list(**k)) == sorted(
        ceph_cluster.ceph("osd", "pool", "ls", fmt_json=True))
    stat = eos.ceph_cluster_stat(**k)
    df = ceph_cluster.ceph("df", fmt_json=True)["stats"]
    assert stat["total_bytes"] == df["total_bytes"]
    # rados_cluster_stat counts in KiB: each figure is rounded to 1 KiB.
    assert abs(stat["avail_bytes"] + stat["used_bytes"] - stat["total_bytes"]) <= 2048
    assert 0 < stat["used_bytes"] < stat["total_bytes"]
    tree = json.loads(eos.ceph_mon_command(json.dumps({"prefix": "osd tree",
                                                       "format": "json"}), **k))
    assert [n["name"] for n in tree["nodes"] if n["type"] == "osd"] == ["osd.0"]
    with pytest.raises(OSError) as err:
        eos.ceph_mon_command('{"prefix": "no such command"}', **k)
    assert err.value.errno == 22 and "no such command" in str(err.value)


def test_cephfs_io_libcephfs_and_fuse(ceph_cluster, ceph_salt, tmp_path):
    k = conn(ceph_cluster)
    name = f"eos-{uuid.uuid4().hex[:8]}"
    payload = os.urandom(200_000)
    assert eos.cephfs_write(f"/{name}/from-libcephfs.bin", payload, **k) == len(payload)
    assert eos.cephfs_read(f"/{name}/from-libcephfs.bin", **k) == payload

    mnt = ceph_cluster.fuse_mount(str(tmp_path / "cephfs"))
    try:
        with open(os.path.join(mnt, name, "from-libcephfs.bin"), "rb") as f:
            assert f.read() == payload
        with open(os.path.join(mnt, name, "from-fuse.txt"), "w") as f:
            f.write("written through ceph-fuse\n")
            f.flush()
            os.fsync(f.fileno())
        assert eos.cephfs_read(f"/{name}/from-fuse.txt", **k) == b"written through ceph-fuse\n"
        st = os.statvfs(mnt)
        res = ceph_salt.call("eos_ceph.fs_check")
        assert res.returncode == 0, res
        assert res.data["total_bytes"] == st.f_blocks * st.f_frsize > 0
        assert res.data["files"] >= 2
        eos.cephfs_unlink(f"/{name}/from-fuse.txt", **k)
        assert not os.path.exists(os.path.join(mnt, name, "from-fuse.txt"))
    finally:
        ceph_cluster.fuse_umount(mnt)
    eos.cephfs_unlink(f"/{name}/from-libcephfs.bin", **k)
    with pytest.raises(FileNotFoundError):
        eos.cephfs_read(f"/{name}/from-libcephfs.bin", **k)


def test_killed_osd_is_reported_down(ceph_salt, ceph_cluster):
    # A second OSD outside the CRUSH map: it holds no data, so killing it loses nothing.
    osd_id = ceph_cluster.add_osd(crush=False)
    try:
        ceph_cluster.wait_for(lambda s: s["osdmap"]["num_up_osds"] == 2, 30, "osd up")
        ceph_cluster.kill(f"osd.{osd_id}")
        ceph_cluster.wait_for(lambda s: s["osdmap"]["num_up_osds"] == 1, 30, "osd down")
        res = ceph_salt.call("eos_ceph.status")
        assert res.returncode == 0, res
        st = res.data
        assert st["osds"]["total"] == 2 and st["osds"]["up"] == 1
        assert st["health"] == "HEALTH_WARN"
        assert {"name": "OSD_DOWN", "severity": "HEALTH_WARN",
                "message": "1 osds down"} in st["checks"]
    finally:
        ceph_cluster.remove_osd(osd_id)
    ceph_cluster.wait_healthy(30)


def test_wrong_key_is_a_clear_error(ceph_salt, ceph_cluster, tmp_path):
    bad = str(tmp_path / "bad.keyring")
    ceph_cluster.run(["ceph-authtool", "--create-keyring", bad, "--gen-key", "-n",
                      "client.admin"])
    res = ceph_salt.call("eos_ceph.status", f"keyring={bad}", "timeout=5", timeout=60)
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "rados_connect as client.admin" in out and "Permission denied" in out
    with pytest.raises(PermissionError):
        eos.cephfs_statfs(**conn(ceph_cluster, keyring=bad, timeout=5))


def test_unreachable_monitor_times_out(ceph_salt, ceph_cluster):
    # A port nothing listens on: the connect gives up at the timeout instead of hanging.
    from tests.support.ceph_cluster import free_port

    mon = f"v2:127.0.0.1:{free_port()}"
    res = ceph_salt.call("eos_ceph.status", f"mon_host={mon}", "timeout=2", timeout=60)
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "Connection timed out" in out and "timeout 2 s" in out
    with pytest.raises(TimeoutError):
        eos.ceph_pools(**conn(ceph_cluster, mon_host=mon, timeout=2))
    with pytest.raises(TimeoutError):
        eos.cephfs_statfs(**conn(ceph_cluster, mon_host=mon, timeout=2))


# ---- adding daemons and file systems (write side) ------------------------------------------


def test_osd_add_on_a_file_test_mode_then_idempotent(ceph_salt, ceph_cluster, tmp_path):
    # Bluestore on a sparse 10 GiB file (it needs about that much apparent size); CRUSH
    # weight 0 keeps the test data on osd.0, so removing this OSD afterwards loses nothing.
    device = str(tmp_path / "osd-block.img")
    with open(device, "wb") as f:
        f.truncate(10 << 30)
    root = ceph_cluster.path("osd")
    before = {o["osd"] for o in ceph_cluster.ceph("osd", "dump", fmt_json=True)["osds"]}
    res = ceph_salt.call("eos_ceph.osd_add", device, "crush_weight=0", f"data_root={root}",
                         "test=True")
    assert res.returncode == 0, res
    assert res.data["action"] == "create" and res.data["changes"] == {"osd.?": "create"}
    assert {o["osd"] for o in ceph_cluster.ceph("osd", "dump", fmt_json=True)["osds"]} == before

    osd = None
    try:
        res = ceph_salt.call("eos_ceph.osd_add", device, "crush_weight=0", f"data_root={root}",
                             timeout=240)
        assert res.returncode == 0, res
        osd = res.data["daemon"]
        assert res.data["action"] == "create" and res.data["changes"] == {osd: "create"}
        osd_id = int(osd.split(".")[1])
        assert osd_id not in before
        assert os.path.realpath(os.path.join(res.data["data"], "block")) == device
        assert os.stat(os.path.join(res.data["data"], "keyring")).st_mode & 0o077 == 0
        dump = {o["osd"]: o for o in ceph_cluster.ceph("osd", "dump", fmt_json=True)["osds"]}
        assert dump[osd_id]["up"] == 1 and dump[osd_id]["in"] == 1
        meta = ceph_cluster.ceph("osd", "metadata", str(osd_id), fmt_json=True)
        assert meta["osd_objectstore"] == "bluestore"
        assert int(meta["bluestore_bdev_size"]) == 10 << 30    # the capacity the OSD adds

        res = ceph_salt.call("eos_ceph.osd_add", device, "crush_weight=0", f"data_root={root}")
        assert res.returncode == 0, res
        assert res.data["action"] == "none" and res.data["changes"] == {}
        st = ceph_salt.call("eos_ceph.status").data
        assert st["osds"]["total"] == len(before) + 1 and st["osds"]["up"] == st["osds"]["total"]

        # Stopped: the rerun starts it again instead of making another OSD.
        assert ceph_cluster.kill_pidfile(osd)
        ceph_cluster.ceph("osd", "down", str(osd_id))
        res = ceph_salt.call("eos_ceph.osd_add", device, "crush_weight=0", f"data_root={root}",
                             timeout=240)
        assert res.returncode == 0, res
        assert res.data["action"] == "start" and res.data["changes"] == {osd: "start"}
        assert ceph_cluster.status()["osdmap"]["num_osds"] == len(before) + 1
    finally:
        if osd:
            ceph_cluster.remove_osd(int(osd.split(".")[1]))
    ceph_cluster.wait_healthy(60)


def test_osd_add_bad_device_is_quoted(ceph_salt, tmp_path):
    res = ceph_salt.call("eos_ceph.osd_add", str(tmp_path / "no-such-disk"))
    assert res.returncode != 0
    assert "no-such-disk" in res.stdout + res.stderr
    res = ceph_salt.call("eos_ceph.osd_add", str(tmp_path))
    assert res.returncode != 0
    assert "neither a block device nor a file" in res.stdout + res.stderr


def test_mds_add_becomes_standby(ceph_salt, ceph_cluster):
    root = ceph_cluster.path("mds")
    mds = f"s{uuid.uuid4().hex[:6]}"
    res = ceph_salt.call("eos_ceph.mds_add", mds, f"data_root={root}", "test=True")
    assert res.returncode == 0, res
    assert res.data["action"] == "create" and res.data["changes"] == {f"mds.{mds}": "create"}
    assert ceph_salt.call("eos_ceph.fs_status").data["standbys"] == 0
    try:
        res = ceph_salt.call("eos_ceph.mds_add", mds, f"data_root={root}", timeout=180)
        assert res.returncode == 0, res
        assert res.data["action"] == "create"
        assert os.stat(os.path.join(res.data["data"], "keyring")).st_mode & 0o077 == 0
        fs = ceph_salt.call("eos_ceph.fs_status").data
        assert fs["standbys"] == 1
        assert [m["name"] for m in fs["filesystems"][0]["mds"]] == ["a"]
        res = ceph_salt.call("eos_ceph.mds_add", mds, f"data_root={root}")
        assert res.returncode == 0 and res.data["action"] == "none", res
    finally:
        ceph_cluster.kill_pidfile(f"mds.{mds}")
        ceph_cluster.ceph("mds", "fail", mds, check=False)
        ceph_cluster.ceph("fs", "set", "cephfs", "standby_count_wanted", "0")
    ceph_cluster.wait_healthy(60)


def test_mon_add_joins_quorum(salt_local, mon_cluster):
    # On a cluster of its own: adding and removing a monitor changes the monitor map, and a
    # slip there must not cost the session's cluster its quorum.
    from tests.support.ceph_cluster import free_port

    salt_local.pillar({"eos": {"ceph": {"conf": mon_cluster.conf,
                                        "keyring": mon_cluster.keyring, "timeout": 10}}})
    root = mon_cluster.path("mon")
    mon = f"m{uuid.uuid4().hex[:6]}"
    addr = f"v2:127.0.0.1:{free_port()}"
    res = salt_local.call("eos_ceph.mon_add", mon, addr, f"data_root={root}", "test=True")
    assert res.returncode == 0, res
    assert res.data["action"] == "create"
    assert not os.path.exists(os.path.join(root, f"ceph-{mon}"))
    res = salt_local.call("eos_ceph.mon_add", mon, addr, f"data_root={root}", timeout=180)
    assert res.returncode == 0, res
    assert res.data["changes"] == {f"mon.{mon}": "create"}
    st = salt_local.call("eos_ceph.status").data
    assert st["mons"]["total"] == 2 and sorted(st["mons"]["quorum"]) == sorted(["a", mon])
    res = salt_local.call("eos_ceph.mon_add", mon, addr, f"data_root={root}")
    assert res.returncode == 0 and res.data["action"] == "none", res


def test_bad_daemon_id_is_quoted(ceph_salt):
    res = ceph_salt.call("eos_ceph.mds_add", "a b", "test=True")
    assert res.returncode != 0
    assert "invalid daemon id 'a b'" in res.stdout + res.stderr
    res = ceph_salt.call("eos_ceph.mon_add", "m1", "127.0.0.1:1,2", "test=True")
    assert res.returncode != 0
    assert "'127.0.0.1:1,2'" in res.stdout + res.stderr


def test_fs_present_state(ceph_salt, ceph_cluster):
    def state(name, test=False):
        args = ["state.single", "eos_ceph.fs_present", f"name={name}"]
        if test:
            args.append("test=True")
        res = ceph_salt.call(*args, timeout=120)
        (ret,) = res.data.values()
        return res, ret

    res, ret = state("cephfs")
    assert res.returncode == 0, res
    assert ret["result"] is True and ret["changes"] == {}

    fs = f"fs{uuid.uuid4().hex[:6]}"
    res, ret = state(fs, test=True)
    assert ret["result"] is None and ret["changes"] == {
        fs: {"metadata_pool": f"{fs}_metadata", "data_pool": f"{fs}_data"}}, ret
    assert f"{fs}_data" not in ceph_cluster.ceph("osd", "pool", "ls", fmt_json=True)
    try:
        res, ret = state(fs)
        assert res.returncode == 0 and ret["result"] is True, ret
        assert ret["changes"] == {fs: {"metadata_pool": f"{fs}_metadata",
                                       "data_pool": f"{fs}_data"}}
        names = [f["name"] for f in ceph_salt.call("eos_ceph.fs_status").data["filesystems"]]
        assert fs in names
        res, ret = state(fs)
        assert ret["result"] is True and ret["changes"] == {}, ret
    finally:
        ceph_cluster.ceph("fs", "fail", fs, check=False)
        ceph_cluster.ceph("fs", "rm", fs, "--yes-i-really-mean-it", check=False)
        for pool in (f"{fs}_metadata", f"{fs}_data"):
            ceph_cluster.ceph("osd", "pool", "rm", pool, pool, "--yes-i-really-really-mean-it",
                              check=False)
    ceph_cluster.wait_healthy(60)

    res = ceph_salt.call("state.single", "eos_ceph.fs_present", "name=cephfs",
                         "metadata_pool=other_meta")
    (ret,) = res.data.values()
    assert ret["result"] is False and "exists with pools" in ret["comment"]
    assert "other_meta" not in ceph_cluster.ceph("osd", "pool", "ls", fmt_json=True)


def test_expand_on_a_cephfs_mount_adds_osd_capacity(ceph_salt, ceph_cluster, tmp_path):
    mnt = ceph_cluster.fuse_mount(str(tmp_path / "cephfs"))
    device = str(tmp_path / "grow-block.img")
    with open(device, "wb") as f:
        f.truncate(10 << 30)
    osd = None
    try:
        before = os.statvfs(mnt)
        before_bytes = before.f_blocks * before.f_frsize
        res = ceph_salt.call("eos_ceph.expand", mnt, device,
                             f"data_root={ceph_cluster.path('osd')}", "test=True")
        assert res.returncode == 0, res
        assert res.data["action"] == "create" and res.data["fstype"] == "fuse.ceph-fuse"
        assert res.data["size_before"] == before_bytes
        # eos_storage.expand hands a CephFS path over to eos_ceph.expand.
        res = ceph_salt.call("eos_storage.expand", mnt, f"device={device}", "test=True")
        assert res.returncode == 0, res
        assert res.data["action"] == "create" and res.data["fstype"] == "fuse.ceph-fuse", res
        res = ceph_salt.call("eos_storage.expand", mnt, "test=True")
        assert res.returncode != 0
        assert "grows by adding OSD capacity" in res.stdout + res.stderr
        res = ceph_salt.call("eos_ceph.expand", mnt, device,
                             f"data_root={ceph_cluster.path('osd')}", timeout=240)
        assert res.returncode == 0, res
        osd = res.data["daemon"]
        assert res.data["changes"] == {osd: "create"}
        # The file system's size (the data pool's max_avail) follows once the mgr reports it.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st = os.statvfs(mnt)
            if st.f_blocks * st.f_frsize > before_bytes + (4 << 30):
                break
            time.sleep(1)
        assert st.f_blocks * st.f_frsize > before_bytes + (4 << 30), (before_bytes, st)
        assert eos.cephfs_statfs(**conn(ceph_cluster))["total_bytes"] > before_bytes + (4 << 30)
    finally:
        ceph_cluster.fuse_umount(mnt)
        if osd:
            # Drain it (its CRUSH weight moved PGs onto it), then remove it.
            osd_id = osd.split(".")[1]
            ceph_cluster.ceph("osd", "out", osd_id)
            ceph_cluster.drain_osd(int(osd_id), timeout=180)
            ceph_cluster.remove_osd(int(osd_id))
    ceph_cluster.wait_healthy(60)


def test_expand_refuses_a_path_not_on_cephfs(ceph_salt, tmp_path):
    res = ceph_salt.call("eos_ceph.expand", str(tmp_path), str(tmp_path / "x.img"), "test=True")
    assert res.returncode != 0
    assert "not CephFS" in res.stdout + res.stderr


def test_write_client_private_keyring_and_idempotent(salt_local, tmp_path, openbao_dev):
    """The client configuration comes from the secrets store (a real OpenBao), not the bus."""
    from eos import vault

    conf, keyring = str(tmp_path / "etc" / "ceph.conf"), str(tmp_path / "etc" / "admin.keyring")
    salt_local.pillar({"eos": {"ceph": {"conf": conf, "keyring": keyring},
                               "vault": {"addr": openbao_dev.addr,
                                         "token_file": openbao_dev.token_file}}})
    conf_text = "[global]\nfsid = 0\nmon host = [v2:127.0.0.1:1]\n"
    key_text = "[client.admin]\n\tkey = AQBfakefakefakefakefakefakefakefakefake==\n"
    secret = f"eos/ceph/{tmp_path.name}/client"
    vault.kv_put(vault.connect(openbao_dev.addr, token_file=openbao_dev.token_file), secret,
                 {"conf_text": conf_text, "keyring_text": key_text})
    missing = salt_local.call("eos_ceph.write_client", secret + "-absent")
    assert missing.returncode != 0 and "no secret at secret/" + secret + "-absent" in missing.stdout + missing.stderr
    args = ("eos_ceph.write_client", secret)
    res = salt_local.call(*args, "test=True")
    assert res.returncode == 0 and res.data["changes"], res
    assert not os.path.exists(conf) and not os.path.exists(keyring)
    res = salt_local.call(*args)
    assert res.returncode == 0 and res.data["changes"] == {"written": [conf, keyring]}, res
    assert open(conf).read() == conf_text and open(keyring).read() == key_text
    assert os.stat(keyring).st_mode & 0o777 == 0o600
    assert os.stat(conf).st_mode & 0o777 == 0o644
    res = salt_local.call(*args)
    assert res.returncode == 0 and res.data["changes"] == {}, res
    os.chmod(keyring, 0o644)              # widened by someone: put right again
    res = salt_local.call(*args)
    assert res.data["changes"] and os.stat(keyring).st_mode & 0o777 == 0o600


def test_bootstrap_test_mode_and_bad_address(salt_local, tmp_path):
    conf = str(tmp_path / "etc" / "ceph.conf")
    salt_local.pillar({"eos": {"ceph": {"conf": conf, "keyring": str(tmp_path / "k"),
                                        "mon_data_root": str(tmp_path / "mon")}}})
    res = salt_local.call("eos_ceph.bootstrap", "public_addr=v2:127.0.0.1:3300", "mon_id=n1",
                          "test=True")
    assert res.returncode == 0, res
    assert res.data["action"] == "create" and res.data["changes"] == {"mon.n1": "create"}
    assert not os.path.exists(conf) and not os.path.exists(str(tmp_path / "mon"))
    res = salt_local.call("eos_ceph.bootstrap", "public_addr=v2:127.0.0.1:3300,x", "mon_id=n1")
    assert res.returncode != 0
    assert "invalid address 'v2:127.0.0.1:3300,x'" in res.stdout + res.stderr
    assert not os.path.exists(conf)


def test_mon_and_osd_present_states(ceph_salt, ceph_cluster, tmp_path):
    # mon.a is there: nothing to do. A new monitor / a new OSD: test=True plans, changes nothing.
    addr = ceph_cluster.mon_addr
    res = ceph_salt.call("state.single", "eos_ceph.mon_present", "name=a", f"public_addr={addr}",
                         f"data_root={ceph_cluster.path('mon')}")
    (ret,) = res.data.values()
    assert res.returncode == 0 and ret["result"] is True and ret["changes"] == {}, ret
    assert ret["comment"] == "mon.a is already present"

    device = str(tmp_path / "state-osd.img")
    with open(device, "wb") as f:
        f.truncate(10 << 30)
    before = ceph_cluster.status()["osdmap"]["num_osds"]
    res = ceph_salt.call("state.single", "eos_ceph.osd_present", f"name={device}",
                         f"data_root={ceph_cluster.path('osd')}", "test=True")
    (ret,) = res.data.values()
    assert ret["result"] is None and ret["changes"] == {"osd.?": "create"}, ret
    assert ceph_cluster.status()["osdmap"]["num_osds"] == before

    res = ceph_salt.call("state.single", "eos_ceph.mon_present", "name=zz",
                         "public_addr=v2:127.0.0.1:1", f"data_root={ceph_cluster.path('mon')}",
                         "test=True")
    (ret,) = res.data.values()
    assert ret["result"] is None and ret["changes"] == {"mon.zz": "create"}, ret
    assert "would be created" in ret["comment"]
    assert not os.path.exists(ceph_cluster.path("mon", "ceph-zz"))
