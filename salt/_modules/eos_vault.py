"""
Eos's secrets store (OpenBao, Vault's API) from a minion, through ``eos.vault`` (hvac).

Settings come from config/pillar ``eos:vault`` (``addr``, ``token_file``, ``verify``,
``timeout``, ``mount``); every function also takes them as arguments. The token is read from
``token_file`` (root-only, 0600; default /etc/eos/vault/token under the minion's root_dir), which ``install_token`` writes
from a single-use wrapping token (``salt-run eos_vault.issue_token``): the node's token itself
never travels over Salt.

Initialising, unsealing and rotating the cluster are master-side (``salt-run eos_vault.*``);
``unseal`` here is the opt-in automatic unseal of this node from a local root-only key file.
"""
import json
import logging
import os

from salt.exceptions import CommandExecutionError

try:
    import hvac.exceptions
    from eos import vault as _vault
except ImportError as _exc:  # pragma: no cover - depends on the installation
    _UNLOADABLE = f"eos_vault: eos.vault (hvac) cannot be imported: {_exc}"
else:
    _UNLOADABLE = ""

log = logging.getLogger(__name__)

__virtualname__ = "eos_vault"


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


def _settings(**overrides):
    config = dict(__salt__["config.get"]("eos:vault", {}, merge="recurse") or {})
    if not config.get("addr") and "core" in _my_roles():
        config["addr"] = api_addr()
    if not config.get("token_file"):
        # Under the minion's root, as the role states' paths: /etc/eos/vault/token normally.
        config["token_file"] = _vault.node_token_file(__opts__)
    config.update({k: v for k, v in overrides.items() if v is not None})
    return _vault.settings(config)


def _my_roles():
    roles = __salt__["pillar.get"]("eos:roles", {}, unmask=True) or {}
    mine = roles.get(__grains__["id"]) or []
    return ["core"] if "monolith" in mine else list(mine)


def _client(s, require_unsealed=True):
    return _vault.connect(s["addr"], token_file=s["token_file"], verify=s["verify"],
                          timeout=s["timeout"], require_unsealed=require_unsealed)


def status(addr=None, verify=None, timeout=None):
    """
    The store's seal status as this node sees it: ``initialized``, ``sealed``, ``t``/``n``
    (unseal threshold and shares), ``progress``, ``version``, ``cluster_name``. Needs no token.

    CLI Example:

    .. code-block:: bash

        salt 'core*' eos_vault.status
        salt 'core1' eos_vault.status addr=http://10.0.0.11:8200
    """
    s = _settings(addr=addr, verify=verify, timeout=timeout)
    st = _vault.seal_status(s["addr"], s["verify"], s["timeout"])
    keep = ("initialized", "sealed", "t", "n", "progress", "version", "cluster_name",
            "storage_type")
    return dict({k: st.get(k) for k in keep}, addr=s["addr"])


def api_addr():
    """
    The API address this node's OpenBao serves on, as the core role configures it (pillar
    ``eos:nodes:<id>:address`` and ``:ports:vault``, default the minion id and 8200; https when
    ``eos:vault:tls`` is set): what the runner unseals and joins. Not secret.

    CLI Example:

    .. code-block:: bash

        salt 'core*' eos_vault.api_addr
    """
    me = __grains__["id"]
    node = __salt__["pillar.get"](f"eos:nodes:{me}", {}, unmask=True) or {}
    host = node.get("address") or me
    port = int((node.get("ports") or {}).get("vault") or 8200)
    scheme = "https" if __salt__["pillar.get"]("eos:vault:tls", None, unmask=True) else "http"
    return f"{scheme}://{host}:{port}"


def token_valid(addr=None, token_file=None, verify=None, timeout=None):
    """
    True when this node's token file holds a token the store accepts (token lookup-self),
    False when the file is missing or the token expired or was revoked.

    CLI Example:

    .. code-block:: bash

        salt 'core*' eos_vault.token_valid
    """
    s = _settings(addr=addr, token_file=token_file, verify=verify, timeout=timeout)
    if not os.path.exists(s["token_file"]):
        return False
    client = _client(s)
    try:
        client.auth.token.lookup_self()
    except (hvac.exceptions.Forbidden, hvac.exceptions.InvalidRequest):
        return False
    except Exception as exc:  # unreachable store and the like: an error, not "invalid"
        raise _vault.VaultError(f"OpenBao at {s['addr']}: token lookup: {type(exc).__name__}") from None
    return True


def kv_get(path, key=None, mount=None, addr=None, token_file=None, verify=None, timeout=None):
    """
    Read the kv v2 secret at ``path`` (under ``mount``, default ``secret``): its data, or only
    the value of ``key``. The value comes back in the job's return: prefer reading secrets
    where they are used (as eos_ceph.write_client does) over printing them.

    CLI Example:

    .. code-block:: bash

        salt 'core1' eos_vault.kv_get eos/example
        salt 'core1' eos_vault.kv_get eos/example key=user
    """
    s = _settings(addr=addr, token_file=token_file, verify=verify, timeout=timeout, mount=mount)
    data = _vault.kv_get(_client(s), path, s["mount"])
    if key is None:
        return data
    if key not in data:
        raise CommandExecutionError(f"secret {s['mount']}/{path} has no key {key!r} "
                                    f"(keys: {sorted(data)})")
    return data[key]


def kv_put(path, data, mount=None, addr=None, token_file=None, verify=None, timeout=None):
    """
    Write ``data`` (a mapping of strings, or its JSON) as the new version of the kv v2 secret
    at ``path``; returns ``{"path", "version"}``. Mind that a value given on the command line
    lands in the job's publication: write secrets from where they are made instead.

    CLI Example:

    .. code-block:: bash

        salt 'core1' eos_vault.kv_put eos/example '{"user": "eos"}'
    """
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise CommandExecutionError("data must be a mapping of strings or its JSON "
                                        "(the value itself is not shown)") from None
    s = _settings(addr=addr, token_file=token_file, verify=verify, timeout=timeout, mount=mount)
    version = _vault.kv_put(_client(s), path, data, s["mount"])
    return {"path": f"{s['mount']}/{path}", "version": version}


def install_token(wrapping_token, token_file=None, addr=None, verify=None, timeout=None):
    """
    Unwrap a single-use wrapping token (from ``salt-run eos_vault.issue_token``) at the store
    and write the node token it holds to ``token_file`` (0600, root only). A wrapping token
    that was already used (seen by someone else) fails here, loudly. Returns the token's
    accessor and policies, never the token.

    CLI Example:

    .. code-block:: bash

        salt 'core1' eos_vault.install_token <wrapping token>
    """
    if not isinstance(wrapping_token, str) or not 0 < len(wrapping_token) < 512:
        raise CommandExecutionError("wrapping_token must be a token string")
    s = _settings(addr=addr, token_file=token_file, verify=verify, timeout=timeout)
    client = _vault.connect(s["addr"], verify=s["verify"], timeout=s["timeout"],
                            token=wrapping_token)
    ret = _vault.call(client, "unwrap the node token", client.sys.unwrap)
    auth = (ret or {}).get("auth") or {}
    if not auth.get("client_token"):
        raise CommandExecutionError(f"OpenBao at {s['addr']}: the wrapping token held no token")
    _vault.write_token(s["token_file"], auth["client_token"])
    return {"token_file": s["token_file"], "accessor": auth.get("accessor"),
            "policies": auth.get("policies")}


def unseal(key_file, addr=None, verify=None, timeout=None):
    """
    Opt-in automatic unseal: submit the unseal keys kept on this node in ``key_file`` (a JSON
    list of keys, root only, 0600) to this node's store. Keeping unseal keys on the node that
    holds the data weakens the seal; the default is the explicit ``salt-run eos_vault.unseal``.

    CLI Example:

    .. code-block:: bash

        salt 'core1' eos_vault.unseal /etc/eos/vault/unseal.json
    """
    s = _settings(addr=addr or api_addr(), verify=verify, timeout=timeout)
    keys = _read_keys(key_file)
    client = _vault.connect(s["addr"], verify=s["verify"], timeout=s["timeout"],
                            require_unsealed=False)
    st = _vault.seal_status(s["addr"], s["verify"], s["timeout"])
    for key in keys:
        if not st.get("sealed"):
            break
        st = _vault.call(client, "submit an unseal key", client.sys.submit_unseal_key, key=key)
    if st.get("sealed"):
        raise CommandExecutionError(f"OpenBao at {s['addr']} is still sealed after "
                                    f"{len(keys)} keys from {key_file}")
    return {"addr": s["addr"], "sealed": False}


def _read_keys(key_file):
    try:
        keys = json.loads(_vault.read_private(key_file, "unseal key file"))
    except ValueError:
        raise CommandExecutionError(f"unseal key file {key_file!r} is not JSON") from None
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise CommandExecutionError(f"unseal key file {key_file!r} must hold a JSON list of keys")
    return keys
