"""eos_btrfs through real Salt on a real loop-backed BTRFS: subvolumes, snapshots,
compression and allocation, the states, and bad input."""
import errno
import os
import shutil
import subprocess

import pytest
import yaml

import eos
from tests.support import saltenv

MiB = 1 << 20


@pytest.fixture
def btrfs(loops):
    """A mounted BTRFS without a compress mount option; returns its mount point."""
    loop = loops.create(size=256 * MiB, fstype="btrfs")
    return loops.mount(loop)


def _compressible(nbytes):
    """Text that zstd/zlib compress well but not to nothing (lines with counters)."""
    out = bytearray()
    i = 0
    while len(out) < nbytes:
        out += f"{i:010d} eos compressible line, the quick brown fox jumps over the lazy dog\n".encode()
        i += 1
    return bytes(out[:nbytes])


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _data_used(mnt):
    os.sync()
    return eos.btrfs_usage(mnt)["data_used"]


# --- subvolumes and snapshots through salt-call --local -------------------------------------

def test_subvolume_snapshot_lifecycle_salt_call(btrfs, salt_local):
    sub = os.path.join(btrfs, "projects")
    r = salt_local.call("eos_btrfs.subvolume_create", sub)
    assert r.returncode == 0, r
    assert r.data["path"] == "projects" and r.data["parent_id"] == 5 and not r.data["read_only"]
    assert eos.btrfs_subvolume_show(sub)["id"] == r.data["id"]
    _write(os.path.join(sub, "file"), b"payload\n")

    snap = os.path.join(btrfs, "projects-snap")
    r = salt_local.call("eos_btrfs.snapshot", sub, snap)
    assert r.returncode == 0, r
    assert r.data["read_only"] is True
    assert r.data["parent_uuid"] == eos.btrfs_subvolume_show(sub)["uuid"]
    with open(os.path.join(snap, "file"), "rb") as f:
        assert f.read() == b"payload\n"
    # Read-only really is read-only, for root too.
    with pytest.raises(OSError) as exc:
        open(os.path.join(snap, "new"), "wb")
    assert exc.value.errno == errno.EROFS
    with pytest.raises(OSError) as exc:
        os.unlink(os.path.join(snap, "file"))
    assert exc.value.errno == errno.EROFS

    rw = os.path.join(btrfs, "projects-rw")
    r = salt_local.call("eos_btrfs.snapshot", sub, rw, "read_only=False")
    assert r.returncode == 0 and r.data["read_only"] is False, r
    _write(os.path.join(rw, "new"), b"x")

    r = salt_local.call("eos_btrfs.subvolume_list", btrfs)
    assert r.returncode == 0, r
    assert sorted(s["path"] for s in r.data) == ["projects", "projects-rw", "projects-snap"]

    r = salt_local.call("eos_btrfs.subvolume_show", snap)
    assert r.returncode == 0 and r.data["read_only"] is True, r

    r = salt_local.call("eos_btrfs.subvolume_delete", snap)
    assert r.returncode == 0 and r.data["deleted"] == snap, r
    assert not os.path.exists(snap)
    assert os.path.exists(os.path.join(sub, "file"))  # the source is untouched


def test_nested_subvolumes_and_recursive_delete(btrfs, loaders):
    mod = loaders.modules.eos_btrfs
    top = os.path.join(btrfs, "top")
    mod.subvolume_create(top)
    mod.subvolume_create(os.path.join(top, "child"))
    mod.subvolume_create(os.path.join(top, "child", "grandchild"))
    paths = [s["path"] for s in mod.subvolume_list(btrfs)]
    assert paths == ["top", "top/child", "top/child/grandchild"]  # pre-order
    with pytest.raises(Exception) as exc:
        mod.subvolume_delete(top)
    assert "has subvolumes below it" in str(exc.value) and "recursive=True" in str(exc.value)
    assert os.path.isdir(os.path.join(top, "child", "grandchild"))  # nothing deleted
    mod.subvolume_delete(top, recursive=True)
    assert not os.path.exists(top)
    assert mod.subvolume_list(btrfs) == []


def test_odd_but_valid_names(btrfs, loaders):
    mod = loaders.modules.eos_btrfs
    names = ["with space", "new\nline", "ünïcødé", "-dash", "a" * 255, "quote'\"", "$(id);rm"]
    for name in names:
        p = os.path.join(btrfs, name)
        info = mod.subvolume_create(p)
        assert info["path"] == name
        snap = mod.snapshot(p, p + ".snap"[: 255 - len(name)] if len(name) < 250 else os.path.join(btrfs, "long.snap"))
        assert snap["read_only"] is True
    listed = {s["path"] for s in mod.subvolume_list(btrfs)}
    assert set(names) <= listed
    # Non-UTF-8 bytes in a name, through the binding (surrogateescape both ways).
    raw = os.path.join(os.fsencode(btrfs), b"bad-\xff\xfe")
    eos.btrfs_subvolume_create(raw)
    info = eos.btrfs_subvolume_show(raw)
    assert os.fsencode(info["path"]) == b"bad-\xff\xfe"
    assert b"bad-\xff\xfe" in {os.fsencode(s["path"]) for s in eos.btrfs_subvolume_list(btrfs)}
    # Through Salt the name is valid UTF-8, its odd bytes escaped (msgpack and outputters need it).
    assert "bad-\\xff\\xfe" in {s["path"] for s in mod.subvolume_list(btrfs)}
    eos.btrfs_subvolume_delete(raw)
    assert not os.path.exists(raw)


def test_bad_input_gives_clear_errors_and_changes_nothing(btrfs, salt_local, tmp_path):
    outside = tmp_path / "not-btrfs"
    outside.mkdir()
    r = salt_local.call("eos_btrfs.subvolume_create", str(outside / "sub"))
    assert r.returncode != 0
    assert f"cannot create '{outside / 'sub'}'" in r.stderr and "is not on a btrfs filesystem" in r.stderr
    assert not (outside / "sub").exists()

    plain = os.path.join(btrfs, "plain-dir")
    os.mkdir(plain)
    _write(os.path.join(plain, "keep"), b"keep")
    r = salt_local.call("eos_btrfs.subvolume_delete", plain)
    assert r.returncode != 0 and f"{plain} is not a btrfs subvolume" in r.stderr, r
    assert os.path.exists(os.path.join(plain, "keep"))
    r = salt_local.call("eos_btrfs.snapshot", plain, os.path.join(btrfs, "snap-of-dir"))
    assert r.returncode != 0 and f"{plain} is not a btrfs subvolume" in r.stderr, r
    assert not os.path.exists(os.path.join(btrfs, "snap-of-dir"))

    r = salt_local.call("eos_btrfs.subvolume_create", os.path.join(btrfs, ".."))
    assert r.returncode != 0 and "does not name a new entry" in r.stderr, r
    r = salt_local.call("eos_btrfs.subvolume_create", plain)
    assert r.returncode != 0 and f"{plain} already exists" in r.stderr, r
    r = salt_local.call("eos_btrfs.subvolume_show", os.path.join(btrfs, "missing"))
    assert r.returncode != 0 and "No such file or directory" in r.stderr, r

    r = salt_local.call("eos_btrfs.compression", btrfs, "zstd:99")
    assert r.returncode != 0 and "'zstd:99'" in r.stderr, r
    r = salt_local.call("eos_btrfs.compression", btrfs, "brotli")
    assert r.returncode != 0 and "'brotli'" in r.stderr, r
    assert eos.btrfs_compression_get(btrfs) is None  # unchanged
    r = salt_local.call("eos_btrfs.usage", str(outside))
    assert r.returncode != 0 and f"{outside} is not on a btrfs filesystem" in r.stderr, r
    assert sorted(os.listdir(btrfs)) == ["plain-dir"]


# --- compression and usage -------------------------------------------------------------------

def test_compression_property_compresses_real_data(btrfs, loaders):
    mod = loaders.modules.eos_btrfs
    zdir = os.path.join(btrfs, "z")
    os.mkdir(zdir)
    assert mod.compression(zdir) == {"path": zdir, "compression": None}
    ret = mod.compression(zdir, "zstd:3")
    assert ret["changed"] is True and ret["previous"] is None
    assert mod.compression(zdir)["compression"] == "zstd:3"
    assert mod.compression(zdir, "zstd:3")["changed"] is False

    before = _data_used(btrfs)
    data = _compressible(48 * MiB)
    _write(os.path.join(zdir, "big.txt"), data)  # inherits zstd from the directory
    grew = _data_used(btrfs) - before
    assert os.path.getsize(os.path.join(zdir, "big.txt")) == len(data)
    assert 0 < grew < len(data) // 4, f"compressed allocation {grew} vs apparent {len(data)}"

    # The same data in a directory without the property, on this fs mounted without
    # compress=, takes its full size.
    plain = os.path.join(btrfs, "plain")
    os.mkdir(plain)
    before = _data_used(btrfs)
    _write(os.path.join(plain, "big.txt"), data)
    assert _data_used(btrfs) - before >= len(data)

    u = mod.usage(btrfs)
    assert u["data_used"] >= len(data) + grew
    assert u["data_total"] >= u["data_used"]
    assert {"data", "metadata", "system"} <= {s["type"] for s in u["spaces"]}
    assert u["device_size"] == 256 * MiB
    assert u["device_allocated"] + u["device_unallocated"] == u["device_size"]
    assert u["devices"][0]["path"].startswith("/dev/loop")
    assert 0 < u["free_estimated"] < u["device_size"]


def test_mount_option_zstd_and_property_none(loops, loaders):
    mod = loaders.modules.eos_btrfs
    loop = loops.create(size=256 * MiB, fstype="btrfs")
    mnt = loops.mount(loop, options="compress=zstd")
    data = _compressible(32 * MiB)
    before = _data_used(mnt)
    _write(os.path.join(mnt, "compressed.txt"), data)
    grew = _data_used(mnt) - before
    assert 0 < grew < len(data) // 4

    # "none" on a file overrides the mount option: stored at full size.
    nope = os.path.join(mnt, "uncompressed.txt")
    open(nope, "wb").close()
    assert mod.compression(nope, "none")["compression"] == "none"
    before = _data_used(mnt)
    _write(nope, data)
    assert _data_used(mnt) - before >= len(data)


def _compsize(path):
    """compsize -b PATH: (disk, uncompressed, referenced) from its TOTAL line."""
    out = subprocess.run(["compsize", "-b", path], capture_output=True, text=True, check=True).stdout
    total = next(line.split() for line in out.splitlines() if line.startswith("TOTAL"))
    return int(total[2]), int(total[3]), int(total[4])


@pytest.mark.skipif(shutil.which("compsize") is None,
                    reason="compsize (Debian package btrfs-compsize) is not installed")
def test_extent_stats_agree_with_compsize(btrfs, loaders):
    """eos's own count of compressed extents (TREE_SEARCH) against btrfs-compsize's."""
    zdir = os.path.join(btrfs, "zc")
    os.mkdir(zdir)
    loaders.modules.eos_btrfs.compression(zdir, "zlib:6")
    data = _compressible(16 * MiB)
    _write(os.path.join(zdir, "f"), data)
    _write(os.path.join(zdir, "small"), b"tiny file stored inline\n")
    _write(os.path.join(btrfs, "random"), os.urandom(2 * MiB))  # incompressible, stored as is
    os.link(os.path.join(zdir, "f"), os.path.join(btrfs, "f-link"))
    os.sync()
    disk, uncompressed, referenced = _compsize(btrfs)
    ext = loaders.modules.eos_btrfs.usage(btrfs)["subvolume_extents"]
    assert (ext["disk_bytes"], ext["uncompressed_bytes"]) == (disk, uncompressed)
    # compsize counts references per path walked (the hard link twice), eos per inode.
    assert ext["referenced_bytes"] == referenced - len(data)
    assert ext["inline_extents"] >= 1
    assert ext["uncompressed_bytes"] == len(data) + 2 * MiB + len(b"tiny file stored inline\n")
    assert ext["compressed_disk_bytes"] < len(data) // 4
    assert ext["disk_bytes"] < ext["uncompressed_bytes"] // 2


# --- states --------------------------------------------------------------------------------

def test_subvolume_present_and_absent_states(btrfs, loaders):
    st = loaders.states.eos_btrfs
    sub = os.path.join(btrfs, "svc")

    ret = st.subvolume_present(name=sub, test=True)
    assert ret.result is None and ret.changes == {"created": sub}
    assert not os.path.exists(sub)
    ret = st.subvolume_present(name=sub)
    assert ret.result is True and ret.changes["created"] == sub
    assert eos.btrfs_subvolume_show(sub)["path"] == "svc"
    ret = st.subvolume_present(name=sub)
    assert ret.result is True and ret.changes == {} and "already a subvolume" in ret.comment

    # Present on a plain directory fails and leaves it alone.
    plain = os.path.join(btrfs, "plain")
    os.mkdir(plain)
    ret = st.subvolume_present(name=plain)
    assert ret.result is False and "not a btrfs subvolume" in ret.comment

    # Absent deletes when the subvolume EXISTS (Salt's btrfs.subvolume_deleted does not).
    ret = st.subvolume_absent(name=sub, test=True)
    assert ret.result is None and ret.changes["deleted"] == sub
    assert os.path.isdir(sub)
    ret = st.subvolume_absent(name=sub)
    assert ret.result is True and ret.changes["deleted"] == sub
    assert not os.path.exists(sub)
    ret = st.subvolume_absent(name=sub)
    assert ret.result is True and ret.changes == {} and "already absent" in ret.comment
    ret = st.subvolume_absent(name=plain)
    assert ret.result is False and "nothing was deleted" in ret.comment
    assert os.path.isdir(plain)

    ret = st.subvolume_present(name="/proc/eos-sub", test=True)
    assert ret.result is False and "not on a btrfs filesystem" in ret.comment


def test_snapshot_present_state(btrfs, loaders):
    st = loaders.states.eos_btrfs
    src = os.path.join(btrfs, "data")
    eos.btrfs_subvolume_create(src)
    snap = os.path.join(btrfs, "data.snap")

    ret = st.snapshot_present(name=snap, source=src, test=True)
    assert ret.result is None and ret.changes["created"] == snap
    assert not os.path.exists(snap)
    ret = st.snapshot_present(name=snap, source=src)
    assert ret.result is True and ret.changes["read_only"] is True
    assert eos.btrfs_subvolume_show(snap)["read_only"] is True
    ret = st.snapshot_present(name=snap, source=src)
    assert ret.result is True and ret.changes == {}

    ret = st.snapshot_present(name=snap, source=src, read_only=False, test=True)
    assert ret.result is None and ret.changes == {"read_only": {"old": True, "new": False}}
    assert eos.btrfs_subvolume_show(snap)["read_only"] is True
    ret = st.snapshot_present(name=snap, source=src, read_only=False)
    assert ret.result is True and eos.btrfs_subvolume_show(snap)["read_only"] is False

    other = os.path.join(btrfs, "other")
    eos.btrfs_subvolume_create(other)
    ret = st.snapshot_present(name=other, source=src)
    assert ret.result is False and "is not a snapshot of" in ret.comment
    ret = st.snapshot_present(name=os.path.join(btrfs, "s2"), source=os.path.join(btrfs, "missing"))
    assert ret.result is False and "No such file or directory" in ret.comment


def test_state_single_and_apply_through_salt_call(btrfs, tmp_path):
    """state.single and state.apply (test=True first, then for real, then again) via salt-call."""
    sls_dir = tmp_path / "sls"
    sls_dir.mkdir()
    sub = os.path.join(btrfs, "apps")
    snap = os.path.join(btrfs, "apps.base")
    old = os.path.join(btrfs, "old")
    eos.btrfs_subvolume_create(old)
    (sls_dir / "eos_btrfs_test.sls").write_text(yaml.safe_dump({
        "apps": {"eos_btrfs.subvolume_present": [{"name": sub}]},
        "apps-base": {"eos_btrfs.snapshot_present": [{"name": snap}, {"source": sub},
                                                       {"require": [{"eos_btrfs": "apps"}]}]},
        "old-gone": {"eos_btrfs.subvolume_absent": [{"name": old}]},
    }))
    conf = saltenv.minion_config(str(tmp_path / "salt"),
                                 {"file_roots": {"base": [str(sls_dir), saltenv.SALT_TREE]}})

    r = saltenv.salt_call(conf, "state.single", "eos_btrfs.subvolume_present", f"name={sub}", "test=True")
    assert r.returncode == 0, r
    (only,) = r.data.values()
    assert only["result"] is None and only["changes"] == {"created": sub}
    assert not os.path.exists(sub)

    r = saltenv.salt_call(conf, "state.apply", "eos_btrfs_test", "test=True")
    assert r.returncode == 0, r
    results = {v["__id__"]: v for v in r.data.values()}
    assert results["apps"]["result"] is None and results["old-gone"]["result"] is None
    assert not os.path.exists(sub) and os.path.exists(old)

    r = saltenv.salt_call(conf, "state.apply", "eos_btrfs_test")
    assert r.returncode == 0, r
    assert all(v["result"] is True for v in r.data.values()), r
    assert eos.btrfs_subvolume_show(snap)["parent_uuid"] == eos.btrfs_subvolume_show(sub)["uuid"]
    assert not os.path.exists(old)

    r = saltenv.salt_call(conf, "state.apply", "eos_btrfs_test", "test=True")
    assert r.returncode == 0, r
    assert all(v["result"] is True and v["changes"] == {} for v in r.data.values()), r


def test_snapshot_errors_name_both_paths(btrfs):
    """eos.Error carries the second path of a two-path operation, as os.rename's OSError does:
    filename the source, filename2 the snapshot."""
    src, dst = os.path.join(btrfs, "src"), os.path.join(btrfs, "taken")
    eos.btrfs_subvolume_create(src)
    os.mkdir(dst)
    with pytest.raises(eos.Error) as exc:
        eos.btrfs_snapshot(src, dst)
    err = exc.value
    assert isinstance(err, FileExistsError) and err.errno == errno.EEXIST
    assert (err.filename, err.filename2) == (src, dst) and "already exists" in str(err)
    assert os.listdir(dst) == []  # nothing was made
