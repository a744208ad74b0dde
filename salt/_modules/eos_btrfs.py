"""Eos BTRFS execution module: subvolumes, snapshots, the compression property and allocation.

The work is done in C (eos._eos over libbtrfsutil and the BTRFS ioctls); this is the Salt glue.
"""
from salt.exceptions import CommandExecutionError

try:
    import eos
    from eos.glue import call as _call, text_returns as _text_returns
except ImportError as exc:  # pragma: no cover - depends on the minion's environment
    _UNLOADABLE = f"eos_btrfs: the eos package cannot be imported: {exc}"
else:
    _UNLOADABLE = ""

__virtualname__ = "eos_btrfs"


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


def _path(value, what="path"):
    if value is None or (isinstance(value, str) and not value):
        raise CommandExecutionError(f"no {what} given")
    return str(value)


def subvolume_create(name):
    """
    Create the subvolume ``name`` (its parent directory must be on a BTRFS) and return its
    information (as ``subvolume_show``).

    CLI Example:

    .. code-block:: bash

        salt '*' eos_btrfs.subvolume_create /srv/data/projects
    """
    name = _path(name, "subvolume path")
    _call(eos.btrfs_subvolume_create, name)
    return _call(eos.btrfs_subvolume_show, name)


def subvolume_delete(name, recursive=False):
    """
    Delete the subvolume or snapshot ``name``. A path that is not a subvolume is refused.
    With ``recursive=True`` subvolumes below it are deleted too.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_btrfs.subvolume_delete /srv/data/projects
        salt '*' eos_btrfs.subvolume_delete /srv/data/projects recursive=True
    """
    name = _path(name, "subvolume path")
    info = _call(eos.btrfs_subvolume_show, name)
    _call(eos.btrfs_subvolume_delete, name, recursive=bool(recursive))
    return {"deleted": name, "id": info["id"], "uuid": info["uuid"]}


def subvolume_list(path):
    """
    List every subvolume of the BTRFS that ``path`` is on (paths relative to its top level),
    with id, parent id, uuid, parent uuid (set for snapshots), read-only flag and times.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_btrfs.subvolume_list /srv/data
    """
    return _call(eos.btrfs_subvolume_list, _path(path))


def subvolume_show(name):
    """
    Information about the subvolume ``name``: id, parent_id, uuid, parent_uuid (the source
    for a snapshot), read_only, generation, otime/ctime and its path from the top level.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_btrfs.subvolume_show /srv/data/projects
    """
    return _call(eos.btrfs_subvolume_show, _path(name, "subvolume path"))


def snapshot(source, dest, read_only=True):
    """
    Snapshot the subvolume ``source`` at ``dest``; read-only unless ``read_only=False``.
    Returns the snapshot's information.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_btrfs.snapshot /srv/data/projects /srv/data/.snap/projects-1
        salt '*' eos_btrfs.snapshot /srv/data/projects /srv/data/work read_only=False
    """
    source = _path(source, "snapshot source")
    dest = _path(dest, "snapshot destination")
    _call(eos.btrfs_snapshot, source, dest, read_only=bool(read_only))
    return _call(eos.btrfs_subvolume_show, dest)


def check(path):
    """
    Make sure ``path`` is on a BTRFS (a subvolume can be created there); raises naming the
    filesystem it is on otherwise. Returns ``{"path": path, "btrfs": True}``.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_btrfs.check /srv/data
    """
    path = _path(path)
    _call(eos.btrfs_check, path)
    return {"path": path, "btrfs": True}


def set_read_only(name, read_only=True):
    """
    Set or clear the read-only flag of the subvolume or snapshot ``name``; returns its
    information afterwards.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_btrfs.set_read_only /srv/data/.snap/projects-1
        salt '*' eos_btrfs.set_read_only /srv/data/.snap/projects-1 read_only=False
    """
    name = _path(name, "subvolume path")
    _call(eos.btrfs_subvolume_set_read_only, name, bool(read_only))
    return _call(eos.btrfs_subvolume_show, name)


def compression(path, value=None):
    """
    Get or set the ``btrfs.compression`` property of a file or directory. Without ``value``
    returns the current one (None when unset: the mount option decides). ``value`` is
    ``zstd`` or ``zstd:1``..``zstd:15``, ``zlib`` or ``zlib:1``..``zlib:9``, ``lzo``, or
    ``none`` (never compress). It applies to data written afterwards and, on a directory, is
    inherited by files created in it.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_btrfs.compression /srv/backup
        salt '*' eos_btrfs.compression /srv/backup zstd:3
    """
    path = _path(path)
    if value is not None:
        value = str(value)
        _call(eos.btrfs_compression_check, value)
    current = _call(eos.btrfs_compression_get, path)
    if value is None:
        return {"path": path, "compression": current}
    if value != current:
        _call(eos.btrfs_compression_set, path, value)
    return {"path": path, "compression": value, "previous": current, "changed": value != current}


def usage(path):
    """
    Allocation of the BTRFS that ``path`` is on, in bytes, from BTRFS_IOC_FS_INFO, DEV_INFO
    and SPACE_INFO: per chunk type and profile (data, metadata, system, global reserve: total
    and used), per device (size, allocated), and the totals device_size, device_allocated,
    device_unallocated, data/metadata/system total and used, free_estimated; and under
    ``subvolume_extents`` what the files of the subvolume holding ``path`` take on disk after
    compression (``disk_bytes``) against before (``uncompressed_bytes``), counted from their file
    extent items as compsize does.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_btrfs.usage /srv/data
    """
    path = _path(path)
    usage = _call(eos.btrfs_usage, path)
    usage["subvolume_extents"] = _call(eos.btrfs_extent_stats, path)
    return usage


if not _UNLOADABLE:  # every public function's return is valid UTF-8 on the bus
    _text_returns(globals())
