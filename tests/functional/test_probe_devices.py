"""eos.probe / eos.usage / eos.storage_facts on real loop devices and filesystems, compared
field by field with the tools: blkid -p, blockdev, losetup, lsblk, /proc/self/mountinfo, df,
btrfs filesystem show and LVM's own reports."""
import json
import os
import re
import subprocess
import uuid

import pytest

import eos
from tests.support import lvmenv
from tests.support.blockdev import Loop, run


def blkid_export(dev):
    """NAME=value pairs of `blkid -p -o export dev` (DEVNAME dropped), unescaped; {} when
    blkid finds nothing (exit 2)."""
    p = subprocess.run(["blkid", "-p", "-o", "export", dev], capture_output=True)
    if p.returncode == 2:
        return {}
    assert p.returncode == 0, p.stderr
    tags = {}
    for line in p.stdout.decode("utf-8", "surrogateescape").splitlines():
        name, _, value = line.partition("=")
        if name != "DEVNAME":
            tags[name] = re.sub(r"\\(.)", r"\1", value)
    return tags


def df(path):
    """size, used, avail, inodes, iused, ifree of the filesystem holding path, from df -B1."""
    out = run(["df", "-B1", "--output=size,used,avail,itotal,iused,iavail", path])
    return [int(x) for x in out.splitlines()[1].split()]


def by_name(probe):
    return {d["name"]: d for d in probe["devices"]}


def stale_partitions(probe, name):
    """Partitions the kernel still lists under a loop device (another test's `losetup -P` leaves
    them behind after detaching): a device with partitions is not unused."""
    return [d["name"] for d in probe["devices"] if d["parent"] == name]


def gpt_loop(loops, tmp_path):
    """A loop device whose image carries a GPT with one partition. parted writes the image
    file before it is attached: run on the device, parted would add the partition to the kernel
    (BLKPG), and the kernel keeps such a loopNp1 after the loop is detached, for the next user
    of loopN to trip over."""
    image = str(tmp_path / f"gpt-{uuid.uuid4().hex[:8]}.img")
    with open(image, "wb") as f:
        f.truncate(8 << 20)
    # parted trips ASan in its own GPT code when `make test-asan` preloads the sanitizers.
    run(["parted", "-s", image, "mklabel", "gpt", "mkpart", "eospart", "1MiB", "4MiB"],
        env={k: v for k, v in os.environ.items() if k != "LD_PRELOAD"})
    loop = Loop(image, run(["losetup", "-f", "--show", image]).strip())
    loops.loops.append(loop)  # detached by the fixture
    return loop


def test_devices_match_blkid_blockdev_losetup_lsblk(loops, tmp_path):
    ext, xfs, raw = lvmenv.fresh_loops(loops, 3, 320 << 20)
    run(["mkfs.ext4", "-q", "-F", "-L", "eos ext4", ext.device])
    run(["mkfs.xfs", "-q", "-f", "-L", "eosxfs", xfs.device])
    gpt = gpt_loop(loops, tmp_path)
    ro = loops.create(size=8 << 20)
    run(["blockdev", "--setro", ro.device])
    try:
        p = eos.probe(lvm=False)
        getro = {x.device: run(["blockdev", "--getro", x.device]).strip() == "1"
                 for x in (ext, xfs, raw, gpt, ro)}
        lsblk = {d["name"]: d for d in json.loads(run(
            ["lsblk", "-J", "-b", "-d", "-o", "NAME,MAJ:MIN,SIZE,RO,RM,ROTA"]))["blockdevices"]}
        facts = eos.storage_facts()
    finally:
        # The kernel keeps the flag after detaching: the next user would get a read-only loop.
        run(["blockdev", "--setrw", ro.device])
    devs = by_name(p)
    for loop in (ext, xfs, raw, gpt, ro):
        name = os.path.basename(loop.device)
        d = devs[name]
        assert d["path"] == loop.device and d["kind"] == "loop"
        assert d["blkid"] == blkid_export(loop.device), name
        assert d["size"] == int(run(["blockdev", "--getsize64", loop.device]))
        assert d["read_only"] == getro[loop.device] == (loop is ro)
        rdev = os.stat(loop.device).st_rdev
        assert (d["major"], d["minor"]) == (os.major(rdev), os.minor(rdev))
        back = run(["losetup", "-n", "-O", "BACK-FILE", loop.device]).strip()
        assert d["backing_file"] == back == loop.image
        ls = lsblk[name]
        assert (d["devno"], d["size"], d["read_only"], d["removable"], d["rotational"]) == (
            ls["maj:min"], ls["size"], ls["ro"], ls["rm"], ls["rota"])
        assert d["holders"] == [] and d["slaves"] == [] and d["mounted"] is False
    assert devs[os.path.basename(ext.device)]["type"] == "ext4"
    assert devs[os.path.basename(ext.device)]["label"] == "eos ext4"
    assert devs[os.path.basename(xfs.device)]["uuid"] == blkid_export(xfs.device)["UUID"]
    assert devs[os.path.basename(gpt.device)]["pttype"] == "gpt"
    assert devs[os.path.basename(raw.device)]["blkid_status"] == "nothing"

    # Only the blank, writable, unmounted device is unused; the grain lists it.
    unused = {n for n, d in devs.items() if d["unused"]}
    mine = {os.path.basename(x.device) for x in (ext, xfs, raw, gpt, ro)}
    rname = os.path.basename(raw.device)
    stale = stale_partitions(p, rname)
    assert unused & mine == (set() if stale else {rname})
    listed = {d["name"]: d for d in facts["unused_devices"]}
    if not stale:
        assert listed[rname] == {"name": rname, "path": raw.device, "size": 320 << 20,
                                 "rotational": devs[rname]["rotational"]}
    assert not (set(listed) & (mine - {rname}))

    # A signature written later makes it used.
    run(["mkfs.ext4", "-q", "-F", raw.device])
    assert by_name(eos.probe(lvm=False))[os.path.basename(raw.device)]["unused"] is False


def test_mounts_and_usage_match_mountinfo_and_df(loops, tmp_path):
    xfs = loops.create(fstype="xfs")
    ext = loops.create(fstype="ext4", size=32 << 20)
    spaced = loops.mount(xfs, str(tmp_path / "mnt with spaces"))
    odd = os.fsencode(str(tmp_path)) + b"/new\nline\ttab \xff"
    os.mkdir(odd)
    run(["mount", ext.device, odd])
    loops.mounts.append(odd)
    with open(os.path.join(spaced, "data"), "wb") as f:
        f.write(os.urandom(3 << 20))
    os.sync()

    p = eos.probe(lvm=False)
    mounts = {m["target"]: m for m in p["mounts"]}
    with open("/proc/self/mountinfo", "rb") as f:
        raw_lines = f.read().splitlines()
    for target, loop in ((spaced, xfs), (os.fsdecode(odd), ext)):
        m = mounts[target]
        assert m["source"] == loop.device and m["fstype"] == loop.fstype
        esc = os.fsencode(target).replace(b"\\", b"\\134").replace(b" ", b"\\040") \
            .replace(b"\n", b"\\012").replace(b"\t", b"\\011")
        line = [ln for ln in raw_lines if ln.split(b" ")[4] == esc]
        assert len(line) == 1 and int(line[0].split(b" ")[0]) == m["id"]
        rdev = os.stat(loop.device).st_rdev
        assert m["storage"] is True
        u = m["usage"]
        assert [u["size"], u["used"], u["avail"], u["files"], u["files_used"], u["files_free"]] == df(target)
        one = eos.usage(os.fsencode(target) + b"/." if isinstance(target, bytes) else target)
        assert [one["size"], one["used"], one["avail"], one["files"], one["files_used"],
                one["files_free"]] == df(target)
        assert one["target"] == target and one["source"] == loop.device
        d = by_name(p)[os.path.basename(loop.device)]
        assert d["mounted"] is True and d["mountpoints"] == [target] and d["unused"] is False
        assert (d["major"], d["minor"]) == (os.major(rdev), os.minor(rdev))
    assert mounts[spaced]["usage"]["used"] >= 3 << 20
    # A file below the mount: its filesystem, by bytes path with a non-UTF-8 byte.
    with open(odd + b"/f", "wb") as f:
        f.write(b"x")
    u = eos.usage(odd + b"/f")
    assert u["target"] == os.fsdecode(odd) and u["path"] == os.fsdecode(odd + b"/f")
    with pytest.raises(NotADirectoryError) as exc:
        eos.usage(odd + b"/f/below")
    assert exc.value.filename == os.fsdecode(odd + b"/f/below")


def test_shadowed_mount_has_no_usage(loops, tmp_path):
    a = loops.create(fstype="ext4", size=16 << 20)
    b = loops.create(fstype="ext4", size=24 << 20)
    mnt = str(tmp_path / "m")
    loops.mount(a, mnt)
    run(["mount", b.device, mnt])
    loops.mounts.append(mnt)
    mounts = [m for m in eos.probe(lvm=False)["mounts"] if m["target"] == mnt]
    assert [m["source"] for m in mounts] == [a.device, b.device]
    assert mounts[0]["shadowed"] and mounts[0]["usage"] is None
    assert mounts[1]["usage"]["size"] == df(mnt)[0]


def test_btrfs_membership(loops, tmp_path):
    d1 = loops.create(size=128 << 20)
    d2 = loops.create(size=128 << 20)
    label = "eosbt" + uuid.uuid4().hex[:6]
    run(["mkfs.btrfs", "-q", "-f", "-L", label, d1.device, d2.device])
    mnt = loops.mount(d1, str(tmp_path / "bt"))
    p = eos.probe(lvm=False)
    fsid = blkid_export(d1.device)["UUID"]
    fs = [f for f in p["btrfs"] if f["uuid"] == fsid]
    assert len(fs) == 1 and fs[0]["label"] == label
    show = run(["btrfs", "filesystem", "show", "--raw", mnt])
    devids = {m.group(2): int(m.group(1)) for m in re.finditer(r"devid\s+(\d+) size .* path (\S+)", show)}
    assert {x["path"]: x["devid"] for x in fs[0]["devices"]} == devids
    assert sorted(x["name"] for x in fs[0]["devices"]) == sorted(
        os.path.basename(d.device) for d in (d1, d2))
    devs = by_name(p)
    for d in (d1, d2):
        dev = devs[os.path.basename(d.device)]
        assert dev["type"] == "btrfs" and dev["uuid"] == fsid
        assert dev["btrfs_devid"] == devids[d.device]
        assert dev["mounted"] is True and dev["unused"] is False  # d2 only through /sys/fs/btrfs
    m = [m for m in p["mounts"] if m["target"] == mnt][0]
    assert m["storage"] is True and m["usage"]["size"] == df(mnt)[0]


def test_lvm_matches_lvm_reports(loops, tmp_path, monkeypatch):
    a, b, c = lvmenv.fresh_loops(loops, 3, 64 << 20)
    env = lvmenv.write_lvm_conf(str(tmp_path / "lvm"), [a.device, b.device])
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    vg = "eosvg" + uuid.uuid4().hex[:6]
    lvmenv.lvm(env, "pvcreate", "-q", a.device, b.device)
    lvmenv.lvm(env, "vgcreate", "-q", "-s", "4m", vg, a.device)
    lvmenv.lvm(env, "lvcreate", "-q", "-n", "data", "-L", "12m", vg)

    p = eos.probe()  # lvm="auto": runs, since a and b carry LVM2_member signatures
    lvm = p["lvm"]
    assert lvm["available"] is True and lvm["ran"] is True and lvm["error"] is None
    assert lvm["reader"] == "lvm"  # LVM_SYSTEM_DIR's filter decides the PVs: only lvm knows it
    pvs = lvmenv.report(env, "pvs", ["pv_name", "vg_name", "pv_uuid", "pv_size", "pv_free", "pv_used",
                                     "dev_size", "pv_pe_count", "pv_pe_alloc_count"])
    assert sorted(x["name"] for x in lvm["pvs"]) == sorted(x["pv_name"] for x in pvs)
    for row in pvs:
        got = [x for x in lvm["pvs"] if x["name"] == row["pv_name"]][0]
        assert (got["vg_name"] or "", got["uuid"], got["size"], got["free"], got["used"], got["dev_size"],
                got["pe_count"], got["pe_alloc_count"]) == (
            row["vg_name"], row["pv_uuid"], int(row["pv_size"]), int(row["pv_free"]), int(row["pv_used"]),
            int(row["dev_size"]), int(row["pv_pe_count"]), int(row["pv_pe_alloc_count"]))
    (vrow,) = lvmenv.report(env, "vgs", ["vg_name", "vg_uuid", "vg_size", "vg_free", "vg_extent_size",
                                         "vg_extent_count", "vg_free_count", "pv_count", "lv_count"])
    (got,) = lvm["vgs"]
    assert (got["name"], got["uuid"], got["size"], got["free"], got["extent_size"], got["extent_count"],
            got["free_count"], got["pv_count"], got["lv_count"]) == (
        vrow["vg_name"], vrow["vg_uuid"], int(vrow["vg_size"]), int(vrow["vg_free"]),
        int(vrow["vg_extent_size"]), int(vrow["vg_extent_count"]), int(vrow["vg_free_count"]),
        int(vrow["pv_count"]), int(vrow["lv_count"]))
    assert got["extent_size"] == 4 << 20
    (lrow,) = lvmenv.report(env, "lvs", ["lv_name", "vg_name", "lv_size", "lv_path", "lv_attr", "devices"])
    (lv,) = lvm["lvs"]
    assert (lv["name"], lv["vg_name"], lv["size"], lv["path"], lv["attr"]) == (
        lrow["lv_name"], lrow["vg_name"], int(lrow["lv_size"]), lrow["lv_path"], lrow["lv_attr"])
    assert lv["devices"] == [re.sub(r"\(\d+\)$", "", x) for x in lrow["devices"].split(",")] == [a.device]
    assert lv["size"] == 12 << 20 and lv["active"] is None  # no device-mapper: state unknown
    devs = by_name(p)
    assert devs[os.path.basename(a.device)]["type"] == "LVM2_member"
    assert devs[os.path.basename(b.device)]["unused"] is False
    assert devs[os.path.basename(c.device)]["unused"] == (not stale_partitions(p, os.path.basename(c.device)))

    # The same through lvm_config, without the environment's filter.
    monkeypatch.delenv("LVM_SYSTEM_DIR")
    cfg = (f'devices {{ filter = [ "a|^{a.device}$|", "r|.*|" ] global_filter = [ "a|^{a.device}$|", "r|.*|" ]'
           ' use_devicesfile = 0 } global { activation = 0 }')
    only_a = eos.probe(lvm=True, lvm_config=cfg)["lvm"]
    assert [x["name"] for x in only_a["pvs"]] == [a.device] and [v["name"] for v in only_a["vgs"]] == [vg]
