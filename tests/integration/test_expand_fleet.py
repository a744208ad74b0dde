"""eos_storage.expand and eos_storage.expanded through a real salt-master and salt-minion
(pytest-salt-factories, free ports on 127.0.0.1), with the expand events seen on the master's
bus. The master/minion fixtures here are this module's own minimal ones."""
import os
import time

import pytest

import eos
from tests.support.saltenv import SALT_TREE

MiB = 1 << 20


@pytest.fixture(scope="module")
def expand_master(request, salt_factories, tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip(f"the minion grows loop devices as root; running as uid {os.geteuid()}")
    if request.config._eos_ns_reason:
        pytest.skip(request.config._eos_ns_reason)
    from saltfactories.utils import random_string

    overrides = {
        "interface": "127.0.0.1",
        "file_roots": {"base": [SALT_TREE]},
        "pillar_roots": {"base": [str(tmp_path_factory.mktemp("expand-pillar"))]},
        "fileserver_backend": ["roots"],
    }
    master = salt_factories.salt_master_daemon(random_string("eos-xm-"), overrides=overrides)
    with master.started(start_timeout=120):
        yield master


@pytest.fixture(scope="module")
def expand_minion(expand_master):
    from saltfactories.utils import random_string

    minion = expand_master.salt_minion_daemon(random_string("eos-xn-"),
                                              overrides={"enable_fqdns_grains": False})
    with minion.started(start_timeout=120):
        cli = expand_master.salt_cli(timeout=120)
        ret = cli.run("saltutil.sync_all", minion_tgt=minion.id)
        assert ret.returncode == 0, ret
        yield minion


@pytest.fixture(scope="module")
def expand_cli(expand_master, expand_minion):
    return expand_master.salt_cli(timeout=120)


def xfs_bytes(mountpoint):
    g = eos.xfs_geometry(mountpoint)
    return g["datablocks"] * g["blocksize"]


def test_salt_expand_from_the_master_with_events(loops, expand_cli, expand_minion, expand_master,
                                                 event_listener):
    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    lp.grow_backing(512 * MiB)
    start = time.time()

    ret = expand_cli.run("eos_storage.expand", mnt, "test=True", minion_tgt=expand_minion.id)
    assert ret.returncode == 0, ret
    assert [s["kind"] for s in ret.data["plan"]] == ["loop_capacity", "xfs_grow"]
    assert xfs_bytes(mnt) == 320 * MiB

    ret = expand_cli.run("eos_storage.expand", mnt, minion_tgt=expand_minion.id)
    assert ret.returncode == 0, ret
    assert ret.data["changed"] is True and ret.data["after"] == 512 * MiB == xfs_bytes(mnt)

    tags = [f"eos/storage/expand/{p}" for p in ("started", "step", "done")]
    matched = event_listener.wait_for_events([(expand_master.id, t) for t in tags],
                                             after_time=start, timeout=60)
    assert matched.found_all_events, matched.missed
    done = [e for e in matched if e.tag.endswith("/done")][0]
    data = done.data.get("data", done.data)  # fire_master wraps the payload with the minion id
    assert data["target"] == mnt and data["after"] == 512 * MiB, done.data

    ret = expand_cli.run("eos_storage.expand", mnt, "200M", minion_tgt=expand_minion.id)
    assert ret.returncode != 0 and "'200M'" in str(ret.data) and "never shrinks" in str(ret.data)


def test_expanded_state_through_the_master(loops, expand_cli, expand_minion):
    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    lp.grow_backing(448 * MiB)
    args = ("state.single", "eos_storage.expanded", mnt, "size=max")

    ret = expand_cli.run(*args, "test=True", minion_tgt=expand_minion.id)
    assert ret.returncode == 0, ret
    (st,) = ret.data.values()
    assert st["result"] is None and st["changes"]["after"] == 448 * MiB
    assert xfs_bytes(mnt) == 320 * MiB

    ret = expand_cli.run(*args, minion_tgt=expand_minion.id)
    (st,) = ret.data.values()
    assert ret.returncode == 0 and st["result"] is True and st["changes"], ret
    assert xfs_bytes(mnt) == 448 * MiB

    ret = expand_cli.run(*args, minion_tgt=expand_minion.id)
    (st,) = ret.data.values()
    assert ret.returncode == 0 and st["result"] is True and st["changes"] == {}, ret
