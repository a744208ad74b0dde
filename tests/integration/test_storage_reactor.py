"""End to end on a real master and minion: the eos_storage beacon fires
eos/storage/threshold/<level>, the master's reactor (salt/reactor/storage_threshold.sls) runs
eos_storage.cleanup on the minion for cleanup, escalates critical to eos/storage/escalation,
expands at emergency, and at degraded stops the node's non-critical services (real init-script
services, tests/support/initd.py) until the recovery starts them again; usage goes back under
the level and the beacon reports the recovery."""
import os
import time

import pytest
import yaml
from saltfactories.utils import random_string

from tests.functional.test_beacon_storage import set_usage
from tests.support import initd
from tests.support.saltenv import SALT_TREE

pytestmark = [pytest.mark.integration]

MiB = 1 << 20
OLD = time.time() - 10 * 86400


@pytest.fixture
def fs(loops):
    loop = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(loop, options="allocsize=64k")
    os.makedirs(os.path.join(mnt, "scratch"))
    return mnt


@pytest.fixture
def master(salt_factories, tmp_path, fs):
    pillar = tmp_path / "pillar"
    pillar.mkdir()
    (pillar / "top.sls").write_text(yaml.safe_dump({"base": {"*": ["eos"]}}))
    rules = [{"path": os.path.join(fs, "scratch"), "older_than_days": 7}]
    (pillar / "eos.sls").write_text(yaml.safe_dump({"eos": {"storage": {"cleanup": rules}}}))
    overrides = {
        "interface": "127.0.0.1",
        "file_roots": {"base": [SALT_TREE]},
        "pillar_roots": {"base": [str(pillar)]},
        "reactor": [{"eos/storage/threshold/*": ["salt://reactor/storage_threshold.sls"]}],
    }
    factory = salt_factories.salt_master_daemon(random_string("eos-react-master-"), overrides=overrides)
    with factory.started():
        yield factory


@pytest.fixture
def minion(master, fs):
    overrides = {
        "beacons_dirs": [os.path.join(SALT_TREE, "_beacons")],
        "module_dirs": [os.path.join(SALT_TREE, "_modules")],
        # No Salt "interval" (see test_beacon_events): checked every second.
        "beacons": {"eos_storage": [{"mounts": [fs]}, {"thresholds": {"check_interval": 1}}]},
    }
    factory = master.salt_minion_daemon(random_string("eos-react-minion-"), overrides=overrides)
    with factory.started():
        yield factory


def wait(event_listener, master, since, tag, timeout=90):
    res = event_listener.wait_for_events([(master.id, tag)], after_time=since, timeout=timeout)
    assert res.found_all_events, f"no {tag} within {timeout}s"
    return list(res.matches)


def usage_pct(mnt):
    st = os.statvfs(mnt)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    return used * 100 / (used + st.f_bavail * st.f_frsize)


def old_file(path, size):
    with open(path, "wb") as f:
        f.write(b"\x11" * size)
    os.utime(path, (OLD, OLD))


def test_threshold_reactor_cleans_and_escalates(master, minion, fs, event_listener):
    levels = os.path.join(minion.config["cachedir"], "eos", "beacon_levels.json")
    deadline = time.time() + 60
    while not os.path.exists(levels):
        assert time.time() < deadline, "the beacon never ran"
        time.sleep(0.5)

    # Critical: escalated to a human, nothing deleted.
    start = time.time()
    keep = os.path.join(fs, "scratch", "old-but-critical")
    old_file(keep, 8 * MiB)
    set_usage(fs, 92)
    wait(event_listener, master, start, "eos/storage/threshold/critical")
    (esc,) = wait(event_listener, master, start, "eos/storage/escalation")
    assert esc.data["id"] == minion.id and esc.data["target"] == fs and esc.data["level"] == "critical"
    time.sleep(3)
    assert os.path.exists(keep), "something was deleted at critical"

    # Back to 50 % (the recovery), then old files in the cleanable directory push it past
    # cleanup (75 %).
    t1 = time.time()
    set_usage(fs, 50)
    wait(event_listener, master, t1, "eos/storage/threshold/ok")
    os.unlink(keep)
    fresh = os.path.join(fs, "scratch", "fresh")
    with open(fresh, "wb") as f:
        f.write(b"\x22" * MiB)
    old = []
    t2 = time.time()
    while usage_pct(fs) < 77:
        p = os.path.join(fs, "scratch", f"old{len(old)}")
        old_file(p, 8 * MiB)
        old.append(p)
    (ev,) = wait(event_listener, master, t2, "eos/storage/threshold/cleanup")
    assert ev.data["data"]["target"] == fs
    # The reactor's cleanup removes the old files; the beacon then reports the recovery.
    wait(event_listener, master, ev.stamp.timestamp(), "eos/storage/threshold/ok")
    assert not [p for p in old if os.path.exists(p)]
    assert os.path.exists(fresh) and os.path.exists(os.path.join(fs, "data"))
    assert usage_pct(fs) < 57


@pytest.fixture
def growable(loops):
    """An XFS on a loop device whose backing file has room to grow into (an expansion path)."""
    loop = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(loop, options="allocsize=64k")
    loop.grow_backing(1024 * MiB)
    return loop, mnt


@pytest.fixture
def emergency_minion(master, growable):
    overrides = {
        "beacons_dirs": [os.path.join(SALT_TREE, "_beacons")],
        "module_dirs": [os.path.join(SALT_TREE, "_modules")],
        "beacons": {"eos_storage": [{"mounts": [growable[1]]}, {"thresholds": {"check_interval": 1}}]},
    }
    factory = master.salt_minion_daemon(random_string("eos-react-minion-"), overrides=overrides)
    with factory.started():
        yield factory


def test_emergency_expands_when_a_path_exists(master, emergency_minion, growable, event_listener):
    loop, mnt = growable
    levels = os.path.join(emergency_minion.config["cachedir"], "eos", "beacon_levels.json")
    deadline = time.time() + 60
    while not os.path.exists(levels):
        assert time.time() < deadline, "the beacon never ran"
        time.sleep(0.5)
    size_before = os.statvfs(mnt).f_blocks * os.statvfs(mnt).f_frsize
    start = time.time()
    set_usage(mnt, 87)
    (ev,) = wait(event_listener, master, start, "eos/storage/threshold/emergency")
    assert ev.data["data"]["target"] == mnt
    # The reactor runs eos_storage.emergency: analyze finds the loop file's room, expand grows
    # loop device and XFS, and the beacon sees usage fall back under the warning level.
    wait(event_listener, master, start, "eos/storage/expand/done")
    wait(event_listener, master, ev.stamp.timestamp(), "eos/storage/threshold/ok")
    st = os.statvfs(mnt)
    assert st.f_blocks * st.f_frsize > size_before
    assert usage_pct(mnt) < 57  # size auto: under the warning level (60) less its margin
    assert os.path.exists(os.path.join(mnt, "data"))  # nothing deleted


@pytest.fixture
def services(tmp_path, request):
    reason = request.config._eos_ns_reason
    if reason:
        pytest.skip(reason)
    d = initd.InitD(str(tmp_path / "services"))
    yield d
    d.close()


@pytest.fixture
def degraded_minion(master, fs, services, tmp_path):
    """A minion holding the app role, whose pillar lists one real, running service as
    non-critical for app (and one for a role it does not hold)."""
    mid = random_string("eos-react-minion-")
    worker = services.install("eos-test-worker")
    other = services.install("eos-test-indexer")
    pillar = tmp_path / "pillar" / "eos.sls"  # the master fixture's pillar
    with open(pillar) as f:
        data = yaml.safe_load(f)
    data["eos"]["roles"] = {mid: ["app"]}
    data["eos"]["storage"]["degraded"] = {"services": {"app": [worker], "data": [other]}}
    with open(pillar, "w") as f:
        yaml.safe_dump(data, f)
    overrides = {
        "beacons_dirs": [os.path.join(SALT_TREE, "_beacons")],
        "module_dirs": [os.path.join(SALT_TREE, "_modules")],
        "beacons": {"eos_storage": [{"mounts": [fs]}, {"thresholds": {"check_interval": 1}}]},
        **initd.SALT_PROVIDERS,
    }
    factory = master.salt_minion_daemon(mid, overrides=overrides)
    with factory.started():
        yield factory, worker, other


def wait_until(pred, what, timeout=60):
    deadline = time.time() + timeout
    while not pred():
        assert time.time() < deadline, f"{what} within {timeout}s"
        time.sleep(0.5)


def test_degraded_stops_noncritical_services_until_recovery(master, degraded_minion, fs, services,
                                                            event_listener):
    minion, worker, other = degraded_minion
    levels = os.path.join(minion.config["cachedir"], "eos", "beacon_levels.json")
    wait_until(lambda: os.path.exists(levels), "the beacon ran")
    pid = services.pid(worker)

    start = time.time()
    set_usage(fs, 82)
    (ev,) = wait(event_listener, master, start, "eos/storage/threshold/degraded")
    assert ev.data["data"]["target"] == fs
    # The reactor stops the app role's non-critical service, and only that one.
    wait_until(lambda: not services.running(worker), "the worker stopped")
    assert services.running(other)
    record = os.path.join(minion.config["cachedir"], "eos", "stopped_services.json")
    wait_until(lambda: os.path.exists(record), "the stop recorded")

    # Back under the band: the recovery starts it again (a new process).
    t1 = time.time()
    set_usage(fs, 50)
    (ok,) = wait(event_listener, master, t1, "eos/storage/threshold/ok")
    assert ok.data["data"]["previous"] == "degraded"
    wait_until(lambda: services.running(worker), "the worker started again")
    assert services.pid(worker) != pid
    assert os.path.exists(os.path.join(fs, "data"))
