"""eos-bootstrap's argument checks: bad input is refused with a message quoting it, before
anything is written."""
import os

import pytest

from eos.bootstrap import cli, join
from eos.bootstrap.proc import BootstrapError

GOOD = ":".join(["ab"] * 32)


def test_bad_fingerprint_is_refused_quoting_it(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["join", "10.0.0.1", "--root", str(tmp_path), "--master-fingerprint", "ab:cd"])
    assert exc.value.code == 2
    assert "'ab:cd' is not a sha256 fingerprint" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_master_or_discovery_not_both(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["join", "10.0.0.1", "--auto-discover", "--root", str(tmp_path), "--master-fingerprint", GOOD])
    assert "either MASTER[:PORT] or --auto-discover" in capsys.readouterr().err


@pytest.mark.parametrize("text, want", [("10.0.0.1", ("10.0.0.1", 4506)), ("m1:4606", ("m1", 4606))])
def test_parse_master(text, want):
    assert join.parse_master(text, 4506) == want


@pytest.mark.parametrize("text", ["m1:http", "m1:0", "m1:70000"])
def test_parse_master_refuses(text):
    with pytest.raises(BootstrapError, match=repr(text).replace("[", r"\[")):
        join.parse_master(text, 4506)


def test_rollback_without_bootstrap(tmp_path, capsys):
    assert cli.main(["rollback", "--root", str(tmp_path)]) == 1
    assert "nothing to roll back" in capsys.readouterr().err
