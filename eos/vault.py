"""The one way Eos reaches its secrets store (OpenBao, Vault's API) through hvac.

Used by the ``eos_vault`` execution module and runner, by the CephFS orchestration and by the
Terraform glue. Every call is bounded (``timeout`` seconds, default 10); every error is a
:class:`VaultError` (a Salt ``CommandExecutionError``) that names the store's URL and never the
token. A sealed, uninitialised or unreachable store is reported as such before any other call.

Tokens come from a file readable by its owner only (root, or the user running the code),
never from pillar or an argument that would show up in a job: see :func:`read_token`.

Interface (kept stable; other branches build on it)::

    client = connect(addr, token_file=None, verify=True, timeout=10, require_unsealed=True)
    seal_status(addr, verify=True, timeout=10) -> {"initialized", "sealed", "progress", "t", "n", ...}
    read_token(path) -> str; read_private(path, what) -> str; write_token(path, token)
    kv_get(client, path, mount="secret") -> dict
    kv_put(client, path, data, mount="secret") -> int (the new version)
    settings(config) -> dict with addr, token_file, verify, timeout, mount
"""
import os
import stat

import hvac
import hvac.exceptions
import requests
from salt.exceptions import CommandExecutionError

from eos.glue import save_text

DEFAULT_TIMEOUT = 10
DEFAULT_MOUNT = "secret"
DEFAULT_TOKEN_FILE = "/etc/eos/vault/token"
MAX_TOKEN_BYTES = 4096


class VaultError(CommandExecutionError):
    """The secrets store could not be reached or refused a call; the message names its URL."""


def _addr(addr):
    if not isinstance(addr, str) or not addr.startswith(("http://", "https://")) or len(addr) > 2048:
        raise VaultError(f"OpenBao address must be an http(s):// URL, got {addr!r}")
    return addr.rstrip("/")


def _timeout(timeout):
    try:
        value = float(DEFAULT_TIMEOUT if timeout is None else timeout)
    except (TypeError, ValueError):
        raise VaultError(f"OpenBao timeout must be a number of seconds, got {timeout!r}") from None
    if not 0 < value <= 600:
        raise VaultError(f"OpenBao timeout must be in (0, 600] seconds, got {timeout!r}")
    return value


def _verify(verify):
    """True/False, or the path of a CA bundle (which must exist)."""
    if isinstance(verify, bool):
        return verify
    if isinstance(verify, str) and verify.lower() in ("true", "false"):
        return verify.lower() == "true"
    if isinstance(verify, str) and os.path.isfile(verify):
        return verify
    raise VaultError(f"OpenBao verify must be true, false or a CA bundle file, got {verify!r}")


def read_private(path, what="OpenBao token file", limit=MAX_TOKEN_BYTES * 4):
    """
    The text of ``path``, which must be a regular file owned by root or by the current user
    and unreadable by group and others (0600 or 0400): a secret another user could read is
    refused, not used.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise VaultError(f"{what} {path!r}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise VaultError(f"{what} {path!r} is not a regular file")
        if st.st_uid not in (0, os.geteuid()):
            raise VaultError(f"{what} {path!r} is owned by uid {st.st_uid}, not by root or this user")
        if st.st_mode & 0o077:
            raise VaultError(f"{what} {path!r} has mode {stat.S_IMODE(st.st_mode):04o}: "
                             "group and others must not read it (chmod 0600)")
        raw = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise VaultError(f"{what} {path!r} is larger than {limit} bytes")
    return raw.decode("utf-8", "replace")


def read_token(path):
    """The token kept in ``path`` (see :func:`read_private`)."""
    token = read_private(path).strip()
    if not token or len(token) > MAX_TOKEN_BYTES or any(c.isspace() for c in token):
        raise VaultError(f"OpenBao token file {path!r} does not hold one token")
    return token


def write_token(path, token):
    """Write ``token`` to ``path`` (0600, its directory 0700 when new), atomically."""
    save_text(path, token + "\n", 0o600)


def _fail(addr, what, exc):
    """A VaultError for a failed call: hvac's and requests' messages carry the URL, never the
    token (it travels in a header)."""
    if isinstance(exc, requests.exceptions.Timeout):
        reason = "no answer in time"
    elif isinstance(exc, requests.exceptions.SSLError):
        reason = f"TLS error: {exc}"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        reason = "cannot connect"
    elif isinstance(exc, hvac.exceptions.Forbidden):
        reason = "permission denied (token missing, expired or without the policy)"
    elif isinstance(exc, hvac.exceptions.VaultDown):
        reason = "sealed or down"
    else:
        reason = f"{type(exc).__name__}: {str(exc)[:500]}"
    return VaultError(f"OpenBao at {addr}: {what}: {reason}")


def _client(addr, token, verify, timeout):
    return hvac.Client(url=addr, token=token, verify=verify, timeout=timeout)


def seal_status(addr, verify=True, timeout=DEFAULT_TIMEOUT):
    """The store's seal status (``initialized``, ``sealed``, ``t``, ``n``, ``progress``, ...),
    asked without a token; VaultError when it does not answer within ``timeout`` seconds."""
    addr = _addr(addr)
    client = _client(addr, None, _verify(verify), _timeout(timeout))
    try:
        status = client.sys.read_seal_status()
    except (requests.exceptions.RequestException, hvac.exceptions.VaultError) as exc:
        raise _fail(addr, "seal status", exc) from None
    if not isinstance(status, dict) or "sealed" not in status:
        raise VaultError(f"OpenBao at {addr}: seal status: unexpected answer {str(status)[:200]!r}")
    return status


def connect(addr, token_file=None, verify=True, timeout=DEFAULT_TIMEOUT, require_unsealed=True,
            token=None):
    """
    An hvac client for ``addr`` with the token from ``token_file`` (see :func:`read_token`).
    ``token`` is for Eos's own runner code that holds a token in memory (never from a CLI
    argument). The seal status is checked first: an uninitialised or sealed store raises
    VaultError at once (unless ``require_unsealed=False``).
    """
    addr = _addr(addr)
    verify, timeout = _verify(verify), _timeout(timeout)
    if require_unsealed:
        status = seal_status(addr, verify, timeout)
        if not status.get("initialized"):
            raise VaultError(f"OpenBao at {addr} is not initialised")
        if status.get("sealed"):
            raise VaultError(f"OpenBao at {addr} is sealed (unseal progress "
                             f"{status.get('progress')}/{status.get('t')}): run "
                             "salt-run eos_vault.unseal")
    if token is None and token_file:
        token = read_token(token_file)
    return _client(addr, token, verify, timeout)


def call(client, what, fn, *args, **kwargs):
    """Run one hvac call; its failure becomes a VaultError naming the URL and ``what``."""
    try:
        return fn(*args, **kwargs)
    except (requests.exceptions.RequestException, hvac.exceptions.VaultError) as exc:
        raise _fail(client.url, what, exc) from None


def _path(path):
    if not isinstance(path, str) or not path.strip("/") or len(path) > 512 or ".." in path.split("/") \
            or any(ord(c) < 32 for c in path):
        raise VaultError(f"secret path must be a relative path like 'eos/ceph/admin', got {path!r}")
    return path.strip("/")


def kv_get(client, path, mount=DEFAULT_MOUNT):
    """The newest version of the kv v2 secret at ``mount``/``path`` (a dict);
    VaultError when there is none."""
    path = _path(path)
    try:
        ret = client.secrets.kv.v2.read_secret_version(path=path, mount_point=mount,
                                                       raise_on_deleted_version=True)
    except hvac.exceptions.InvalidPath:
        raise VaultError(f"OpenBao at {client.url}: no secret at {mount}/{path}") from None
    except (requests.exceptions.RequestException, hvac.exceptions.VaultError) as exc:
        raise _fail(client.url, f"read {mount}/{path}", exc) from None
    return ret["data"]["data"]


def kv_put(client, path, data, mount=DEFAULT_MOUNT):
    """Write ``data`` (a dict of strings) as the new version of ``mount``/``path``; returns
    the version number."""
    path = _path(path)
    if not isinstance(data, dict) or not data or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise VaultError(f"secret data must be a non-empty mapping of strings, got keys "
                         f"{sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__}")
    ret = call(client, f"write {mount}/{path}", client.secrets.kv.v2.create_or_update_secret,
               path=path, secret=data, mount_point=mount)
    return int(ret["data"]["version"])


def node_token_file(opts):
    """A minion's node token file: /etc/eos/vault/token under its root (minion option
    ``eos_state_root``, else ``root_dir``), where ``eos_vault.install_token`` puts it."""
    base = (opts.get("eos_state_root") or opts.get("root_dir") or "/").rstrip("/")
    return f"{base}{DEFAULT_TOKEN_FILE}"


def settings(config):
    """
    The store's settings from a mapping (pillar/config ``eos:vault``): ``addr`` (required),
    ``token_file`` (default /etc/eos/vault/token), ``verify`` (true, false or a CA bundle),
    ``timeout`` (seconds) and ``mount`` (the kv v2 mount, default ``secret``).
    """
    config = config or {}
    if not isinstance(config, dict):
        raise VaultError(f"eos:vault must be a mapping, got {type(config).__name__}")
    if not config.get("addr"):
        raise VaultError("eos:vault:addr is not set: where is the secrets store?")
    mount = config.get("mount", DEFAULT_MOUNT)
    if not isinstance(mount, str) or not mount or "/" in mount.strip("/"):
        raise VaultError(f"eos:vault:mount must be one path segment, got {mount!r}")
    return {"addr": _addr(config["addr"]),
            "token_file": str(config.get("token_file") or DEFAULT_TOKEN_FILE),
            "verify": _verify(config.get("verify", True)),
            "timeout": _timeout(config.get("timeout")),
            "mount": mount.strip("/")}
