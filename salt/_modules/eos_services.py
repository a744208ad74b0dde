"""
Eos services under storage pressure: the ``degraded`` threshold level's action.

At ``degraded`` (and above) the storage_threshold reactor stops the services the pillar lists
as non-critical for this node's roles, so that they stop writing to a disk that is filling up;
when the level falls back below ``degraded`` it starts again exactly the services Eos stopped
(never one an administrator stopped). Services are stopped and started through Salt's own
``service`` module, so whatever service provider the minion uses (systemd, sysvinit...) does
the work.

Pillar::

    eos:
      roles:                      # written by salt-run eos_roles.apply
        web1: [app, edge]
      storage:
        degraded:
          services:               # non-critical services, by role; "all": every node
            app: [report-worker, thumbnailer]
            edge: [access-log-shipper]
            all: [apt-daily]
          protect: [my-agent]     # never stopped, in addition to the built-in list

The services stopped are recorded in the minion's cache (``eos/stopped_services.json``,
written atomically), which is what ``restore`` starts again.
"""
import contextlib
import fcntl
import logging
import os
import re
import time

from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "eos_services"

# Stopping these would cut the administrator off the node (or Salt off it) exactly when the
# node needs attention; a pillar that lists one as non-critical is refused as a whole.
PROTECTED = ("dbus", "salt-master", "salt-minion", "ssh", "sshd", "systemd-journald",
             "systemd-logind", "systemd-udevd")
# The storage levels at which the non-critical services stay stopped.
PRESSURE_LEVELS = ("degraded", "emergency", "critical")


def __virtual__():
    # Only eos.glue is needed here (the record is written through it), not the C extension.
    try:
        import eos.glue  # noqa: F401 pylint: disable=unused-import
    except ImportError as exc:
        return (False, f"eos_services: the eos package cannot be imported: {exc}")
    return __virtualname__


def _save_record(record):
    from eos.glue import save_json

    save_json(_record_path(), record)


def _pillar(key, default):
    from eos.glue import pillar

    return pillar(__salt__, key, default)


def _record_path():
    return os.path.join(__opts__["cachedir"], "eos", "stopped_services.json")


@contextlib.contextmanager
def _locked():
    """One stop or restore at a time on this minion: the reactor may run a stop for degraded
    and another for emergency at once, and each rewrites the record."""
    path = _record_path() + ".lock"
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _load_record():
    from eos.glue import load_json_dict

    try:
        return load_json_dict(_record_path())
    except (OSError, ValueError) as exc:
        raise CommandExecutionError(f"cannot read {_record_path()}: {exc}") from exc


# A unit name as systemd spells them: no path, no option, no glob (systemctl stop 'ssh*'
# stops every match), no shell or control character; at most 256 bytes.
_SERVICE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9:_.@\\-]{0,255}")


def _names(value, where):
    """A pillar list of service names, checked: each a plain unit name."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list):
        raise CommandExecutionError(f"{where} must be a list of service names, got {value!r}")
    for name in value:
        if not isinstance(name, str) or not _SERVICE_NAME.fullmatch(name):
            raise CommandExecutionError(f"{where}: invalid service name {name!r}")
    return value


def _service(action, name):
    """Salt's service.<action>(name). The provider's probes may exit non-zero without any
    failure (debian_service runs runlevel(8), which fails in a container) and Salt would make
    that this call's exit code; here the result, or the error raised, is what counts."""
    fn = __salt__.get(f"service.{action}")
    if fn is None:
        raise CommandExecutionError(
            f"this minion has no service.{action} (no service provider loaded for its init system)")
    before = __context__.get("retcode", 0)
    try:
        return fn(name)
    finally:
        __context__["retcode"] = before


def noncritical():
    """
    The services this node would stop at the ``degraded`` level: its roles (pillar
    ``eos:roles``, keyed by minion id) and, for each, the names pillar
    ``eos:storage:degraded:services`` lists (plus those listed under ``all``). Protected
    services (ssh, salt-minion, dbus, journald... and pillar ``eos:storage:degraded:protect``)
    are refused with an error naming them.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_services.noncritical
    """
    me = __grains__["id"]
    assignment = _pillar("eos:roles", {}) or {}
    if not isinstance(assignment, dict):
        raise CommandExecutionError(f"pillar eos:roles must map minion ids to roles, got {assignment!r}")
    roles = assignment.get(me) or []
    if isinstance(roles, str):
        roles = [roles]
    by_role = _pillar("eos:storage:degraded:services", {}) or {}
    if not isinstance(by_role, dict):
        raise CommandExecutionError(
            f"pillar eos:storage:degraded:services must map roles to service names, got {by_role!r}")
    protect = set(PROTECTED) | set(_names(_pillar("eos:storage:degraded:protect", []),
                                          "pillar eos:storage:degraded:protect"))
    services = {}
    for role in ["all"] + sorted(roles):
        for name in _names(by_role.get(role), f"pillar eos:storage:degraded:services:{role}"):
            if name in protect:
                raise CommandExecutionError(
                    f"pillar eos:storage:degraded:services:{role} lists {name!r}, a protected "
                    "service that is never stopped automatically")
            services.setdefault(name, role)
    return {"id": me, "roles": sorted(roles),
            "services": [{"name": n, "role": services[n]} for n in sorted(services)]}


def stop_noncritical(test=False, reason="degraded"):
    """
    Stop this node's non-critical services (``eos_services.noncritical``), the ``degraded``
    storage level's action. A service that is not installed or already stopped is reported and
    left alone; each one stopped is recorded, so ``eos_services.restore`` starts exactly those
    again. Idempotent: a second run stops nothing more. ``test=True`` reports what it would
    stop and changes nothing.

    reason
        Recorded with each service stopped (the reactor passes the storage level and mount).

    Returns ``stopped`` (or ``would_stop``), ``already_stopped``, ``not_installed`` and
    ``held`` (stopped earlier by Eos, still recorded). Raises when a service fails to stop,
    after trying the others.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_services.stop_noncritical test=True
        salt 'web*' eos_services.stop_noncritical
    """
    plan = noncritical()
    with _locked():
        return _stop(plan, bool(test), reason)


def _stop(plan, test, reason):
    record = _load_record()
    ret = {"test": bool(test), "roles": plan["roles"], "stopped": [], "already_stopped": [],
           "not_installed": [], "held": sorted(n for n in record)}
    if test:
        ret["would_stop"] = ret.pop("stopped")
    failed = {}
    for svc in plan["services"]:
        name = svc["name"]
        if name in record:
            continue
        if not _service("available", name):
            ret["not_installed"].append(name)
            continue
        if not _service("status", name):
            ret["already_stopped"].append(name)
            continue
        if test:
            ret["would_stop"].append(name)
            continue
        if _service("stop", name) and not _service("status", name):
            record[name] = {"role": svc["role"], "reason": str(reason), "stopped_at": time.time()}
            # Recorded at once: a crash later still lets restore find this one.
            _save_record(record)
            ret["stopped"].append(name)
            log.warning("eos_services: stopped %s (%s, role %s)", name, reason, svc["role"])
        else:
            failed[name] = "still running after service.stop"
    if failed:
        raise CommandExecutionError(
            "could not stop " + ", ".join(f"{n!r} ({why})" for n, why in sorted(failed.items()))
            + (f"; stopped {', '.join(ret['stopped'])}" if ret["stopped"] else ""))
    return ret


def _mounts_under_pressure():
    """Mounts the eos_storage beacon last saw at degraded or above (its levels file)."""
    from eos.glue import load_json_dict

    try:
        levels = load_json_dict(os.path.join(__opts__["cachedir"], "eos", "beacon_levels.json"))
    except (OSError, ValueError):
        return []
    return sorted(m for m, lvl in levels.items() if lvl in PRESSURE_LEVELS)


def restore(test=False, force=False):
    """
    Start again the services ``eos_services.stop_noncritical`` stopped (and only those), the
    action when storage falls back below ``degraded``. While the eos_storage beacon still sees
    another mount of this node at ``degraded`` or above, nothing is started and ``waiting_for``
    names those mounts (``force=True`` starts them anyway). Each one started is taken off the
    record; a service that fails to start stays on it, and the call raises naming it after
    trying the others. Nothing recorded: nothing to do. ``test=True`` reports what it would
    start.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_services.restore test=True
        salt '*' eos_services.restore
    """
    with _locked():
        return _restore(bool(test), force)


def _restore(test, force):
    record = _load_record()
    names = sorted(record)
    waiting = [] if force or not names else _mounts_under_pressure()
    if waiting:
        return {"test": bool(test), "started": [], "held": names, "waiting_for": waiting}
    if test or not names:
        return {"test": bool(test), "would_start" if test else "started": names}
    started, failed = [], []
    for name in names:
        if _service("status", name) or (_service("start", name) and _service("status", name)):
            del record[name]
            _save_record(record)
            started.append(name)
            log.warning("eos_services: started %s again", name)
        else:
            failed.append(name)
    if failed:
        raise CommandExecutionError(
            f"could not start {', '.join(map(repr, failed))} again (still recorded in "
            f"{_record_path()})" + (f"; started {', '.join(started)}" if started else ""))
    return {"test": False, "started": started}
