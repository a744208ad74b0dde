"""Services as Nomad jobs, from the master: the job spec is generated from pillar
``eos:services:<name>`` and the environment's profile (``eos:environments:<environment>``),
and sent through Nomad's HTTP API (python-nomad).

Master options: ``eos_nomad_address`` (default http://127.0.0.1:4646), ``eos_nomad_timeout``
(seconds per HTTP call, default 10), ``eos_nomad_token`` (a secrets store reference
``<kv path>#<key>`` for the ACL token; without it no token is sent).
"""
import logging
import time

from salt.exceptions import CommandExecutionError

try:
    import nomad
    import nomad.api.exceptions
    import requests

    from eos import nomad as _jobs
    from eos import terraform as _tf
    from eos.glue import fire_master as _fire_master
    from eos.glue import master_eos_pillar as _master_eos_pillar
except ImportError as exc:  # pragma: no cover - depends on the installation
    _UNLOADABLE = f"eos_nomad: python-nomad or eos cannot be imported: {exc}"
else:
    _UNLOADABLE = ""

log = logging.getLogger(__name__)

__virtualname__ = "eos_nomad"


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


def _address():
    return str(__opts__.get("eos_nomad_address") or "http://127.0.0.1:4646").rstrip("/")


def _client():
    token = None
    ref = __opts__.get("eos_nomad_token")
    if ref:
        from eos import secret_refs

        token = secret_refs.read(__opts__, ref, "master option eos_nomad_token")
    return nomad.Nomad(address=_address(), token=token, timeout=float(__opts__.get("eos_nomad_timeout", 10)))


def _call(what, fn, *args, **kwargs):
    """One API call; its failure names the URL and the status, never the token."""
    try:
        return fn(*args, **kwargs)
    except nomad.api.exceptions.BaseNomadException as exc:
        resp = exc.nomad_resp
        if isinstance(resp, requests.Response):
            raise CommandExecutionError(
                f"Nomad {what}: {resp.request.method} {resp.url} answered {resp.status_code}: "
                f"{resp.text[:300]}") from None
        raise CommandExecutionError(f"Nomad {what} at {_address()} failed: {str(resp)[:300]}") from None
    except (requests.RequestException, ValueError) as exc:
        raise CommandExecutionError(f"Nomad {what} at {_address()} failed: {str(exc)[:300]}") from None




def _spec(name, environment):
    _tf.check_name("environment", environment)
    eos = _master_eos_pillar(__opts__)
    return _jobs.service_spec(name, eos.get("services", {}), _tf.environment_profile(eos, environment))


def render(name, environment):
    """
    The service's Nomad job (JSON job form), or with ``via: terraform`` in its pillar a
    Terraform ``nomad_job`` resource (JSON configuration syntax, checked by Terraform's own
    parser). Nothing is sent anywhere.

    CLI Example:

    .. code-block:: bash

        salt-run eos_nomad.render web production
    """
    spec = _spec(name, environment)
    if spec["via"] == "terraform":
        import json
        import os
        import shutil
        import tempfile

        res = _jobs.terraform_resource(spec, environment)
        scratch = tempfile.mkdtemp(prefix="eos-nomad-tf-", dir=__opts__["cachedir"])
        try:
            with open(os.path.join(scratch, "nomad_job.tf.json"), "w", encoding="utf-8") as f:
                json.dump(res, f)
            _tf.check_config(scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return {"via": "terraform", "terraform": res}
    return {"via": "nomad", "job": _jobs.job(spec, environment)}


def _job(name, environment):
    spec = _spec(name, environment)
    if spec["via"] != "nomad":
        raise CommandExecutionError(
            f"service {name} is deployed via terraform (a nomad_job resource): apply the component "
            f"eos_nomad.render writes with eos_terraform.apply, not eos_nomad.run")
    return _jobs.job(spec, environment)


def plan(name, environment):
    """
    Ask Nomad's scheduler what running the service's job would change (a dry run).

    CLI Example:

    .. code-block:: bash

        salt-run eos_nomad.plan web production
    """
    job = _job(name, environment)
    ret = _call("plan", _client().job.plan_job, job["ID"], {"Job": job}, diff=True)
    out = _jobs.plan(ret)
    out.update(job=job["ID"], test=True)
    return out


def status(name, environment):
    """
    The job's version, status and latest deployment.

    CLI Example:

    .. code-block:: bash

        salt-run eos_nomad.status web production
    """
    jid = _jobs.job_id(_tf.check_name("service", name), _tf.check_name("environment", environment))
    c = _client()
    job = _jobs._fields("a job", _call("job read", c.job.get_job, jid),
                        {"ID": str, "Status": str, "Version": int, "Stable": bool, "Stop": bool})
    dep = _jobs.deployment(_call("deployment read", c.job.get_deployment, jid))
    return {"job": jid, "status": job.get("Status"), "version": job.get("Version"),
            "stable": job.get("Stable"), "stopped": job.get("Stop"), "deployment": dep}


def allocations(name, environment):
    """
    The job's allocations: group, node, client status, health.

    CLI Example:

    .. code-block:: bash

        salt-run eos_nomad.allocations web production
    """
    jid = _jobs.job_id(_tf.check_name("service", name), _tf.check_name("environment", environment))
    ret = _call("allocations read", _client().job.get_allocations, jid)
    if not isinstance(ret, list):
        raise CommandExecutionError(f"Nomad answered the allocations of {jid} with {type(ret).__name__}")
    return [_jobs.allocation(a) for a in ret[:10000]]


def _wait_deployment(c, jid, version, wait):
    """Poll (bounded by wait seconds) until the deployment of version ends; its last state."""
    deadline = time.monotonic() + wait
    dep = None
    while time.monotonic() < deadline:
        dep = _jobs.deployment(_call("deployment read", c.job.get_deployment, jid))
        if dep and dep["job_version"] == version and dep["status"] in ("successful", "failed", "cancelled"):
            return dep
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    return dep


def _previous_stable(c, jid, below):
    vs = _jobs.versions(_call("versions read", c.job.get_versions, jid))
    good = [v["version"] for v in vs if v["stable"] and isinstance(v["version"], int) and v["version"] < below]
    return max(good) if good else None


def run(name, environment, wait=300):
    """
    Register the service's job and wait (at most ``wait`` seconds) for its deployment to be
    healthy. When it is not, the job goes back to its previous stable version (or is stopped
    when it had none) and the call fails saying so.

    CLI Example:

    .. code-block:: bash

        salt-run eos_nomad.run web production
        salt-run eos_nomad.run web production wait=600
    """
    job = _job(name, environment)
    jid, c = job["ID"], _client()
    reg = _jobs.register(_call("job register", c.jobs.register_job, {"Job": job}))
    current = _jobs._fields("a job", _call("job read", c.job.get_job, jid), {"Version": int})
    version = current.get("Version")
    dep = _wait_deployment(c, jid, version, float(wait))
    if dep and dep["status"] == "successful" and dep["job_version"] == version:
        _fire_master(__opts__, "eos/nomad/healthy", {"job": jid, "version": version, "deployment": dep["id"]})
        return {"job": jid, "version": version, "deployment": dep, "healthy": True, "register": reg}
    reason = (f"deployment {dep['status']}: {dep['description']}" if dep and dep["job_version"] == version
              else f"no healthy deployment within {wait} s")
    undone = _undo_run(c, jid, version)
    _fire_master(__opts__, "eos/nomad/unhealthy", {"job": jid, "version": version, "reason": reason,
                                                   "undone": undone})
    raise CommandExecutionError(f"job {jid} version {version} did not become healthy ({reason}); {undone}")


def _undo_run(c, jid, version):
    prev = _previous_stable(c, jid, version)
    if prev is None:
        _call("job stop", c.job.deregister_job, jid)
        return "stopped (it had no earlier stable version)"
    _call("job revert", c.job.revert_job, jid, prev)
    return f"reverted to version {prev}"


def stop(name, environment, purge=False):
    """
    Stop the service's job (``purge=True`` also removes it from Nomad).

    CLI Example:

    .. code-block:: bash

        salt-run eos_nomad.stop web staging
    """
    jid = _jobs.job_id(_tf.check_name("service", name), _tf.check_name("environment", environment))
    ret = _jobs._fields("a job stop", _call("job stop", _client().job.deregister_job, jid, purge=bool(purge)),
                        {"EvalID": str})
    return {"job": jid, "stopped": True, "eval_id": ret.get("EvalID")}


def revert(name, environment, version=None):
    """
    Revert the job to an earlier version (default: the latest stable one before the current).

    CLI Example:

    .. code-block:: bash

        salt-run eos_nomad.revert web production
        salt-run eos_nomad.revert web production version=3
    """
    jid = _jobs.job_id(_tf.check_name("service", name), _tf.check_name("environment", environment))
    c = _client()
    current = _jobs._fields("a job", _call("job read", c.job.get_job, jid), {"Version": int})
    if version is None:
        version = _previous_stable(c, jid, current.get("Version"))
        if version is None:
            raise CommandExecutionError(f"job {jid} has no stable version before {current.get('Version')}")
    ret = _jobs.register(_call("job revert", c.job.revert_job, jid, int(version)))
    return {"job": jid, "reverted_to": int(version), "from": current.get("Version"), **ret}
