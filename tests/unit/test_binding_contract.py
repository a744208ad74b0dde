"""The binding's shared pieces: eos.Error (an OSError that also names a second path), the role
names exported from C (eos.ROLES) and the test-build flag."""
import errno

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
