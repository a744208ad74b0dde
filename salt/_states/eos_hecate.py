"""
Hecate routes as states: ``route_present`` / ``route_absent`` for one route, ``reconciled`` for
the whole pillar table (``eos:hecate:routes``). Each is one atomic load of Caddy's config
through the eos_hecate execution module; ``test=True`` shows the would-be change.

.. code-block:: yaml

    web:
      eos_hecate.route_present:
        - domains: [www.example.com]
        - upstreams: ["10.0.0.5:8080", "10.0.0.6:8080"]
        - tls: acme
        - health_uri: /healthz

    old-site:
      eos_hecate.route_absent

    hecate-routes:
      eos_hecate.reconciled:
        - wait: 30        # seconds to wait for Caddy's admin API (a Caddy just started)
"""
import time

from salt.exceptions import CommandExecutionError

try:
    from eos.glue import state_call as _state_call
except ImportError:  # pragma: no cover - __virtual__ then fails on the execution module
    _state_call = None

__virtualname__ = "eos_hecate"


def __virtual__():
    if "eos_hecate.route_set" not in __salt__:
        return (False, "eos_hecate state: the eos_hecate execution module is not available")
    return __virtualname__


def _ret(name):
    return {"name": name, "result": True, "changes": {}, "comment": ""}


def route_present(name, domains, upstreams, tls=None, health_uri=None, headers=None):
    """
    The route ``name`` exists exactly as given (see ``eos_hecate.route_set``).
    """
    ret = _ret(name)
    test = bool(__opts__.get("test"))
    res = _state_call(__salt__, __opts__, ret, "eos_hecate.route_set", name, domains=domains,
                      upstreams=upstreams, tls=tls, health_uri=health_uri, headers=headers)
    if res is None:
        return ret
    if not res["changed"]:
        ret["comment"] = f"route {name} is already as given"
        return ret
    ret["changes"] = {"old": res["old"], "new": res["new"]}
    if test:
        ret.update(result=None, comment=f"route {name} would be {'changed' if res['old'] else 'added'}")
    else:
        ret["comment"] = f"route {name} {'changed' if res['old'] else 'added'}"
    return ret


def route_absent(name):
    """
    The route ``name`` does not exist.
    """
    ret = _ret(name)
    test = bool(__opts__.get("test"))
    res = _state_call(__salt__, __opts__, ret, "eos_hecate.route_delete", name)
    if res is None:
        return ret
    if not res["changed"]:
        ret["comment"] = f"route {name} is already absent"
        return ret
    ret["changes"] = {"old": res["old"], "new": None}
    ret.update(result=None if test else True,
               comment=f"route {name} {'would be removed' if test else 'removed'}")
    return ret


def reconciled(name, wait=0):
    """
    Caddy serves exactly the routes of pillar ``eos:hecate:routes`` (``eos_hecate.reconcile``).
    ``wait``: seconds to retry while Caddy's admin API does not answer yet.
    """
    ret = _ret(name)
    test = bool(__opts__.get("test"))
    deadline = time.monotonic() + float(wait)
    while True:
        try:
            res = __salt__["eos_hecate.reconcile"](test=test)
            break
        except CommandExecutionError as exc:
            down = "unreachable" in str(exc)
            if test and down:
                ret.update(result=None, comment=f"{exc}; if Caddy is started in this run, the "
                                                "pillar's routes would be loaded")
                return ret
            if time.monotonic() >= deadline or not down:
                ret.update(result=False, comment=str(exc))
                return ret
            time.sleep(0.5)
    changes = {k: v for k, v in res["changes"].items() if v}
    if not changes:
        ret["comment"] = f"Caddy serves the pillar's {len(res['routes'])} route(s)"
        return ret
    ret["changes"] = changes
    ret.update(result=None if test else True,
               comment=("would load" if test else "loaded") + f" the pillar's {len(res['routes'])} route(s)")
    return ret
