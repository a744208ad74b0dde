"""eos_ceph against a real single-host Ceph cluster (tests/support/ceph_cluster.py): through
real Salt (salt-call --local with the cluster in pillar) and through the binding (librados,
libcephfs), with CephFS I/O checked both ways against a ceph-fuse mount."""
import json
import os
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
        if f"osd.{osd_id}" in ceph_cluster.procs:
            ceph_cluster.kill(f"osd.{osd_id}")
        ceph_cluster.ceph("osd", "purge", str(osd_id), "--yes-i-really-mean-it")
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
