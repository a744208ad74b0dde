"""eos_storage over the bus: `salt <minion> eos_storage.*` from a real master to a real minion
that sees the loop filesystems this test mounts (same private mount namespace)."""
import os
import subprocess


def fill(path, nbytes):
    """Real, allocated data (not sparse), synced so statvfs shows it."""
    with open(path, "wb") as f:
        chunk = b"\xa5" * (1 << 20)
        for _ in range(nbytes >> 20):
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())


def strings(value):
    """Every string in a return (dict keys and values, lists), for looking a name up."""
    if isinstance(value, dict):
        return {s for k, v in value.items() for s in strings(k) | strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in strings(v)}
    return {value} if isinstance(value, str) else set()


def test_probe_over_the_bus_sees_the_test_filesystem(salt_cli, salt_minion, loops):
    loop = loops.create(fstype="ext4", label="eos-it-probe")
    mnt = loops.mount(loop)
    ret = salt_cli.run("eos_storage.probe", minion_tgt=salt_minion.id)
    assert ret.returncode == 0, ret
    inv = ret.data
    assert set(inv) >= {"devices", "mounts", "btrfs", "lvm"}

    devices = {d["path"]: d for d in inv["devices"]}
    dev = devices[loop.device]
    assert dev["kind"] == "loop"
    assert dev["backing_file"] == loop.image
    assert (dev["type"], dev["label"]) == ("ext4", "eos-it-probe")
    assert dev["size"] == os.path.getsize(loop.image)
    blkid_uuid = subprocess.run(["blkid", "-p", "-o", "value", "-s", "UUID", loop.device],
                                capture_output=True, text=True, check=True).stdout.strip()
    assert dev["uuid"] == blkid_uuid
    assert mnt in dev["mountpoints"]

    mounts = [m for m in inv["mounts"] if m["target"] == mnt]
    assert len(mounts) == 1, [m["target"] for m in inv["mounts"]]
    st = os.statvfs(mnt)
    assert mounts[0]["fstype"] == "ext4"
    assert mounts[0]["usage"]["size"] == st.f_blocks * st.f_frsize


def test_usage_of_a_missing_path_fails_over_the_bus(salt_cli, salt_minion, tmp_path):
    missing = str(tmp_path / "not here")
    ret = salt_cli.run("eos_storage.usage", missing, minion_tgt=salt_minion.id)
    assert ret.returncode == 1, ret
    assert missing in str(ret.data), ret


def test_analyze_over_the_bus_follows_pillar_thresholds(salt_cli, salt_minion, loops, eos_pillar):
    loop = loops.create(size=64 << 20, fstype="ext4")
    mnt = loops.mount(loop)
    st = os.statvfs(mnt)
    fill(os.path.join(mnt, "data"), (st.f_blocks * st.f_frsize) // 2)

    def analyze():
        ret = salt_cli.run("eos_storage.analyze", mnt, "record=False", minion_tgt=salt_minion.id)
        assert ret.returncode == 0, ret
        (m,) = ret.data["mounts"]
        assert m["target"] == mnt
        return ret.data["thresholds"], m

    eos_pillar({"eos": {"cluster": {"node_count": 1}}})
    thresholds, m = analyze()
    assert thresholds["tier"] == "single"
    assert 45 < m["used_pct"] < 60, m  # about half full: below the single tier's warning (60)
    assert m["level"] == "ok"

    # The master's pillar reaches the minion: a lower warning level makes the same mount "warning".
    eos_pillar({"eos": {"cluster": {"node_count": 1}, "storage": {"thresholds": {"warning": 40}}}})
    thresholds, m = analyze()
    assert thresholds["warning"] == 40
    assert m["level"] == "warning", m

    eos_pillar({"eos": {"cluster": {"node_count": 3}}})
    thresholds, m = analyze()
    assert thresholds["tier"] == "small"


def test_non_utf8_mount_point_comes_back_over_the_bus(salt_cli, salt_minion, loops, tmp_path):
    # Salt's transport is msgpack with UTF-8 strings: a surrogate-escaped name in a return makes
    # the minion fail to send it, and `salt` only says "Minion did not return". The glue escapes
    # undecodable bytes as \xNN.
    raw = os.path.join(os.fsencode(tmp_path), b"mnt-\xff\xfe odd")
    os.mkdir(raw)
    loop = loops.create(fstype="ext4")
    loops.mount(loop, os.fsdecode(raw))
    escaped = os.fsdecode(raw).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    ret = salt_cli.run("eos_storage.probe", "lvm=False", minion_tgt=salt_minion.id)
    assert ret.returncode == 0, ret
    assert escaped in [m["target"] for m in ret.data["mounts"]]
    assert escaped in {d["path"]: d for d in ret.data["devices"]}[loop.device]["mountpoints"]


def test_non_utf8_names_come_back_from_every_eos_module_over_the_bus(salt_cli, salt_minion, loops,
                                                                      tmp_path, eos_pillar):
    # One converter (eos.glue.text_returns) wraps every public function: top_consumers,
    # analyze and cleanup find the names on the minion and return them \xNN-escaped.
    def esc(raw):
        return os.fsdecode(raw).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")

    odd_mnt = os.path.join(os.fsencode(tmp_path), b"mnt-\xff-bus")
    os.mkdir(odd_mnt)
    loops.mount(loops.create(fstype="ext4"), os.fsdecode(odd_mnt))
    mnt = loops.mount(loops.create(fstype="ext4"))
    odd_dir = os.path.join(os.fsencode(mnt), b"dir-\xfe")
    os.mkdir(odd_dir)
    fill(os.path.join(odd_dir, b"big"), 4 << 20)
    os.mkdir(os.path.join(mnt, "scratch"))
    old = os.path.join(os.fsencode(mnt), b"scratch", b"old-\xfe\xff.log")
    fill(old, 2 << 20)
    os.utime(old, (1, 1))

    top = salt_cli.run("eos_storage.top_consumers", mnt, minion_tgt=salt_minion.id)
    assert top.returncode == 0, top
    assert esc(odd_dir) in strings(top.data), top.data
    ana = salt_cli.run("eos_storage.analyze", "record=False", minion_tgt=salt_minion.id)
    assert ana.returncode == 0, ana
    assert esc(odd_mnt) in [m["target"] for m in ana.data["mounts"]]
    eos_pillar({"eos": {"storage": {"cleanup": [{"path": os.path.join(mnt, "scratch"), "older_than_days": 7}]}}})
    plan = salt_cli.run("eos_storage.cleanup", "test=True", minion_tgt=salt_minion.id)
    assert plan.returncode == 0, plan
    assert [i["path"] for i in plan.data["plan"]] == [esc(old)], plan.data
    done = salt_cli.run("eos_storage.cleanup", minion_tgt=salt_minion.id)
    assert done.returncode == 0, done
    assert esc(old) in strings(done.data) and not os.path.exists(old), done.data
