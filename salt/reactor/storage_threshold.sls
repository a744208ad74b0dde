#!py
"""Reactor for eos/storage/threshold/<level>, fired by the eos_storage beacon when a mount's
level changes. The master maps the level to its action, always on the sending minion only:

  warning    the event only
  compress   eos_storage.compress (rotated logs, pillar eos:storage:compress)
  cleanup    eos_storage.cleanup (pillar eos:storage:cleanup allowlist)
  degraded   eos_storage.cleanup level=degraded, and eos_services.stop_noncritical: the
             services pillar eos:storage:degraded:services lists for the node's roles
  emergency  eos_storage.emergency: expand (size auto) when an expansion path exists,
             otherwise the aggressive cleanup; non-critical services stay stopped
  critical   eos/storage/escalation on the master's bus for a human; no deletion;
             non-critical services stay stopped
  ok         nothing (recovery)

Falling from degraded or above to a lower level runs eos_services.restore.

The event is untrusted input. Python rather than Jinja: the reactions are built as data, never
as YAML text, so no value of the event can add or change a reaction; each field is checked for
type and bounds (eos.events), the minion is the envelope's id and must have signed the event with
its own key, and every job targets exactly that id (tgt_type: list). Anything else is dropped
with one warning in the master's log.

Enable on the master:
  reactor:
    - 'eos/storage/threshold/*':
      - salt://reactor/storage_threshold.sls
"""
import logging

from eos import events

log = logging.getLogger("eos.reactor.storage_threshold")
PREFIX = "eos/storage/threshold/"
PRESSURE = ("degraded", "emergency", "critical")


def _checked():
    if not tag.startswith(PREFIX) or tag[len(PREFIX):] not in events.LEVELS:
        raise events.EventRejected(f"tag {events.quote(tag)} is not {PREFIX}<level>")
    level = tag[len(PREFIX):]
    mid, payload = events.envelope(tag, data)
    figures = {
        "target": events.text_field(payload, "target", events.MAX_PATH),
        "previous": events.level_field(payload, "previous", required=False),
        "used_pct": events.number_field(payload, "used_pct", 0, 100),
        "inodes_pct": events.number_field(payload, "inodes_pct", 0, 100, required=False),
    }
    if payload.get("level", level) != level:
        raise events.EventRejected(f"field 'level': {events.quote(payload.get('level'))} is not "
                                   f"the tag's level {level!r}")
    events.verify(opts, tag, mid, payload)
    return mid, level, figures


def _local(fun, mid, **kwargs):
    job = [{"tgt": [mid]}, {"tgt_type": "list"}]
    if kwargs:
        job.append({"args": [kwargs]})
    return {"local." + fun: job}


def _escalation(mid, figures):
    return {"runner.event.send": [{"args": [
        {"tag": "eos/storage/escalation"},
        {"data": {"id": mid, "target": figures["target"], "level": "critical",
                  "used_pct": figures["used_pct"], "inodes_pct": figures["inodes_pct"],
                  "message": f"storage on {mid} is at critical; no automatic deletion at this level"}},
    ]}]}


def run():
    try:
        mid, level, figures = _checked()
    except events.EventRejected as exc:
        log.warning("eos storage_threshold reactor: dropped %s: %s", events.quote(tag), exc)
        return {}
    reactions = {}
    if level == "emergency":
        reactions["eos_storage_threshold_emergency"] = _local(
            "eos_storage.emergency", mid, target=figures["target"])
    elif level == "compress":
        reactions["eos_storage_threshold_compress"] = _local("eos_storage.compress", mid)
    elif level in ("cleanup", "degraded"):
        reactions["eos_storage_threshold_cleanup"] = _local("eos_storage.cleanup", mid, level=level)
    elif level == "critical":
        reactions["eos_storage_threshold_escalate"] = _escalation(mid, figures)
    if level in PRESSURE:
        reactions["eos_storage_threshold_stop_services"] = _local(
            "eos_services.stop_noncritical", mid, reason=f"storage {level} on {figures['target']}")
    elif figures["previous"] in PRESSURE:
        reactions["eos_storage_threshold_restore_services"] = _local("eos_services.restore", mid)
    return reactions
