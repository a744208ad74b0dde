"""eos.expand through the binding without devices: refusals quote the input and create
nothing; the capability probes answer with their reasons."""
import errno

import pytest

import eos


@pytest.mark.parametrize("size, words", [
    ("-5G", "never shrinks"), ("0", "zero"), ("+0", "zero"), ("garbage", "no number"),
    ("12Q", "unknown unit"), ("150%FREE", "1 to 100"),
])
def test_bad_sizes(tmp_path, size, words):
    state = tmp_path / "state"
    with pytest.raises(OSError) as exc:
        eos.expand("/", size, state_dir=str(state))
    assert exc.value.errno == errno.EINVAL
    assert f"'{size}'" in str(exc.value) and words in str(exc.value)
    assert not state.exists()


@pytest.mark.parametrize("target, code, words", [
    ("vg0/lv1; rm -rf /", errno.EINVAL, "expected a mount point, a block device or vg/lv"),
    ("vg0/lv1;reboot", errno.EINVAL, "LVM names may contain only"),
    ("-vg/lv", errno.EINVAL, "may not start with -"),
    ("garbage", errno.EINVAL, "unknown target"),
    ("/no/such/eos/path", errno.ENOENT, "does not exist"),
    ("/proc/self/status", errno.EINVAL, "neither a mount point nor a block device"),
    ("/proc", errno.EINVAL, "to a block device"),
])
def test_bad_targets(tmp_path, target, code, words):
    state = tmp_path / "state"
    with pytest.raises(OSError) as exc:
        eos.expand(target, state_dir=str(state))
    assert exc.value.errno == code
    assert f"'{target}'" in str(exc.value) and words in str(exc.value)
    assert not state.exists()


def test_directory_that_is_not_a_mount(tmp_path):
    with pytest.raises(OSError) as exc:
        eos.expand(str(tmp_path), state_dir=str(tmp_path / "state"))
    assert f"'{tmp_path}' is not a mount point" in str(exc.value)


def test_arguments_are_checked():
    with pytest.raises(TypeError):
        eos.expand("/")  # no state_dir
    with pytest.raises(TypeError):
        eos.expand("/", state_dir="/tmp", on_event=42)


def test_probes_give_reasons():
    can, why = eos.ext4_can_grow_online()
    assert isinstance(can, bool) and (can or "CAP_SYS_RESOURCE" in why)
    dm, why = eos.lvm_dm_available()
    assert isinstance(dm, bool) and (dm or "no device-mapper driver" in why)
