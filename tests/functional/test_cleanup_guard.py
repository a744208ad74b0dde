"""The cleanup guard through `salt-call --local` (issue 10): rules below system trees are refused
unless pillar eos:storage:cleanup_allow names that exact directory, the default rules keep
working, and a file with another hard link is never removed (its other name may live outside
the rule)."""
import os
import shutil
import uuid

import pytest

OLD = 1_000_000_000  # 2001


def old_file(path, data=b"x" * 4096):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (OLD, OLD))


@pytest.fixture
def srv_scratch():
    """A directory of old files below /srv (a system tree), removed afterwards."""
    if not os.path.isdir("/srv") or not os.access("/srv", os.W_OK):
        pytest.skip("/srv is missing or not writable here: no directory below a system tree to test with")
    d = f"/srv/eos-guard-{uuid.uuid4().hex[:8]}"
    old_file(os.path.join(d, "a.tmp"))
    old_file(os.path.join(d, "keep.conf"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_default_rules_still_plan(salt_local):
    salt_local.pillar({"eos": {}})
    for level in ("cleanup", "emergency"):
        r = salt_local.call("eos_storage.cleanup", level, "test=True")
        assert r.returncode == 0, r
        assert r.data["test"] is True and "links" in r.data["skipped"], r.data


def test_below_a_system_tree_only_by_exact_exception(salt_local, srv_scratch):
    rules = [{"path": srv_scratch, "match": "*.tmp", "older_than_days": 1}]
    salt_local.pillar({"eos": {"storage": {"cleanup": rules}}})
    r = salt_local.call("eos_storage.cleanup")
    assert r.returncode != 0, r
    out = r.stdout + r.stderr
    assert f"'{srv_scratch}'" in out and "below the system tree '/srv'" in out, out
    assert "eos:storage:cleanup_allow" in out
    assert sorted(os.listdir(srv_scratch)) == ["a.tmp", "keep.conf"]

    # The parent is not the exact path; neither is a child.
    for allow in (["/srv"], [os.path.join(srv_scratch, "sub")]):
        salt_local.pillar({"eos": {"storage": {"cleanup": rules, "cleanup_allow": allow}}})
        r = salt_local.call("eos_storage.cleanup")
        assert r.returncode != 0 and f"'{srv_scratch}'" in r.stdout + r.stderr, r
        assert sorted(os.listdir(srv_scratch)) == ["a.tmp", "keep.conf"]

    # Named exactly (with a trailing slash: normalised), it is cleaned as the rule says.
    salt_local.pillar({"eos": {"storage": {"cleanup": rules, "cleanup_allow": [srv_scratch + "/"]}}})
    r = salt_local.call("eos_storage.cleanup_rules")
    assert r.returncode == 0 and r.data["allow"] == [srv_scratch + "/"], r
    r = salt_local.call("eos_storage.cleanup")
    assert r.returncode == 0, r
    assert r.data["removed"] == 1 and [p["path"] for p in r.data["plan"]] == [f"{srv_scratch}/a.tmp"]
    assert os.listdir(srv_scratch) == ["keep.conf"]


def test_usr_lib_and_home_with_any_name_and_no_age_are_refused(salt_local):
    for path in ("/usr/lib", "/home/alice", "/usr/lib/../../home/alice", "/var/lib/dpkg/info"):
        salt_local.pillar({"eos": {"storage": {"cleanup": [{"path": path, "match": "*",
                                                             "older_than_days": 0}]}}})
        r = salt_local.call("eos_storage.cleanup", "test=True")
        assert r.returncode != 0, r
        assert f"refusing to clean '{path}'" in r.stdout + r.stderr, r


def test_rule_through_a_symlink_is_refused(salt_local, tmp_path):
    (tmp_path / "x").symlink_to("/etc")
    path = str(tmp_path / "x")
    salt_local.pillar({"eos": {"storage": {"cleanup": [{"path": path, "match": "*"}]}}})
    r = salt_local.call("eos_storage.cleanup", "test=True")
    assert r.returncode != 0, r
    out = r.stdout + r.stderr
    assert f"'{path}' leads through a symlink (to '/etc')" in out, out


def test_hard_linked_file_is_skipped(salt_local, tmp_path):
    scratch = tmp_path / "scratch"
    outside = tmp_path / "precious"
    outside.mkdir()
    old_file(str(scratch / "linked.tmp"))
    old_file(str(scratch / "alone.tmp"))
    os.link(scratch / "linked.tmp", outside / "data")
    salt_local.pillar({"eos": {"storage": {"cleanup": [{"path": str(scratch), "older_than_days": 1}]}}})
    r = salt_local.call("eos_storage.cleanup")
    assert r.returncode == 0, r
    assert [p["path"] for p in r.data["plan"]] == [str(scratch / "alone.tmp")]
    assert r.data["skipped"]["links"] == 1 and r.data["removed"] == 1
    assert os.path.exists(scratch / "linked.tmp") and os.stat(outside / "data").st_nlink == 2
