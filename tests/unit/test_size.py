"""The size parser through the binding (no root, no devices)."""
import errno

import pytest

import eos


@pytest.mark.parametrize(
    "text,kind,nbytes",
    [("+50G", "grow_by", 50 << 30), ("200GiB", "absolute", 200 << 30), ("1.5T", "absolute", 3 << 39),
     ("10mb", "absolute", 10 << 20), ("4096", "absolute", 4096), ("max", "max", 0), ("auto", "auto", 0)],
)
def test_parse_size_accepts(text, kind, nbytes):
    r = eos.parse_size(text)
    assert r["kind"] == kind
    assert r["bytes"] == nbytes


def test_parse_size_percent_free():
    assert eos.parse_size("100%FREE") == {"kind": "pct_free", "bytes": 0, "pct": 100}


@pytest.mark.parametrize("text", ["", "-5G", "0", "+0", "G", "12Q", "101%FREE", "50%", "vg0/lv1; rm -rf /",
                                  "99999999999999999999999", "1.G"])
def test_parse_size_rejects_and_quotes(text):
    with pytest.raises(OSError) as exc:
        eos.parse_size(text)
    assert exc.value.errno == errno.EINVAL
    assert repr(text)[1:-1] in str(exc.value) or text in str(exc.value)


def test_run_uses_no_shell():
    status, out, err = eos.run(["echo", "a;b", "$(id)"])
    assert status == 0 and out == b"a;b $(id)\n" and err == b""


def test_run_timeout_and_missing_program():
    with pytest.raises(TimeoutError):
        eos.run(["sleep", "5"], timeout_ms=100)
    with pytest.raises(FileNotFoundError) as exc:
        eos.run(["eos-no-such-program"])
    assert exc.value.filename == "eos-no-such-program"
