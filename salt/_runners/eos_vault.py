"""
Eos's secrets store (OpenBao) from the master: initialise, unseal, rotate, hand out node
tokens, read and write secrets, manage Raft peers.

The unseal keys and the root token exist in one place: a file on the master sealed with the
master's own RSA key (``eos.sealed``; ``<pki_dir>/eos_vault.sealed``, 0600, master option
``eos_vault_sealed_file``). The runner talks to each node's OpenBao API directly over HTTP
(hvac, with a timeout): keys and tokens never travel over Salt's bus, never land in pillar
and are never returned or logged. Node tokens reach the minions as single-use wrapping tokens
(``issue_token``).

Master options (all optional): ``eos_vault_addr`` (the API address used when none is given),
``eos_vault_verify`` (true, false or a CA bundle), ``eos_vault_timeout`` (seconds),
``eos_vault_sealed_file``.
"""
import logging
import os
import time

import salt.client
from salt.exceptions import CommandExecutionError

try:
    from eos import sealed as _sealed
    from eos import vault as _vault
except ImportError as _exc:  # pragma: no cover - depends on the installation
    _UNLOADABLE = f"eos_vault: eos.vault (hvac) cannot be imported: {_exc}"
else:
    _UNLOADABLE = ""

log = logging.getLogger(__name__)

__virtualname__ = "eos_vault"

NODE_POLICY = "eos-node"
NODE_POLICY_HCL = """\
# Written by salt-run eos_vault.init: what a node's token may do (Eos's own secrets only).
path "{mount}/data/eos/*" {{
  capabilities = ["create", "read", "update"]
}}
path "{mount}/metadata/eos/*" {{
  capabilities = ["read", "list"]
}}
"""


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


# --- the sealed record of keys and root token -----------------------------------------------------

def _sealed_path():
    return __opts__.get("eos_vault_sealed_file") or os.path.join(__opts__["pki_dir"],
                                                                 "eos_vault.sealed")


def _master_key(name):
    path = os.path.join(__opts__["pki_dir"], name)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise CommandExecutionError(f"master key {path}: {exc.strerror}") from None


def _load():
    path = _sealed_path()
    if not os.path.exists(path):
        raise CommandExecutionError(f"no sealed OpenBao record at {path}: run salt-run eos_vault.init")
    try:
        return _sealed.unseal(path, _master_key("master.pem"))
    except ValueError as exc:
        raise CommandExecutionError(str(exc)) from None


def _store(record):
    _sealed.seal(_sealed_path(), record, _master_key("master.pub"))


# --- connections ----------------------------------------------------------------------------------

def _opt(name, value, default=None):
    return value if value is not None else __opts__.get(f"eos_vault_{name}", default)


def _addr(addr, record=None):
    addr = _opt("addr", addr) or (record or {}).get("addr")
    if not addr:
        raise CommandExecutionError("no OpenBao address: pass addr=http://host:8200 or set the "
                                    "master option eos_vault_addr")
    return str(addr)


def _connect(addr, record=None, require_unsealed=True, verify=None, timeout=None):
    return _vault.connect(addr, token=(record or {}).get("root_token"),
                          verify=_opt("verify", verify, True), timeout=_opt("timeout", timeout, 10),
                          require_unsealed=require_unsealed)


def _seal_status(addr, verify=None, timeout=None):
    return _vault.seal_status(addr, _opt("verify", verify, True), _opt("timeout", timeout, 10))


def _minion_addrs(minions, timeout=30):
    """{minion: api address} as each minion states it (eos_vault.api_addr; not secret)."""
    if isinstance(minions, str):
        minions = [m.strip() for m in minions.split(",") if m.strip()]
    minions = sorted(set(map(str, minions or [])))
    if not minions:
        return {}
    ret = salt.client.get_local_client(__opts__["conf_file"]).cmd(
        minions, "eos_vault.api_addr", tgt_type="list", timeout=timeout)
    missing = [m for m in minions if not isinstance(ret.get(m), str)]
    if missing:
        raise CommandExecutionError(f"no OpenBao address from {missing} within {timeout} s "
                                    "(eos_vault module not synced, or minion down)")
    bad = {m: ret[m] for m in minions if not ret[m].startswith(("http://", "https://"))}
    if bad:
        raise CommandExecutionError("eos_vault.api_addr failed on " + "; ".join(
            f"{m}: {v.strip().splitlines()[-1][:300] if v.strip() else v!r}" for m, v in sorted(bad.items())))
    return {m: ret[m] for m in minions}


# --- public functions -----------------------------------------------------------------------------

def init(addr=None, shares=5, threshold=3, mount="secret"):
    """
    Initialise the store at ``addr`` (the first core node), keep its unseal keys and root
    token sealed on the master, unseal it, enable kv v2 at ``mount`` and write the
    ``eos-node`` policy. An already initialised store is left alone. Returns no secret.

    CLI Example:

    .. code-block:: bash

        salt-run eos_vault.init addr=http://10.0.0.11:8200
    """
    addr = _addr(addr)
    shares, threshold = int(shares), int(threshold)
    if not 1 <= threshold <= shares <= 10:
        raise CommandExecutionError(f"need 1 <= threshold <= shares <= 10, got {threshold}/{shares}")
    if _seal_status(addr).get("initialized"):
        return {"addr": addr, "initialized": False, "comment": "already initialised"}
    client = _connect(addr, require_unsealed=False)
    ret = _vault.call(client, "initialise", client.sys.initialize, secret_shares=shares,
                      secret_threshold=threshold)
    record = {"addr": addr, "keys": ret["keys"], "root_token": ret["root_token"],
              "shares": shares, "threshold": threshold, "mount": mount}
    _store(record)
    _submit_keys(addr, record)
    client = _connect(addr, record)
    _wait_active(client, addr)
    mounts = _vault.call(client, "list mounts", client.sys.list_mounted_secrets_engines)
    if f"{mount}/" not in (mounts.get("data") or mounts):
        _vault.call(client, f"enable kv v2 at {mount}", client.sys.enable_secrets_engine,
                    backend_type="kv", path=mount, options={"version": "2"})
    _vault.call(client, "write the eos-node policy", client.sys.create_or_update_policy,
                name=NODE_POLICY, policy=NODE_POLICY_HCL.format(mount=mount))
    return {"addr": addr, "initialized": True, "shares": shares, "threshold": threshold,
            "sealed_file": _sealed_path()}


def _wait_active(client, addr, wait=30):
    """A Raft node just unsealed elects itself leader a moment later; until then a write
    answers "local node not active but active cluster node not found" (seen in CI)."""
    deadline = time.monotonic() + float(wait)
    while True:
        try:
            if _vault.call(client, "read the leader status", client.sys.read_leader_status).get("is_self"):
                return
        except CommandExecutionError:
            pass
        if time.monotonic() > deadline:
            raise CommandExecutionError(f"OpenBao at {addr} did not become the active node within {wait} s")
        time.sleep(0.5)


def _submit_keys(addr, record, wait=30):
    """Submit the threshold of unseal keys to addr; a Raft follower finishes unsealing after
    the call returns (it fetches the keyring from the leader), so wait for it, bounded."""
    client = _connect(addr, require_unsealed=False)
    st = _seal_status(addr)
    for key in record["keys"][: record["threshold"]]:
        if not st.get("sealed"):
            break
        st = _vault.call(client, "submit an unseal key", client.sys.submit_unseal_key, key=key)
    deadline = time.monotonic() + float(wait)
    while st.get("sealed") and time.monotonic() < deadline:
        time.sleep(0.5)
        st = _seal_status(addr)
    return st


def unseal(addrs=None, minions=None):
    """
    Unseal the stores at ``addrs`` (a list or comma-separated URLs) and/or those of
    ``minions`` (their ``eos_vault.api_addr``) with the keys sealed on the master; the keys go
    straight from the master to each store's API. A node whose Raft storage is empty joins the
    cluster (retry_join) when unsealed. The explicit action after a core node restarts.

    CLI Example:

    .. code-block:: bash

        salt-run eos_vault.unseal minions=core1,core2,core3
        salt-run eos_vault.unseal addrs=http://10.0.0.12:8200
    """
    record = _load()
    if isinstance(addrs, str):
        addrs = [a.strip() for a in addrs.split(",") if a.strip()]
    targets = {a: a for a in (addrs or [])}
    targets.update({a: m for m, a in _minion_addrs(minions).items()})
    if not targets:
        targets = {record["addr"]: record["addr"]}
    result, failed = {}, {}
    for addr, who in sorted(targets.items()):
        try:
            st = _submit_keys(addr, record)
            result[who] = {"addr": addr, "sealed": bool(st.get("sealed"))}
            if st.get("sealed"):
                failed[who] = f"{addr} still sealed"
        except CommandExecutionError as exc:
            failed[who] = str(exc)
    if failed:
        raise CommandExecutionError("not unsealed: " + "; ".join(f"{k}: {v}" for k, v in sorted(failed.items())))
    return result


def status(addr=None):
    """
    Seal status of the store at ``addr`` and, when the master holds its record, the Raft
    peers (node_id, address, leader, voter).

    CLI Example:

    .. code-block:: bash

        salt-run eos_vault.status
    """
    record = _load() if os.path.exists(_sealed_path()) else {}
    addr = _addr(addr, record)
    st = _seal_status(addr)
    out = {k: st.get(k) for k in ("initialized", "sealed", "t", "n", "version", "storage_type")}
    out["addr"] = addr
    if record and st.get("initialized") and not st.get("sealed"):
        out["peers"] = raft_peers(addr)
    return out


def raft_peers(addr=None):
    """
    The Raft peers of the store at ``addr``: ``[{node_id, address, leader, voter}]``.

    CLI Example:

    .. code-block:: bash

        salt-run eos_vault.raft_peers
    """
    record = _load()
    client = _connect(_addr(addr, record), record)
    ret = _vault.call(client, "read the raft configuration", client.sys.read_raft_config)
    servers = ((ret.get("data") or {}).get("config") or {}).get("servers") or []
    return [{k: s.get(k) for k in ("node_id", "address", "leader", "voter")} for s in servers]


def raft_remove(node_id, addr=None):
    """
    Remove the Raft peer ``node_id`` (a node that lost the core role); a peer that is not
    there is not an error. Returns ``{"removed": bool}``.

    CLI Example:

    .. code-block:: bash

        salt-run eos_vault.raft_remove core3
    """
    if not isinstance(node_id, str) or not node_id or len(node_id) > 255:
        raise CommandExecutionError(f"node_id must be a Raft node id, got {node_id!r}")
    record = _load()
    addr = _addr(addr, record)
    if node_id not in [p["node_id"] for p in raft_peers(addr)]:
        return {"node_id": node_id, "removed": False}
    client = _connect(addr, record)
    _vault.call(client, f"remove raft peer {node_id}", client.sys.remove_raft_node, server_id=node_id)
    return {"node_id": node_id, "removed": True}


def kv_get(path, key=None, addr=None, mount=None):
    """
    Read a kv v2 secret with the master's root token (its data, or the value of ``key``).

    CLI Example:

    .. code-block:: bash

        salt-run eos_vault.kv_get eos/example key=user
    """
    record = _load()
    data = _vault.kv_get(_connect(_addr(addr, record), record), path, mount or record["mount"])
    if key is None:
        return data
    if key not in data:
        raise CommandExecutionError(f"secret {path} has no key {key!r} (keys: {sorted(data)})")
    return data[key]


def kv_put(path, data, addr=None, mount=None):
    """
    Write ``data`` (a mapping of strings) as the new version of a kv v2 secret, with the
    master's root token; returns ``{"path", "version"}``.

    CLI Example:

    .. code-block:: bash

        salt-run eos_vault.kv_put eos/example '{"user": "eos"}'
    """
    record = _load()
    mount = mount or record["mount"]
    version = _vault.kv_put(_connect(_addr(addr, record), record), path, data, mount)
    return {"path": f"{mount}/{path}", "version": version}


def issue_token(minions, ttl="768h", addr=None):
    """
    Give each of ``minions`` its own token with the ``eos-node`` policy: the master creates it
    response-wrapped (single use, valid 120 s) and the minion unwraps it at the store and keeps
    it in its root-only token file (``eos_vault.install_token``). Only the wrapping token goes
    over Salt; a wrapping token someone else used first makes the minion's unwrap fail.

    CLI Example:

    .. code-block:: bash

        salt-run eos_vault.issue_token minions=core1,core2
    """
    record = _load()
    addr = _addr(addr, record)
    client = _connect(addr, record)
    if isinstance(minions, str):
        minions = [m.strip() for m in minions.split(",") if m.strip()]
    local = salt.client.get_local_client(__opts__["conf_file"])
    done, failed = {}, {}
    for mid in sorted(set(map(str, minions or []))):
        wrapped = _vault.call(client, "create a node token", client.auth.token.create,
                              policies=[NODE_POLICY], ttl=str(ttl), renewable=True,
                              meta={"minion": mid}, wrap_ttl="120s")
        wrap = (wrapped or {}).get("wrap_info") or {}
        ret = local.cmd(mid, "eos_vault.install_token", arg=[wrap.get("token", "")],
                        tgt_type="list", timeout=60, full_return=True).get(mid)
        if isinstance(ret, dict) and ret.get("retcode", 0) == 0 and isinstance(ret.get("ret"), dict):
            done[mid] = {"accessor": ret["ret"].get("accessor"), "token_file": ret["ret"].get("token_file")}
        else:
            failed[mid] = str(ret.get("ret") if isinstance(ret, dict) else "no answer")[:500]
    if failed:
        raise CommandExecutionError("node token not installed: " + "; ".join(
            f"{k}: {v}" for k, v in sorted(failed.items())))
    return done


def rotate(shares=None, threshold=None, addr=None):
    """
    Rotate the store's secrets at rest: new unseal keys (the old keys stop working) and
    a new barrier encryption key; the sealed record on the master is replaced (the new keys
    first written, then used). Returns no secret.

    CLI Example:

    .. code-block:: bash

        salt-run eos_vault.rotate
        salt-run eos_vault.rotate shares=7 threshold=4
    """
    record = _load()
    addr = _addr(addr, record)
    shares = int(shares or record["shares"])
    threshold = int(threshold or record["threshold"])
    client = _connect(addr, record)
    # OpenBao's authenticated rotation endpoints (sys/rotate/root/*, 2.4+; the unauthenticated
    # sys/rekey/* ones are disabled): hvac has no wrapper for them, its adapter does the call.
    start = _vault.call(client, "start the unseal key rotation", client.adapter.post,
                        "/v1/sys/rotate/root/init",
                        json={"secret_shares": shares, "secret_threshold": threshold})
    nonce = (start.get("data") or start)["nonce"]
    ret = {}
    for key in record["keys"][: record["threshold"]]:
        ret = _vault.call(client, "submit a key for the rotation", client.adapter.post,
                          "/v1/sys/rotate/root/update", json={"key": key, "nonce": nonce})
        ret = ret.get("data") or ret
        if ret.get("complete"):
            break
    if not ret.get("complete"):
        raise CommandExecutionError(f"OpenBao at {addr}: unseal key rotation did not complete")
    _store(dict(record, keys=ret["keys"], shares=shares, threshold=threshold))
    _vault.call(client, "rotate the encryption key", client.adapter.post, "/v1/sys/rotate/keyring")
    term = _vault.call(client, "read the key status", client.adapter.get, "/v1/sys/key-status")
    return {"addr": addr, "rekeyed": True, "shares": shares, "threshold": threshold,
            "key_term": (term.get("data") or term).get("term")}


def _node_tokens_missing(minions, timeout=30):
    """The minions whose token file is absent or whose token the store no longer accepts."""
    if isinstance(minions, str):
        minions = [m.strip() for m in minions.split(",") if m.strip()]
    if not minions:
        return []
    ret = salt.client.get_local_client(__opts__["conf_file"]).cmd(
        sorted(minions), "eos_vault.token_valid", tgt_type="list", timeout=timeout)
    return sorted(m for m in minions if ret.get(m) is not True)


def _wait_voters(addr, node_ids, wait):
    deadline = time.monotonic() + float(wait)
    while True:
        peers = raft_peers(addr)
        voters = sorted(p["node_id"] for p in peers if p["voter"])
        if set(node_ids) <= set(voters):
            return peers
        if time.monotonic() > deadline:
            raise CommandExecutionError(f"Raft voters {voters} after {wait} s; expected {sorted(node_ids)}")
        time.sleep(1)


def _join(addr, leader, wait):
    """An empty node joins the leader's Raft cluster now (retry_join would, in its own time)
    and waits, bounded, until it reports initialised; then it needs unsealing."""
    if _seal_status(addr).get("initialized"):
        return False
    client = _connect(addr, require_unsealed=False)
    _vault.call(client, f"join the Raft cluster of {leader}", client.sys.join_raft_cluster,
                leader_api_addr=leader)
    deadline = time.monotonic() + float(wait)
    while not _seal_status(addr).get("initialized"):
        if time.monotonic() > deadline:
            raise CommandExecutionError(f"OpenBao at {addr} did not join {leader} within {wait} s")
        time.sleep(0.5)
    return True


def converge(minions=None, nodes=None, token_minions=None, shares=5, threshold=3, wait=90,
             stabilization="10s"):
    """
    Bring the store of the core ``minions`` (ids, which are their Raft node ids; or ``nodes``,
    a mapping of Raft node id to API address) to the intended shape, from the master:
    initialise the first one when the store is new, unseal every sealed one (an empty node
    joins through retry_join as it is unsealed), wait (bounded, ``wait`` seconds) until each
    is a Raft voter, remove the Raft peers of nodes not listed and give a node token to each
    of ``token_minions`` (default: ``minions``) that has no valid one. Run after the core role
    was applied; rerun to unseal after restarts.

    CLI Example:

    .. code-block:: bash

        salt-run eos_vault.converge minions=core1,core2,core3
    """
    if isinstance(minions, str):
        minions = [m.strip() for m in minions.split(",") if m.strip()]
    addrs = dict(nodes or {})
    addrs.update(_minion_addrs(minions))
    if not addrs:
        raise CommandExecutionError("give the core minion ids (minions=) or nodes={id: addr}")
    order = sorted(addrs)
    initialised = [n for n in order if _seal_status(addrs[n]).get("initialized")]
    leader = addrs[initialised[0]] if initialised else addrs[order[0]]
    created = False
    if not initialised:
        created = init(addr=leader, shares=shares, threshold=threshold)["initialized"]
    record = _load()
    if record.get("addr") != leader:
        record["addr"] = leader
        _store(record)
    _submit_keys(leader, record)
    client = _connect(leader, record)
    # hvac has no call for Raft autopilot: its adapter does the request
    _vault.call(client, "set the autopilot configuration", client.adapter.post,
                "/v1/sys/storage/raft/autopilot/configuration",
                json={"server_stabilization_time": str(stabilization),
                      "cleanup_dead_servers": False})
    for node in order:
        if addrs[node] != leader:
            _join(addrs[node], leader, wait)
    unsealed = unseal(addrs=[addrs[n] for n in order])
    peers = _wait_voters(leader, order, wait)
    removed = [p["node_id"] for p in peers if p["node_id"] not in addrs]
    for node_id in removed:
        raft_remove(node_id, addr=leader)
    tokens = {}
    missing = _node_tokens_missing(minions if token_minions is None else token_minions)
    if missing:
        tokens = issue_token(missing, addr=leader)
    voters = sorted(p["node_id"] for p in raft_peers(leader) if p["voter"])
    return {"leader": leader, "initialised": created, "unsealed": sorted(unsealed),
            "voters": voters, "removed": removed, "tokens_issued": sorted(tokens)}
