"""eos_storage.probe, eos_storage.usage and the eos_storage grain through real Salt
(salt-call --local with this tree's salt/ directories) on real loop devices."""
import os

import pytest

import eos
from tests.support.blockdev import run


def df(path):
    out = run(["df", "-B1", "--output=size,used,avail,itotal,iused,iavail", path])
    return [int(x) for x in out.splitlines()[1].split()]


def test_salt_probe_usage_and_grain(loops, salt_local, tmp_path):
    ext = loops.create(fstype="ext4", label="eos salt", size=32 << 20)
    raw = loops.create(size=8 << 20)
    mnt = loops.mount(ext, str(tmp_path / "salt mnt"))

    res = salt_local.call("eos_storage.probe")
    assert res.returncode == 0, res
    devs = {d["name"]: d for d in res.data["devices"]}
    e = devs[os.path.basename(ext.device)]
    assert (e["type"], e["label"], e["mountpoints"]) == ("ext4", "eos salt", [mnt])
    assert e["blkid"]["UUID"] == run(["blkid", "-p", "-s", "UUID", "-o", "value", ext.device]).strip()
    assert e["size"] == 32 << 20 and e["backing_file"] == ext.image
    assert set(res.data) == {"devices", "mounts", "btrfs", "lvm"}
    m = [m for m in res.data["mounts"] if m["target"] == mnt]
    assert len(m) == 1 and m[0]["source"] == ext.device and m[0]["usage"]["size"] == df(mnt)[0]

    res = salt_local.call("eos_storage.usage", mnt)
    assert res.returncode == 0, res
    u = res.data
    assert [u["size"], u["used"], u["avail"], u["files"], u["files_used"], u["files_free"]] == df(mnt)
    assert u["target"] == mnt and u["fstype"] == "ext4"

    res = salt_local.call("grains.get", "eos_storage")
    assert res.returncode == 0, res
    g = res.data
    assert set(g) == {"unused_devices", "unused_bytes", "total_bytes", "free_bytes"}
    names = {d["name"] for d in g["unused_devices"]}
    stale = [d["name"] for d in eos.probe(lvm=False)["devices"] if d["parent"] == os.path.basename(raw.device)]
    assert (os.path.basename(raw.device) in names) == (not stale)
    assert os.path.basename(ext.device) not in names
    assert g["unused_bytes"] == sum(d["size"] for d in g["unused_devices"])
    assert g["total_bytes"] >= df(mnt)[0] and 0 <= g["free_bytes"] <= g["total_bytes"]


@pytest.mark.parametrize("bad", ["/nonexistent-eos dir/x", "/etc/passwd/below"])
def test_salt_usage_bad_path_is_a_clear_error(salt_local, bad):
    res = salt_local.call("eos_storage.usage", bad)
    assert res.returncode != 0
    out = (res.stdout or "") + (res.stderr or "")
    assert "Error running 'eos_storage.usage'" in out and repr(bad) in out, res


def test_salt_probe_rejects_bad_lvm_argument(salt_local):
    res = salt_local.call("eos_storage.probe", "lvm=sometimes")
    assert res.returncode != 0
    assert "sometimes" in (res.stdout or "") + (res.stderr or ""), res


def test_salt_probe_non_utf8_mount_point(loops, salt_local, tmp_path):
    # Salt's JSON outputter and msgpack need UTF-8: the mount point comes back with \xNN for the
    # bytes that are not.
    ext = loops.create(fstype="ext4", size=16 << 20)
    mnt = os.fsencode(str(tmp_path)) + b"/mnt \xff\xfe odd"
    os.mkdir(mnt)
    run(["mount", ext.device, mnt])
    loops.mounts.append(mnt)
    shown = str(tmp_path) + "/mnt \\xff\\xfe odd"
    res = salt_local.call("eos_storage.probe", "lvm=False")
    assert res.returncode == 0, res
    m = [m for m in res.data["mounts"] if m["source"] == ext.device]
    assert [x["target"] for x in m] == [shown]
    assert m[0]["usage"]["size"] == df(mnt)[0]
    d = [d for d in res.data["devices"] if d["path"] == ext.device][0]
    assert d["mountpoints"] == [shown]


def test_loader_module_and_grain_in_process(loaders, tmp_path):
    # The same module and grain through Salt's in-process loaders.
    mod = loaders.modules.eos_storage
    u = mod.usage(str(tmp_path))
    s = os.statvfs(str(tmp_path))
    assert u["size"] == s.f_blocks * s.f_frsize and u["path"] == os.path.realpath(tmp_path)
    with pytest.raises(Exception) as exc:
        mod.usage(str(tmp_path / "missing"))
    assert type(exc.value).__name__ == "CommandExecutionError" and str(tmp_path / "missing") in str(exc.value)
    p = mod.probe(lvm=False)
    assert set(p) == {"devices", "mounts", "btrfs", "lvm"} and p["lvm"]["ran"] is False
    assert [m["target"] for m in p["mounts"]].count("/") >= 1 and p["devices"]
    g = loaders.grains["eos_storage"]
    assert set(g) == {"unused_devices", "unused_bytes", "total_bytes", "free_bytes"}
