"""eos_storage.expand through a partition: the last partition of a GPT or MBR loop disk grows in
place (libfdisk, BLKPG_RESIZE_PARTITION) under a mounted XFS or BTRFS and under an LVM PV;
a partition that another follows is refused, a disk that did not grow is a no-op, and a crash
at every step converges on a rerun. Real Salt (in-process loaders, salt-call for the crashes),
real loop disks with tables written by sfdisk and added with partx (no udev here)."""
import json
import os
import subprocess
import sys

import pytest

from tests.functional.test_expand import (CRASH, MiB, kinds, needs_test_hooks, sha256, write_data,
                                          xfs_bytes)
from tests.support import blockdev, lvmenv


def table(disk):
    """sfdisk's reading of the table: (the table, its partitions) as sfdisk --json has them."""
    t = json.loads(blockdev.run(["sfdisk", "--json", disk]))["partitiontable"]
    return t, t["partitions"]


def btrfs_bytes(mountpoint):
    """The size btrfs gives its one device (`btrfs filesystem show --raw`)."""
    out = blockdev.run(["btrfs", "filesystem", "show", "--raw", mountpoint])
    (line,) = [x for x in out.splitlines() if x.strip().startswith("devid")]
    return int(line.split()[3])


def kernel_bytes(part):
    with open(f"/sys/class/block/{os.path.basename(part)}/size") as f:
        return int(f.read()) * 512


def assert_table_fills(disk_dev, disk_bytes, label):
    """The last partition ends where the disk (GPT: its backup area) ends, sfdisk finds the
    table sound, and the kernel agrees with the table."""
    t, parts = table(disk_dev)
    last = parts[-1]
    end = last["start"] + last["size"] - 1
    sectors = disk_bytes // 512
    if label == "gpt":
        assert t["lastlba"] == end == sectors - 34  # backup entries (32) and header at the end
        verify = blockdev.run(["sfdisk", "--verify", disk_dev])
        assert "backup" not in verify.lower() and "problem" not in verify.lower(), verify
    else:
        assert end == min(sectors, 1 << 32) - 1
    assert kernel_bytes(last["node"]) == last["size"] * 512


@pytest.mark.parametrize("label", ["gpt", "dos"])
@pytest.mark.parametrize("fstype", ["xfs", "btrfs"])
def test_mounted_fs_grows_through_its_partition(loops, loaders, label, fstype):
    expand = loaders.modules.eos_storage.expand
    size = blockdev.MIN_SIZE[fstype] + 4 * MiB
    disk, (part,) = loops.partitioned(size, label, [None], fstype)
    mnt = loops.mount(part)
    path, digest = write_data(mnt, 4)
    disk.grow_backing(size + 256 * MiB)

    plan = expand(mnt, test=True)
    assert kinds(plan) == ["loop_capacity", "part_grow", f"{fstype}_{'grow' if fstype == 'xfs' else 'resize'}"]
    assert plan["plan"][1]["object"] == part.device and f"of {disk.device} ({label})" in plan["plan"][1]["note"]
    before = kernel_bytes(part.device)

    res = expand(mnt)
    assert kinds(res, "done") == kinds(plan)
    assert res["plan"][1]["before"] == before and res["plan"][1]["after"] == kernel_bytes(part.device)
    assert_table_fills(disk.device, size + 256 * MiB, label)
    fs_now = xfs_bytes(mnt) if fstype == "xfs" else btrfs_bytes(mnt)
    assert res["after"] == fs_now and fs_now > kernel_bytes(part.device) - 8 * MiB
    assert sha256(path) == digest

    again = expand(mnt)
    assert again["changed"] is False and again["plan"] == []


@pytest.mark.parametrize("label,grown", [("gpt", 192 * MiB), ("dos", 3 << 40)])
def test_pv_on_partition_grows_with_pvresize(loops, loaders, tmp_path, monkeypatch, label, grown):
    """The PV follows its partition. MBR stops at 2 TiB: a 3 TiB (sparse) disk leaves the rest."""
    expand = loaders.modules.eos_storage.expand
    disk, (part,) = loops.partitioned(64 * MiB, label, [None])
    env = lvmenv.write_lvm_conf(str(tmp_path / "lvm"), [part.device])
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    vg = f"eospart{os.getpid()}{label}"
    lvmenv.lvm(env, "pvcreate", "-y", part.device)
    lvmenv.lvm(env, "vgcreate", vg, part.device)
    try:
        disk.grow_backing(grown)
        res = expand(part.device)
        assert kinds(res, "done") == ["loop_capacity", "part_grow", "pvresize"]
        assert_table_fills(disk.device, grown, label)
        (pv,) = lvmenv.report(env, "pvs", ["pv_name", "pv_size", "dev_size"])
        assert int(pv["dev_size"]) == kernel_bytes(part.device)
        assert int(pv["pv_size"]) == res["after"] > int(pv["dev_size"]) - 8 * MiB
        if label == "dos":
            assert any("2 TiB" in n for n in res["notes"])
            assert kernel_bytes(part.device) < 2 << 40
        assert expand(part.device)["changed"] is False
    finally:
        lvmenv.lvm(env, "vgremove", "-f", vg)
        lvmenv.lvm(env, "pvremove", "-y", part.device)


def test_partition_that_is_not_last_is_refused(loops, loaders):
    from salt.exceptions import CommandExecutionError

    expand = loaders.modules.eos_storage.expand
    disk, (first, second) = loops.partitioned(400 * MiB, "gpt", [330, None])
    blockdev.run(list(blockdev.MKFS["xfs"]) + [first.device])
    mnt = loops.mount(first)
    disk.grow_backing(600 * MiB)
    t_before = table(disk.device)
    with pytest.raises(CommandExecutionError) as exc:
        expand(mnt)
    msg = str(exc.value)
    assert first.device in msg and disk.device in msg and "partition 2 follows" in msg
    assert table(disk.device) == t_before and kernel_bytes(first.device) == 330 * MiB
    assert os.path.getsize(disk.image) == 600 * MiB
    with open(f"/sys/class/block/{os.path.basename(disk.device)}/size") as f:
        assert int(f.read()) * 512 == 400 * MiB  # the loop disk was not resized either


def test_disk_that_did_not_grow_is_a_no_op(loops, loaders):
    expand = loaders.modules.eos_storage.expand
    disk, (part,) = loops.partitioned(blockdev.MIN_SIZE["xfs"] + 4 * MiB, "gpt", [None], "xfs")
    mnt = loops.mount(part)
    t_before = table(disk.device)
    res = expand(mnt)
    assert res["changed"] is False and res["plan"] == []
    assert table(disk.device) == t_before


def grown_xfs_disk(loops):
    size = blockdev.MIN_SIZE["xfs"] + 4 * MiB
    disk, (part,) = loops.partitioned(size, "gpt", [None], "xfs")
    mnt = loops.mount(part)
    data = write_data(mnt, 4)
    disk.grow_backing(size + 128 * MiB)
    return disk, part, mnt, data, size + 128 * MiB


@needs_test_hooks
@pytest.mark.parametrize("crash_after", [1, 2, 3])
def test_crash_after_each_step_converges(loops, loaders, minion_opts, crash_after):
    """The killed run is the extension alone in a child process (SIGKILL right after step N is
    journaled; test_expand.py kills whole salt-call runs the same way), in the state root the
    in-process Salt minion uses; the rerun goes through Salt."""
    disk, part, mnt, (path, digest), grown = grown_xfs_disk(loops)
    state_dir = minion_opts["eos"]["storage"]["state_dir"]
    killed = subprocess.run(
        [sys.executable, "-c", "import sys, eos; eos.expand(sys.argv[1], state_dir=sys.argv[2])",
         mnt, state_dir], env={**os.environ, CRASH: str(crash_after)}, capture_output=True, text=True)
    assert killed.returncode == -9, killed
    expand = loaders.modules.eos_storage.expand
    res = expand(mnt)
    assert res["resumed"] is True and f"step {crash_after} started" in res["resume_info"]
    assert kinds(res, "done") == ["loop_capacity", "part_grow", "xfs_grow"][crash_after:]
    assert_table_fills(disk.device, grown, "gpt")
    assert xfs_bytes(mnt) == res["after"] > kernel_bytes(part.device) - 8 * MiB
    assert sha256(path) == digest
    assert expand(mnt)["changed"] is False


def test_table_written_but_kernel_not_told_converges(loops, loaders):
    """A crash inside part_grow, between the table write and BLKPG: the rerun tells the kernel."""
    expand = loaders.modules.eos_storage.expand
    disk, part, mnt, (path, digest), grown = grown_xfs_disk(loops)
    blockdev.run(["losetup", "-c", disk.device])
    blockdev.run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", "-N", "1", disk.device],
                 input=",+\n")
    assert table(disk.device)[1][0]["size"] * 512 > kernel_bytes(part.device)
    res = expand(mnt)
    assert kinds(res, "done") == ["part_grow", "xfs_grow"]
    assert_table_fills(disk.device, grown, "gpt")
    assert sha256(path) == digest
