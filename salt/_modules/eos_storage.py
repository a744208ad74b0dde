"""Eos storage execution module: the work is done in C by the eos package (eos._eos)."""
import functools

try:
    import eos

    HAS_EOS = True
    IMPORT_ERROR = ""
except ImportError as exc:  # pragma: no cover - depends on the minion's environment
    HAS_EOS = False
    IMPORT_ERROR = str(exc)

from salt.exceptions import CommandExecutionError

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
        every mount from /proc/self/mountinfo with statvfs usage in bytes and inodes;
    ``btrfs``
        mounted BTRFS filesystems and their member devices (/sys/fs/btrfs);
    ``lvm``
        PVs, VGs and LVs from the lvm tool's JSON report, ``{"available": false}`` when lvm
        is not installed.

    lvm
        ``auto`` (default): run lvm only when some device carries an LVM2_member signature
        (or could not be probed); ``True``: always; ``False``: never.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.probe
        salt '*' eos_storage.probe lvm=True
    """
    if isinstance(lvm, str) and lvm.lower() in ("true", "false"):
        lvm = lvm.lower() == "true"
    if lvm not in (True, False, "auto"):
        raise CommandExecutionError(f"lvm must be True, False or 'auto', not {lvm!r}")
    return _call(eos.probe, lvm=lvm)


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
    return _call(eos.usage, path)


def _oserror_to_salt(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except OSError as exc:
            raise CommandExecutionError(str(exc)) from exc

    return wrapper


def _nonneg_int(name, value):
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise CommandExecutionError(f"{name} must be an integer >= 0, got {value!r}") from None
    if isinstance(value, bool) or n < 0 or (isinstance(value, float) and value != n):
        raise CommandExecutionError(f"{name} must be an integer >= 0, got {value!r}")
    return n


@_oserror_to_salt
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
    return eos.top_consumers(str(path), depth, limit)


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
