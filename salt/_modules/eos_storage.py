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


def _text(value):
    """
    Salt's outputters and its msgpack transport need valid UTF-8. eos returns file names that
    are not (a mount point, a backing file) with surrogate escapes, as os.fsdecode does; here
    their undecodable bytes become ``\\xNN`` escapes, as Python's "backslashreplace" writes them.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {_text(k): _text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value


def probe(lvm="auto"):
    """
    One in-process inventory of this minion's storage, collected in C:

    ``devices``
        every block device from sysfs (name, path, major:minor, size in bytes, rotational,
        read_only, removable, kind, partition number and parent, loop backing file, holders,
        slaves) with its signature read through libblkid as ``blkid -p`` does (``type``,
        ``uuid``, ``label``, ``partuuid``, ``pttype``, ``usage``, ``btrfs_devid`` and every tag
        under ``blkid``), its mount points and whether it is ``unused``;
    ``mounts``
        every mount from /proc/self/mountinfo with statvfs usage in bytes and inodes
        (names that are not UTF-8 show their other bytes as ``\\xNN``);
    ``btrfs``
        mounted BTRFS filesystems and their member devices (/sys/fs/btrfs);
    ``lvm``
        PVs, VGs and LVs from the lvm tool's JSON report, ``{"available": false}`` when lvm
        is not installed.

    lvm
        ``auto`` (default): run lvm only when some device carries an LVM2_member signature, is
        ambivalent or could not be read for a reason lvm would not share (an I/O error; not a
        permission error); ``True``: always; ``False``: never. The lvm report runs on its own
        thread while the devices are probed.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.probe
        salt '*' eos_storage.probe lvm=True
    """
    if isinstance(lvm, str) and lvm.lower() in ("true", "false"):
        lvm = lvm.lower() == "true"
    if lvm not in (True, False, "auto"):
        raise CommandExecutionError(f"lvm must be True, False or 'auto', not {lvm!r}")
    return _text(_call(eos.probe, lvm=lvm))


def usage(path=None):
    """
    Usage of the filesystem holding ``path`` (statvfs: bytes and inodes, with the mount it
    belongs to), or of every mounted filesystem with storage when no path is given. Cheap:
    no device is opened and no tool is run.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.usage
        salt '*' eos_storage.usage /var
    """
    if path is not None and not isinstance(path, (str, bytes)):
        path = str(path)
    if path == "":
        raise CommandExecutionError("usage: empty path")
    return _text(_call(eos.usage, path))


def _nonneg_int(name, value):
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise CommandExecutionError(f"{name} must be an integer >= 0, got {value!r}") from None
    if isinstance(value, bool) or n < 0 or (isinstance(value, float) and value != n):
        raise CommandExecutionError(f"{name} must be an integer >= 0, got {value!r}")
    return n


def top_consumers(path, depth=2, limit=20):
    """
    The largest directories (down to ``depth`` levels below ``path``, cumulative) and the
    largest files under ``path``, by disk usage in bytes, exactly like ``du -x -B1``: the
    walk stays on the filesystem of ``path``, never follows symlinks and counts hard-linked
    files once. Returns the totals (``bytes``, ``apparent_bytes``, ``files``, ``dirs``),
    ``top_dirs`` and ``top_files`` (``limit`` of each, largest first) and the ``errors`` met
    in unreadable subtrees, which are skipped (like du, an unreadable directory's own blocks
    still count). A hard-linked file counts once, in the first directory the walk meets it in.
    Mounts below ``path`` (other filesystems, and bind mounts) are not entered.

    path
        The directory to walk (not a symlink to one).

    depth
        How many levels below ``path`` directories are listed (0: only ``path`` itself).

    limit
        How many directories and how many files to list.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.top_consumers /var
        salt '*' eos_storage.top_consumers /srv/data 3 10
    """
    depth = _nonneg_int("depth", depth)
    limit = _nonneg_int("limit", limit)
    return _call(eos.top_consumers, str(path), depth, limit)


def _pillar(key, default):
    """A pillar value as plain data (Salt 3008 masks pillar.get's return unless unmask=True)."""
    return __salt__["pillar.get"](key, default, unmask=True)


def analyze(path=None, record=True, window=None):
    """
    Analyse the mounted filesystems (or only the one holding ``path``): usage and inode
    percentages, the threshold level for this node's scale tier, growth from the samples kept
    in the minion's cache, the expansion paths that exist and a recommendation (``expand``,
    ``cleanup`` or ``none``).

    Thresholds come from the tier for pillar ``eos:cluster:node_count`` (default 1), with
    pillar ``eos:storage:thresholds`` overriding single levels (a bad value is refused).

    path
        Only the mount containing this path.
    record
        Append a usage sample for each mount before computing growth (default True).
    window
        Growth window in seconds (default 24 hours).

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.analyze
        salt '*' eos_storage.analyze /var record=False
    """
    return _call(
        eos.analyze,
        __opts__["cachedir"],
        node_count=_pillar("eos:cluster:node_count", 1),
        thresholds=_pillar("eos:storage:thresholds", None),
        record=bool(record),
        path=path,
        window=float(window or 0),
    )


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
    nodes = _pillar("eos:cluster:node_count", 1)
    overrides = _pillar("eos:storage:thresholds", None)
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
        __salt__["event.send"](f"eos/storage/expand/{phase}", _text(data))
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
    return _text(_call(
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
    ))
