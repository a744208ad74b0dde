"""The data role's pillar narrowing (eos:data:*), and hostile pillar refused through real Salt
(salt-call --local) before anything changes. The OSD itself, made by the role state on a real
minion of a real master, serving the CephFS data pool of the session's Ceph cluster and then
drained and purged: tests/integration/test_roles_serving.py (one OSD creation for the suite)."""
import os

import pytest

pytestmark = pytest.mark.timeout(300)
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

