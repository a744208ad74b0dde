"""eos_storage.recommend / provision and the eos_storage.provisioned state, through real Salt on
real loop devices, with a private fstab (minion opts / pillar eos:storage:fstab)."""
import errno
import os
import struct
import subprocess

import pytest
import yaml

import eos
from tests.support import saltenv

MiB = 1 << 20
SIZE = 320 * MiB  # XFS needs at least 300 MiB

FSTAB_BEFORE = (
    "# /etc/fstab: static file system information.\n"
    "#\n"
    "UUID=11111111-2222-3333-4444-555555555555 /          ext4  errors=remount-ro 0 1\n"
    "proc  /proc  proc  defaults  0  0\n"
    "\n"
    "/dev/sdz1\t/srv/odd\\040name\txfs\tnoatime\t0\t2\n"
)


def _mountinfo():
    with open("/proc/self/mountinfo") as f:
        return [line.split() for line in f]


def _mounted(target):
    """(fstype, source, super options) of the mount at target, or None."""
    found = None
    for fields in _mountinfo():
        if fields[4] == target:
            sep = fields.index("-")
            found = (fields[sep + 1], fields[sep + 2], fields[sep + 3])
    return found


def _signatures(device):
    return [(s["type"], s["usage"]) for s in eos.provision_check(device)["signatures"]]


@pytest.fixture
def fstab(tmp_path):
    path = tmp_path / "fstab"
    path.write_text(FSTAB_BEFORE)
    os.chmod(path, 0o640)
    return path


@pytest.fixture
def storage(loaders, fstab):
    """The eos_storage execution module and state in-process, writing the private fstab
    (minion opts eos:storage:fstab, which config.get reads first)."""
    saved = loaders.opts.get("eos")  # the session's (its state_dir): later tests need it back
    storage = dict((saved or {}).get("storage") or {}, fstab=str(fstab))
    loaders.opts["eos"] = {"storage": storage}
    yield loaders
    loaders.opts["eos"] = saved


@pytest.fixture
def etc_fstab():
    """/etc/fstab must never be touched by these tests."""
    def snap():
        try:
            with open("/etc/fstab", "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None
    before = snap()
    yield
    assert snap() == before, "/etc/fstab was modified"


# --- recommend --------------------------------------------------------------------------------

def test_recommend_every_workload(storage):
    mod = storage.modules.eos_storage
    expect = {"database": "xfs", "backup": "btrfs", "boot": "ext4", "system": "ext4", "general": "xfs",
              "shared": "cephfs"}
    for workload, fstype in expect.items():
        rec = mod.recommend(workload)
        assert rec["workload"] == workload and rec["fstype"] == fstype
        assert rec["reasons"] and all(isinstance(r, str) and len(r) > 20 for r in rec["reasons"])
    assert mod.recommend("backup")["mount_options"] == "compress=zstd"
    assert "zstd" in " ".join(mod.recommend("backup")["reasons"])

    db = mod.recommend("database")
    with open("/proc/misc") as f:
        has_dm = " device-mapper\n" in f.read()
    assert db["lvm"]["device_mapper"] is has_dm
    if not has_dm:
        assert "LVM layer skipped" in db["lvm"]["reason"] and "device-mapper" in db["lvm"]["reason"]

    shared = mod.recommend("shared")
    assert shared["handover"] and "Ceph" in shared["comment"] and "CEPHFS" in shared["comment"]
    for other in ("database", "backup", "general"):
        assert mod.recommend(other)["handover"] is None


def test_recommend_unknown_workload_via_salt_call(salt_local):
    r = salt_local.call("eos_storage.recommend", "web scale")
    assert r.returncode != 0
    assert "unknown workload 'web scale'" in r.stderr and "database, backup" in r.stderr
    r = salt_local.call("eos_storage.recommend", "backup")
    assert r.returncode == 0 and r.data["fstype"] == "btrfs", r


# --- provision --------------------------------------------------------------------------------

@pytest.mark.parametrize("workload,fstype,options,passno", [
    ("database", "xfs", "defaults", 0),
    ("backup", "btrfs", "compress=zstd", 0),
    ("boot", "ext4", "defaults", 2),
    ("general", "xfs", "defaults", 0),
])
def test_provision_each_workload(storage, loops, fstab, tmp_path, etc_fstab, workload, fstype, options, passno):
    mod = storage.modules.eos_storage
    loop = loops.create(size=SIZE)
    mnt = str(tmp_path / f"mnt {workload}")  # a space: escaped as \040 in fstab
    label = f"eos{workload[:4]}"

    # lvm=False: the filesystem directly on the device even where device-mapper would put a
    # database on LVM (tests/functional/test_lvm_create.py covers that).
    plan = mod.provision(loop.device, workload, mountpoint=mnt, label=label, test=True, lvm=False)
    assert plan["test"] is True and plan["changed"] is True
    assert [s["action"] for s in plan["steps"]] == ["mkfs", "mkdir", "mount", "fstab"]
    assert plan["mkfs"][0] == f"mkfs.{fstype}" and plan["mkfs"][-1] == loop.device
    assert _signatures(loop.device) == [] and not os.path.exists(mnt)  # nothing done
    assert fstab.read_text() == FSTAB_BEFORE
    if workload == "database":
        assert "LVM" in plan["recommendation"]["lvm"]["reason"]

    res = mod.provision(loop.device, workload, mountpoint=mnt, label=label, lvm=False)
    assert res["changed"] is True and all(s["done"] for s in res["steps"])
    sigs = eos.provision_check(loop.device)["signatures"]
    assert [(s["type"], s["label"]) for s in sigs] == [(fstype, label)]
    uuid = sigs[0]["uuid"]
    assert res["uuid"] == uuid

    mounted = _mounted(mnt.replace(" ", "\\040"))
    assert mounted and mounted[0] == fstype and mounted[1] == loop.device
    if fstype == "btrfs":
        assert "compress=zstd" in mounted[2]
    loops.mounts.append(mnt)  # the fixture unmounts it

    text = fstab.read_text()
    line = f"UUID={uuid}\t{mnt.replace(' ', chr(92) + '040')}\t{fstype}\t{options}\t0\t{passno}\n"
    assert text == FSTAB_BEFORE + line  # existing entries kept byte for byte
    assert os.stat(fstab).st_mode & 0o777 == 0o640
    assert eos.fstab_find(str(fstab), mnt) == f"UUID={uuid}"
    assert not [p for p in os.listdir(fstab.parent) if p.startswith("fstab.eos-")]  # no temp left

    # Provisioning again is refused: the device now holds a filesystem and is mounted.
    with pytest.raises(Exception) as exc:
        mod.provision(loop.device, workload, mountpoint=mnt)
    article = "an" if fstype in ("ext4", "xfs") else "a"
    assert f"holds {article} {fstype} filesystem" in str(exc.value) and "is mounted" in str(exc.value)


def test_provision_shared_is_handed_over(storage, loops):
    loop = loops.create(size=64 * MiB)
    res = storage.modules.eos_storage.provision(loop.device, "shared", mountpoint="/srv/shared")
    assert res["changed"] is False and res["steps"] == []
    assert "handled by the Ceph work" in res["comment"] and loop.device in res["comment"]
    assert _signatures(loop.device) == [] and not os.path.exists("/srv/shared")


def test_provision_through_salt_call_with_pillar_fstab(salt_local, loops, fstab, tmp_path, etc_fstab):
    salt_local.pillar({"eos": {"storage": {"fstab": str(fstab)}}})
    loop = loops.create(size=SIZE)
    mnt = str(tmp_path / "backup")
    r = salt_local.call("eos_storage.provision", loop.device, "backup", mnt, "test=True")
    assert r.returncode == 0, r
    assert r.data["test"] is True and "would be provisioned" in r.data["comment"]
    assert _signatures(loop.device) == [] and fstab.read_text() == FSTAB_BEFORE

    r = salt_local.call("eos_storage.provision", loop.device, "backup", mnt, "label=nightly")
    assert r.returncode == 0, r
    loops.mounts.append(mnt)  # mounted inside this test's mount namespace by salt-call
    assert _mounted(mnt)[0] == "btrfs"
    assert fstab.read_text() == FSTAB_BEFORE + r.data["fstab_line"] + "\n"

    r = salt_local.call("eos_storage.provision", loop.device, "backup", mnt)
    assert r.returncode != 0 and "refusing to provision" in r.stderr and "force=True" in r.stderr


def _write_mbr(device):
    """A DOS partition table with one Linux partition (what fdisk would write)."""
    entry = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0", 2048, 8192)
    with open(device, "r+b") as f:
        f.seek(446)
        f.write(entry)
        f.seek(510)
        f.write(b"\x55\xaa")
        f.flush()
        os.fsync(f.fileno())


def _pvcreate(device, tmp_path):
    """An LVM PV label, with a private LVM config that sees only this device."""
    confdir = tmp_path / "lvm"
    confdir.mkdir()
    (confdir / "lvm.conf").write_text(
        'devices { filter = [ "a|^%s$|", "r|.*|" ] use_devicesfile = 0 '
        "obtain_device_list_from_udev = 0 }\n"
        "backup { backup = 0 archive = 0 }\n"
        "global { activation = 0 }\n"
        "activation { udev_sync = 0 udev_rules = 0 }\n" % device)
    env = {**os.environ, "LVM_SYSTEM_DIR": str(confdir)}
    subprocess.run(["pvcreate", "-q", device], env=env, check=True, capture_output=True)


@pytest.mark.parametrize("kind", ["filesystem", "partition_table", "lvm", "mounted"])
def test_refuses_used_devices_unless_forced(storage, loops, fstab, tmp_path, etc_fstab, kind):
    mod = storage.modules.eos_storage
    if kind == "filesystem":
        loop = loops.create(size=SIZE, fstype="ext4", label="olddata")
        expect, destroy = "holds an ext4 filesystem (label 'olddata'", "the ext4 filesystem 'olddata'"
    elif kind == "partition_table":
        loop = loops.create(size=SIZE)
        _write_mbr(loop.device)
        expect, destroy = "holds a dos partition table", "the dos partition table and every partition"
    elif kind == "lvm":
        loop = loops.create(size=SIZE)
        _pvcreate(loop.device, tmp_path)
        expect, destroy = "holds an LVM physical volume signature (LVM2_member", "the LVM physical volume"
    else:
        loop = loops.create(size=SIZE, fstype="xfs")
        old_mnt = loops.mount(loop)
        expect, destroy = f"is mounted: {loop.device} on {old_mnt}", "(unmounted first)"
    before = _signatures(loop.device)
    assert before

    check = eos.provision_check(loop.device)
    assert check["free"] is False and any(expect in r for r in check["in_use"]), check

    mnt = str(tmp_path / "new")
    with pytest.raises(Exception) as exc:
        mod.provision(loop.device, "general", mountpoint=mnt)
    assert f"refusing to provision {loop.device}" in str(exc.value) and expect in str(exc.value)
    assert "force=True" in str(exc.value)
    assert _signatures(loop.device) == before and fstab.read_text() == FSTAB_BEFORE
    assert not os.path.exists(mnt)

    plan = mod.provision(loop.device, "general", mountpoint=mnt, force=True, test=True)
    assert any(destroy in d for d in plan["destroys"]), plan["destroys"]
    assert "destroying:" in plan["comment"]
    assert _signatures(loop.device) == before  # test=True changed nothing

    res = mod.provision(loop.device, "general", mountpoint=mnt, force=True)
    loops.mounts.append(mnt)
    assert [t for t, _ in _signatures(loop.device)] == ["xfs"]
    assert _mounted(mnt)[0] == "xfs"
    assert fstab.read_text() == FSTAB_BEFORE + res["fstab_line"] + "\n"
    if kind == "mounted":
        assert _mounted(old_mnt) is None
        loops.mounts.remove(old_mnt)


def test_refuses_busy_device_even_with_force(storage, loops):
    loop = loops.create(size=SIZE)
    fd = os.open(loop.device, os.O_RDONLY | os.O_EXCL)  # an exclusive holder, as the kernel would be
    try:
        check = eos.provision_check(loop.device)
        assert check["busy"] is True and any("is busy" in r for r in check["in_use"])
        for force in (False, True):
            with pytest.raises(Exception) as exc:
                storage.modules.eos_storage.provision(loop.device, "general", force=force)
            assert "is busy" in str(exc.value)
    finally:
        os.close(fd)
    assert _signatures(loop.device) == []


def test_bad_input(storage, loops, fstab, tmp_path):
    mod = storage.modules.eos_storage
    loop = loops.create(size=SIZE)
    regular = tmp_path / "file"
    regular.write_bytes(b"x")
    cases = [
        ((str(regular), "general"), f"'{regular}' is not a block device"),
        (("/dev/eos-no-such-device", "general"), "No such file or directory"),
        ((loop.device, "nosql"), "unknown workload 'nosql'"),
        ((loop.device, "general", "relative/mnt"), "mountpoint 'relative/mnt' is not an absolute path"),
        ((loop.device, "general", "/"), "refusing to mount over /"),
        ((loop.device, "general", str(regular)), "exists and is not a directory"),
    ]
    for args, msg in cases:
        with pytest.raises(Exception) as exc:
            mod.provision(*args)
        assert msg in str(exc.value), (args, str(exc.value))
    with pytest.raises(Exception) as exc:
        mod.provision(loop.device, "database", label="much-too-long-for-xfs")
    assert "invalid label 'much-too-long-for-xfs': xfs labels are 1 to 12 bytes" in str(exc.value)
    small = loops.create(size=64 * MiB)
    with pytest.raises(Exception) as exc:
        mod.provision(small.device, "general")
    assert "xfs needs at least 300.0 MiB" in str(exc.value)

    # An fstab entry for the mountpoint already exists: refused before mkfs.
    with pytest.raises(Exception) as exc:
        mod.provision(loop.device, "general", mountpoint="/srv/odd name")
    assert "already has an entry for /srv/odd name (/dev/sdz1)" in str(exc.value)
    assert _signatures(loop.device) == [] and fstab.read_text() == FSTAB_BEFORE


def test_fstab_without_trailing_newline_and_stale_entries(storage, loops, fstab, tmp_path):
    """A last line without newline is kept; forcing over a filesystem listed in fstab comments
    its old entry out instead of leaving a line for a UUID that no longer exists."""
    fstab.write_text(FSTAB_BEFORE.rstrip("\n"))
    mod = storage.modules.eos_storage
    loop = loops.create(size=SIZE)
    first = str(tmp_path / "first")
    res = mod.provision(loop.device, "general", mountpoint=first)
    loops.mounts.append(first)
    assert fstab.read_text() == FSTAB_BEFORE + res["fstab_line"] + "\n"
    loops.umount(first)

    second = str(tmp_path / "second")
    res2 = mod.provision(loop.device, "backup", mountpoint=second, force=True)
    loops.mounts.append(second)
    assert any(f"entry UUID={res['uuid']} for {first}" in d for d in res2["destroys"])
    assert fstab.read_text() == (FSTAB_BEFORE + "# eos_storage.provision destroyed this filesystem: "
                                 + res["fstab_line"] + "\n" + res2["fstab_line"] + "\n")


# --- the state --------------------------------------------------------------------------------

def test_provisioned_state_is_idempotent(storage, loops, fstab, tmp_path, etc_fstab):
    st = storage.states.eos_storage
    loop = loops.create(size=SIZE)
    mnt = str(tmp_path / "db")

    ret = st.provisioned(name=loop.device, workload="database", mountpoint=mnt, test=True)
    assert ret.result is None and ret.changes["fstype"] == "xfs"
    assert [s.split(":")[0] for s in ret.changes["steps"]] == ["mkfs", "mkdir", "mount", "fstab"]
    assert _signatures(loop.device) == [] and fstab.read_text() == FSTAB_BEFORE

    ret = st.provisioned(name=loop.device, workload="database", mountpoint=mnt)
    loops.mounts.append(mnt)
    assert ret.result is True and ret.changes["uuid"]
    assert _mounted(mnt)[0] == "xfs"
    text = fstab.read_text()

    ret = st.provisioned(name=loop.device, workload="database", mountpoint=mnt)
    assert ret.result is True and ret.changes == {} and "already holds xfs" in ret.comment
    ret = st.provisioned(name=loop.device, workload="database", mountpoint=mnt, test=True)
    assert ret.result is True and ret.changes == {}
    assert fstab.read_text() == text

    # Unmounted behind Salt's back: only the mount step runs again, the data is kept.
    loops.umount(mnt)
    ret = st.provisioned(name=loop.device, workload="database", mountpoint=mnt, test=True)
    assert ret.result is None and [s.split(":")[0] for s in ret.changes["steps"]] == ["mount"]
    ret = st.provisioned(name=loop.device, workload="database", mountpoint=mnt)
    loops.mounts.append(mnt)
    assert ret.result is True and [s.split(":")[0] for s in ret.changes["steps"]] == ["mount"]
    assert fstab.read_text() == text

    # Another workload's filesystem on it: refused without force.
    ret = st.provisioned(name=loop.device, workload="backup", mountpoint=str(tmp_path / "bk"))
    assert ret.result is False and "refusing to provision" in ret.comment

    ret = st.provisioned(name=loop.device, workload="shared")
    assert ret.result is False and "handled by the Ceph work" in ret.comment


def test_provisioned_state_apply_through_salt_call(loops, fstab, tmp_path, etc_fstab):
    loop = loops.create(size=SIZE)
    mnt = str(tmp_path / "sys")
    sls_dir = tmp_path / "sls"
    sls_dir.mkdir()
    (sls_dir / "eos_prov_test.sls").write_text(yaml.safe_dump({
        "system-disk": {"eos_storage.provisioned": [{"name": loop.device}, {"workload": "system"},
                                                    {"mountpoint": mnt}, {"label": "eossys"}]},
    }))
    conf = saltenv.minion_config(str(tmp_path / "salt"), {
        "file_roots": {"base": [str(sls_dir), saltenv.SALT_TREE]},
        "eos": {"storage": {"fstab": str(fstab)}},
    })
    r = saltenv.salt_call(conf, "state.apply", "eos_prov_test", "test=True")
    assert r.returncode == 0, r
    (only,) = r.data.values()
    assert only["result"] is None and only["changes"]["fstype"] == "ext4"
    assert _signatures(loop.device) == []

    r = saltenv.salt_call(conf, "state.apply", "eos_prov_test")
    assert r.returncode == 0, r
    loops.mounts.append(mnt)
    (only,) = r.data.values()
    assert only["result"] is True and only["changes"]["uuid"]
    assert _mounted(mnt)[0] == "ext4"

    r = saltenv.salt_call(conf, "state.single", "eos_storage.provisioned", loop.device, "workload=system",
                          f"mountpoint={mnt}", "label=eossys", "test=True")
    assert r.returncode == 0, r
    (only,) = r.data.values()
    assert only["result"] is True and only["changes"] == {}
