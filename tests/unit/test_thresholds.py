"""Threshold tiers, pillar overrides, hysteresis and growth rates through the binding (no root)."""
import errno
import os
import time

import pytest

import eos

LEVELS = ["warning", "compress", "cleanup", "degraded", "emergency", "critical"]

# The table of DESIGN.md: node count -> (tier, six levels, check interval in seconds).
TIERS = {
    1: ("single", [60, 70, 75, 80, 85, 90], 300),
    2: ("small", [65, 75, 80, 85, 90, 95], 300),
    3: ("small", [65, 75, 80, 85, 90, 95], 300),
    4: ("medium", [70, 80, 85, 90, 93, 95], 180),
    6: ("medium", [70, 80, 85, 90, 93, 95], 180),
    7: ("distributed", [70, 80, 85, 90, 93, 95], 60),
    500: ("distributed", [70, 80, 85, 90, 93, 95], 60),
}


@pytest.mark.parametrize("nodes", sorted(TIERS))
def test_tier_table(nodes):
    tier, pct, check = TIERS[nodes]
    t = eos.thresholds(nodes)
    assert t["tier"] == tier
    assert [t[k] for k in LEVELS] == pct
    assert t["check_interval"] == check
    assert t["node_count"] == nodes
    assert t["hysteresis"] == 3.0


def test_default_node_count_is_single():
    assert eos.thresholds()["tier"] == "single"


@pytest.mark.parametrize("nodes", [0, -3, True, "3", 1.5, 2**80])
def test_bad_node_count_refused_quoting_it(nodes):
    with pytest.raises(OSError) as exc:
        eos.thresholds(nodes)
    assert exc.value.errno == errno.EINVAL
    assert "node_count" in str(exc.value) and repr(nodes) in str(exc.value)


def test_partial_override_merges_with_tier():
    t = eos.thresholds(4, {"warning": 50, "critical": 99.5})
    assert [t[k] for k in LEVELS] == [50, 80, 85, 90, 93, 99.5]
    assert t["tier"] == "medium" and t["check_interval"] == 180


def test_override_interval_and_hysteresis():
    t = eos.thresholds(1, {"check_interval": 30, "hysteresis": 0})
    assert t["check_interval"] == 30 and t["hysteresis"] == 0
    assert t["warning"] == 60


def test_full_override_may_rewrite_every_level():
    new = dict(zip(LEVELS, [10, 20, 30, 40, 50, 100]))
    t = eos.thresholds(7, new)
    assert [t[k] for k in LEVELS] == [10, 20, 30, 40, 50, 100]


@pytest.mark.parametrize(
    "override,quoted",
    [
        ({"critical": 101}, "101"),
        ({"warning": -1}, "-1"),
        ({"compress": 55}, "compress is 55"),            # below warning 60
        ({"warning": 70}, "warning is 70"),              # equal to compress: not strictly increasing
        ({"degraded": 95}, "degraded is 95"),            # above emergency and critical
        ({"cleanup": "high"}, "'high'"),
        ({"cleanup": "75"}, "'75'"),                     # a string, even of digits
        ({"warning": True}, "True"),
        ({"warning": None}, "None"),
        ({"warning": [60]}, "[60]"),
        ({"warnign": 50}, "'warnign'"),
        ({"check_interval": 0}, "0"),
        ({"check_interval": 2.5}, "2.5"),
        ({"hysteresis": 60}, "60"),
        ({"critical": float("nan")}, "nan"),
        ({5: 50}, "5"),
    ],
)
def test_bad_override_refused_with_clear_message(override, quoted):
    with pytest.raises(OSError) as exc:
        eos.thresholds(1, override)
    assert exc.value.errno == errno.EINVAL
    msg = str(exc.value)
    assert "eos:storage:thresholds" in msg
    assert quoted in msg


@pytest.mark.parametrize("bad", ["warning=50", [("warning", 50)], 42])
def test_override_must_be_a_mapping(bad):
    with pytest.raises(OSError) as exc:
        eos.thresholds(1, bad)
    assert exc.value.errno == errno.EINVAL
    assert repr(bad) in str(exc.value)


@pytest.mark.parametrize(
    "pct,level",
    [(0, "ok"), (59.99, "ok"), (60, "warning"), (69.9, "warning"), (70, "compress"), (75, "cleanup"),
     (80, "degraded"), (85, "emergency"), (90, "critical"), (100, "critical")],
)
def test_level_without_hysteresis(pct, level):
    assert eos.level(pct) == level


def test_level_uses_tier_and_override():
    assert eos.level(62, node_count=2) == "ok"
    assert eos.level(62, node_count=2, thresholds={"warning": 62}) == "warning"


@pytest.mark.parametrize(
    "pct,previous,band,level",
    [
        (76, "ok", 3, "cleanup"),            # rising: takes the level at once
        (91, "warning", 3, "critical"),
        (74, "cleanup", 3, "cleanup"),       # 1 point below cleanup (75): stays
        (72.01, "cleanup", 3, "cleanup"),
        (72, "cleanup", 3, "compress"),      # 3 points below: leaves cleanup, stays compress (70)
        (66, "cleanup", 3, "warning"),       # 4 below compress: leaves it too
        (40, "critical", 3, "ok"),           # far below: back to ok at once
        (58, "warning", 3, "warning"),
        (56.5, "warning", 3, "ok"),
        (74, "cleanup", 0, "compress"),      # band 0: no hysteresis
        (66, "cleanup", 10, "cleanup"),      # a wide band
        (65, "cleanup", 10, "compress"),     # band 10: 65 leaves cleanup; compress (70) holds to 60
        (59, "cleanup", 10, "warning"),      # ... and warning (60) holds down to 50
    ],
)
def test_hysteresis(pct, previous, band, level):
    assert eos.level(pct, previous=previous, band=band) == level


def test_hysteresis_band_from_thresholds():
    assert eos.level(73, previous="cleanup") == "cleanup"  # default band 3
    assert eos.level(73, previous="cleanup", thresholds={"hysteresis": 1}) == "compress"


def test_level_bad_previous_and_band():
    with pytest.raises(OSError, match="'cleanupp'"):
        eos.level(50, previous="cleanupp")
    with pytest.raises(OSError, match="-1"):
        eos.level(50, previous="ok", band=-1)


def test_growth_linear():
    t0 = 1.7e9
    samples = [(t0 + h * 3600, (10 << 30) + h * (5 << 20)) for h in range(24)]
    g = eos.growth(samples, avail=500 << 20)
    assert g["samples"] == 24
    assert g["span_seconds"] == 23 * 3600
    assert g["bytes_per_hour"] == 5 << 20
    assert g["seconds_to_full"] == 100 * 3600


def test_growth_least_squares_on_noisy_samples():
    # used = a + b t + noise with zero sum and zero correlation with t: slope b exactly.
    t0 = 1.7e9
    noise = [300, -300, -300, 300]
    samples = [(t0 + i * 600, 1_000_000 + i * 600 * 50 + noise[i]) for i in range(4)]
    g = eos.growth(samples, avail=3_600_000)
    assert g["bytes_per_hour"] == pytest.approx(50 * 3600, abs=0.01)
    assert g["seconds_to_full"] == 3_600_000 // 50


def test_growth_window_keeps_recent_samples():
    t0 = 1.7e9
    # Flat for a day, then 1 MiB/h for the last 6 hours.
    samples = [(t0 + h * 3600, 1 << 30) for h in range(24)]
    samples += [(t0 + (24 + h) * 3600, (1 << 30) + (h + 1) * (1 << 20)) for h in range(6)]
    g = eos.growth(samples, avail=1 << 30, window=5 * 3600)
    assert g["samples"] == 6
    assert g["bytes_per_hour"] == pytest.approx(1 << 20)
    assert eos.growth(samples, avail=1 << 30, window=30 * 86400)["bytes_per_hour"] < (1 << 20) / 2


def test_growth_not_growing_has_no_time_to_full():
    t0 = 1.7e9
    shrinking = [(t0 + i * 60, 1000 - i) for i in range(10)]
    g = eos.growth(shrinking, avail=10)
    assert g["bytes_per_hour"] == -60 and g["seconds_to_full"] is None
    flat = [(t0 + i * 60, 1000) for i in range(10)]
    g = eos.growth(flat, avail=10)
    assert g["bytes_per_hour"] == 0 and g["seconds_to_full"] is None


def test_growth_needs_two_distinct_times():
    assert eos.growth([], avail=1) == {"samples": 0, "span_seconds": 0, "bytes_per_hour": None,
                                       "seconds_to_full": None}
    assert eos.growth([(1.7e9, 5)], avail=1)["bytes_per_hour"] is None
    assert eos.growth([(1.7e9, 5), (1.7e9, 9)], avail=1)["bytes_per_hour"] is None


def test_growth_bad_samples():
    with pytest.raises(TypeError):
        eos.growth([(1.7e9,)])
    with pytest.raises(TypeError):
        eos.growth(5)


def test_samples_file_feeds_analyze(tmp_path):
    """Samples recorded in the cache give analyze its growth rate (mount /, read only)."""
    cache = tmp_path / "cache"
    now = time.time()
    for h in range(6):
        eos.record_sample(cache, "/", (1 << 30) + h * (10 << 20), 100 << 30, now - (5 - h) * 3600)
    r = eos.analyze(cache, path="/", record=False)
    (m,) = r["mounts"]
    assert m["target"] == "/"
    assert m["growth"]["samples"] == 6
    assert m["growth"]["bytes_per_hour"] == pytest.approx(10 << 20)
    assert m["growth"]["seconds_to_full"] == pytest.approx(m["avail"] / (10 << 20) * 3600, rel=1e-6)
    path = cache / "eos" / "samples" / "-"
    assert len(path.read_text().splitlines()) == 6
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_samples_file_is_bounded(tmp_path):
    cache = tmp_path / "cache"
    now = time.time()
    for i in range(3000):
        eos.record_sample(cache, "/srv/data", i, 1 << 40, now - 3000 + i)
    path = cache / "eos" / "samples" / "srv-data"
    lines = path.read_text().splitlines()
    assert 1000 <= len(lines) <= 2100
    assert lines[-1].split()[1] == "2999"
    assert os.path.getsize(path) <= 64 * 1024 + 100


def test_record_sample_bad_cachedir(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(NotADirectoryError) as exc:
        eos.record_sample(f, "/", 1, 2, 3.0)
    assert str(f) in str(exc.value)


def test_analyze_missing_path_names_it(tmp_path):
    missing = tmp_path / "no such dir"
    with pytest.raises(FileNotFoundError) as exc:
        eos.analyze(path=missing)
    assert str(missing) in str(exc.value)


def _mountinfo_line(mid, target, fstype, source, dev="0:99", root="/"):
    return f"{mid} 1 {dev} {root} {target} rw - {fstype} {source} rw\n"


def test_analyze_skips_virtual_and_hidden_mounts(tmp_path):
    """A synthetic mountinfo over real directories: proc/sysfs are skipped, a mount hidden by a
    later one on the same mount point is skipped, bind mounts of one filesystem appear once."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    mi = tmp_path / "mountinfo"
    mi.write_text(
        _mountinfo_line(1, "/proc", "proc", "proc", "0:5")
        + _mountinfo_line(2, str(a), "tmpfs", "first", "0:50")
        + _mountinfo_line(3, str(a), "tmpfs", "second", "0:51")
        + _mountinfo_line(4, str(b), "ext4", "/dev/bind", "7:9", root="/sub")
        + _mountinfo_line(5, "/", "ext4", "/dev/bind", "7:9")
        + _mountinfo_line(6, "/sys", "sysfs", "sysfs", "0:6")
    )
    r = eos.analyze(mountinfo=mi, record=False)
    got = [(m["target"], m["source"]) for m in r["mounts"]]
    assert got == [(str(a), "second"), ("/", "/dev/bind")]
    for m in r["mounts"]:
        assert m["error"] is None and m["size"] > 0
        assert m["recommendation"]["action"] in ("none", "expand", "cleanup")


def test_analyze_reports_unreadable_mount(tmp_path):
    mi = tmp_path / "mountinfo"
    mi.write_text(_mountinfo_line(1, str(tmp_path / "gone"), "xfs", "/dev/x", "7:99"))
    (m,) = eos.analyze(mountinfo=mi, record=False)["mounts"]
    assert "statvfs" in m["error"] and "No such file" in m["error"]
    assert "level" not in m
