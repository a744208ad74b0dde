"""The eos_storage beacon in a real salt-minion connected to a real salt-master (127.0.0.1, free
ports): filling a real loop-backed filesystem puts eos/storage/threshold/<level> on the
master's event bus, once per crossing, and the recovery when it is emptied."""
import json
import os
import time

import pytest
from saltfactories.utils import random_string

from tests.functional.test_beacon_storage import set_usage
from tests.support.saltenv import SALT_TREE

pytestmark = [pytest.mark.integration]

MiB = 1 << 20


@pytest.fixture(scope="module")
def master(salt_factories):
    overrides = {
        "interface": "127.0.0.1",
        "file_roots": {"base": [SALT_TREE]},
        "log_level_logfile": "info",
    }
    factory = salt_factories.salt_master_daemon(random_string("eos-beacon-master-"), overrides=overrides)
    with factory.started():
        yield factory


@pytest.fixture
def minion(master, loops):
    loop = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(loop, options="allocsize=64k")
    overrides = {
        "beacons_dirs": [os.path.join(SALT_TREE, "_beacons")],
        "module_dirs": [os.path.join(SALT_TREE, "_modules")],
        "beacons": {
            # No Salt "interval": Salt counts it in loop_interval units (0.05 s under
            # salt-factories) while calling beacons once a second. The beacon runs every second.
            "eos_storage": [
                {"mounts": [mnt]},
                {"thresholds": {"check_interval": 1}},
            ]
        },
        "log_level_logfile": "info",
    }
    factory = master.salt_minion_daemon(random_string("eos-beacon-minion-"), overrides=overrides)
    with factory.started():
        yield factory, mnt


def events(event_listener, master, since, level="*"):
    found = event_listener.get_events([(master.id, f"eos/storage/threshold/{level}")], after_time=since)
    return sorted(found, key=lambda e: e.stamp)


def wait_level(event_listener, master, since, level, timeout=60):
    res = event_listener.wait_for_events([(master.id, f"eos/storage/threshold/{level}")],
                                         after_time=since, timeout=timeout)
    assert res.found_all_events, f"no eos/storage/threshold/{level} within {timeout}s"
    return list(res.matches)


def test_threshold_events_reach_the_master(master, minion, event_listener):
    factory, mnt = minion
    start = time.time()
    # The beacon's first check records the levels in the minion's cache.
    levels = os.path.join(factory.config["cachedir"], "eos", "beacon_levels.json")
    deadline = time.time() + 60
    while not os.path.exists(levels):
        assert time.time() < deadline, "the beacon never ran"
        time.sleep(0.5)
    with open(levels) as f:
        assert json.load(f) == {mnt: "ok"}
    time.sleep(3)  # a few checks at ok: nothing fired
    assert events(event_listener, master, start) == []

    set_usage(mnt, 65)
    (ev,) = wait_level(event_listener, master, start, "warning")
    # A minion's event reaches the master as {"id", "data": <the beacon's figures>, ...}.
    assert ev.data["id"] == factory.id
    data = ev.data["data"]
    assert data["target"] == mnt and data["previous"] == "ok"
    assert data["level"] == "warning" and 64 < data["used_pct"] < 66
    assert data["tier"] == "single" and data["threshold"] == 60

    t1 = time.time()
    set_usage(mnt, 77)
    wait_level(event_listener, master, t1, "cleanup")
    time.sleep(4)  # more checks at the same level: no more events
    got = [e.data["data"]["level"] for e in events(event_listener, master, start)]
    assert got == ["warning", "cleanup"], got

    t2 = time.time()
    set_usage(mnt, 30)
    (ev,) = wait_level(event_listener, master, t2, "ok")
    assert ev.data["data"]["previous"] == "cleanup"
    got = [e.data["data"]["level"] for e in events(event_listener, master, start)]
    assert got == ["warning", "cleanup", "ok"], got
