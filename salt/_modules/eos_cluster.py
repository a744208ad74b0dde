"""Joining an Eos cluster from a minion: pre-join health checks, then ``eos/cluster/join``.

The master's node-join reactor (salt://reactor/node_join.sls) answers the event with the
node-addition orchestration (wait for the minion, sync, refresh grains, calculate and apply
roles).
"""
import logging
import socket
import time

import salt.version
from salt.exceptions import CommandExecutionError

try:
    import eos
    from eos.glue import text_returns as _text_returns
    from eos.events import sign as _sign
except ImportError as exc:  # pragma: no cover - depends on the installation
    _UNLOADABLE = f"eos_cluster: the eos C extension cannot be imported: {exc}"
else:
    _UNLOADABLE = ""

log = logging.getLogger(__name__)

__virtualname__ = "eos_cluster"

MIN_SALT = (3006, 0)


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


def _master_info(timeout):
    """The master's clock and Salt version through publish.runner (needs peer_run), or None."""
    if __opts__.get("file_client") == "local" or "publish.runner" not in __salt__:
        return None, "no master to ask (masterless)"
    start = time.time()
    try:
        info = __salt__["publish.runner"]("eos_roles.master_info", timeout=timeout)
    except Exception as exc:  # publish raises various Salt errors when the master refuses
        return None, f"publish.runner eos_roles.master_info failed: {exc}"
    end = time.time()
    if not isinstance(info, dict) or "time" not in info:
        return None, (f"the master did not answer eos_roles.master_info ({info!r}): allow it with "
                      "peer_run: {'.*': [eos_roles.master_info]}")
    info["local_mid"] = (start + end) / 2
    info["round_trip"] = end - start
    return info, None


def _check_clock(max_skew, master, why_not):
    if master:
        skew = master["local_mid"] - master["time"]
        ok = abs(skew) <= max_skew + master["round_trip"] / 2
        return {"result": ok, "skew_seconds": round(skew, 3), "max_skew": max_skew,
                "comment": (f"clock {skew:+.3f} s from the master's" if ok else
                            f"clock is {skew:+.3f} s off the master's (limit {max_skew} s): fix NTP")}
    clock = eos.health_clock()
    ok = bool(clock["synchronized"])
    return {"result": ok, "kernel": clock,
            "comment": (f"master time unavailable ({why_not}); the kernel clock is " +
                        ("synchronized" if ok else "NOT synchronized (adjtimex STA_UNSYNC): run NTP, "
                         "or let the master answer eos_roles.master_info"))}


def _check_disk(path, min_free):
    try:
        usage = eos.health_disk(path)
    except OSError as exc:
        return {"result": False, "comment": f"statvfs {path}: {exc}"}
    ok = usage["avail"] >= min_free
    return {"result": ok, "path": path, "avail_bytes": usage["avail"], "min_free_bytes": min_free,
            "comment": f"{usage['avail']} bytes available on {path}" +
                       ("" if ok else f", below the {min_free} bytes needed")}


def _check_salt(master):
    mine = salt.version.__saltstack_version__
    info = tuple(mine.info[:2])
    if info < MIN_SALT:
        return {"result": False, "version": str(mine),
                "comment": f"Salt {mine} is older than {MIN_SALT[0]}.{MIN_SALT[1]}"}
    if master and str(master.get("salt_version", "")).split(".")[0] != str(mine.major):
        return {"result": False, "version": str(mine), "master_version": master.get("salt_version"),
                "comment": f"Salt {mine} on the minion, {master.get('salt_version')} on the master: "
                           "major versions differ"}
    return {"result": True, "version": str(mine), "master_version": (master or {}).get("salt_version"),
            "comment": f"Salt {mine}"}


def _resolve(name):
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        return None, f"{name!r} does not resolve: {exc}"
    return sorted({i[4][0] for i in infos}), None


def _check_names():
    names = {"hostname": socket.gethostname()}
    masters = __opts__.get("master")
    if __opts__.get("file_client") != "local" and masters:
        for m in masters if isinstance(masters, list) else [masters]:
            names[f"master {m}"] = m
    failed, resolved = [], {}
    for what, name in names.items():
        addrs, err = _resolve(name)
        if err:
            failed.append(f"{what}: {err}")
        else:
            resolved[name] = addrs
    return {"result": not failed, "resolved": resolved,
            "comment": "; ".join(failed) if failed else "host and master names resolve"}


def roles():
    """
    The names of every Eos role, in the library's order (``eos.ROLES``, from the C role
    rules): the one list the role states (``salt://roles/absent.sls``) and the runner use.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_cluster.roles
    """
    return list(eos.ROLES)


def role_fs_device(role):
    """
    The device pillar ``eos:<role>:fs_device`` gives the role's own filesystem on this node,
    or None: checked to be one plain path under /dev (pillar is written by others).

    CLI Example:

    .. code-block:: bash

        salt '*' eos_cluster.role_fs_device observe
    """
    from eos import role_storage

    if role not in eos.ROLES:
        raise CommandExecutionError(f"unknown role {role!r} (roles: {', '.join(eos.ROLES)})")
    try:
        return role_storage.fs_device(role, __salt__["pillar.get"](f"eos:{role}", {}))
    except ValueError as exc:
        raise CommandExecutionError(str(exc)) from exc


def health_check(max_skew=5, min_free_bytes=1 << 30, path=None, timeout=10):
    """
    The pre-join health checks of this node: clock skew against the master (through
    ``publish.runner eos_roles.master_info``; when the master does not allow it, the kernel
    clock must be NTP-synchronized), free disk (``min_free_bytes`` available on ``path``,
    default the minion's cachedir), Salt version (at least 3006 and the master's major
    version) and name resolution (this host and the master).

    Returns ``{"result": bool, "checks": {name: {"result", "comment", ...}}}``.

    CLI Example:

    .. code-block:: bash

        salt-call eos_cluster.health_check
        salt-call eos_cluster.health_check max_skew=2 min_free_bytes=10737418240
    """
    try:
        max_skew = float(max_skew)
        min_free_bytes = int(min_free_bytes)
    except (TypeError, ValueError) as exc:
        raise CommandExecutionError(f"max_skew and min_free_bytes must be numbers: {exc}") from exc
    if max_skew < 0 or min_free_bytes < 0:
        raise CommandExecutionError(f"max_skew={max_skew!r} and min_free_bytes={min_free_bytes!r} must be >= 0")
    master, why_not = _master_info(int(timeout))
    checks = {
        "clock": _check_clock(max_skew, master, why_not),
        "disk": _check_disk(path or __opts__.get("cachedir") or "/", min_free_bytes),
        "salt_version": _check_salt(master),
        "names": _check_names(),
    }
    return {"result": all(c["result"] for c in checks.values()), "checks": checks}


def join(max_skew=5, min_free_bytes=1 << 30, path=None, timeout=10, force=False):
    """
    Ask to join the cluster: run the pre-join health checks and, when they pass, fire
    ``eos/cluster/join`` to the master (the node-join reactor starts the node-addition
    orchestration). A failed check raises an error listing every failed check; nothing is
    fired. ``force=True`` fires even so (the failures are sent along).

    CLI Example:

    .. code-block:: bash

        salt-call eos_cluster.join
    """
    health = health_check(max_skew=max_skew, min_free_bytes=min_free_bytes, path=path, timeout=timeout)
    failed = {k: v["comment"] for k, v in health["checks"].items() if not v["result"]}
    if failed and not force:
        raise CommandExecutionError(
            "pre-join health check failed, not joining: " +
            "; ".join(f"{k}: {v}" for k, v in sorted(failed.items())))
    data = {"id": __opts__["id"], "failed_checks": failed, "time": time.time()}
    if __opts__.get("file_client") == "local":
        raise CommandExecutionError("eos_cluster.join needs a master: this minion is masterless")
    sent = __salt__["event.send"]("eos/cluster/join", _sign(__opts__, "eos/cluster/join", data))
    if not sent:
        raise CommandExecutionError("could not send eos/cluster/join to the master")
    return {"joined": True, "event": "eos/cluster/join", "health": health,
            "comment": "eos/cluster/join sent: the master assigns this node its roles"}


if not _UNLOADABLE:  # every public function's return is valid UTF-8 on the bus
    _text_returns(globals())
