"""
Storage threshold beacon: fires ``eos/storage/threshold/<level>`` when a mount's level changes.

The evaluation is done in C (``eos.watch``): bytes and inodes of every real mount (on BTRFS
also the real chunk allocation from BTRFS_IOC_SPACE_INFO), the levels of the node's scale tier
(pillar ``eos:cluster:node_count``, overrides in pillar ``eos:storage:thresholds``), and
hysteresis: a mount leaves a level only when it is ``hysteresis`` points (default 3) below it.
An event is fired once per level change, not at every interval; going back to ``ok`` fires
``eos/storage/threshold/ok`` (the recovery).

Each change is sent twice, with the same data: as ``eos/storage/threshold/<level>`` on the
master's bus (what the reactor maps; on a masterless minion, its own bus), and as this beacon's
own return, which Salt publishes as ``salt/beacon/<minion id>/eos_storage/threshold/<level>``.

.. code-block:: yaml

    beacons:
      eos_storage:
        - interval: 10            # how often Salt calls the beacon
        - mounts: [/, /srv]       # default: every real mount
        - thresholds:             # default: pillar eos:storage:thresholds
            warning: 50
        - node_count: 3           # default: pillar eos:cluster:node_count

The check itself runs at the tier's check interval (5 min on 1-3 nodes, 3 min on 4-6, 1 min on
7+; ``check_interval`` in the thresholds overrides it), whatever the Salt interval.
"""
import logging
import os
import time

import salt.utils.beacons

try:
    import eos
    from eos.events import sign as _sign
    from eos.glue import fire as _glue_fire, load_json_dict as _load_json_dict, save_json as _save_json
    from eos.glue import pillar as _glue_pillar, text as _text
except ImportError as exc:  # pragma: no cover - depends on the minion's environment
    _UNLOADABLE = f"eos_storage beacon: the eos package cannot be imported: {exc}"
else:
    _UNLOADABLE = ""

log = logging.getLogger(__name__)

__virtualname__ = "eos_storage"

KEYS = {"mounts", "thresholds", "node_count"}
EVENT_KEYS = ("target", "source", "fstype", "level", "previous", "used_pct", "inodes_pct",
              "bytes_pct", "size", "used", "avail", "inodes", "inodes_used", "btrfs")


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


def _config(config):
    if isinstance(config, dict):
        return dict(config)
    return salt.utils.beacons.list_to_dict(config)


def _pillar(key, default):
    return _glue_pillar(__salt__, key, default)


def _settings(cfg):
    node_count = cfg["node_count"] if "node_count" in cfg else _pillar("eos:cluster:node_count", 1)
    thresholds = cfg["thresholds"] if "thresholds" in cfg else _pillar("eos:storage:thresholds", None)
    return node_count, thresholds


def validate(config):
    """Check the beacon configuration; thresholds are checked by the same C code that uses them."""
    if not isinstance(config, (list, dict)):
        return False, "Configuration for eos_storage beacon must be a list of dicts."
    try:
        cfg = _config(config)
    except Exception as exc:  # pylint: disable=broad-except
        return False, f"Configuration for eos_storage beacon must be a list of dicts: {exc}"
    unknown = set(cfg) - KEYS - {"interval", "disable_during_state_run", "beacon_module"}
    if unknown:
        return False, f"eos_storage beacon: unknown option(s) {sorted(unknown)}; known: {sorted(KEYS)}"
    mounts = cfg.get("mounts")
    if mounts is not None and (not isinstance(mounts, list) or not all(isinstance(m, str) for m in mounts)):
        return False, f"eos_storage beacon: mounts must be a list of mount points, got {mounts!r}"
    if "thresholds" in cfg or "node_count" in cfg:
        try:
            eos.thresholds(cfg.get("node_count", 1), cfg.get("thresholds"))
        except OSError as exc:
            return False, f"eos_storage beacon: {exc.strerror}"
    return True, "Valid beacon configuration"


def beacon(config):
    """
    Fire ``eos/storage/threshold/<level>`` for each mount whose threshold level changed.

    CLI Example:

    .. code-block:: bash

        salt '*' beacons.add eos_storage "[{'interval': 10}]"
    """
    cfg = _config(config)
    node_count, thresholds = _settings(cfg)
    try:
        th = eos.thresholds(node_count, thresholds)
    except OSError as exc:
        log.error("eos_storage beacon: %s", exc.strerror)
        return []
    now = time.monotonic()
    last = __context__.get("eos_storage.last_check")
    if last is not None and now - last < th["check_interval"]:
        return []
    __context__["eos_storage.last_check"] = now
    previous = _load_levels()
    try:
        items = eos.watch(previous, node_count=node_count, thresholds=thresholds,
                          mounts=cfg.get("mounts"))
    except OSError as exc:
        log.error("eos_storage beacon: %s", exc)
        return []
    levels = {i["target"]: i["level"] for i in items}
    log.debug("eos_storage beacon: checked %d mount(s): %s", len(items), levels)
    if levels != previous:
        _save_levels(levels)
    events = []
    for item in items:
        if item["error"]:
            log.warning("eos_storage beacon: %s: %s", item["target"], item["error"])
        if not item["changed"]:
            continue
        data = {k: item.get(k) for k in EVENT_KEYS}
        data["tier"] = th["tier"]
        data["threshold"] = th.get(item["level"])
        tag = f"threshold/{item['level']}"
        _fire(data, f"eos/storage/{tag}")
        events.append(dict(data, tag=tag))
    return events


def _levels_path():
    return os.path.join(__opts__["cachedir"], "eos", "beacon_levels.json")


def _load_levels():
    """The levels of the previous check. Kept in the minion's cache rather than in memory, so
    that a beacon reload or a minion restart does not fire again for levels already reported."""
    try:
        return _load_json_dict(_levels_path())
    except (OSError, ValueError) as exc:
        log.warning("eos_storage beacon: ignoring %s: %s", _levels_path(), exc)
        return {}


def _save_levels(levels):
    try:
        _save_json(_levels_path(), levels)
    except OSError as exc:
        log.warning("eos_storage beacon: cannot keep levels in %s: %s", _levels_path(), exc)


def _fire(data, tag):
    """To the master's bus, signed with this minion's key (the reactor acts only on events the
    minion signed: eos/events.py says why); a masterless minion has only its own bus."""
    return _glue_fire(__opts__, __salt__, _text(data), tag, sign=_sign)
