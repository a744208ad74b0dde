"""Eos storage execution module: the work is done in C by the eos package (eos._eos)."""
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


def _fstab():
    """The fstab provisioning writes: minion config or pillar ``eos:storage:fstab``."""
    return str(__salt__["config.get"]("eos:storage:fstab", "/etc/fstab") or "/etc/fstab")


def _handover_comment(rec, device=None):
    where = f"; nothing was done on {device}" if device else ""
    return (f"'{rec['workload']}' workloads go to {rec['fstype'].upper()}, which is handled by "
            f"{rec['handover']}{where}")


def recommend(workload):
    """
    The filesystem eos recommends for a workload and why, without touching anything:
    ``database`` (XFS; on LVM where device-mapper is available, otherwise the reason the LVM
    layer is skipped), ``backup`` (BTRFS, zstd compression), ``boot`` / ``system`` (ext4),
    ``shared`` (CephFS: handed over to the Ceph work), ``general`` (XFS).

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.recommend database
    """
    rec = _call(eos.provision_recommend, str(workload))
    if rec["handover"]:
        rec["comment"] = _handover_comment(rec)
    return rec


def provision(device, workload, mountpoint=None, label=None, force=False, test=False):
    """
    Make the recommended filesystem for ``workload`` on ``device``; with ``mountpoint``, mount
    it and add an fstab entry by UUID (written atomically, other entries kept). The fstab is
    ``/etc/fstab`` unless ``eos:storage:fstab`` is set in the minion config or pillar.

    A device that holds a filesystem, a partition table or an LVM signature, or is mounted or
    in use, is refused (libblkid, mountinfo, sysfs holders, exclusive open) unless
    ``force=True``; the answer then lists what is destroyed. ``test=True`` returns the plan
    (steps, the mkfs command, the fstab line, what would be destroyed) and changes nothing.
    The ``shared`` workload is handed over to the Ceph work and nothing is done here.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.provision /dev/sdb backup /srv/backup test=True
        salt '*' eos_storage.provision /dev/sdb database /var/lib/postgresql label=pgdata
        salt '*' eos_storage.provision /dev/sdc general force=True
    """
    test = bool(test) or bool(__opts__.get("test"))
    res = _call(eos.provision, str(device), str(workload),
                mountpoint=str(mountpoint) if mountpoint else None,
                label=str(label) if label is not None else None,
                fstab=_fstab(), force=bool(force), dry_run=test)
    rec = res["recommendation"]
    if rec["handover"]:
        res["comment"] = _handover_comment(rec, device)
        return res
    verb = "would be" if test else "was"
    res["comment"] = f"{device} {verb} provisioned with {rec['fstype']} for {rec['workload']}"
    if mountpoint:
        res["comment"] += f", mounted at {mountpoint} and added to {_fstab()} by UUID"
    if res["destroys"]:
        res["comment"] += "; destroying: " + "; ".join(res["destroys"])
    return res
