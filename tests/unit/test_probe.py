"""eos.probe / eos.usage / eos.storage_facts through the binding: no devices created."""
import errno
import os
import threading

import pytest

import eos

DEVICE_TYPES = {
    "name": str, "path": str, "major": int, "minor": int, "devno": str, "size": int,
    "rotational": bool, "read_only": bool, "removable": bool, "kind": str, "holders": list,
    "slaves": list, "blkid": dict, "blkid_status": str, "mountpoints": list, "mounted": bool,
    "unused": bool,
}
OPTIONAL_STR = ("parent", "backing_file", "dm_name", "type", "uuid", "label", "partuuid", "pttype",
                "usage", "blkid_error")
USAGE_KEYS = ("size", "used", "free", "avail", "files", "files_used", "files_free", "block_size")


def check_usage(u):
    for k in USAGE_KEYS:
        assert isinstance(u[k], int) and u[k] >= 0, k
    assert u["used"] + u["free"] == u["size"]
    assert u["avail"] <= u["free"]
    assert u["files_used"] + u["files_free"] == u["files"]
    assert 0.0 <= u["percent"] <= 100.0 and 0.0 <= u["files_percent"] <= 100.0


def test_usage_root_matches_statvfs():
    u = eos.usage("/")
    s = os.statvfs("/")
    check_usage(u)
    assert u["size"] == s.f_blocks * s.f_frsize
    assert u["files"] == s.f_files
    assert u["target"] == "/" and u["path"] == "/"
    assert u["block_size"] == s.f_frsize


def test_usage_of_a_file_is_its_filesystem():
    u = eos.usage(os.__file__)
    assert u["path"] == os.path.realpath(os.__file__)
    assert os.path.realpath(os.__file__).startswith(u["target"])
    check_usage(u)


def test_usage_accepts_bytes_and_pathlike(tmp_path):
    assert eos.usage(bytes(tmp_path))["path"] == os.path.realpath(tmp_path)
    assert eos.usage(tmp_path)["path"] == os.path.realpath(tmp_path)


def test_usage_all_lists_real_filesystems():
    all_ = eos.usage()
    assert isinstance(all_, list) and all_
    targets = {u["target"] for u in all_}
    assert "/" in targets
    for u in all_:
        check_usage(u)
        assert isinstance(u["storage"], bool)
        assert u["fstype"] not in ("proc", "sysfs", "cgroup2", "devpts")


@pytest.mark.parametrize("bad", ["/nonexistent-eos/x", "/nonexistent eos\nname", b"/nonexistent-eos-\xff"])
def test_usage_missing_path_names_it(bad):
    with pytest.raises(FileNotFoundError) as exc:
        eos.usage(bad)
    assert exc.value.errno == errno.ENOENT
    assert exc.value.filename == os.fsdecode(bad)
    assert "realpath" in str(exc.value)


def test_usage_file_where_a_directory_is_expected():
    with pytest.raises(NotADirectoryError) as exc:
        eos.usage(os.__file__ + "/x")
    assert exc.value.filename == os.__file__ + "/x"


def test_usage_rejects_wrong_types():
    with pytest.raises(TypeError):
        eos.usage(42)
    # A NUL would cut the path short in C: EINVAL quoting it (not Python's bare ValueError).
    with pytest.raises(OSError) as exc:
        eos.usage("/tmp\0x")
    assert exc.value.errno == errno.EINVAL and "'/tmp\\x00x'" in str(exc.value)


def test_probe_shape_and_types():
    p = eos.probe(lvm=False)
    assert set(p) == {"devices", "mounts", "btrfs", "lvm"}
    names = [d["name"] for d in p["devices"]]
    assert len(names) == len(set(names)) and names
    # Other processes attach and detach loop devices meanwhile: compare what cannot change.
    assert {n for n in os.listdir("/sys/class/block") if not n.startswith("loop")} <= set(names)
    for d in p["devices"]:
        for k, t in DEVICE_TYPES.items():
            assert isinstance(d[k], t), (d["name"], k)
        for k in OPTIONAL_STR:
            assert d[k] is None or isinstance(d[k], str), (d["name"], k)
        assert d["path"] == "/dev/" + d["name"].replace("!", "/")
        assert d["devno"] == f"{d['major']}:{d['minor']}"
        if os.path.exists(f"/sys/class/block/{d['name']}/dev"):
            with open(f"/sys/class/block/{d['name']}/dev") as f:
                assert f.read().strip() == d["devno"]
        if d["kind"] != "loop":
            with open(f"/sys/class/block/{d['name']}/size") as f:
                assert int(f.read()) * 512 == d["size"]
        assert d["kind"] in ("disk", "partition", "loop", "dm", "md", "zram", "ram", "nbd", "rom")
        assert (d["partition"] is None) == (d["kind"] != "partition")
        assert d["blkid_status"] in ("found", "nothing", "ambivalent", "error", "not probed")
        assert (d["blkid_error"] is not None) == (d["blkid_status"] == "error")
        assert d["type"] == d["blkid"].get("TYPE")
        if d["unused"]:
            assert d["size"] > 0 and not d["read_only"] and not d["holders"] and not d["mounted"]
    assert p["lvm"]["ran"] is False and p["lvm"]["skipped"] == "not requested"
    assert isinstance(p["lvm"]["available"], bool)


def test_probe_mounts_match_mountinfo():
    p = eos.probe(lvm=False)
    with open("/proc/self/mountinfo", "rb") as f:
        lines = f.read().splitlines()
    assert len(p["mounts"]) == len(lines)
    for m, line in zip(p["mounts"], lines):
        fields = line.split(b" ")
        assert m["id"] == int(fields[0]) and m["parent_id"] == int(fields[1])
        assert m["devno"] == fields[2].decode()
        sep = fields.index(b"-", 6)
        assert m["fstype"] == os.fsdecode(fields[sep + 1])
        if m["usage"] is not None:
            check_usage(m["usage"])
        else:
            assert m["virtual"] or m["shadowed"] or m["usage_error"]


def test_probe_crafted_mountinfo_with_escaped_names(tmp_path):
    # What the kernel writes for mount points with a space, a newline, a tab, a backslash and
    # a non-UTF-8 byte; the targets do not exist here, so their usage is an error per mount.
    mi = tmp_path / "mountinfo"
    mi.write_bytes(
        b"1 0 254:0 / / rw - ext4 /dev/vda rw\n"
        b"2 1 7:0 / /mnt/a\\040b rw shared:1 - xfs /dev/loop0 rw,attr2\n"
        b"3 1 7:1 / /mnt/n\\012l\\011t\\134s\\377 rw - btrfs /dev/loop\\0401 rw\n"
        b"not a mountinfo line\n"
    )
    p = eos.probe(lvm=False, mountinfo=str(mi))
    targets = [m["target"] for m in p["mounts"]]
    assert targets == ["/", "/mnt/a b", os.fsdecode(b"/mnt/n\nl\tt\\s\xff")]
    assert p["mounts"][2]["source"] == "/dev/loop 1"
    assert p["mounts"][1]["options"] == "rw" and p["mounts"][1]["super_options"] == "rw,attr2"
    assert p["mounts"][1]["usage"] is None and "statvfs" in p["mounts"][1]["usage_error"]
    assert p["mounts"][0]["usage"] is not None


def test_probe_bad_input_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError) as exc:
        eos.probe(sysfs_block=str(tmp_path / "no such dir"))
    assert exc.value.filename == str(tmp_path / "no such dir")
    f = tmp_path / "a file"
    f.write_text("x")
    with pytest.raises(NotADirectoryError) as exc:
        eos.probe(sysfs_block=str(f))
    assert exc.value.filename == str(f)
    with pytest.raises(FileNotFoundError) as exc:
        eos.probe(mountinfo=str(tmp_path / "missing mountinfo"))
    assert exc.value.filename == str(tmp_path / "missing mountinfo")
    with pytest.raises(ValueError):
        eos.probe(lvm="sometimes")
    with pytest.raises(TypeError):
        eos.probe("positional")


def test_probe_crafted_sysfs(tmp_path):
    """A disk with a partition held by a dm device, as sysfs shows it (symlinks into devices/)."""
    dev = tmp_path / "devices"

    def put(rel, text=None):
        p = dev / rel
        if text is None:
            p.mkdir(parents=True, exist_ok=True)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)

    put("sdz/dev", "8:0\n"), put("sdz/size", "2048\n"), put("sdz/queue/rotational", "1\n")
    put("sdz/sdz1/dev", "8:1\n"), put("sdz/sdz1/size", "1024\n"), put("sdz/sdz1/partition", "1\n")
    put("sdz/sdz1/holders/dm-7", ""), put("dm-7/dev", "254:7\n"), put("dm-7/dm/name", "vg-lv\n")
    put("dm-7/slaves/sdz1", ""), put("dm-7/size", "1024\n")
    cls = tmp_path / "class"
    cls.mkdir()
    for name, rel in (("sdz", "sdz"), ("sdz1", "sdz/sdz1"), ("dm-7", "dm-7")):
        os.symlink(f"../devices/{rel}", cls / name)
    p = eos.probe(lvm=False, sysfs_block=str(cls))
    by = {d["name"]: d for d in p["devices"]}
    assert set(by) == {"sdz", "sdz1", "dm-7"}
    assert by["sdz1"]["kind"] == "partition" and by["sdz1"]["parent"] == "sdz"
    assert by["sdz1"]["rotational"] is True and by["sdz1"]["holders"] == ["dm-7"]
    assert by["dm-7"]["kind"] == "dm" and by["dm-7"]["dm_name"] == "vg-lv"
    assert by["dm-7"]["slaves"] == ["sdz1"] and by["sdz"]["size"] == 2048 * 512


def test_probe_without_blkid_and_skipping_non_devices(tmp_path):
    # Entries of the class directory that are not device directories are left out.
    cls = tmp_path / "class"
    cls.mkdir()
    (cls / "a file").write_text("x")
    (cls / "nodev").mkdir()
    os.symlink("/sys/class/block/" + sorted(os.listdir("/sys/class/block"))[0], cls / "real")
    p = eos.probe(lvm=False, blkid=False, sysfs_block=str(cls))
    assert [d["name"] for d in p["devices"]] == ["real"]
    assert p["devices"][0]["blkid_status"] == "not probed" and p["devices"][0]["blkid"] == {}


def test_lvm_not_installed_is_not_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    lvm = eos.probe(lvm=True)["lvm"]
    assert lvm["available"] is False and lvm["error"] is None
    assert lvm["pvs"] == [] and lvm["vgs"] == [] and lvm["lvs"] == []


def test_storage_facts_contract():
    f = eos.storage_facts()
    assert set(f) == {"unused_devices", "unused_bytes", "total_bytes", "free_bytes"}
    for d in f["unused_devices"]:
        assert set(d) == {"name", "path", "size", "rotational"}
        assert isinstance(d["size"], int) and d["size"] > 0 and isinstance(d["rotational"], bool)
    assert f["unused_bytes"] == sum(d["size"] for d in f["unused_devices"])
    assert 0 <= f["free_bytes"] <= f["total_bytes"]
    # The same filesystems usage() marks as storage (sizes do not move between the calls).
    assert f["total_bytes"] == sum(u["size"] for u in eos.usage() if u["storage"])


def test_probe_releases_the_gil_and_reports_a_broken_lvm(tmp_path, monkeypatch):
    # A fake lvm that takes a second and prints nothing: while probe waits for it in C, this
    # thread keeps running; the unparseable report is an error next to the lvm data.
    fake = tmp_path / "lvm"
    fake.write_text("#!/usr/bin/env python3\nimport time\ntime.sleep(1)\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    result = {}
    t = threading.Thread(target=lambda: result.update(eos.probe(lvm=True)))
    t.start()
    ticks = 0
    while t.is_alive():
        ticks += 1
        t.join(0.01)
    assert ticks > 10
    lvm = result["lvm"]
    assert lvm["ran"] is True and lvm["available"] is True
    assert "lvm fullreport" in lvm["error"] and lvm["pvs"] == []
