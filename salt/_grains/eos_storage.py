"""The eos_storage grain: unused block devices and total/free storage, for role calculation.

Collected in C in one call (sysfs, libblkid, mountinfo, statvfs; no tool is run):
``{"unused_devices": [{"name", "path", "size", "rotational"}], "unused_bytes", "total_bytes",
"free_bytes"}``. A device is unused when it has a size, is writable, carries no signature and
no partition table, has no holders and no partitions and is not mounted. ``total_bytes`` and
``free_bytes`` sum the mounted filesystems that have storage of their own (on a block device,
or BTRFS), each once; free is what non-root users can still write.
"""
import logging

log = logging.getLogger(__name__)

try:
    import eos
except ImportError as exc:  # pragma: no cover - depends on the minion's environment
    _UNLOADABLE = f"eos_storage grains: the eos package cannot be imported: {exc}"
else:
    _UNLOADABLE = ""

__virtualname__ = "eos_storage"


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


def eos_storage():
    """
    The ``eos_storage`` grain.

    CLI Example:

    .. code-block:: bash

        salt '*' grains.get eos_storage
    """
    try:
        return {"eos_storage": eos.storage_facts()}
    except OSError as exc:
        # A grain must not break the minion's grains: log it and leave the grain out.
        log.error("eos_storage grain: %s", exc)
        return {}
