"""Every return of the eos execution modules is valid UTF-8 (msgpack-safe), done in one place:
eos.glue.text_returns wraps each public function of the module as Salt's loader loads it."""
import inspect
import os

import pytest
from salt.exceptions import CommandExecutionError

MODULES = ("eos_storage", "eos_btrfs", "eos_ceph", "eos_cluster")


@pytest.mark.parametrize("name", MODULES)
def test_every_public_function_is_wrapped(loaders, name):
    funcs = {k: loaders.modules[k] for k in list(loaders.modules) if k.startswith(name + ".")}
    assert funcs, f"{name} not loaded"
    for key, loaded in funcs.items():
        fn = getattr(loaded, "func", loaded)
        assert getattr(fn, "__wrapped__", None) is not None, f"{key} returns without eos.glue.text"
        assert inspect.signature(fn) == inspect.signature(fn.__wrapped__), key


def test_eos_ceph_refuses_a_non_utf8_path_with_a_clear_error(loaders, tmp_path):
    # The Ceph binding takes UTF-8 paths only: a surrogate-escaped one is a CommandExecutionError
    # that quotes it (escaped), not a UnicodeEncodeError that breaks the job.
    odd = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"ceph-\xff.conf"))
    with pytest.raises(CommandExecutionError, match=r"not valid UTF-8.*ceph-\\\\xff\.conf"):
        loaders.modules.eos_ceph.status(conf=odd, keyring=str(tmp_path / "keyring"), timeout=5)
    assert not os.path.exists(os.fsencode(odd))
