"""Eos storage states: declarative, test=True aware and idempotent."""
from salt.exceptions import CommandExecutionError

try:
    from eos.glue import config as _config
    from eos.glue import state_call as _state_call
except ImportError:  # pragma: no cover - __virtual__ then fails on the execution module
    _config = _state_call = None

__virtualname__ = "eos_storage"


def __virtual__():
    if "eos_storage.expand" not in __salt__:
        return (False, "eos_storage state: the eos_storage execution module is not available")
    return __virtualname__


def _changes(res):
    steps = [
        {k: s[k] for k in ("kind", "object", "before", "after")}
        for s in res["plan"]
        if s["status"] in ("done", "planned")
    ]
    if not steps:
        return {}
    return {"before": res["before"], "after": res["after"], "steps": steps}


def expanded(name, size="max", warn_pct=None, margin_pct=5):
    """
    Ensure a volume (mount point, block device or ``vg/lv``) and its filesystem have grown to
    ``size`` (``max``, ``+50G``, ``200G``, ``100%FREE`` or ``auto``): everything the layers
    below offer is taken up. A second run changes nothing; ``test=True`` shows the plan.

    Note that ``+N`` grows by N on every run that finds room; use an absolute size or
    ``max`` for a state that settles.

    CLI Example:

    .. code-block:: yaml

        /srv/data:
          eos_storage.expanded:
            - size: max
    """
    ret = {"name": name, "result": False, "changes": {}, "comment": ""}
    test = bool(__opts__.get("test"))
    res = _state_call(__salt__, __opts__, ret, "eos_storage.expand", name, size=size,
                      warn_pct=warn_pct, margin_pct=margin_pct)
    if res is None:
        return ret
    skipped = [s for s in res["plan"] if s["status"] == "skipped"]
    notes = list(res.get("notes") or []) + [f"skipped {s['kind']} {s['object']}: {s['note']}" for s in skipped]
    changes = _changes(res)
    if test:
        ret["result"] = None if changes else True
        ret["changes"] = changes
        ret["comment"] = (
            f"{name} would grow from {res['before']} to {res['after']} bytes"
            if changes
            else f"{name} is already expanded ({res['before']} bytes)"
        )
    else:
        ret["result"] = True
        ret["changes"] = changes if res["changed"] else {}
        ret["comment"] = (
            f"{name} grew from {res['before']} to {res['after']} bytes"
            if res["changed"]
            else f"{name} is already expanded ({res['before']} bytes)"
        )
    if res.get("resumed"):
        notes.insert(0, res["resume_info"])
    if notes:
        ret["comment"] += "; " + "; ".join(notes)
    return ret


def provisioned(name, workload, mountpoint=None, label=None, force=False):
    """
    Make sure device ``name`` carries the filesystem recommended for ``workload`` and, with
    ``mountpoint``, is mounted there with an fstab entry by UUID (fstab: minion config or
    pillar ``eos:storage:fstab``, default /etc/fstab).

    A device that already holds the recommended filesystem (and label, when given) is kept:
    only the missing mount and fstab steps run, so reruns change nothing. Any other content
    is refused unless ``force`` is True. The ``shared`` workload is handed over to the Ceph
    work and fails here with that message. It never adds LVM itself: for a filesystem on LVM,
    put ``pv_present``/``vg_present``/``lv_present`` before it and name the LV's device.

    .. code-block:: yaml

        /dev/sdb:
          eos_storage.provisioned:
            - workload: backup
            - mountpoint: /srv/backup
    """
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    fstab = _config(__salt__, "eos:storage:fstab", "/etc/fstab")
    kwargs = {
        "mountpoint": str(mountpoint) if mountpoint else None,
        "label": str(label) if label is not None else None,
        "force": bool(force),
        "keep_matching": True,
        # The filesystem goes where name says (an LV made by lv_present, or a plain device):
        # a rerun then finds it and keeps it.
        "lvm": False,
    }
    provision = __salt__["eos_storage.provision"]
    try:
        plan = provision(name, str(workload), test=True, **kwargs)
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
        done = provision(name, str(workload), test=False, **kwargs)
    except CommandExecutionError as exc:
        ret["result"] = False
        ret["comment"] = str(exc)
        return ret
    changes["uuid"] = done["uuid"]
    ret["changes"] = changes
    ret["comment"] = f"{name} provisioned with {rec['fstype']} for {rec['workload']}"
    return ret


def _lvm_state(name, what, fn, *args, **kwargs):
    """One LVM object made to match: the plan under test=True (result None, nothing changed),
    else the change; a refusal is a failed state quoting it."""
    ret = {"name": name, "result": False, "changes": {}, "comment": ""}
    test = bool(__opts__.get("test"))
    res = _state_call(__salt__, __opts__, ret, fn, *args, **kwargs)
    if res is None:
        return ret
    steps = [f"{s['action']} {s['detail']}" for s in res["steps"]]
    note = f"; {res['note']}" if res["note"] else ""
    if not steps:
        ret["result"] = True
        ret["comment"] = f"{what} {name} is already as requested{note}"
        return ret
    ret["changes"] = {"steps": steps, "before": res["before"], "after": res["after"]}
    ret["result"] = None if test else True
    ret["comment"] = f"{what} {name} {'would be' if test else 'was'} changed: {'; '.join(steps)}{note}"
    return ret


def pv_present(name):
    """
    Device ``name`` is an LVM physical volume (``pvcreate`` when it is not; a device that is
    not free is refused and left as it is).

    .. code-block:: yaml

        /dev/sdb:
          eos_storage.pv_present
    """
    return _lvm_state(name, "physical volume", "eos_storage.pv_ensure", name)


def vg_present(name, devices, extent_size=None):
    """
    Volume group ``name`` exists and holds every device in ``devices`` (new PVs are made and
    added with ``vgextend``; PVs not listed stay). ``extent_size`` applies at creation only.

    .. code-block:: yaml

        vgdata:
          eos_storage.vg_present:
            - devices:
              - /dev/sdb
              - /dev/sdc
    """
    return _lvm_state(name, "volume group", "eos_storage.vg_ensure", name, devices,
                      extent_size=extent_size)


def lv_present(name, vg, size, shrink=False):
    """
    Logical volume ``name`` exists in ``vg`` with at least ``size`` (absolute, ``N%FREE`` at
    creation, or ``max``): created, or grown with ``lvextend``. A larger LV is never shrunk
    unless ``shrink: True`` (and then only while it is inactive).

    .. code-block:: yaml

        data:
          eos_storage.lv_present:
            - vg: vgdata
            - size: 100G
    """
    return _lvm_state(name, "logical volume", "eos_storage.lv_ensure", name, vg, size,
                      shrink=shrink)
