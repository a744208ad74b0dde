"""
Hecate backend health beacon: fires ``eos/hecate/backend/down`` and ``eos/hecate/backend/up``
on the master's bus when an upstream's health, as Caddy's active health checks see it
(``eos_hecate.backend_health``), changes.

Caddy 2.11 keeps active health per proxy handler and exposes it in its admin API as the metric
``caddy_reverse_proxy_upstreams_healthy``; ``/reverse_proxy/upstreams`` gives request and
failure counts. Only upstreams of routes with a ``health_uri`` are watched. The first check
records the states without firing; the states are kept in the minion's cache, so a restart
does not fire again for a change already reported.

.. code-block:: yaml

    beacons:
      eos_hecate:
        - interval: 5
"""
import logging
import os

import salt.utils.beacons

try:
    from eos.glue import fire as _glue_fire, load_json_dict as _load_json_dict, save_json as _save_json
except ImportError as exc:  # pragma: no cover - depends on the minion's environment
    _UNLOADABLE = f"eos_hecate beacon: the eos package cannot be imported: {exc}"
else:
    _UNLOADABLE = ""

log = logging.getLogger(__name__)

__virtualname__ = "eos_hecate"


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


def validate(config):
    """No options besides Salt's own (interval)."""
    if not isinstance(config, (list, dict)):
        return False, "Configuration for eos_hecate beacon must be a list of dicts."
    cfg = dict(config) if isinstance(config, dict) else salt.utils.beacons.list_to_dict(config)
    unknown = set(cfg) - {"interval", "disable_during_state_run", "beacon_module"}
    if unknown:
        return False, f"eos_hecate beacon: unknown option(s) {sorted(unknown)}"
    return True, "Valid beacon configuration"


def _path():
    return os.path.join(__opts__["cachedir"], "eos", "hecate", "backend_health.json")


def beacon(config):
    """
    Fire ``eos/hecate/backend/down|up`` for each checked upstream whose health changed.

    CLI Example:

    .. code-block:: bash

        salt edge1 beacons.add eos_hecate "[{'interval': 5}]"
    """
    try:
        items = __salt__["eos_hecate.backend_health"]()
    except Exception as exc:  # pylint: disable=broad-except
        # Caddy down is not a backend event: log it and keep the last states.
        log.warning("eos_hecate beacon: %s", exc)
        return []
    now = {i["upstream"]: i for i in items if i["checked"] and i["healthy"] is not None}
    try:
        before = _load_json_dict(_path())
        first = not os.path.exists(_path())
    except (OSError, ValueError) as exc:
        log.warning("eos_hecate beacon: ignoring %s: %s", _path(), exc)
        before, first = {}, True
    states = {u: i["healthy"] for u, i in now.items()}
    if states != before:
        try:
            _save_json(_path(), states)
        except OSError as exc:
            log.warning("eos_hecate beacon: cannot keep states in %s: %s", _path(), exc)
    events = []
    for up in sorted(now):
        was = before.get(up)
        if first or was == states[up] or (was is None and states[up]):
            continue  # first sight of a healthy upstream is not news
        tag = "up" if states[up] else "down"
        data = {"upstream": up, "routes": now[up]["routes"], "healthy": states[up],
                "fails": now[up]["fails"], "node": __opts__["id"]}
        _fire(data, f"eos/hecate/backend/{tag}")
        events.append(dict(data, tag=f"backend/{tag}"))
    return events


def _fire(data, tag):
    return _glue_fire(__opts__, __salt__, data, tag)
