"""Eos storage states: idempotent and test=True aware; the work is done in C (eos._eos)."""
try:
    import eos

    HAS_EOS = True
    IMPORT_ERROR = ""
except ImportError as exc:  # pragma: no cover
    HAS_EOS = False
    IMPORT_ERROR = str(exc)

__virtualname__ = "eos_storage"


def __virtual__():
    if not HAS_EOS:
        return (False, f"eos_storage: the eos package cannot be imported: {IMPORT_ERROR}")
    return __virtualname__


def provisioned(name, workload, mountpoint=None, label=None, force=False):
    """
    Make sure device ``name`` carries the filesystem recommended for ``workload`` and, with
    ``mountpoint``, is mounted there with an fstab entry by UUID (fstab: minion config or
    pillar ``eos:storage:fstab``, default /etc/fstab).

    A device that already holds the recommended filesystem (and label, when given) is kept:
    only the missing mount and fstab steps run, so reruns change nothing. Any other content
    is refused unless ``force`` is True. The ``shared`` workload is handed over to the Ceph
    work and fails here with that message.

    .. code-block:: yaml

        /dev/sdb:
          eos_storage.provisioned:
            - workload: backup
            - mountpoint: /srv/backup
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    fstab = str(__salt__["config.get"]("eos:storage:fstab", "/etc/fstab") or "/etc/fstab")
    kwargs = {
        "mountpoint": str(mountpoint) if mountpoint else None,
        "label": str(label) if label is not None else None,
        "fstab": fstab,
        "force": bool(force),
        "keep_matching": True,
    }
    try:
        plan = eos.provision(name, str(workload), dry_run=True, **kwargs)
        rec = plan["recommendation"]
        if rec["handover"]:
            ret["result"] = False
            ret["comment"] = (f"'{rec['workload']}' workloads go to CephFS, which is handled by "
                              f"{rec['handover']}; nothing was done on {name}")
            return ret
        todo = [s for s in plan["steps"] if not s["done"]]
        if not todo:
            ret["comment"] = f"{name} already holds {rec['fstype']} for {rec['workload']}"
            if mountpoint:
                ret["comment"] += f", mounted at {mountpoint} and in {fstab}"
            return ret
        changes = {"fstype": rec["fstype"], "steps": [f"{s['action']}: {s['detail']}" for s in todo]}
        if plan["destroys"]:
            changes["destroys"] = plan["destroys"]
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = changes
            ret["comment"] = f"{name} would be provisioned for {rec['workload']}"
            return ret
        done = eos.provision(name, str(workload), dry_run=False, **kwargs)
    except OSError as exc:
        ret["result"] = False
        ret["comment"] = str(exc)
        return ret
    changes["uuid"] = done["uuid"]
    ret["changes"] = changes
    ret["comment"] = f"{name} provisioned with {rec['fstype']} for {rec['workload']}"
    return ret
