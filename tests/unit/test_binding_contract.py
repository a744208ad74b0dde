"""The binding's shared pieces: eos.Error (an OSError that also names a second path), the role
names exported from C (eos.ROLES) and the test-build flag."""
import errno
import os

import pytest

import eos


def test_errors_are_eos_errors_and_the_errno_subclass():
    with pytest.raises(eos.Error) as exc:
        eos.btrfs_subvolume_show("/nonexistent/eos/path")
    err = exc.value
    assert isinstance(err, FileNotFoundError) and isinstance(err, OSError)
    assert type(err) is eos.FileNotFoundError and issubclass(eos.FileNotFoundError, eos.Error)
    assert err.errno == errno.ENOENT and err.filename == "/nonexistent/eos/path"
    assert err.filename2 is None


def test_an_errno_without_a_subclass_is_a_plain_eos_error():
    with pytest.raises(eos.Error) as exc:
        eos.btrfs_compression_check("lz4")
    assert type(exc.value) is eos.Error and exc.value.errno == errno.EINVAL and "lz4" in str(exc.value)


def test_roles_come_from_the_library():
    assert eos.ROLES == ("monolith", "edge", "core", "data", "message", "observe", "compute", "app")
    # The same names the role calculation gives back.
    rules = eos.roles_rules(3)
    assert set(rules) <= set(eos.ROLES)


def test_test_hooks_flag_is_a_bool():
    assert eos.TEST_HOOKS in (True, False)


# The dicts the field tables (csrc/py/fields.c) build: keys in order and value types, for the
# bindings no other unit test looks into.

def _types(d):
    return {k: type(v).__name__ for k, v in d.items()}


def test_health_clock_and_disk():
    assert _types(eos.health_clock()) == {"synchronized": "bool", "state": "int", "offset_ns": "int",
                                          "maxerror_us": "int", "esterror_us": "int"}
    disk = eos.health_disk("/")
    assert list(disk) == ["size", "avail", "free", "used"] and disk["size"] >= disk["free"] >= disk["avail"]


def test_provision_recommend():
    rec = eos.provision_recommend("database")
    assert list(rec) == ["reasons", "workload", "fstype", "mount_options", "handover", "lvm"]
    assert rec["workload"] == "database" and rec["handover"] is None and rec["reasons"]
    assert all(isinstance(r, str) for r in rec["reasons"])
    if rec["lvm"] is not None:
        assert list(rec["lvm"]) == ["used", "device_mapper", "reason"] and rec["lvm"]["used"] is False
    assert isinstance(eos.provision_recommend("shared")["handover"], str)  # handed to the Ceph work


def test_copy_and_cleanup_results(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "a").mkdir(parents=True)
    dst.mkdir()
    for i in range(3):
        (src / "a" / f"f{i}.log").write_bytes(b"x" * 5000 * (i + 1))
    keys = ["files", "dirs", "symlinks", "hardlinks", "specials", "xattrs", "bytes", "data_bytes"]
    copied = eos.copy_tree(str(src), str(dst))
    assert list(copied) == keys and copied["files"] == 3 and copied["bytes"] == 30000
    assert eos.copy_verify(str(src), str(dst)) == copied
    for f in (src / "a").iterdir():  # old enough for the rule (after the copy read them)
        os.utime(f, (1000, 1000))
    rules = [{"path": str(src / "a"), "match": "*.log", "older_than_days": 1, "recursive": True}]
    plan = eos.cleanup_plan(rules)
    assert list(plan) == ["items", "bytes", "skipped_open", "skipped_symlinks", "skipped_mounts",
                          "skipped_links"]
    assert [list(x) for x in plan["items"]] == [["path", "bytes", "dev", "ino", "rule"]] * 3
    assert plan["items"][0]["path"] == str(src / "a" / "f0.log") and plan["items"][0]["rule"] == 0
    zipped = eos.compress_apply(plan["items"][:1])
    assert list(zipped) == ["compressed", "bytes_before", "bytes_after", "changed", "missing",
                            "open_now", "exists"] and zipped["compressed"] == 1
    removed = eos.cleanup_apply(plan["items"])
    assert removed == {"removed": 2, "removed_bytes": sum(x["bytes"] for x in plan["items"][1:]),
                       "changed": 0, "missing": 1, "open_now": 0}
    assert list(removed) == ["removed", "removed_bytes", "changed", "missing", "open_now"]
