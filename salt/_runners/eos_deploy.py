"""One service through the three layers: ``salt-run eos_deploy.service NAME environment=ENV``
runs ``salt://orchestration/deploy_service.sls``, whose steps are ``eos_deploy.step``:

1. validate: pillar ``eos:services:<name>`` (and the environment's profile) checked;
2. terraform: ``eos_terraform.apply ENV <component>`` when the service names a component
   (``terraform: <component>``);
3. nomad: ``eos_nomad.run`` (register, wait for a healthy deployment);
4. health: every allocation of the new version healthy, bounded;
5. route: ``eos_hecate.route_set NAME domains=[...] upstreams=[...]`` on the edge minions
   (pillar ``eos:roles``) when the service has a ``route``;
6. done: ``eos/deploy/<name>/done``.

Each step records what it did in a journal (``<cachedir>/eos_deploy/<env>/<name>.json``).
When a step fails, ``eos_deploy.undo`` takes back the steps done before it in reverse (route
deleted, job reverted to its previous stable version or stopped, Terraform rolled back to the
previous version or destroyed), fires ``eos/deploy/<name>/failed`` with the step and the reason,
and ``salt-run`` exits non-zero.

Master option: ``eos_deploy_health_timeout`` (seconds, default 120), ``eos_deploy_wait``
(seconds for the Nomad deployment, default 300).
"""
import json
import logging
import os
import re
import time

import salt.client
from salt.exceptions import CommandExecutionError

try:
    from eos import nomad as _jobs
    from eos import terraform as _tf
    from eos.glue import fire_master as _fire_master
    from eos.glue import master_eos_pillar as _master_eos_pillar
    from eos.glue import load_json_dict as _load_json
    from eos.glue import save_json as _save_json
except ImportError as exc:  # pragma: no cover - depends on the installation
    _UNLOADABLE = f"eos_deploy: eos cannot be imported: {exc}"
else:
    _UNLOADABLE = ""

log = logging.getLogger(__name__)

__virtualname__ = "eos_deploy"
STEPS = ("validate", "terraform", "nomad", "health", "route", "done")
HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
UPSTREAM = re.compile(r"^[A-Za-z0-9.-]{1,253}:[0-9]{1,5}$|^\[[0-9a-fA-F:]{2,39}\]:[0-9]{1,5}$")


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


def _names(service, environment):
    return _tf.check_name("service", service), _tf.check_name("environment", environment)


def _journal_path(service, environment):
    service, environment = _names(service, environment)
    return os.path.join(__opts__["cachedir"], "eos_deploy", environment, service + ".json")


def _journal(service, environment):
    try:
        return _load_json(_journal_path(service, environment))
    except (OSError, ValueError) as exc:
        raise CommandExecutionError(f"deploy journal of {service}/{environment}: {exc}") from exc


def _record(service, environment, journal):
    _save_json(_journal_path(service, environment), journal)






def _route(service, svc):
    route = svc.get("route")
    if route is None:
        return None
    if not isinstance(route, dict):
        raise CommandExecutionError(f"service {service}: route must be a mapping, got {route!r}")
    domains, upstreams = route.get("domains"), route.get("upstreams")
    if not isinstance(domains, list) or not domains or len(domains) > 32 or not all(
            isinstance(d, str) and HOST.match(d) for d in domains):
        raise CommandExecutionError(
            f"service {service}: route domains must be 1-32 host names, got {domains!r}")
    if not isinstance(upstreams, list) or not upstreams or len(upstreams) > 64 or not all(
            isinstance(u, str) and UPSTREAM.match(u) for u in upstreams):
        raise CommandExecutionError(
            f"service {service}: route upstreams must be 1-64 host:port, got {upstreams!r}")
    return {"domains": domains, "upstreams": upstreams}


def _edges(eos):
    roles = eos.get("roles") or {}
    if not isinstance(roles, dict):
        raise CommandExecutionError("pillar eos:roles must be a mapping of minion id -> roles")
    return sorted(str(m) for m, r in roles.items() if isinstance(r, list) and "edge" in r)


def _plan(service, environment):
    """The checked deploy: service spec, component, route, edge minions."""
    eos = _master_eos_pillar(__opts__)
    spec = _jobs.service_spec(service, eos.get("services", {}), _tf.environment_profile(eos, environment))
    svc = eos["services"][service]
    component = svc.get("terraform")
    if component is not None:
        _tf.check_name("component", component)
    route = _route(service, svc)
    edges = _edges(eos) if route else []
    if route and not edges:
        raise CommandExecutionError(f"service {service} has a route but pillar eos:roles names no edge minion")
    if spec["via"] != "nomad":
        raise CommandExecutionError(f"service {service}: the deploy runs Nomad jobs directly (via: nomad)")
    return {"spec": spec, "component": component, "route": route, "edges": edges}


# --- the steps ----------------------------------------------------------------------------------

def _step_terraform(service, environment, plan, journal):
    comp = plan["component"]
    if comp is None:
        return {"skipped": "the service names no Terraform component"}
    before = __salt__["eos_terraform.status"](environment, comp)["current"]
    journal["steps"]["terraform"] = {"component": comp, "previous": before, "started": True}
    _record(service, environment, journal)
    ret = __salt__["eos_terraform.apply"](environment, comp)
    return {"component": comp, "previous": before, "version": ret["version"], "pillar_file": ret["pillar_file"]}


def _step_nomad(service, environment, plan, journal):
    try:
        before = __salt__["eos_nomad.status"](service, environment)
        previous = before["version"] if not before["stopped"] else None
    except CommandExecutionError as exc:
        if "answered 404" not in str(exc):
            raise
        previous = None
    ret = __salt__["eos_nomad.run"](service, environment, wait=float(__opts__.get("eos_deploy_wait", 300)))
    return {"job": ret["job"], "previous": previous, "version": ret["version"]}


def _step_health(service, environment, plan, journal):
    version = journal["steps"]["nomad"]["version"]
    want = plan["spec"]["count"]
    deadline = time.monotonic() + float(__opts__.get("eos_deploy_health_timeout", 120))
    while True:
        allocs = [a for a in __salt__["eos_nomad.allocations"](service, environment)
                  if a["job_version"] == version and a["desired_status"] == "run"]
        healthy = [a for a in allocs if a["healthy"] is True and a["client_status"] == "running"]
        if len(healthy) >= want:
            return {"healthy": len(healthy), "allocations": [a["id"] for a in healthy]}
        if time.monotonic() > deadline:
            raise CommandExecutionError(
                f"{len(healthy)} of {want} allocations of version {version} healthy after "
                f"{__opts__.get('eos_deploy_health_timeout', 120)} s")
        time.sleep(1)


def _on_edges(plan, fun, args, kwarg):
    client = salt.client.get_local_client(__opts__["conf_file"])
    ret = client.cmd(plan["edges"], fun, args, kwarg=kwarg, tgt_type="list", full_return=True,
                     timeout=int(__opts__.get("eos_deploy_route_timeout", 60)))
    failed = {m: (ret.get(m) or {}).get("ret", "no answer") for m in plan["edges"]
              if not isinstance(ret.get(m), dict) or ret[m].get("retcode", 0) != 0}
    if failed:
        raise CommandExecutionError(
            f"{fun} failed on " + "; ".join(f"{m}: {str(v)[:300]}" for m, v in sorted(failed.items())))
    return sorted(ret)


def _step_route(service, environment, plan, journal):
    if plan["route"] is None:
        return {"skipped": "the service has no route"}
    journal["steps"]["route"] = {"minions": plan["edges"], "started": True}
    _record(service, environment, journal)
    minions = _on_edges(plan, "eos_hecate.route_set", [service], dict(plan["route"]))
    return {"minions": minions, **plan["route"]}


def _step_done(service, environment, plan, journal):
    summary = {k: v for k, v in journal["steps"].items()}
    _fire_master(__opts__, f"eos/deploy/{service}/done", {"service": service, "environment": environment,
                                                          "steps": summary})
    return {"finished": time.time()}


def step(step, service, environment):
    """
    One step of the deploy orchestration (validate, terraform, nomad, health, route, done),
    recorded in the deploy's journal. Used by ``orchestration/deploy_service.sls``.

    CLI Example:

    .. code-block:: bash

        salt-run eos_deploy.step validate web staging
    """
    if step not in STEPS:
        raise CommandExecutionError(f"unknown deploy step {step!r}: one of {', '.join(STEPS)}")
    service, environment = _names(service, environment)
    journal = {"service": service, "environment": environment, "started": time.time(), "steps": {}} \
        if step == "validate" else _journal(service, environment)
    try:
        plan = _plan(service, environment)
        if step == "validate":
            result = {"count": plan["spec"]["count"], "component": plan["component"],
                      "route": plan["route"], "edges": plan["edges"]}
        else:
            result = globals()[f"_step_{step}"](service, environment, plan, journal)
    except Exception as exc:  # every failure is recorded for the undo, then raised
        journal["failed"] = {"step": step, "reason": str(exc)[:2000]}
        _record(service, environment, journal)
        raise CommandExecutionError(
            f"deploy of {service} to {environment}: step {step} failed: {exc}") from None
    journal["steps"][step] = dict(result, done=True)
    _record(service, environment, journal)
    return result


def _undo_steps(service, environment, journal):
    undone, errors = [], []
    steps = journal.get("steps", {})
    actions = []
    route = steps.get("route")
    if route and route.get("minions"):
        actions.append(("route", lambda: _on_edges({"edges": route["minions"]}, "eos_hecate.route_delete",
                                                   [service], {})))
    nomad_step = steps.get("nomad")
    if nomad_step and nomad_step.get("done"):
        if nomad_step.get("previous") is not None and nomad_step["previous"] != nomad_step["version"]:
            actions.append(("nomad", lambda: __salt__["eos_nomad.revert"](service, environment)))
        else:
            actions.append(("nomad", lambda: __salt__["eos_nomad.stop"](service, environment)))
    tf = steps.get("terraform")
    if tf and tf.get("done"):
        comp = tf["component"]
        if tf.get("previous") is not None:
            actions.append(("terraform", lambda: __salt__["eos_terraform.rollback"](
                environment, comp, version=tf["previous"])))
        else:
            actions.append(("terraform", lambda: __salt__["eos_terraform.destroy"](environment, comp)))
    for name, action in actions:
        try:
            action()
            undone.append(name)
        except Exception as exc:  # go on undoing the rest; report every failure
            errors.append(f"{name}: {str(exc)[:500]}")
    return undone, errors


def undo(service, environment):
    """
    Take back what a failed deploy did, in reverse (route, Nomad job, Terraform), and fire
    ``eos/deploy/<name>/failed`` with the failed step and the reason. Runs once per failed
    deploy (the journal remembers it).

    CLI Example:

    .. code-block:: bash

        salt-run eos_deploy.undo web staging
    """
    service, environment = _names(service, environment)
    journal = _journal(service, environment)
    if "undo" in journal:
        return journal["undo"]
    undone, errors = _undo_steps(service, environment, journal)
    failed = journal.get("failed") or {"step": "unknown", "reason": "no step recorded a failure"}
    journal["undo"] = {"undone": undone, "errors": errors}
    _record(service, environment, journal)
    _fire_master(__opts__, f"eos/deploy/{service}/failed", {"service": service, "environment": environment,
                                           "step": failed["step"], "reason": failed["reason"],
                                           "undone": undone, "undo_errors": errors})
    if errors:
        raise CommandExecutionError(f"undo of the deploy of {service} incomplete: {'; '.join(errors)}")
    return journal["undo"]


def service(name, environment):
    """
    Deploy the service ``name`` (pillar ``eos:services:<name>``) to ``environment``: the
    orchestration ``deploy_service`` (validate, Terraform, Nomad, health, Hecate route, done).
    A failure undoes the steps before it and makes this call fail with the step and reason.

    CLI Example:

    .. code-block:: bash

        salt-run eos_deploy.service web environment=production
    """
    name, environment = _names(name, environment)
    path = _journal_path(name, environment)
    if os.path.exists(path):
        os.unlink(path)
    ret = __salt__["state.orchestrate"]("orchestration.deploy_service",
                                        pillar={"eos_deploy": {"service": name, "environment": environment}})
    journal = _journal(name, environment)
    if journal.get("failed") or "done" not in journal.get("steps", {}):
        failed = journal.get("failed") or {"step": "orchestration",
                                           "reason": json.dumps(ret, default=str)[:2000]}
        undo_info = journal.get("undo") or {}
        raise CommandExecutionError(
            f"deploy of {name} to {environment} failed at step {failed['step']}: {failed['reason']}; "
            f"undone: {', '.join(undo_info.get('undone', [])) or 'nothing'}"
            + (f"; undo errors: {'; '.join(undo_info['errors'])}" if undo_info.get("errors") else ""))
    return {"service": name, "environment": environment, "steps": journal["steps"]}
