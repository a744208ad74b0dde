"""Eos storage states: declarative, test=True aware and idempotent."""
from salt.exceptions import CommandExecutionError

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
    try:
        res = __salt__["eos_storage.expand"](
            name, size=size, test=test, warn_pct=warn_pct, margin_pct=margin_pct
        )
    except CommandExecutionError as exc:
        ret["comment"] = str(exc)
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
