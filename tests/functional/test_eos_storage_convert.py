"""eos_storage.convert / convert_finalize / convert_rollback through real Salt: XFS and ext4
moved onto BTRFS zstd on real loop devices, checked with an independent manifest (sha256,
metadata, xattrs, hard links, sparseness), crash injection after every step, rollback,
finalize, open files, bad input."""
import errno
import hashlib
import os
import re
import stat
import struct
import subprocess

import pytest

import eos

MiB = 1 << 20
STEPS = ["planned", "mkfs", "staged", "copied", "verified", "switched", "fstab"]

# A POSIX ACL (system.posix_acl_access, version 2): user::rw-, user:1234:r--, group::r--,
# mask::r--, other::---
ACL = (struct.pack("<I", 2) + struct.pack("<HHI", 0x01, 6, 0xFFFFFFFF) + struct.pack("<HHI", 0x02, 4, 1234)
       + struct.pack("<HHI", 0x04, 4, 0xFFFFFFFF) + struct.pack("<HHI", 0x10, 4, 0xFFFFFFFF)
       + struct.pack("<HHI", 0x20, 0, 0xFFFFFFFF))


def make_tree(root):
    """Everything convert must keep; returns nothing, the manifest is computed from disk."""
    r = os.fsencode(root)
    os.makedirs(os.path.join(root, "dir with spaces", "deeper"))
    text = b"".join(b"%08d compressible text for eos convert\n" % i for i in range(40000))
    with open(os.path.join(root, "big.txt"), "wb") as f:
        f.write(text * 3)  # ~5 MiB that zstd shrinks
    with open(os.path.join(root, "random.bin"), "wb") as f:
        f.write(os.urandom(256 * 1024))
    with open(os.path.join(root, "sparse.img"), "wb") as f:
        f.truncate(64 * MiB)
        f.seek(16 * MiB)
        f.write(b"data in the middle")
    os.link(os.path.join(root, "big.txt"), os.path.join(root, "dir with spaces", "hardlink to big"))
    os.link(os.path.join(root, "big.txt"), os.path.join(root, "dir with spaces", "deeper", "third link"))
    os.symlink("../big.txt", os.path.join(root, "dir with spaces", "relative link"))
    os.symlink("/etc/passwd", os.path.join(root, "absolute link"))
    os.symlink("does/not/exist", os.path.join(root, "dangling"))
    for name in (b"new\nline", b"tab\there", b"non-utf8-\xff\xfe", b"\xe2\x98\x83 snowman", b"-leading-dash"):
        with open(r + b"/" + name, "wb") as f:
            f.write(name * 3)
    os.mkfifo(os.path.join(root, "fifo"))
    os.mknod(os.path.join(root, "null-device"), 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    p = os.path.join(root, "owned")
    with open(p, "wb") as f:
        f.write(b"owned by 1234:5678")
    os.chown(p, 1234, 5678)
    os.chmod(p, 0o4750)  # set-uid survives only when chmod comes after chown
    os.setxattr(p, "user.eos.note", b"kept")
    os.setxattr(p, "trusted.eos", b"\x00\x01binary")
    os.setxattr(os.path.join(root, "big.txt"), "system.posix_acl_access", ACL)
    os.chmod(os.path.join(root, "dir with spaces"), 0o2775)
    os.lchown(os.path.join(root, "dangling"), 42, 43)
    os.utime(os.path.join(root, "random.bin"), ns=(1_111_111_111_123_456_789, 1_222_222_222_987_654_321))
    os.utime(os.path.join(root, "dir with spaces", "deeper"), ns=(1_000_000_000_000_000_001, 1_000_000_000_000_000_002))


def manifest(root):
    """Independent of eos: every entry's type, mode, owner, mtime (ns), size, sha256, symlink
    target, xattrs, hard link group, and for regular files whether they are sparse."""
    out = {}
    groups = {}
    rb = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(rb):
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, rb)
            entry = {"mode": st.st_mode, "uid": st.st_uid, "gid": st.st_gid, "mtime": st.st_mtime_ns,
                     "nlink": st.st_nlink if not stat.S_ISDIR(st.st_mode) else None}
            if stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    for chunk in iter(lambda: f.read(MiB), b""):
                        h.update(chunk)
                entry.update(size=st.st_size, sha256=h.hexdigest(), sparse=st.st_blocks * 512 < st.st_size)
                if st.st_nlink > 1:
                    entry["link_group"] = groups.setdefault(st.st_ino, len(groups))
            elif stat.S_ISLNK(st.st_mode):
                entry["target"] = os.readlink(p)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                entry["rdev"] = st.st_rdev
            entry["xattrs"] = {k: os.getxattr(p, k, follow_symlinks=False)
                               for k in sorted(os.listxattr(p, follow_symlinks=False))}
            out[rel] = entry
    top = os.stat(rb)
    out[b"."] = {"mode": top.st_mode, "uid": top.st_uid, "gid": top.st_gid}
    return out


def _mounted(target):
    found = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == target:
                sep = fields.index("-")
                found = {"fstype": fields[sep + 1], "source": fields[sep + 2], "opts": fields[5],
                         "super": fields[sep + 3], "root": fields[3]}
    return found


class Setup:
    def __init__(self, loops, tmp_path, fstype):
        self.loops = loops
        size = 320 * MiB if fstype == "xfs" else 96 * MiB
        self.src = loops.create(size=size, fstype=fstype, label="olddata")
        self.path = str(tmp_path / "data")
        loops.mount(self.src, self.path, options="noatime")
        make_tree(self.path)
        self.before = manifest(self.path)
        self.target = loops.create(size=384 * MiB)
        self.fstab = tmp_path / "fstab"
        self.fstab_text = (f"# private fstab\nUUID=0000 / ext4 defaults 0 1\n"
                           f"LABEL=olddata {self.path} {fstype} noatime 0 2\n")
        self.fstab.write_text(self.fstab_text)
        self.state_dir = str(tmp_path / "state")
        self.fstype = fstype

    def kw(self):
        return {"fstab": str(self.fstab), "state_dir": self.state_dir}

    def track_mounts(self, res):
        """Let the loops fixture unmount what convert mounted (new at path, old held)."""
        for mp in (res.get("old_mounted_at"),):
            if mp and _mounted(mp) and mp not in self.loops.mounts:
                self.loops.mounts.insert(0, mp)


@pytest.fixture
def convert_opts(loaders):
    saved = loaders.opts.get("eos")

    def set_(setup):
        loaders.opts["eos"] = {"storage": {"fstab": str(setup.fstab), "state_dir": setup.state_dir}}
    yield set_
    loaders.opts["eos"] = saved


@pytest.mark.parametrize("fstype", ["xfs", "ext4"])
def test_convert_to_btrfs_keeps_every_byte(loops, tmp_path, loaders, convert_opts, fstype):
    s = Setup(loops, tmp_path, fstype)
    convert_opts(s)
    mod = loaders.modules.eos_storage

    plan = mod.convert(s.path, "btrfs", target=s.target.device, test=True)
    assert plan["test"] is True and plan["step"] is None and not any(x["done"] for x in plan["steps"])
    assert plan["old_fstype"] == fstype and plan["mount_options"] == "compress=zstd,subvol=data"
    assert _mounted(s.path)["fstype"] == fstype and s.fstab.read_text() == s.fstab_text
    assert eos.provision_check(s.target.device)["signatures"] == []

    res = mod.convert(s.path, "btrfs", target=s.target.device)
    s.track_mounts(res)
    assert res["step"] == "done" and all(x["done"] for x in res["steps"])
    now = _mounted(s.path)
    assert now["fstype"] == "btrfs" and now["source"] == s.target.device and "compress=zstd" in now["super"]
    assert "noatime" in now["opts"]  # the per-mount flags of the old mount are kept
    old = _mounted(res["old_mounted_at"])
    assert old["fstype"] == fstype and old["opts"].startswith("ro")

    assert manifest(s.path) == s.before  # byte for byte, metadata, xattrs/ACLs, links, sparseness
    assert manifest(res["old_mounted_at"]) == s.before  # the source untouched
    assert res["copied"]["hardlinks"] == 2 and res["copied"]["files"] >= 9
    assert res["bytes_before"] > 5 * MiB and res["bytes_after"] < res["bytes_before"] / 2
    assert res["compression_ratio"] > 2
    with pytest.raises(OSError) as exc:
        open(os.path.join(res["old_mounted_at"], "new-file"), "wb")
    assert exc.value.errno == errno.EROFS

    text = s.fstab.read_text()
    assert text == (f"# private fstab\nUUID=0000 / ext4 defaults 0 1\n"
                    f"# eos_storage.convert replaced: LABEL=olddata {s.path} {fstype} noatime 0 2\n"
                    f"UUID={res['uuid']}\t{s.path}\tbtrfs\tcompress=zstd,subvol=data\t0\t0\n")

    again = mod.convert(s.path, "btrfs", target=s.target.device)
    assert again["step"] == "done" and again["changed"] is False and again["resumed"] is True

    fin = mod.convert_finalize(s.path)
    assert fin["old_source"] == s.src.device and "released" in fin["comment"]
    assert _mounted(res["old_mounted_at"]) is None and not os.path.exists(res["old_mounted_at"])
    s.loops.mounts.remove(res["old_mounted_at"])
    assert not os.listdir(os.path.join(s.state_dir, "convert"))
    assert manifest(s.path) == s.before
    # The old device was released, not destroyed.
    assert [x["type"] for x in eos.provision_check(s.src.device)["signatures"]] == [fstype]
    with pytest.raises(Exception) as exc2:
        mod.convert_finalize(s.path)
    assert "no conversion of" in str(exc2.value)


@pytest.mark.skipif(not eos.TEST_HOOKS, reason="eos._eos is the default build, which has no "
                    "crash injection (build it with EOS_TEST_HOOKS=1, as make test does)")
def test_crash_after_every_step_then_rerun_converges(loops, tmp_path):
    s = Setup(loops, tmp_path, "ext4")
    for step in STEPS:
        with pytest.raises(InterruptedError) as exc:
            eos.convert(s.path, s.target.device, crash_after=step, **s.kw())
        assert f"crash injected after step '{step}'" in str(exc.value)
        journal = os.listdir(os.path.join(s.state_dir, "convert"))
        assert any(n.endswith(".journal") for n in journal)
    res = eos.convert(s.path, s.target.device, **s.kw())
    s.track_mounts(res)
    assert res["step"] == "done" and res["resumed"] is True
    assert manifest(s.path) == s.before
    assert _mounted(s.path)["fstype"] == "btrfs"


@pytest.mark.parametrize("step", STEPS)
def test_rollback_after_a_crash_at_each_step(loops, tmp_path, step):
    s = Setup(loops, tmp_path, "ext4")
    with pytest.raises(InterruptedError):
        eos.convert(s.path, s.target.device, crash_after=step, **s.kw())
    res = eos.convert_rollback(s.path, **s.kw())
    assert res["changed"] is True
    m = _mounted(s.path)
    assert m["fstype"] == "ext4" and m["source"] == s.src.device and m["opts"].startswith("rw")
    assert "noatime" in m["opts"]
    assert s.fstab.read_text() == s.fstab_text  # byte for byte as before
    assert manifest(s.path) == s.before
    assert not [n for n in os.listdir(os.path.join(s.state_dir, "convert")) if not n.endswith(".lock")]
    with open(os.path.join(s.path, "written-after-rollback"), "wb") as f:  # read-write again
        f.write(b"ok")
    # and a fresh conversion works afterwards (the target now holds the abandoned btrfs)
    res = eos.convert(s.path, s.target.device, force=True, **s.kw())
    s.track_mounts(res)
    assert res["step"] == "done" and os.path.exists(os.path.join(s.path, "written-after-rollback"))


def test_rollback_after_done_through_salt_call(loops, tmp_path, salt_local):
    s = Setup(loops, tmp_path, "xfs")
    s.state_dir = salt_local.state_dir  # the minion config's eos:storage:state_dir wins over pillar
    salt_local.pillar({"eos": {"storage": {"fstab": str(s.fstab)}}})
    r = salt_local.call("eos_storage.convert", s.path, "btrfs", f"target={s.target.device}", "test=True")
    assert r.returncode == 0 and r.data["test"] is True and "would be moved" in r.data["comment"], r
    assert _mounted(s.path)["fstype"] == "xfs"
    r = salt_local.call("eos_storage.convert", s.path, "btrfs", "compression=zstd:6",
                        f"target={s.target.device}")
    assert r.returncode == 0 and r.data["step"] == "done", r
    s.track_mounts(r.data)
    assert "compress=zstd:6" in _mounted(s.path)["super"]
    assert manifest(s.path) == s.before
    r = salt_local.call("eos_storage.convert_rollback", s.path)
    assert r.returncode == 0 and "is back on" in r.data["comment"], r
    s.loops.mounts.remove(r.data["old_mounted_at"])  # rollback unmounted it
    assert _mounted(s.path)["fstype"] == "xfs" and s.fstab.read_text() == s.fstab_text
    assert manifest(s.path) == s.before


def test_open_files_block_the_switch(loops, tmp_path):
    s = Setup(loops, tmp_path, "ext4")
    holder = subprocess.Popen(["sleep", "300"], cwd=os.path.join(s.path, "dir with spaces"))
    try:
        plan = eos.convert(s.path, s.target.device, dry_run=True, **s.kw())
        assert any(f"{holder.pid} (sleep): {s.path}/dir with spaces" in f for f in plan["open_files"])
        with pytest.raises(OSError) as exc:
            eos.convert(s.path, s.target.device, **s.kw())
        assert exc.value.errno == errno.EBUSY and "open file" in str(exc.value)
        assert f"{holder.pid} (sleep)" in str(exc.value)
        assert _mounted(s.path)["fstype"] == "ext4"  # not switched; copied and verified though
    finally:
        holder.kill()
        holder.wait()
    res = eos.convert(s.path, s.target.device, **s.kw())
    s.track_mounts(res)
    assert res["step"] == "done" and res["resumed"] is True and manifest(s.path) == s.before


def test_convert_bad_input(loops, tmp_path, loaders, convert_opts):
    s = Setup(loops, tmp_path, "ext4")
    convert_opts(s)
    mod = loaders.modules.eos_storage
    plain = tmp_path / "plain"
    plain.mkdir()
    busy = loops.create(size=384 * MiB, fstype="xfs")
    small = loops.create(size=128 * MiB)
    cases = [
        ((s.path, "zfs"), {"target": s.target.device}, "cannot convert to 'zfs': only btrfs"),
        ((s.path, "btrfs"), {}, "no target given"),
        ((s.path, "btrfs"), {"target": s.target.device, "compression": "zstd:42"}, "'zstd:42'"),
        ((str(plain), "btrfs"), {"target": s.target.device}, f"{plain} is not a mount point"),
        ((s.path, "btrfs"), {"target": busy.device}, f"target {busy.device} is not free: it holds an xfs"),
        ((s.path, "btrfs"), {"target": s.src.device}, f"target {s.src.device} is the device {s.path} is on"),
        ((s.path, "btrfs"), {"target": small.device}, "is smaller than"),
        ((s.path, "btrfs"), {"target": str(plain)}, "is not a block device"),
        ((str(tmp_path / "missing"), "btrfs"), {"target": s.target.device}, "No such file or directory"),
    ]
    for args, kw, msg in cases:
        with pytest.raises(Exception) as exc:
            mod.convert(*args, **kw)
        assert msg in str(exc.value), (args, kw, str(exc.value))
    assert _mounted(s.path)["fstype"] == "ext4" and s.fstab.read_text() == s.fstab_text
    assert eos.provision_check(s.target.device)["signatures"] == []
    with pytest.raises(Exception) as exc:
        mod.convert_rollback(s.path)
    assert "no conversion of" in str(exc.value)

    btr = loops.create(size=256 * MiB, fstype="btrfs")
    mp = loops.mount(btr)
    with pytest.raises(Exception) as exc:
        mod.convert(mp, "btrfs", target=s.target.device)
    assert "is already on btrfs" in str(exc.value)


def test_sigkill_during_the_copy_then_rerun_converges(loops, tmp_path):
    """A real crash: the converting process is killed with SIGKILL while it copies."""
    import signal
    import sys
    import time

    s = Setup(loops, tmp_path, "ext4")
    for d in range(40):  # enough files that the copy takes a moment
        dp = os.path.join(s.path, f"many{d:02d}")
        os.mkdir(dp)
        for f in range(100):
            with open(os.path.join(dp, f"f{f:03d}"), "wb") as fh:
                fh.write(b"x" * (f * 37))
    s.before = manifest(s.path)
    code = ("import eos, sys; eos.convert(sys.argv[1], sys.argv[2], fstab=sys.argv[3], state_dir=sys.argv[4])")
    child = subprocess.Popen([sys.executable, "-c", code, s.path, s.target.device, str(s.fstab), s.state_dir])
    journal = os.path.join(s.state_dir, "convert")
    staged = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            names = os.listdir(journal) if os.path.isdir(journal) else []
            texts = [open(os.path.join(journal, n)).read() for n in names if n.endswith(".journal")]
            for t in texts:
                fields = {k: re.sub("%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), v)
                          for k, v in (line.split("=", 1) for line in t.splitlines() if "=" in line)}
                data = os.path.join(fields.get("staging", "/nonexistent"), "data")
                if fields.get("step") == "staged" and os.path.isdir(data) and len(os.listdir(data)) > 3:
                    staged = True  # the copy is under way
            if staged:
                break
            time.sleep(0.005)
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert staged, "the child was not seen copying"
    assert child.returncode == -signal.SIGKILL
    assert _mounted(s.path)["fstype"] == "ext4"  # killed before the switch
    res = eos.convert(s.path, s.target.device, **s.kw())
    s.track_mounts(res)
    assert res["resumed"] is True and res["step"] == "done"
    assert manifest(s.path) == s.before
