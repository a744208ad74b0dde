"""A real salt-master and salt-minion on 127.0.0.1 (pytest-salt-factories), shared by every
integration test of the session.

- The master serves this repository's salt/ tree as file_roots (base), so `saltutil.sync_all`
  puts the eos execution modules, states, grains, beacons and runners onto the minion, as on a
  real deployment; its pillar root is a per-session directory (`eos_pillar` writes it).
- Ports are free ones picked by salt-factories; daemon ids carry a random suffix and the daemons'
  root lives in a private temporary directory, so runs of other checkouts never clash.
- Both daemons are started by this process, which tests/conftest.py has put into a private mount
  namespace: the minion sees the loop filesystems the tests mount, and they vanish at exit.

Use: `salt_cli.run("eos_storage.probe", minion_tgt=salt_minion.id)`; `.returncode`, `.data`
(the minion's return, parsed from JSON), `.stdout`, `.stderr`.
"""
import os
import shutil
import tempfile

import pytest
import yaml

from tests.support.saltenv import SALT_TREE


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def _skip_reason(config):
    if os.geteuid() != 0:
        return f"the integration minion runs as root (loop devices, mounts); running as uid {os.geteuid()}"
    return config._eos_ns_reason


@pytest.fixture(scope="session")
def salt_factories_default_root_dir():
    """Short root for the daemons (unix socket paths are limited to 108 bytes), removed at the end."""
    root = tempfile.mkdtemp(prefix="eos-it-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def eos_pillar_dir(salt_factories_default_root_dir):
    path = os.path.join(salt_factories_default_root_dir, "pillar")
    os.makedirs(path, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def salt_master(request, salt_factories, eos_pillar_dir):
    reason = _skip_reason(request.config)
    if reason:
        pytest.skip(reason)
    from saltfactories.utils import random_string

    overrides = {
        "interface": "127.0.0.1",
        "file_roots": {"base": [SALT_TREE]},
        "pillar_roots": {"base": [eos_pillar_dir]},
        "fileserver_backend": ["roots"],
        "log_level_logfile": "info",
    }
    master = salt_factories.salt_master_daemon(random_string("eos-master-"), overrides=overrides)
    with master.started(start_timeout=120):
        yield master


@pytest.fixture(scope="session")
def salt_minion(salt_master):
    """The minion, with saltutil.sync_all already done (so eos_* modules are loaded)."""
    from saltfactories.utils import random_string

    overrides = {"log_level_logfile": "info", "enable_fqdns_grains": False}
    minion = salt_master.salt_minion_daemon(random_string("eos-minion-"), overrides=overrides)
    with minion.started(start_timeout=120):
        cli = salt_master.salt_cli(timeout=120)
        ret = cli.run("saltutil.sync_all", minion_tgt=minion.id)
        assert ret.returncode == 0, ret
        minion.sync_all_result = ret.data
        yield minion


@pytest.fixture(scope="session")
def salt_cli(salt_master, salt_minion):
    """`salt` against the session master (JSON output, 120 s timeout)."""
    return salt_master.salt_cli(timeout=120)


@pytest.fixture(scope="session")
def salt_key_cli(salt_master):
    return salt_master.salt_key_cli()


@pytest.fixture
def eos_pillar(salt_cli, salt_minion, eos_pillar_dir):
    """Call eos_pillar({"eos": {...}}) to make that the minion's whole pillar (refreshed at once);
    the pillar is emptied again after the test."""

    def write(data):
        with open(os.path.join(eos_pillar_dir, "top.sls"), "w") as f:
            yaml.safe_dump({"base": {"*": ["eos"]}}, f)
        with open(os.path.join(eos_pillar_dir, "eos.sls"), "w") as f:
            yaml.safe_dump(data, f)
        ret = salt_cli.run("saltutil.refresh_pillar", "wait=True", minion_tgt=salt_minion.id)
        assert ret.returncode == 0, ret

    yield write
    for name in ("top.sls", "eos.sls"):
        try:
            os.unlink(os.path.join(eos_pillar_dir, name))
        except FileNotFoundError:
            pass
    salt_cli.run("saltutil.refresh_pillar", "wait=True", minion_tgt=salt_minion.id)
