"""The few helpers the Eos Salt glue (salt/_modules, _states, _beacons) shares.

Imported by the glue as underscore names (``from eos.glue import call as _call``) so Salt's
loader does not publish them as module functions. ``__virtual__`` itself stays in each glue
module: it must still answer (False, reason) when ``import eos`` fails.
"""
import contextlib
import functools
import inspect
import json
import os
import tempfile


def call(fn, *args, **kwargs):
    """Run an eos function, turning its OSError into Salt's CommandExecutionError."""
    # Imported here: eos-bootstrap uses save_json before Salt is installed.
    from salt.exceptions import CommandExecutionError

    try:
        return fn(*args, **kwargs)
    except OSError as exc:
        raise CommandExecutionError(str(exc)) from exc
    except UnicodeEncodeError as exc:  # a str argument holding surrogate escapes
        bad = exc.object[max(0, exc.start - 40):exc.end + 40]
        raise CommandExecutionError(f"{fn.__name__}: an argument is not valid UTF-8 "
                                    f"(this function takes UTF-8 names only): {text(bad)!r}") from exc


def _command_error(message):
    """Salt's CommandExecutionError with message (imported late: eos-bootstrap uses this module
    before Salt is installed)."""
    from salt.exceptions import CommandExecutionError

    return CommandExecutionError(message)


def state_call(salt, opts, ret, fn, *args, **kwargs):
    """For a state: the execution function ``fn`` called with the run's test flag. Its refusal
    (CommandExecutionError) fails the state ``ret`` with the message, and None is returned."""
    from salt.exceptions import CommandExecutionError

    try:
        return salt[fn](*args, test=bool(opts.get("test")), **kwargs)
    except CommandExecutionError as exc:
        ret.update(result=False, comment=str(exc))
        return None


def pillar(salt, key, default=None):
    """A pillar value as plain data: Salt 3008 masks pillar.get's return unless unmask=True.
    ``salt`` is the caller's ``__salt__``."""
    return salt["pillar.get"](key, default, unmask=True)


def config(salt, key, default):
    """A setting from config.get (minion config, then grains, then pillar), as a string;
    ``default`` when it is unset or empty. ``salt`` is the caller's ``__salt__``."""
    return str(salt["config.get"](key, default) or default)


def text(value):
    """
    The form of value that Salt's msgpack transport and its outputters accept: valid UTF-8
    everywhere. eos returns file names that are not (a mount point, a backing file) with
    surrogate escapes, as os.fsdecode does; here their undecodable bytes become ``\\xNN``
    escapes, as Python's "backslashreplace" writes them; bytes are decoded the same way. Dicts
    (keys too), lists and tuples are converted recursively; other values are returned as they are.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {text(k): text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [text(v) for v in value]
    return value


def text_returns(namespace):
    """
    Make every public function of a Salt module return text(): call ``text_returns(globals())``
    once at the end of the module. One place for every return path, so a function added later
    cannot forget it (a non-UTF-8 name in a return would otherwise break the job on the bus).
    """
    module = namespace["__name__"]
    for name, fn in list(namespace.items()):
        if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != module:
            continue
        namespace[name] = _returning_text(fn)


def _returning_text(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return text(fn(*args, **kwargs))

    return wrapper


def save_text(path, text, mode=None, keep_previous=False):
    """Replace the file at path atomically (temp file, fsync, rename, fsync of the directory):
    a crash leaves the old content or the new, never half of one. Its directory is created
    private (0700) when missing. ``mode``: the file's permissions (default 0600);
    ``keep_previous``: the replaced file stays as ``path.prev``."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        if keep_previous and os.path.exists(path):
            prev = path + ".prev"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(prev)
            os.link(path, prev)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def save_json(path, data, **kwargs):
    """save_text of data as JSON (ensure_ascii: non-UTF-8 names round-trip)."""
    save_text(path, json.dumps(data), **kwargs)


def load_json_dict(path):
    """The JSON object kept at path, {} when there is no file. OSError or ValueError when it
    cannot be read or is not a JSON object."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    return data


def failed_answers(ret, minions, what, timeout):
    """{minion: reason} for each of minions whose answer in a LocalClient.cmd(...,
    full_return=True) result is missing or has a non-zero retcode; ``what`` names the call."""
    bad = {}
    for mid in minions:
        r = ret.get(mid)
        if not isinstance(r, dict):
            bad[mid] = f"no answer to {what} within {timeout} s"
        elif r.get("retcode", 0) != 0:
            bad[mid] = f"{what} failed: {r.get('ret')!r}"[:2000]
    return bad


def write_atomic(path, text, keep_previous=True):
    """save_text (mode 0640) for the pillar files runners write; with keep_previous the
    replaced file stays as path.prev. OSError becomes CommandExecutionError."""
    try:
        save_text(path, text, mode=0o640, keep_previous=keep_previous)
    except OSError as exc:
        raise _command_error(f"cannot write {path}: {exc.strerror}") from exc


def read_pillar_file(path):
    """The data of a YAML pillar file, {} when there is none."""
    import salt.utils.yaml

    try:
        with open(path, encoding="utf-8") as f:
            return salt.utils.yaml.safe_load(f) or {}
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise _command_error(f"cannot read {path}: {exc.strerror}") from exc


def include_in_top(root, sls):
    """The pillar top file under root must include sls for every minion ('*'); add it when
    missing. True when the top file was changed."""
    import salt.utils.yaml

    top = os.path.join(root, "top.sls")
    data = read_pillar_file(top)
    if not isinstance(data, dict):
        raise _command_error(f"{top} is not a mapping: add '{sls}' for '*' by hand")
    base = data.setdefault("base", {})
    every = base.setdefault("*", [])
    if not isinstance(every, list):
        raise _command_error(f"{top}: base '*' is not a list: add '{sls}' by hand")
    if sls in every:
        return False
    every.append(sls)
    write_atomic(top, salt.utils.yaml.safe_dump(data, default_flow_style=False))
    return True


def master_eos_pillar(opts):
    """Pillar ``eos`` as the master compiles it for itself (runners read their settings there)."""
    import salt.pillar

    data = salt.pillar.Pillar(opts, {}, opts["id"], "base").compile_pillar()
    eos = data.get("eos", {})
    if not isinstance(eos, dict):
        raise _command_error(f"pillar 'eos' must be a mapping, got {type(eos).__name__}")
    return eos


def fire_master(opts, tag, data):
    """Put an event on the master's bus (False when no master listens). Without a master's
    event socket on this host (a runner used without a master) it returns at once instead of
    waiting a second per event for a connection."""
    import salt.utils.event

    if opts.get("ipc_mode", "ipc") != "tcp" and not os.path.exists(
            os.path.join(opts["sock_dir"], "master_event_pull.ipc")):
        return False

    with salt.utils.event.get_master_event(opts, opts["sock_dir"], listen=False) as ev:
        return ev.fire_event(data, tag)


def fire(opts, salt_funcs, data, tag, sign=None):
    """Fire an event from a minion's beacon or module: to the master's bus (through
    ``sign(opts, tag, data)`` when the reactor acts on it); a masterless minion has only its
    own bus."""
    masterless = (opts.get("file_client") == "local" or opts.get("local")) and not opts.get(
        "use_master_when_local")
    if masterless:
        return salt_funcs["event.fire"](data, tag)
    return salt_funcs["event.fire_master"](sign(opts, tag, data) if sign else data, tag)


def pending_finger(opts, keys, minion_id):
    """The fingerprint of minion_id's pending key (``keys``: ``salt.key.get_key(opts)``) in the
    master's hash_type, computed as the minion's own ``key.finger`` does (the PEM body without
    its BEGIN/END lines); None when it has no pending key."""
    import salt.utils.crypt

    if minion_id not in keys.list_status("pre").get("minions_pre", []):
        return None
    pub = (keys.cache.fetch("keys", minion_id) or {}).get("pub")
    if not pub:
        return None
    body = "".join([line for line in pub.splitlines(keepends=True) if line.strip()][1:-1])
    return salt.utils.crypt.pem_finger(key=body.replace("\r\n", "\n").encode(),
                                       sum_type=opts["hash_type"])
