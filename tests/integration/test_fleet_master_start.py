"""The fleet's master as README "A larger fleet" lays it out (tests/support/fleet.py), at the
moment a fleet starts: each request worker of a Salt 3008 master builds six MasterMinions while
it starts (ClearFuncs, AESFuncs, their LocalClients and RemoteFuncs), each computing the master's
own grains. Without grains_cache that is six grain runs per worker (with enable_fqdns_grains, a
reverse lookup of every address each time), ~50 s per worker on a busy 2-core host, and every
minion starting meanwhile waited ~60 s for its first pillar behind a worker still loading. With
the fleet's settings the master computes its grains once and every worker reads them.

bench/bench_fleet.py measures the whole start at N minions."""
import os
import time

import pytest

from tests.support import fleet as fleetlib

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

UP = 240  # bound for the master to come up on a loaded 2-core machine
WORKERS = 3
MINIONS_PER_WORKER = 6  # the MasterMinions one worker builds as it starts (Salt 3008)
LOG_LAG = 60  # bound for the log listener to write what the workers logged


def test_master_workers_reuse_the_grains_computed_once(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip(f"the fleet's daemons run as root; running as uid {os.geteuid()}")
    fl = fleetlib.Fleet(str(tmp_path_factory.mktemp("fleetmaster")), pillar={"eos": {}}, log_level="debug")
    try:
        master = fl.master("eos-fleet-warm", {"worker_threads": WORKERS})
        fleetlib.wait_for_master(master, UP)
        fleetlib.wait_for_workers(master, UP)
        # Every worker answered a request, so each built its MasterMinions; all but the first
        # grain run of the master (and of a worker racing it before the cache file existed) read
        # the cache. On a loaded host the file lags behind (the daemons log through Salt's log
        # listener process, and a worker the router passed over may still be loading): CI once
        # read 9 of the 18 lines at this point. Read until all are in.
        deadline = time.monotonic() + LOG_LAG
        while True:
            with open(master.conf["log_file"], encoding="utf-8", errors="replace") as f:
                log = f.read()
            cached = log.count("Retrieving grains from cache")
            computed = log.count("Grains cache file does not exist")
            if cached >= WORKERS * MINIONS_PER_WORKER - computed or time.monotonic() > deadline:
                break
            time.sleep(1)
    finally:
        assert not fl.stop()
    assert master.conf["grains_cache"] is True and master.conf["enable_fqdns_grains"] is False
    assert os.path.exists(os.path.join(master.conf["cachedir"], "grains.cache.p"))
    assert cached >= WORKERS * MINIONS_PER_WORKER - computed, (cached, computed)
    assert computed <= WORKERS + 1, (cached, computed)
