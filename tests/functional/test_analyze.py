"""eos_storage.analyze through real Salt on real loop-backed filesystems filled with real files."""
import math
import os
import shutil
import subprocess
import time

import pytest

from tests.support.blockdev import Loop, run

MiB = 1 << 20


def fill_to(mnt, pct, name=None):
    """Write a real file so that the filesystem is at about pct percent used (df's Use%)."""
    st = os.statvfs(mnt)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    need = int(pct / 100 * (used + avail)) - used
    assert need > 0, f"{mnt} is already past {pct}%"
    path = os.path.join(mnt, name or f"fill-{pct}")
    chunk = b"\xa5" * MiB
    with open(path, "ab") as f:
        left = need
        while left > 0:
            f.write(chunk[: min(left, MiB)])
            left -= MiB
        f.flush()
        os.fsync(f.fileno())
    return path


def df(mnt):
    out = run(["df", "-B1", "--output=size,used,avail,pcent", mnt]).splitlines()[1].split()
    return int(out[0]), int(out[1]), int(out[2]), int(out[3].rstrip("%"))


def analyze_one(loaders, mnt, **kw):
    r = loaders.modules.eos_storage.analyze(mnt, **kw)
    (m,) = r["mounts"]
    assert m["target"] == mnt and m["error"] is None
    return r, m


def check_against_df(m, mnt):
    size, used, avail, pcent = df(mnt)
    assert (m["size"], m["used"], m["avail"]) == (size, used, avail)
    exact = used * 100 / (used + avail)  # df's Use%, before it rounds up
    assert abs(m["used_pct"] - exact) <= 0.005 and math.ceil(exact) == pcent


@pytest.mark.parametrize("fstype,size", [("xfs", 320 * MiB), ("ext4", 64 * MiB)])
def test_levels_follow_real_usage(loops, loaders, fstype, size):
    loop = loops.create(size, fstype)
    # XFS: a fixed end-of-file preallocation, so that df and analyze see settled figures.
    mnt = loops.mount(loop, options="allocsize=64k" if fstype == "xfs" else None)
    expected = [(30, "ok", "none"), (65, "warning", "none"), (77.5, "cleanup", "cleanup"),
                (87.5, "emergency", "cleanup")]
    for pct, level, action in expected:
        fill_to(mnt, pct)
        r, m = analyze_one(loaders, mnt)
        check_against_df(m, mnt)
        assert abs(m["used_pct"] - pct) < 1.5, m
        assert (m["level"], m["level_bytes"]) == (level, level), m
        assert m["recommendation"]["action"] == action, m
        assert m["expansion_paths"] == []
        assert m["fstype"] == fstype and m["source"] == loop.device
    assert r["thresholds"]["tier"] == "single"


def test_inodes_make_the_level_when_worse(loops, loaders):
    loop = loops.create(64 * MiB, "ext4", mkfs_args=["-N", "256"])
    mnt = loops.mount(loop)
    st = os.statvfs(mnt)
    target = math.ceil(st.f_files * 0.82)
    used = st.f_files - st.f_ffree
    d = os.path.join(mnt, "many")
    os.mkdir(d)
    for i in range(target - used - 1):
        open(os.path.join(d, str(i)), "w").close()
    _, m = analyze_one(loaders, mnt)
    assert m["inodes"] == st.f_files
    assert 80 <= m["inodes_pct"] < 85, m
    assert m["level_bytes"] == "ok" and m["level_inodes"] == "degraded" and m["level"] == "degraded"
    assert m["recommendation"]["action"] == "cleanup"


def test_loop_backing_file_larger_is_an_expansion_path(loops, loaders):
    loop = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(loop)
    fill_to(mnt, 65)
    _, m = analyze_one(loaders, mnt)
    assert m["level"] == "warning" and m["expansion_paths"] == []
    assert m["recommendation"]["action"] == "none"

    loop.grow_backing(640 * MiB)
    _, m = analyze_one(loaders, mnt)
    path = {"kind": "loop_backing", "device": loop.device, "target": loop.image, "available": 320 * MiB}
    assert m["expansion_paths"] == [path]
    assert m["recommendation"]["action"] == "expand"
    assert m["recommendation"]["path"] == path
    assert "loop_backing" in m["recommendation"]["reason"]

    # The device takes the new size: now the filesystem is what can grow.
    run(["losetup", "-c", loop.device])
    _, m = analyze_one(loaders, mnt)
    assert m["expansion_paths"] == [{"kind": "filesystem", "device": loop.device, "target": mnt,
                                     "available": 320 * MiB}]
    assert m["recommendation"]["action"] == "expand"

    # Grown: nothing left to expand, usage halved.
    run(["xfs_growfs", mnt])
    _, m = analyze_one(loaders, mnt)
    assert m["expansion_paths"] == []
    assert m["level"] == "ok" and m["recommendation"]["action"] == "none"


def test_ext4_smaller_than_its_device(loops, loaders):
    loop = loops.create(64 * MiB, "ext4")
    mnt = loops.mount(loop)
    loop.grow_backing(96 * MiB)
    run(["losetup", "-c", loop.device])
    fill_to(mnt, 80)
    _, m = analyze_one(loaders, mnt)
    assert m["expansion_paths"] == [{"kind": "filesystem", "device": loop.device, "target": mnt,
                                     "available": 32 * MiB}]
    assert m["level"] == "degraded" and m["recommendation"]["action"] == "expand"


def test_btrfs_member_device_larger_than_its_share(loops, loaders):
    loop = loops.create(256 * MiB, "btrfs")
    mnt = loops.mount(loop)
    loop.grow_backing(384 * MiB)
    _, m = analyze_one(loaders, mnt)
    assert m["inodes_pct"] is None and m["level_inodes"] is None  # BTRFS has no inode count
    assert m["expansion_paths"] == [{"kind": "loop_backing", "device": loop.device,
                                     "target": loop.image, "available": 128 * MiB}]
    run(["losetup", "-c", loop.device])
    _, m = analyze_one(loaders, mnt)
    assert m["expansion_paths"] == [{"kind": "btrfs_device", "device": loop.device, "target": mnt,
                                     "available": 128 * MiB, "devid": 1}]
    run(["btrfs", "filesystem", "resize", "1:max", mnt])
    _, m = analyze_one(loaders, mnt)
    assert m["expansion_paths"] == []


@pytest.fixture
def partitioned(loops):
    """A 256 MiB image with a GPT and one 100 MiB partition at 1 MiB, partitions scanned."""
    if not shutil.which("parted"):
        pytest.skip("parted is not installed (Debian package parted)")
    image = os.path.join(loops.workdir, "parted.img")
    with open(image, "wb") as f:
        f.truncate(256 * MiB)
    # parted calls udevadm when it exists; here there is none, which it reports and ignores.
    # Without the sanitizer preload of `make test-asan`: parted aborts under it by itself.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    subprocess.run(["parted", "-s", image, "mklabel", "gpt", "mkpart", "p1", "1MiB", "101MiB"],
                   check=True, capture_output=True, env=env)
    dev = run(["losetup", "-P", "-f", "--show", image]).strip()
    loops.loops.append(Loop(image, dev))
    part = dev + "p1"
    if not os.path.exists(part):
        run(["partx", "-a", dev])  # no udev: ask the kernel to read the table again
    run(["mkfs.ext4", "-q", "-F", part])
    loop = Loop(image, part, "ext4")
    yield loop, dev
    # The kernel keeps partitions of a detached loop device for its next user: remove them.
    if loop.mountpoint in loops.mounts:
        loops.umount(loop.mountpoint)
    run(["partx", "-d", dev])


def test_free_space_after_partition(loops, loaders, partitioned):
    part, disk = partitioned
    mnt = loops.mount(part)
    fill_to(mnt, 65)
    _, m = analyze_one(loaders, mnt)
    free = 256 * MiB - 101 * MiB - 33 * 512  # up to the GPT's backup at the end of the disk
    assert m["expansion_paths"] == [{"kind": "partition", "device": part.device, "target": disk,
                                     "available": free}]
    assert m["level"] == "warning" and m["recommendation"]["action"] == "expand"


def test_all_mounts_are_real_filesystems(loops, loaders):
    loop = loops.create(64 * MiB, "ext4")
    mnt = loops.mount(loop)
    r = loaders.modules.eos_storage.analyze(record=False)
    targets = [m["target"] for m in r["mounts"]]
    assert mnt in targets
    assert len(targets) == len(set(targets))
    assert not {m["fstype"] for m in r["mounts"]} & {"proc", "sysfs", "cgroup", "cgroup2", "devpts"}


def test_pillar_override_changes_level(loops, salt_local):
    loop = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(loop)
    fill_to(mnt, 72)

    def level():
        r = salt_local.call("eos_storage.analyze", mnt, "record=False")
        assert r.returncode == 0, r
        return r.data["thresholds"], r.data["mounts"][0]

    th, m = level()
    assert th["tier"] == "single" and m["level"] == "compress"
    salt_local.pillar({"eos": {"cluster": {"node_count": 7}}})
    th, m = level()
    assert th["tier"] == "distributed" and th["check_interval"] == 60 and m["level"] == "warning"
    salt_local.pillar({"eos": {"storage": {"thresholds": {"warning": 30, "compress": 40, "cleanup": 50}}}})
    th, m = level()
    assert (th["warning"], th["compress"], th["cleanup"], th["degraded"]) == (30, 40, 50, 80)
    assert m["level"] == "cleanup" and m["recommendation"]["action"] == "cleanup"


@pytest.mark.parametrize(
    "pillar,quoted",
    [
        ({"storage": {"thresholds": {"critical": 101}}}, "101"),
        ({"storage": {"thresholds": {"warning": 80, "compress": 70}}}, "warning is 80 and compress is 70"),
        ({"storage": {"thresholds": {"cleanup": "high"}}}, "'high'"),
        ({"storage": {"thresholds": "90%"}}, "'90%'"),
        ({"cluster": {"node_count": 0}}, "got 0"),
    ],
)
def test_bad_pillar_is_refused_through_salt_call(salt_local, pillar, quoted):
    salt_local.pillar({"eos": pillar})
    r = salt_local.call("eos_storage.analyze", "/", "record=False")
    assert r.returncode != 0, r
    out = r.stdout + r.stderr
    assert quoted in out, r
    assert "eos:" in out


def test_growth_from_samples_in_minion_cache(loops, salt_local):
    loop = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(loop)
    r1 = salt_local.call("eos_storage.analyze", mnt)
    assert r1.returncode == 0, r1
    assert r1.data["mounts"][0]["growth"]["samples"] == 1
    fill_to(mnt, 40)
    r2 = salt_local.call("eos_storage.analyze", mnt)
    g = r2.data["mounts"][0]["growth"]
    assert g["samples"] == 2 and g["bytes_per_hour"] > 0 and g["seconds_to_full"] > 0
    assert r2.data["mounts"][0]["used"] > r1.data["mounts"][0]["used"]
    cache = os.path.join(os.path.dirname(salt_local.conf), "cache", "eos", "samples")
    (name,) = [n for n in os.listdir(cache) if not n.startswith(".")]
    with open(os.path.join(cache, name)) as f:
        lines = f.read().splitlines()
    assert [int(x.split()[1]) for x in lines] == [r1.data["mounts"][0]["used"], r2.data["mounts"][0]["used"]]


def btrfs_tool_figures(mnt):
    """Allocation as btrfs-progs reports it: {'Data': (total, used), ...} and device figures."""
    spaces = {}
    for line in run(["btrfs", "filesystem", "df", "-b", mnt]).splitlines():
        kind, rest = line.split(",", 1)
        fields = dict(x.split("=") for x in rest.split(":", 1)[1].replace(",", " ").split())
        spaces[kind.strip()] = (int(fields["total"]), int(fields["used"]))
    usage = {}
    for line in run(["btrfs", "filesystem", "usage", "-b", mnt]).splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            if v.strip().split() and v.strip().split()[0].isdigit():
                usage[k.strip()] = int(v.split()[0])
    return spaces, usage


def test_btrfs_allocation_matches_btrfs_progs(loops, loaders):
    loop = loops.create(256 * MiB, "btrfs")
    mnt = loops.mount(loop)
    f = fill_to(mnt, 50)
    run(["btrfs", "filesystem", "sync", mnt])
    # BTRFS allocates and reclaims (empty) chunks in the background: compare an analysis with
    # btrfs-progs figures that were the same just before and just after it.
    for _ in range(20):
        before = btrfs_tool_figures(mnt)
        _, m = analyze_one(loaders, mnt)
        spaces, usage = btrfs_tool_figures(mnt)
        if (spaces, usage) == before:
            break
        time.sleep(0.5)
    else:
        pytest.fail("btrfs allocation never settled for 10 s")
    b = m["btrfs"]
    assert (b["data_total"], b["data_used"]) == spaces["Data"]
    assert (b["metadata_total"], b["metadata_used"]) == spaces["Metadata"]
    assert (b["system_total"], b["system_used"]) == spaces["System"]
    assert b["device_bytes"] == usage["Device size"] == 256 * MiB
    assert b["allocated"] == usage["Device allocated"]
    assert b["unallocated"] == usage["Device unallocated"]
    assert b["data_used"] >= os.path.getsize(f)
    # The level comes from the worse of statvfs and the allocation.
    assert m["bytes_pct"] == max(m["used_pct"], b["data_pct"], b["metadata_pct"])
