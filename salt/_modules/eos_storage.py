"""Eos storage execution module: the work is done in C by the eos package (eos._eos)."""
import logging
import os

try:
    import eos

    HAS_EOS = True
    IMPORT_ERROR = ""
except ImportError as exc:  # pragma: no cover - depends on the minion's environment
    HAS_EOS = False
    IMPORT_ERROR = str(exc)

from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "eos_storage"


def __virtual__():
    if not HAS_EOS:
        return (False, f"eos_storage: the eos package cannot be imported: {IMPORT_ERROR}")
    return __virtualname__


def _call(fn, *args, **kwargs):
    """Run an eos function, turning its OSError into Salt's CommandExecutionError."""
    try:
        return fn(*args, **kwargs)
    except OSError as exc:
        raise CommandExecutionError(str(exc)) from exc


def _expand_state_dir():
    return os.path.join(__opts__["cachedir"], "eos", "expand")


def _expand_warn_pct(size, warn_pct):
    """The warning level "auto" aims under: given, or the scale tier's from eos.thresholds."""
    if warn_pct is not None:
        return int(warn_pct)
    if str(size).lower() != "auto":
        return 60  # unused: only "auto" reads it
    if not hasattr(eos, "thresholds"):
        raise CommandExecutionError(
            "size 'auto' needs the scale tier's warning level, and this eos build has no "
            "eos.thresholds: pass warn_pct=N"
        )
    nodes = __salt__["pillar.get"]("eos:cluster:node_count", 1, unmask=True)
    overrides = __salt__["pillar.get"]("eos:storage:thresholds", None, unmask=True)
    return int(_call(eos.thresholds, node_count=nodes, thresholds=overrides)["warning"])


def _masterless():
    return bool(
        __opts__.get("local")
        or __opts__.get("file_client") == "local"
        or __opts__.get("master_type") == "disable"
    )


def _expand_events(phase, data):
    """Put each phase of an expansion on the master's event bus: eos/storage/expand/<phase>."""
    try:
        __salt__["event.send"](f"eos/storage/expand/{phase}", data)
    except Exception as exc:  # pylint: disable=broad-except
        log.warning("eos_storage.expand: event %s not sent: %s", phase, exc)


def expand(target, size="max", test=False, warn_pct=None, margin_pct=5, lock_timeout=600):
    """
    Grow a volume and the filesystem on it, in one call, without ever shrinking.

    ``target`` is a mount point, a block device or ``vg/lv``. Eos finds the chain under it
    (loop backing file -> loop device -> PV -> LV -> filesystem), plans each step with the bytes
    before and after, and carries it out under a per-target lock with a journal in the minion's
    cache dir (a rerun after a crash finishes the interrupted plan). Returns the plan, what was
    done, sizes before and after and the time each step took. Events
    ``eos/storage/expand/started|step|done|failed`` go to the master (not sent when masterless).

    size
        ``+50G`` (grow by), ``200G`` (grow to), ``100%FREE`` (all of the free space below),
        ``max`` (default) or ``auto`` (enough to bring usage back under the scale tier's warning
        level minus ``margin_pct`` points). K/M/G/T, with or without ``iB``.
    test
        Only plan: change nothing.
    warn_pct
        The warning level for ``auto`` (default: the tier for pillar ``eos:cluster:node_count``).
    lock_timeout
        Seconds to wait for another expansion of the same target.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.expand /srv/data
        salt '*' eos_storage.expand /srv/data +50G test=True
        salt '*' eos_storage.expand vg0/data 100%FREE
    """
    size = "max" if size is None else str(size)
    return _call(
        eos.expand,
        str(target),
        size,
        test=bool(test),
        state_dir=_expand_state_dir(),
        warn_pct=_expand_warn_pct(size, warn_pct),
        margin_pct=int(margin_pct),
        lock_timeout=float(lock_timeout),
        # Events are for a master following a fleet; masterless there is no one to tell.
        on_event=None if test or _masterless() else _expand_events,
    )
