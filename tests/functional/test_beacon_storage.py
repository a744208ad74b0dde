"""The eos_storage beacon through Salt's real beacon loader, on real filesystems filled and
emptied with real files: one event per level crossing, hysteresis on the way down, recovery."""
import os
import time

import pytest

MiB = 1 << 20


def _pct(mnt):
    st = os.statvfs(mnt)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    return used, used + st.f_bavail * st.f_frsize


def set_usage(mnt, pct):
    """Grow (real writes) or shrink (truncate) one file until df's Use% is within 0.3 of pct.
    A few rounds, because the filesystem's own allocation (XFS preallocates past the end of a
    growing file) moves the figure after each write."""
    path = os.path.join(mnt, "data")
    chunk = b"\x5a" * MiB
    for _ in range(8):
        used, total = _pct(mnt)
        if abs(used * 100 / total - pct) < 0.3:
            break
        size = os.path.getsize(path) if os.path.exists(path) else 0
        want = max(0, size + int(pct / 100 * total) - used)
        with open(path, "ab") as f:
            if want > size:
                left = want - size
                while left > 0:
                    f.write(chunk[: min(left, MiB)])
                    left -= MiB
            else:
                f.truncate(want)
            f.flush()
            os.fsync(f.fileno())
        os.sync()
    used, total = _pct(mnt)
    return used * 100 / total


@pytest.fixture
def beacon(loaders, minion_opts):
    """The eos_storage beacon function as the minion's Beacon class loads it."""
    import salt.loader

    beacons = salt.loader.beacons(minion_opts, loaders.modules, context={})
    assert "eos_storage.beacon" in beacons, "beacon did not load"
    return beacons


def run_beacon(beacons, config, wait=1.05):
    time.sleep(wait)  # the check interval in these configs is 1 s
    return beacons["eos_storage.beacon"](config)


def test_fires_once_per_crossing_with_hysteresis(loops, beacon):
    loop = loops.create(320 * MiB, "xfs")
    # A fixed end-of-file preallocation: XFS's speculative one would move the figures under
    # set_usage's feet.
    mnt = loops.mount(loop, options="allocsize=64k")
    config = [{"mounts": [mnt]}, {"thresholds": {"check_interval": 1}}]
    assert beacon["eos_storage.validate"](config) == (True, "Valid beacon configuration")

    # (usage %, expected events) - single tier: warning 60, compress 70, cleanup 75; band 3.
    steps = [
        (10, []),                         # a new mount at ok: nothing to say
        (63, [("warning", "ok")]),
        (63, []),                         # same level again: no event
        (67, []),
        (72, [("compress", "warning")]),
        (68.5, []),                       # 1.5 below compress: inside the band, stays
        (65.5, [("warning", "compress")]),  # 4.5 below: leaves compress
        (58.5, []),                       # inside warning's band
        (40, [("ok", "warning")]),        # recovery
        (92, [("critical", "ok")]),       # jumps several levels at once: one event
    ]
    for i, (pct, expected) in enumerate(steps):
        got_pct = set_usage(mnt, pct)
        assert abs(got_pct - pct) < 0.3, (pct, got_pct)
        events = run_beacon(beacon, config, wait=0 if i == 0 else 1.05)
        got = [(e["level"], e["previous"]) for e in events]
        assert got == expected, (pct, got_pct, events)
        for e in events:
            assert e["tag"] == f"threshold/{e['level']}"
            assert e["target"] == mnt and e["fstype"] == "xfs" and e["source"] == loop.device
            assert abs(e["used_pct"] - got_pct) < 0.01
            assert e["size"] > 0 and e["used"] > 0 and e["inodes"] > 0
            assert e["tier"] == "single"


def test_not_checked_before_the_check_interval(loops, beacon):
    loop = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(loop, options="allocsize=64k")
    config = [{"mounts": [mnt]}, {"thresholds": {"check_interval": 3}}]
    assert beacon["eos_storage.beacon"](config) == []
    set_usage(mnt, 65)
    assert beacon["eos_storage.beacon"](config) == []  # checked < 3 s ago
    time.sleep(3.1)
    events = beacon["eos_storage.beacon"](config)
    assert [e["level"] for e in events] == ["warning"]


def test_config_thresholds_and_node_count(loops, beacon):
    loop = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(loop, options="allocsize=64k")
    set_usage(mnt, 72)
    # Distributed tier: warning 70, compress 80.
    config = [{"mounts": [mnt]}, {"node_count": 9}, {"thresholds": {"check_interval": 1}}]
    events = beacon["eos_storage.beacon"](config)
    assert [(e["level"], e["tier"], e["threshold"]) for e in events] == [("warning", "distributed", 70)]


def test_btrfs_events_carry_allocation(loops, beacon):
    loop = loops.create(256 * MiB, "btrfs")
    mnt = loops.mount(loop)
    config = [{"mounts": [mnt]}, {"thresholds": {"check_interval": 1}}]
    assert beacon["eos_storage.beacon"](config) == []
    set_usage(mnt, 66)
    events = run_beacon(beacon, config)
    assert len(events) == 1, events
    e = events[0]
    assert e["fstype"] == "btrfs" and e["inodes_pct"] is None
    b = e["btrfs"]
    assert b["device_bytes"] == 256 * MiB and b["data_used"] > 0 and b["allocated"] > 0
    assert e["bytes_pct"] == max(e["used_pct"], b["data_pct"], b["metadata_pct"])
    assert e["level"] in ("warning", "compress")


@pytest.mark.parametrize(
    "config,message",
    [
        ([{"thresholds": {"critical": 101}}], "101"),
        ([{"thresholds": {"warning": 90}}], "warning is 90"),
        ([{"thresholds": {"cleanup": "full"}}], "'full'"),
        ([{"node_count": 0}], "got 0"),
        ([{"mounts": "/"}], "'/'"),
        ([{"mount": ["/"]}], "unknown option"),
        ("nope", "list of dicts"),
    ],
)
def test_bad_config_refused(beacon, config, message):
    ok, msg = beacon["eos_storage.validate"](config)
    assert ok is False
    assert message in msg
