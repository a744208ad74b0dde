"""The cluster as salt-api shows it: ``info`` (the master's key, ports, keys and registration
requests) and ``register`` (records a node's registration request, bound to its key
fingerprint; used by salt://reactor/cluster_register.sls). Nothing here accepts a key."""
import os
import time

import salt.key
import salt.utils.crypt
import salt.utils.event
import salt.version
from salt.exceptions import CommandExecutionError

try:
    from eos import events as eos_events
    from eos.glue import load_json_dict as _load, pending_finger as _pending_finger, save_json as _save
except ImportError as exc:  # pragma: no cover - depends on the installation
    _UNLOADABLE = f"eos_cluster: the eos package cannot be imported: {exc}"
else:
    _UNLOADABLE = ""

__virtualname__ = "eos_cluster"

MAX_REGISTRATIONS = 1024


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


def _path():
    return os.path.join(__opts__["cachedir"], "eos_cluster", "registrations.json")


def register(minion_id, fingerprint, source=None):
    """
    Record a registration request: node ``minion_id`` says its key has ``fingerprint``. The
    newest request per id is kept (at most 1024 ids); ``eos/cluster/register/recorded`` is
    fired. The key is not accepted: ``eos_cluster.info`` shows whether the pending key matches,
    ``eos_roles.accept_key ID fingerprint=FP`` accepts it.

    CLI Example:

    .. code-block:: bash

        salt-run eos_cluster.register web-7 3c:1f:...:9a
    """
    try:
        minion_id = eos_events.minion_id(minion_id)
        fingerprint = eos_events.fingerprint_field({"fingerprint": fingerprint}, "fingerprint")
    except eos_events.EventRejected as exc:
        raise CommandExecutionError(str(exc)) from exc
    regs = _load(_path())
    regs[minion_id] = {"fingerprint": fingerprint, "at": time.time(),
                       "source": source if isinstance(source, str) else None}
    while len(regs) > MAX_REGISTRATIONS:
        del regs[min(regs, key=lambda k: regs[k].get("at", 0))]
    _save(_path(), regs)
    with salt.utils.event.get_master_event(__opts__, __opts__["sock_dir"], listen=False) as ev:
        ev.fire_event({"id": minion_id, "fingerprint": fingerprint}, "eos/cluster/register/recorded")
    return {"id": minion_id, **regs[minion_id]}


def info():
    """
    The cluster as seen from the master: its id, Salt version, key fingerprint (what
    ``eos-bootstrap join --master-fingerprint`` needs), ports, the accepted and pending keys
    (pending ones with their fingerprints) and the registration requests, each marked whether
    the pending key of that id has the registered fingerprint.

    CLI Example:

    .. code-block:: bash

        salt-run eos_cluster.info
    """
    keys = salt.key.get_key(__opts__)
    status = keys.list_status("all")
    pending = {mid: _pending_finger(__opts__, keys, mid) for mid in status.get("minions_pre", [])}
    regs = _load(_path())
    for mid, reg in regs.items():
        reg["pending_key_matches"] = pending.get(mid) == reg.get("fingerprint") if mid in pending else None
    master_pub = os.path.join(__opts__["pki_dir"], "master.pub")
    return {"master": __opts__.get("id"), "salt_version": salt.version.__version__,
            "master_fingerprint": salt.utils.crypt.pem_finger(path=master_pub, sum_type=__opts__["hash_type"]),
            "ret_port": __opts__.get("ret_port"), "publish_port": __opts__.get("publish_port"),
            "accepted": sorted(status.get("minions", [])), "pending": pending,
            "rejected": sorted(status.get("minions_rejected", [])), "registrations": regs}
