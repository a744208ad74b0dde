"""The BTRFS binding's input checks and refusals (no root, no devices: /proc is never btrfs)."""
import errno

import pytest

import eos


@pytest.mark.parametrize("value", ["zstd", "zstd:1", "zstd:15", "zlib", "zlib:9", "lzo", "none"])
def test_compression_check_accepts(value):
    assert eos.btrfs_compression_check(value) is None


@pytest.mark.parametrize("value", ["", "zstd:0", "zstd:16", "zstd:", "zlib:10", "lzo:3", "gzip", "Zstd",
                                   "zstd; rm -rf /", "none:1"])
def test_compression_check_rejects_quoting_input(value):
    with pytest.raises(OSError) as exc:
        eos.btrfs_compression_check(value)
    assert exc.value.errno == errno.EINVAL
    assert f"'{value}'" in str(exc.value)


@pytest.mark.parametrize("call", [
    lambda: eos.btrfs_usage("/proc"),
    lambda: eos.btrfs_subvolume_list("/proc"),
    lambda: eos.btrfs_subvolume_show("/proc"),
    lambda: eos.btrfs_compression_get("/proc"),
    lambda: eos.btrfs_check("/proc"),
])
def test_not_btrfs_is_refused(call):
    with pytest.raises(OSError) as exc:
        call()
    assert exc.value.errno == errno.EINVAL
    assert "/proc is not on a btrfs filesystem" in str(exc.value)
    assert exc.value.filename == "/proc"


@pytest.mark.parametrize("path,err", [("", errno.EINVAL), ("/proc/..", errno.EINVAL), ("/proc/x/", errno.EINVAL),
                                      ("/" + "a" * 256, errno.ENAMETOOLONG)])
def test_bad_subvolume_names(path, err):
    with pytest.raises(OSError) as exc:
        eos.btrfs_subvolume_create(path)
    assert exc.value.errno == err


def test_path_types():
    with pytest.raises(TypeError):
        eos.btrfs_usage(42)
    with pytest.raises(OSError) as exc:  # EINVAL quoting the path, not a bare ValueError
        eos.btrfs_usage("/tmp/a\0b")
    assert exc.value.errno == errno.EINVAL and "'/tmp/a\\x00b'" in str(exc.value)
