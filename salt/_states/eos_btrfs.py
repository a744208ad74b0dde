"""Eos BTRFS states: subvolumes and snapshots, idempotent and test=True aware.

Unlike Salt's own ``btrfs.subvolume_deleted``, ``eos_btrfs.subvolume_absent`` deletes the
subvolume when it exists and does nothing when it does not.
"""
import errno
import os

from salt.exceptions import CommandExecutionError

__virtualname__ = "eos_btrfs"


def __virtual__():
    if "eos_btrfs.subvolume_show" not in __salt__:
        return (False, "eos_btrfs: the eos_btrfs execution module is not available "
                       "(is the eos package installed?)")
    return __virtualname__


def _btrfs(fn, *args, **kwargs):
    """The eos_btrfs execution module: the state changes nothing itself."""
    return __salt__[f"eos_btrfs.{fn}"](*args, **kwargs)


def _errno(exc):
    """The errno behind a CommandExecutionError of the module (its OSError), or None."""
    return getattr(exc.__cause__, "errno", None)


def _ret(name):
    return {"name": name, "result": True, "changes": {}, "comment": ""}


def _show(path):
    """The subvolume at path, None when path does not exist; CommandExecutionError when it
    exists but is not a subvolume (EINVAL) or cannot be read."""
    if not os.path.lexists(path):
        return None
    return _btrfs("subvolume_show", path)


def _parent(path):
    return os.path.dirname(os.path.normpath(path)) or "."


def subvolume_present(name):
    """
    Make sure ``name`` is a BTRFS subvolume: create it when absent; fail when something else
    is there.

    .. code-block:: yaml

        /srv/data/projects:
          eos_btrfs.subvolume_present
    """
    ret = _ret(name)
    try:
        info = _show(name)
        if info is not None:
            ret["comment"] = f"{name} is already a subvolume (id {info['id']})"
            return ret
        _btrfs("check", _parent(name))
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = {"created": name}
            ret["comment"] = f"subvolume {name} would be created"
            return ret
        info = _btrfs("subvolume_create", name)
    except CommandExecutionError as exc:
        ret["result"] = False
        ret["comment"] = str(exc)
        return ret
    ret["changes"] = {"created": name, "id": info["id"], "uuid": info["uuid"]}
    ret["comment"] = f"subvolume {name} created"
    return ret


def subvolume_absent(name, recursive=False):
    """
    Make sure the subvolume ``name`` does not exist: delete it when it exists (with the
    subvolumes below it when ``recursive`` is True). A path that exists but is not a
    subvolume is left alone and the state fails.

    .. code-block:: yaml

        /srv/data/old:
          eos_btrfs.subvolume_absent:
            - recursive: True
    """
    ret = _ret(name)
    try:
        info = _show(name)
        if info is None:
            ret["comment"] = f"{name} is already absent"
            return ret
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = {"deleted": name, "id": info["id"]}
            ret["comment"] = f"subvolume {name} would be deleted"
            return ret
        _btrfs("subvolume_delete", name, recursive=bool(recursive))
    except CommandExecutionError as exc:
        ret["result"] = False
        ret["comment"] = str(exc)
        if _errno(exc) == errno.EINVAL and os.path.lexists(name):
            ret["comment"] += "; nothing was deleted"
        return ret
    ret["changes"] = {"deleted": name, "id": info["id"], "uuid": info["uuid"]}
    ret["comment"] = f"subvolume {name} deleted"
    return ret


def snapshot_present(name, source, read_only=True):
    """
    Make sure ``name`` is a snapshot of the subvolume ``source`` (read-only unless
    ``read_only`` is False). Creates it when absent, fixes the read-only flag when it differs,
    fails when ``name`` is something else (a directory, another subvolume, a snapshot of
    another subvolume).

    .. code-block:: yaml

        /srv/data/.snap/projects-base:
          eos_btrfs.snapshot_present:
            - source: /srv/data/projects
    """
    ret = _ret(name)
    read_only = bool(read_only)
    try:
        if __opts__["test"] and not os.path.lexists(source) and not os.path.lexists(name):
            # In a test run the source may be a subvolume an earlier state would create.
            _btrfs("check", _parent(name))
            ret["result"] = None
            ret["changes"] = {"created": name, "source": source, "read_only": read_only}
            ret["comment"] = (f"snapshot {name} of {source} would be created "
                              f"({source} does not exist yet)")
            return ret
        src = _btrfs("subvolume_show", source)
        info = _show(name)
        if info is not None:
            if info["parent_uuid"] != src["uuid"]:
                ret["result"] = False
                ret["comment"] = (f"{name} exists and is not a snapshot of {source} "
                                  f"(its parent uuid is {info['parent_uuid']}, {source} is {src['uuid']})")
                return ret
            if info["read_only"] == read_only:
                ret["comment"] = f"{name} is already a snapshot of {source}"
                return ret
            ret["changes"] = {"read_only": {"old": info["read_only"], "new": read_only}}
            if __opts__["test"]:
                ret["result"] = None
                ret["comment"] = f"the read-only flag of {name} would be set to {read_only}"
                return ret
            _btrfs("set_read_only", name, read_only)
            ret["comment"] = f"the read-only flag of {name} set to {read_only}"
            return ret
        _btrfs("check", _parent(name))
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = {"created": name, "source": source, "read_only": read_only}
            ret["comment"] = f"snapshot {name} of {source} would be created"
            return ret
        info = _btrfs("snapshot", source, name, read_only=read_only)
    except CommandExecutionError as exc:
        ret["result"] = False
        ret["changes"] = {}
        ret["comment"] = str(exc)
        return ret
    ret["changes"] = {"created": name, "source": source, "read_only": info["read_only"],
                      "uuid": info["uuid"]}
    ret["comment"] = f"snapshot {name} of {source} created"
    return ret
