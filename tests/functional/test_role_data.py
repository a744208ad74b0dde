"""The data role through real Salt (salt-call --local) against the session's real Ceph cluster
and OpenBao: an OSD on the node's unused loop device that pillar allows, its data directory on
an XFS filesystem of its own (eos_storage.provisioned), the client key from the secrets store;
then the role is lost and the OSD is drained (PGs moved back, all active+clean) before it is
stopped and purged, with every object still readable. Checks go through Ceph's own API."""
import os
import subprocess
import uuid

import pytest

import eos

pytestmark = pytest.mark.timeout(600)
ME = "eos-test-minion"


def _root(salt_local):
    return os.path.dirname(salt_local.state_dir)


def _pillar(root, bao, secret, roles, **data):
    return {"eos": {
        "roles": {ME: roles},
        "services": {"manage": False},        # no node exporter here: OSDs only
        "ceph": {"conf": f"{root}/etc/ceph/ceph.conf", "keyring": f"{root}/etc/ceph/keyring",
                 "client_secret": secret, "osd_data_root": f"{root}/var/lib/eos/data/osd",
                 "timeout": 10},
        "data": dict({"drain_wait": 180}, **data),
        "vault": {"addr": bao.addr, "token_file": bao.token_file, "timeout": 5},
        "storage": {"fstab": f"{root}/etc/fstab"},
    }}


def _failed(res):
    return {v["__id__"]: v["comment"] for v in (res.data or {}).values()
            if isinstance(v, dict) and v.get("result") is False}


def _rados(cluster, *args, **kw):
    return subprocess.run(["rados", "-c", cluster.conf, *args], capture_output=True, timeout=60,
                          check=True, **kw).stdout


def _osds(cluster):
    return {o["osd"]: o for o in cluster.ceph("osd", "dump", fmt_json=True)["osds"]}


@pytest.mark.parametrize("settings, quoted", [
    ({"devices": "/dev/loop0"}, "'/dev/loop0' is not a list"),
    ({"devices": ["/dev/../etc/passwd"]}, "'/dev/../etc/passwd' is not a device path"),
    ({"devices": ["/dev/sdb"] * 65}, "at most 64"),
    ({"max_osds": 10**6}, "1000000 is not a whole number"),
    ({"max_osds": True}, "True is not a whole number"),
    ({"crush_weight": "1; rm"}, "'1; rm' is not a number"),
    ({"devices": ["/dev/sdb\n- evil: yes"]}, "'/dev/sdb\\n- evil: yes'"),
    ({"devices": ["/dev/sdb\n"]}, "'/dev/sdb\\n'"),
])
def test_hostile_data_pillar_is_refused_quoting_it(settings, quoted):
    from eos import role_storage

    with pytest.raises(ValueError) as err:
        role_storage.osd_devices(settings, [{"path": "/dev/sdb"}], [])
        role_storage.crush_weight(settings)
    assert quoted in str(err.value)


def test_data_role_devices_unused_and_allowed_within_the_limit():
    from eos import role_storage

    unused = [{"path": p} for p in ("/dev/sdb", "/dev/sdc", "/dev/sdd", "/dev/nvme0n1")] + [{"x": 1}, "junk"]
    assert role_storage.osd_devices({}, unused, []) == ["/dev/nvme0n1", "/dev/sdb", "/dev/sdc", "/dev/sdd"]
    assert role_storage.osd_devices({"devices": ["/dev/sd[b-c]"]}, unused, []) == ["/dev/sdb", "/dev/sdc"]
    # an OSD's own device (no longer unused) stays, and counts first against max_osds
    assert role_storage.osd_devices({"max_osds": 1}, unused, ["/dev/sdz"]) == ["/dev/sdz"]
    assert role_storage.osd_devices({}, unused, [], exclude=["/dev/sdb"])[1:] == ["/dev/sdc", "/dev/sdd"]
    with pytest.raises(ValueError, match="one device, not a pattern"):
        role_storage.fs_device("observe", {"fs_device": "/dev/sd*"})


def test_hostile_pillar_fails_the_role_state_and_changes_nothing(salt_local, openbao_dev):
    root = _root(salt_local)
    salt_local.pillar(_pillar(root, openbao_dev, "eos/x", ["data"],
                              devices=["/dev/loop0", "/dev/../../etc/shadow"]))
    res = salt_local.call("state.apply", "roles.data")
    out = str(res.data) + res.stdout + res.stderr
    assert res.returncode != 0 and "'/dev/../../etc/shadow' is not a device path" in out, out[-2000:]
    assert not os.path.exists(f"{root}/etc/ceph") and not os.path.exists(f"{root}/etc/eos/roles/data")


def test_data_role_osd_from_grains_then_drained_on_leaving(salt_local, ceph_cluster, openbao_dev,
                                                           loops):
    from eos import vault

    root = _root(salt_local)
    c = ceph_cluster
    # The cluster's client configuration and key, where the first node puts them.
    secret = f"eos/test/ceph-{uuid.uuid4().hex[:8]}/client"
    client = vault.connect(openbao_dev.addr, token_file=openbao_dev.token_file, timeout=5)
    with open(c.conf) as f, open(c.keyring) as k:
        vault.kv_put(client, secret, {"conf_text": f.read(), "keyring_text": k.read()})

    # Bluestore wants about 10 GiB of apparent size (sparse); an unused device for the OSD and
    # one for the data role's own filesystem. Other loop devices of this host are unused too:
    # pillar allows only ours.
    osd_dev = loops.create(size=10 << 30).device
    fs_dev = loops.create(size=320 << 20).device
    data_root = f"{root}/var/lib/eos/data/osd"
    salt_local.pillar(_pillar(root, openbao_dev, secret, ["data"], devices=[osd_dev, fs_dev],
                              fs_device=fs_dev))
    pool = f"eos-drain-{uuid.uuid4().hex[:6]}"
    before = set(_osds(c))
    osd = None
    try:
        res = salt_local.call("state.apply", "roles.data", timeout=300)
        assert res.returncode == 0 and not _failed(res), (_failed(res), res.stdout[-3000:])
        ids = {v["__id__"]: v for v in res.data.values()}
        assert ids["eos-ceph-osd-root-fs"]["changes"]["fstype"] == "xfs"
        assert ids["eos-ceph-client"]["changes"], ids["eos-ceph-client"]
        (osd,) = ids["eos-ceph-osd-1"]["changes"]          # only the allowed, unused device
        osd_id = int(osd.split(".")[1])
        assert osd_id not in before and _osds(c)[osd_id]["up"] == 1
        meta = c.ceph("osd", "metadata", str(osd_id), fmt_json=True)
        assert meta["osd_objectstore"] == "bluestore" and meta["devices"] == os.path.basename(osd_dev)
        assert eos.usage(data_root)["fstype"] == "xfs"      # the OSD's data dir: its own XFS
        assert os.stat(f"{root}/etc/ceph/keyring").st_mode & 0o077 == 0

        # Rerun: the device now carries bluestore (no longer unused), the OSD is kept as it is.
        again = salt_local.call("state.apply", "roles.data", timeout=300)
        changed = [v["__id__"] for v in again.data.values() if v.get("changes")]
        assert again.returncode == 0 and not changed, (changed, _failed(again))

        # Data on the new OSD (weighted by size, it takes most PGs), then the role is lost.
        c.ceph("osd", "pool", "create", pool, "8")
        c.ceph("osd", "pool", "application", "enable", pool, "rados")
        for i in range(8):
            _rados(c, "-p", pool, "put", f"obj{i}", "-", input=f"payload {i}".encode())
        c.wait_healthy(120)
        on_it = c.ceph("pg", "ls-by-osd", str(osd_id), fmt_json=True)["pg_stats"]
        assert on_it, "the new OSD holds no PG: nothing to drain"

        salt_local.pillar(_pillar(root, openbao_dev, secret, [], devices=[osd_dev]))
        gone = salt_local.call("state.apply", "roles.absent", timeout=360)
        assert gone.returncode == 0 and not _failed(gone), (_failed(gone), gone.stdout[-3000:])
        drained = {v["__id__"]: v for v in gone.data.values()}["eos-role-data-osds-absent"]
        assert drained["changes"] == {osd: "remove"}, drained
        assert "PGs moved off" in drained["comment"], drained
        assert osd_id not in _osds(c)
        osd = None
        assert not os.path.exists(f"{data_root}/ceph-{osd_id}")
        st = c.wait_healthy(60)
        assert st["pgmap"]["num_pgs"] == sum(s["count"] for s in st["pgmap"]["pgs_by_state"]
                                             if s["state_name"] == "active+clean")
        for i in range(8):      # nothing was lost: every object reads back from osd.0
            assert _rados(c, "-p", pool, "get", f"obj{i}", "-") == f"payload {i}".encode()
    finally:
        if osd:     # drained first, so the session's cluster loses nothing; then by force
            try:
                eos.ceph_osd_remove(int(osd.split(".")[1]), data_root=data_root, wait=120,
                                    conf=c.conf, keyring=c.keyring)
            except OSError:
                c.kill_pidfile(osd, marker=data_root)   # runs with the node's copy of the conf
                c.remove_osd(int(osd.split(".")[1]))
        c.ceph("osd", "pool", "delete", pool, pool, "--yes-i-really-really-mean-it", check=False)
        subprocess.run(["umount", data_root], capture_output=True)
    c.wait_healthy(120)
