"""The master/minion harness itself: the repo's salt/ tree reaches the minion through
`saltutil.sync_all`, and `salt`'s exit code tells the truth about what happened on the minion."""
import os

from tests.support.saltenv import SALT_TREE

# salt/<dir> -> the key a minion's saltutil.sync_all reports it under (runners are the
# master's: salt-run saltutil.sync_runners)
SYNC_KINDS = {"_modules": "modules", "_states": "states", "_grains": "grains",
              "_beacons": "beacons"}


def tree_modules(subdir):
    path = os.path.join(SALT_TREE, subdir)
    if not os.path.isdir(path):
        return set()
    return {name[:-3] for name in os.listdir(path) if name.endswith(".py") and not name.startswith("_")}


def test_sync_all_delivers_the_repo_salt_tree(salt_minion):
    synced = salt_minion.sync_all_result
    assert isinstance(synced, dict), synced
    for subdir, kind in SYNC_KINDS.items():
        got = {entry.split(".", 1)[1] for entry in synced.get(kind, [])}
        assert got == tree_modules(subdir), (kind, synced)


def test_success_exits_zero(salt_cli, salt_minion):
    ret = salt_cli.run("test.ping", minion_tgt=salt_minion.id)
    assert ret.returncode == 0, ret
    assert ret.data is True


def test_command_execution_error_on_the_minion_exits_non_zero(salt_cli, salt_minion, tmp_path):
    # file.stats raises CommandExecutionError("Path not found: ...") on the minion; Salt 3008's
    # `salt` exits 1 when any minion's retcode is non-zero (no --retcode-passthrough needed).
    missing = str(tmp_path / "no such file")
    ret = salt_cli.run("file.stats", missing, minion_tgt=salt_minion.id)
    assert ret.returncode == 1, ret
    assert "Minions returned with non-zero exit code" in ret.stderr
    assert f"Path not found: {missing}" in str(ret.data), ret


def test_unknown_function_exits_non_zero(salt_cli, salt_minion):
    ret = salt_cli.run("eos_no_such_module.nothing", minion_tgt=salt_minion.id)
    assert ret.returncode != 0, ret
    assert "is not available" in str(ret.data), ret


def test_no_matching_minion_exits_non_zero(salt_cli):
    ret = salt_cli.run("test.ping", minion_tgt="eos-no-such-minion")
    assert ret.returncode != 0, ret
