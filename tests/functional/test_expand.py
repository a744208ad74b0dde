"""eos_storage.expand and the eos_storage.expanded state through real Salt (salt-call --local and
the in-process loaders) on real loop devices: XFS, ext4, BTRFS, the LVM metadata chain, crash
convergence, the per-target lock and bad input."""
import hashlib
import json
import os
import subprocess
import time
import uuid
import fcntl

import pytest

import eos
from tests.support import blockdev

MiB = 1 << 20


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_data(mountpoint, mib=8):
    path = os.path.join(mountpoint, "payload.bin")
    with open(path, "wb") as f:
        f.write(os.urandom(mib * MiB))
        f.flush()
        os.fsync(f.fileno())
    return path, sha256(path)


def fs_size(mountpoint):
    st = os.statvfs(mountpoint)
    return st.f_blocks * st.f_frsize


def dev_size(dev):
    with open(dev, "rb") as f:
        return f.seek(0, os.SEEK_END)


def xfs_bytes(mountpoint):
    g = eos.xfs_geometry(mountpoint)
    return g["datablocks"] * g["blocksize"]


def ext_blocks(dev):
    out = blockdev.run(["dumpe2fs", "-h", dev])
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return int(fields["Block count"]), int(fields["Block size"])


def expand_ok(salt_local, *args, env=None):
    ret = salt_local.call("eos_storage.expand", *args, env=env)
    assert ret.returncode == 0, ret
    return ret.data


def kinds(res, status=None):
    return [s["kind"] for s in res["plan"] if status is None or s["status"] == status]


# ---- XFS ---------------------------------------------------------------------------------------

def test_xfs_online_grow_keeps_data_and_second_run_changes_nothing(loops, salt_local):
    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    path, digest = write_data(mnt)
    before = xfs_bytes(mnt)
    lp.grow_backing(640 * MiB)

    plan = expand_ok(salt_local, mnt, "test=True")
    assert plan["test"] is True and plan["changed"] is False
    assert kinds(plan) == ["loop_capacity", "xfs_grow"]
    assert dev_size(lp.device) == 320 * MiB and xfs_bytes(mnt) == before  # test changed nothing

    res = expand_ok(salt_local, mnt)
    assert res["changed"] is True
    assert kinds(res, "done") == ["loop_capacity", "xfs_grow"]
    assert res["plan"][0]["before"] == 320 * MiB and res["plan"][0]["after"] == 640 * MiB
    assert all(s["elapsed_ms"] >= 0 for s in res["plan"])
    assert dev_size(lp.device) == 640 * MiB
    assert res["before"] == before and res["after"] == xfs_bytes(mnt) == 640 * MiB
    assert sha256(path) == digest

    again = expand_ok(salt_local, mnt)
    assert again["changed"] is False and again["plan"] == []
    assert xfs_bytes(mnt) == 640 * MiB


def test_xfs_grow_by_and_grow_to(loops, loaders):
    expand = loaders.modules.eos_storage.expand
    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    lp.grow_backing(640 * MiB)
    res = expand(lp.device, "+64M")   # a device that is mounted: grown online
    assert res["kind"] == "device" and res["mountpoint"] == mnt
    assert xfs_bytes(mnt) == 384 * MiB and dev_size(lp.device) == 640 * MiB
    res = expand(mnt, "512MiB")
    assert res["before"] == 384 * MiB and xfs_bytes(mnt) == 512 * MiB
    res = expand(mnt, "512MiB")
    assert res["changed"] is False and xfs_bytes(mnt) == 512 * MiB


def test_xfs_auto_grows_under_the_warning_level(loops, loaders):
    expand = loaders.modules.eos_storage.expand
    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    write_data(mnt, mib=200)  # about 64% used: above a 60% warning level
    lp.grow_backing(1024 * MiB)
    res = expand(mnt, "auto", warn_pct=60, margin_pct=5)
    st = os.statvfs(mnt)
    used_pct = 100 * (st.f_blocks - st.f_bfree) / st.f_blocks
    assert res["changed"] is True
    assert 45 < used_pct < 60, used_pct
    assert xfs_bytes(mnt) < 1024 * MiB  # only what was needed, not everything
    again = expand(mnt, "auto", warn_pct=60, margin_pct=5)
    assert again["changed"] is False


# ---- ext4 --------------------------------------------------------------------------------------

def test_ext4_offline_grow_keeps_data(loops, salt_local):
    lp = loops.create(64 * MiB, "ext4")
    mnt = loops.mount(lp)
    path, digest = write_data(mnt)
    loops.umount(mnt)
    blocks, bsize = ext_blocks(lp.device)
    assert blocks * bsize == 64 * MiB
    lp.grow_backing(128 * MiB)
    res = expand_ok(salt_local, lp.device)
    assert kinds(res, "done") == ["loop_capacity", "ext4_grow_offline"]
    blocks, bsize = ext_blocks(lp.device)
    assert blocks * bsize == 128 * MiB == res["after"]
    again = expand_ok(salt_local, lp.device)
    assert again["changed"] is False and again["plan"] == []
    mnt = loops.mount(lp)
    assert sha256(os.path.join(mnt, "payload.bin")) == digest
    assert fs_size(mnt) > 100 * MiB


def test_ext4_online_grow(loops, salt_local):
    can, why = eos.ext4_can_grow_online()
    if not can:
        pytest.skip(why)
    lp = loops.create(64 * MiB, "ext4")
    mnt = loops.mount(lp)
    path, digest = write_data(mnt)
    lp.grow_backing(128 * MiB)
    res = expand_ok(salt_local, mnt)
    assert kinds(res, "done") == ["loop_capacity", "ext4_grow_online"]
    assert ext_blocks(lp.device)[0] * ext_blocks(lp.device)[1] == 128 * MiB
    assert sha256(path) == digest


def test_ext4_online_refused_without_cap_sys_resource(loops, salt_local):
    can, why = eos.ext4_can_grow_online()
    if can:
        pytest.skip("this process has CAP_SYS_RESOURCE: online ext4 grow is allowed, there is "
                    "no refusal to test")
    lp = loops.create(64 * MiB, "ext4")
    mnt = loops.mount(lp)
    lp.grow_backing(128 * MiB)
    ret = salt_local.call("eos_storage.expand", mnt)
    assert ret.returncode != 0
    assert "CAP_SYS_RESOURCE" in ret.stderr and "unmount it" in ret.stderr, ret
    assert dev_size(lp.device) == 64 * MiB  # nothing changed, not even the loop capacity


# ---- BTRFS -------------------------------------------------------------------------------------

def test_btrfs_single_device(loops, loaders):
    expand = loaders.modules.eos_storage.expand
    lp = loops.create(256 * MiB, "btrfs")
    mnt = loops.mount(lp)
    path, digest = write_data(mnt)
    lp.grow_backing(512 * MiB)
    res = expand(mnt, "+128M")
    assert kinds(res, "done") == ["loop_capacity", "btrfs_resize"]
    assert res["before"] == 256 * MiB and res["after"] == 384 * MiB
    res = expand(mnt)
    assert res["after"] == 512 * MiB
    assert expand(mnt)["changed"] is False
    out = blockdev.run(["btrfs", "filesystem", "show", "--raw", mnt])
    assert f"size {512 * MiB} " in out, out
    assert sha256(path) == digest


def test_btrfs_two_devices_each_grown(loops, loaders):
    from salt.exceptions import CommandExecutionError

    expand = loaders.modules.eos_storage.expand
    a = loops.create(256 * MiB)
    b = loops.create(256 * MiB)
    blockdev.run(["mkfs.btrfs", "-q", "-f", a.device, b.device])
    mnt = loops.mount(a)
    path, digest = write_data(mnt)
    a.grow_backing(384 * MiB)
    b.grow_backing(512 * MiB)
    with pytest.raises(CommandExecutionError) as exc:
        expand(mnt, "+10M")
    assert "spans 2 devices" in str(exc.value) and "'+10M'" in str(exc.value)
    res = expand(mnt)
    assert sorted(kinds(res, "done")) == sorted(["loop_capacity"] * 2 + ["btrfs_resize"] * 2)
    assert res["after"] == (384 + 512) * MiB
    out = blockdev.run(["btrfs", "filesystem", "show", "--raw", mnt])
    assert f"size {384 * MiB} " in out and f"size {512 * MiB} " in out, out
    assert expand(mnt)["changed"] is False
    assert sha256(path) == digest


# ---- LVM (metadata chain; no device-mapper on these machines) ----------------------------------

class Lvm:
    """A private LVM_SYSTEM_DIR whose filter accepts only this test's loop devices."""

    def __init__(self, tmp_path, devices):
        self.dir = str(tmp_path / "lvm")
        os.makedirs(self.dir, exist_ok=True)
        accept = ", ".join(f'"a|^{d}$|"' for d in devices)
        with open(os.path.join(self.dir, "lvm.conf"), "w") as f:
            f.write(f'devices {{ filter = [ {accept}, "r|.*|" ] use_devicesfile = 0 }}\n'
                    "backup { backup = 0 archive = 0 }\n")
        self.env = {"LVM_SYSTEM_DIR": self.dir}
        self.vg = f"eosx{uuid.uuid4().hex[:8]}"
        self.devices = devices

    def lvm(self, *args):
        argv = ["lvm", args[0], "--config", "global { activation = 0 }", *args[1:]]
        return blockdev.run(argv, env={**os.environ, **self.env})

    def report(self, kind, fields):
        out = self.lvm(kind, "--reportformat", "json", "--units", "b", "--nosuffix", "-o", fields)
        return json.loads(out)["report"][0][kind[:-1]]

    def lv_size(self, lv):
        rows = [r for r in self.report("lvs", "lv_name,vg_name,lv_size")
                if r["vg_name"] == self.vg and r["lv_name"] == lv]
        return int(rows[0]["lv_size"])

    def pv_size(self, dev):
        return int([r for r in self.report("pvs", "pv_name,pv_size") if r["pv_name"] == dev][0]["pv_size"])

    def cleanup(self):
        try:
            self.lvm("vgremove", "-f", self.vg)
        except RuntimeError:
            pass
        for d in self.devices:
            try:
                self.lvm("pvremove", "-y", d)
            except RuntimeError:
                pass


@pytest.fixture
def lvm_chain(loops, tmp_path):
    """Two loop PVs in a VG with one 40 MiB LV (activation disabled where there is no dm)."""
    a = loops.create(64 * MiB)
    b = loops.create(64 * MiB)
    lvm = Lvm(tmp_path, [a.device, b.device])
    lvm.lvm("pvcreate", "-y", a.device, b.device)
    lvm.lvm("vgcreate", lvm.vg, a.device, b.device)
    lvm.lvm("lvcreate", "-y", "-n", "data", "-L", "40M", lvm.vg)
    lvm.loops = (a, b)
    yield lvm
    lvm.cleanup()


def test_lvm_chain_pvresize_lvextend(lvm_chain, loaders, monkeypatch, tmp_path):
    from salt.exceptions import CommandExecutionError

    expand = loaders.modules.eos_storage.expand
    lvm = lvm_chain
    monkeypatch.setenv("LVM_SYSTEM_DIR", lvm.dir)
    a, b = lvm.loops
    target = f"{lvm.vg}/data"
    dm, why = eos.lvm_dm_available()
    a.grow_backing(128 * MiB)

    plan = expand(target, "+32M", test=True)
    assert kinds(plan, "planned") == ["loop_capacity", "pvresize", "lvextend"]
    # The plan reads the PVs and the VG in-process, the private lvm.conf's filter applied as lvm
    # applies it: without lvm on PATH, the same plan (only the steps start lvm).
    with monkeypatch.context() as m:
        m.setenv("PATH", str(tmp_path / "nobin"))
        assert expand(target, "+32M", test=True)["plan"] == plan["plan"]
    assert lvm.lv_size("data") == 40 * MiB and dev_size(a.device) == 64 * MiB

    res = expand(target, "+32M")
    assert kinds(res, "done") == ["loop_capacity", "pvresize", "lvextend"]
    assert res["before"] == 40 * MiB and res["after"] == 72 * MiB == lvm.lv_size("data")
    assert lvm.pv_size(a.device) == 124 * MiB  # 128 MiB less 1 MiB of metadata, in 4 MiB extents
    if not dm:
        skipped = [s for s in res["plan"] if s["status"] == "skipped"]
        assert [s["kind"] for s in skipped] == ["fs_on_lv"] and why in skipped[0]["note"]

    res = expand(target, "100%FREE")
    assert kinds(res, "done") == ["lvextend"]
    assert lvm.lv_size("data") == (124 + 60) * MiB
    again = expand(target, "100%FREE")
    assert again["changed"] is False and kinds(again, "planned") == []

    with pytest.raises(CommandExecutionError) as exc:
        expand(target, "50M")
    assert "'50M'" in str(exc.value) and "never shrinks" in str(exc.value)
    with pytest.raises(CommandExecutionError) as exc:
        expand(f"{lvm.vg}/nosuchlv")
    assert f"'{lvm.vg}/nosuchlv'" in str(exc.value)
    assert lvm.lv_size("data") == (124 + 60) * MiB


def test_lvm_pv_device_target(lvm_chain, loaders, monkeypatch):
    lvm = lvm_chain
    monkeypatch.setenv("LVM_SYSTEM_DIR", lvm.dir)
    a, _ = lvm.loops
    a.grow_backing(96 * MiB)
    res = loaders.modules.eos_storage.expand(a.device)
    assert kinds(res, "done") == ["loop_capacity", "pvresize"]
    assert lvm.pv_size(a.device) == 92 * MiB and lvm.lv_size("data") == 40 * MiB


def test_filesystem_on_lv(lvm_chain, salt_local):
    dm, why = eos.lvm_dm_available()
    if not dm:
        pytest.skip(why)
    lvm = lvm_chain  # pragma: no cover - needs a kernel with device-mapper
    lvm.lvm("lvchange", "-ay", f"{lvm.vg}/data")
    dev = f"/dev/{lvm.vg}/data"
    blockdev.run(["mkfs.ext4", "-q", "-F", dev])
    res = expand_ok(salt_local, f"{lvm.vg}/data", "+32M", env=lvm.env)
    assert kinds(res, "done")[-1] in ("ext4_grow_online", "ext4_grow_offline")
    blocks, bsize = ext_blocks(dev)
    assert blocks * bsize == 72 * MiB


# ---- crash convergence -------------------------------------------------------------------------

CRASH = "EOS_TEST_CRASH_AFTER_STEP"
# The hooks are compiled in only in the test build (make test: EOS_TEST_HOOKS=1, see setup.py).
needs_test_hooks = pytest.mark.skipif(
    not eos.TEST_HOOKS, reason="eos._eos is the default build, which has no crash-injection hooks "
    "(build it with EOS_TEST_HOOKS=1, as make test does)")


@needs_test_hooks
@pytest.mark.parametrize("crash_after", [1, 2])
def test_xfs_crash_between_steps_converges(loops, salt_local, crash_after):
    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    path, digest = write_data(mnt)
    lp.grow_backing(640 * MiB)
    killed = salt_local.call("eos_storage.expand", mnt, "+64M", env={CRASH: str(crash_after)})
    assert killed.returncode == -9, killed
    assert dev_size(lp.device) == 640 * MiB
    res = expand_ok(salt_local, mnt, "+64M")
    assert res["resumed"] is True and f"step {crash_after} started" in res["resume_info"]
    # The journal keeps the interrupted run's aim: +64M once, not twice.
    assert xfs_bytes(mnt) == 384 * MiB
    assert kinds(res, "done") == (["xfs_grow"] if crash_after == 1 else [])
    again = expand_ok(salt_local, mnt, "+64M")
    assert again["resumed"] is False and again["changed"] is True  # a new, deliberate +64M
    assert xfs_bytes(mnt) == 448 * MiB
    assert sha256(path) == digest


@needs_test_hooks
@pytest.mark.parametrize("crash_after", [1, 2, 3])
def test_lvm_crash_between_steps_converges(lvm_chain, salt_local, crash_after):
    lvm = lvm_chain
    a, _ = lvm.loops
    target = f"{lvm.vg}/data"
    a.grow_backing(128 * MiB)
    killed = salt_local.call("eos_storage.expand", target, "+32M",
                             env={**lvm.env, CRASH: str(crash_after)})
    assert killed.returncode == -9, killed
    other = salt_local.call("eos_storage.expand", target, "+8M", env=lvm.env)
    assert other.returncode != 0 and "interrupted expand" in other.stderr and "'+32M'" in other.stderr
    res = expand_ok(salt_local, target, "+32M", env=lvm.env)
    assert res["resumed"] is True
    assert lvm.lv_size("data") == 72 * MiB and lvm.pv_size(a.device) == 124 * MiB
    assert kinds(res, "done") == ["loop_capacity", "pvresize", "lvextend"][crash_after:]
    assert expand_ok(salt_local, target, "72M", env=lvm.env)["changed"] is False


# ---- the lock ----------------------------------------------------------------------------------

def holds_open(pid, path):
    """Whether process pid (or one of its threads) has path open."""
    fd_dir = f"/proc/{pid}/fd"
    try:
        return any(os.readlink(os.path.join(fd_dir, fd)) == path for fd in os.listdir(fd_dir))
    except OSError:
        return False


def test_two_expands_of_one_target_serialize(loops, salt_local):
    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    lp.grow_backing(640 * MiB)
    plan = expand_ok(salt_local, mnt, "test=True")
    lock_path = plan["journal"][: -len(".journal")] + ".lock"
    os.makedirs(os.path.dirname(lock_path), exist_ok=True)
    argv_env = {**os.environ}
    from tests.support.saltenv import VENV_BIN
    argv = [os.path.join(VENV_BIN, "salt-call"), "--local", f"--config-dir={salt_local.conf}",
            "--out=json", "--retcode-passthrough", "eos_storage.expand", mnt]
    with open(lock_path, "a") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)  # as if another expand were running
        procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=argv_env) for _ in range(2)]
        # Wait until both processes hold the lock file open (they are in the lock wait).
        deadline = time.time() + 120
        while not all(holds_open(p.pid, lock_path) for p in procs):
            assert time.time() < deadline, "the expands never reached the lock"
            assert [p.poll() for p in procs] == [None, None], [p.communicate() for p in procs]
            time.sleep(0.05)
        time.sleep(1)
        assert [p.poll() for p in procs] == [None, None]  # both still wait for the lock
        assert dev_size(lp.device) == 320 * MiB
        fcntl.flock(holder, fcntl.LOCK_UN)
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out)["local"])
    assert sorted(r["changed"] for r in results) == [False, True]  # one grew it, one found it done
    assert all(r["lock_wait_ms"] >= 900 for r in results), results
    assert xfs_bytes(mnt) == 640 * MiB


# ---- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("size", ["-5G", "0", "+0", "garbage", "12Q", "100M", "+10G", "4T"])
def test_bad_sizes_are_refused_and_nothing_changes(loops, loaders, size):
    from salt.exceptions import CommandExecutionError

    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    lp.grow_backing(640 * MiB)
    with pytest.raises(CommandExecutionError) as exc:
        loaders.modules.eos_storage.expand(mnt, size)
    assert f"'{size}'" in str(exc.value)
    assert dev_size(lp.device) == 320 * MiB and xfs_bytes(mnt) == 320 * MiB


def test_bad_targets_are_refused(loops, loaders, tmp_path):
    from salt.exceptions import CommandExecutionError

    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    lp.grow_backing(640 * MiB)
    plain = tmp_path / "plain-file"
    plain.write_text("x")
    os.makedirs(os.path.join(mnt, "sub"))
    cases = {
        "vg0/lv1; rm -rf /": "vg0/lv1; rm -rf /",
        "vg0/lv1;reboot": "LVM names may contain only",
        "$(reboot)/lv": "LVM names may contain only",
        "no-such-thing": "unknown target",
        "/no/such/path": "does not exist",
        str(tmp_path): "is not a mount point",
        os.path.join(mnt, "sub"): "is not a mount point",
        str(plain): "neither a mount point nor a block device",
    }
    for target, words in cases.items():
        with pytest.raises(CommandExecutionError) as exc:
            loaders.modules.eos_storage.expand(target)
        assert f"'{target}'" in str(exc.value) and words in str(exc.value), (target, exc.value)
    assert dev_size(lp.device) == 320 * MiB and xfs_bytes(mnt) == 320 * MiB


def test_unknown_filesystem_and_read_only_are_refused(loops, loaders):
    from salt.exceptions import CommandExecutionError

    lp = loops.create(64 * MiB)
    blockdev.run(["mkfs.vfat", lp.device]) if os.path.exists("/sbin/mkfs.vfat") else None
    with pytest.raises(CommandExecutionError) as exc:
        loaders.modules.eos_storage.expand(lp.device)
    assert lp.device in str(exc.value)
    assert "eos grows xfs" in str(exc.value) or "found no filesystem" in str(exc.value)

    ro = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(ro, options="ro")
    ro.grow_backing(640 * MiB)
    with pytest.raises(CommandExecutionError) as exc:
        loaders.modules.eos_storage.expand(mnt)
    assert "read-only" in str(exc.value) and mnt in str(exc.value)
    assert dev_size(ro.device) == 320 * MiB


# ---- the state ---------------------------------------------------------------------------------

def test_expanded_state_test_mode_and_idempotence(loops, salt_local):
    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    lp.grow_backing(640 * MiB)
    ret = salt_local.call("state.single", "eos_storage.expanded", mnt, "size=max", "test=True")
    assert ret.returncode == 0, ret
    (st,) = ret.data.values()
    assert st["result"] is None and st["changes"]["after"] == 640 * MiB
    assert dev_size(lp.device) == 320 * MiB
    ret = salt_local.call("state.single", "eos_storage.expanded", mnt, "size=max")
    (st,) = ret.data.values()
    assert ret.returncode == 0 and st["result"] is True, ret
    assert [s["kind"] for s in st["changes"]["steps"]] == ["loop_capacity", "xfs_grow"]
    ret = salt_local.call("state.single", "eos_storage.expanded", mnt, "size=max")
    (st,) = ret.data.values()
    assert st["result"] is True and st["changes"] == {} and "already expanded" in st["comment"]
    ret = salt_local.call("state.single", "eos_storage.expanded", mnt, "size=100M")
    (st,) = ret.data.values()
    assert ret.returncode != 0 and st["result"] is False and "never shrinks" in st["comment"]


def test_auto_takes_the_warning_level_from_the_scale_tier(loops, salt_local):
    """auto: no warn_pct given, so the tier for pillar eos:cluster:node_count decides."""
    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    lp.grow_backing(1024 * MiB)
    distributed = eos.thresholds(node_count=7)["warning"]
    single = eos.thresholds(node_count=1)["warning"]

    def used_pct():
        st = os.statvfs(mnt)
        return 100 * (st.f_blocks - st.f_bfree) / st.f_blocks

    with open(os.path.join(mnt, "fill.bin"), "wb") as f:
        while used_pct() < (single + distributed) / 2:  # between the two warning levels
            f.write(os.urandom(4 * MiB))
            f.flush()
            os.fsync(f.fileno())
    used_pct = used_pct()
    assert single < used_pct < distributed, (single, used_pct, distributed)

    salt_local.pillar({"eos": {"cluster": {"node_count": 7}}})
    res = expand_ok(salt_local, mnt, "auto")
    assert res["changed"] is False and "under the warning level" in res["notes"][0]
    assert dev_size(lp.device) == 320 * MiB

    salt_local.pillar({"eos": {"cluster": {"node_count": 1}}})
    res = expand_ok(salt_local, mnt, "auto")
    st = os.statvfs(mnt)
    assert res["changed"] is True
    assert 100 * (st.f_blocks - st.f_bfree) / st.f_blocks < single


def test_partition_grows_to_the_disk_end_then_ext4_offline(loops, loaders):
    """An unmounted ext4 on the last partition of a disk with room after it (a loop device
    scanned with -P, table by parted): the partition grows to the disk's end, then the
    filesystem fills it offline (test_expand_partition.py covers partitions in depth)."""
    lp = loops.create(128 * MiB)
    blockdev.run(["losetup", "-d", lp.device])
    lp.device = blockdev.run(["losetup", "-f", "--show", "-P", lp.image]).strip()
    blockdev.run(["parted", "-s", lp.device, "mklabel", "gpt", "mkpart", "data", "1MiB", "97MiB"])
    part = lp.device + "p1"
    deadline = time.time() + 10
    while not os.path.exists(part) and time.time() < deadline:
        time.sleep(0.1)
    assert os.path.exists(part), f"no {part} after parted"
    blockdev.run(["mkfs.ext4", "-q", "-F", part, "32M"])  # smaller than its partition
    expand = loaders.modules.eos_storage.expand
    res = expand(part)
    assert kinds(res, "done") == ["part_grow", "ext4_grow_offline"]
    assert dev_size(part) == 128 * MiB - 1 * MiB - 33 * 512  # GPT backup: 32 sectors of entries, 1 header
    blocks, bsize = ext_blocks(part)
    assert blocks * bsize == res["after"] > dev_size(part) - 4 * MiB
    again = expand(part)
    assert again["changed"] is False and again["plan"] == []


@needs_test_hooks
def test_failed_step_reports_and_the_next_run_recovers(loops, loaders, monkeypatch):
    """A step that fails (injected with EOS_TEST_FAIL_STEP) stops the run with the step named,
    fires no "done"; the same size then resumes the journaled aim, another size starts afresh."""
    from salt.exceptions import CommandExecutionError

    events = []
    expand = loaders.modules.eos_storage.expand
    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    lp.grow_backing(640 * MiB)
    monkeypatch.setenv("EOS_TEST_FAIL_STEP", "2")
    with pytest.raises(OSError) as exc:  # the binding itself, to see the events masterless
        eos.expand(mnt, "+64M", state_dir=loaders.opts["eos"]["storage"]["state_dir"],
                   on_event=lambda phase, data: events.append((phase, data)))
    assert "step 2 of 2 (xfs_grow" in str(exc.value) and "injected failure" in str(exc.value)
    assert [p for p, _ in events] == ["started", "step", "failed"]
    assert events[-1][1]["current"]["kind"] == "xfs_grow" and "injected" in events[-1][1]["error"]
    assert dev_size(lp.device) == 640 * MiB and xfs_bytes(mnt) == 320 * MiB
    monkeypatch.delenv("EOS_TEST_FAIL_STEP")

    res = expand(mnt, "+64M")          # the same request: the journaled aim is finished
    assert res["resumed"] is True and kinds(res, "done") == ["xfs_grow"]
    assert xfs_bytes(mnt) == 384 * MiB

    monkeypatch.setenv("EOS_TEST_FAIL_STEP", "1")
    with pytest.raises(CommandExecutionError):
        expand(mnt, "448M")
    monkeypatch.delenv("EOS_TEST_FAIL_STEP")
    res = expand(mnt, "max")           # another request after a failed run: planned afresh
    assert res["resumed"] is False and any("failed at step 1" in n for n in res["notes"])
    assert xfs_bytes(mnt) == 640 * MiB


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def test_a_torn_journal_is_no_journal(loops, loaders):
    """The journal is overwritten in place in one block; a crash during that write can leave old
    and new sectors mixed. Its sum tells: with the sum right, the interrupted request must be
    finished first; with it wrong, the write never completed (no step started), and another
    size plans afresh."""
    from salt.exceptions import CommandExecutionError

    expand = loaders.modules.eos_storage.expand
    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    lp.grow_backing(640 * MiB)
    path = expand(mnt, "+64M", test=True)["journal"]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    body = (f"eos-expand-journal 1\ntarget {mnt}\nrequest +64M\ntop fs {384 * MiB}\n"
            f"step 1 loop_capacity {320 * MiB} {640 * MiB} {lp.device}\n"
            f"step 2 xfs_grow {320 * MiB} {384 * MiB} {mnt}\nbegin\n")
    for sum_ in (fnv1a64(body), fnv1a64(body) ^ 1):
        with open(path, "wb") as f:
            f.write((body + f"sum {sum_:016x}\nstart 1\n").encode().ljust(4096, b"\0"))
        if sum_ == fnv1a64(body):
            with pytest.raises(CommandExecutionError) as exc:
                expand(mnt, "+32M")
            assert "'+64M'" in str(exc.value) and "'+32M'" in str(exc.value)
            assert dev_size(lp.device) == 320 * MiB and xfs_bytes(mnt) == 320 * MiB
    res = expand(mnt, "+32M")
    assert res["resumed"] is False and xfs_bytes(mnt) == 352 * MiB
    with open(path, "rb") as f:
        text = f.read().split(b"\0", 1)[0].decode()
    assert "request +32M\n" in text and text.endswith("end\n")
