"""The few helpers the Eos Salt glue (salt/_modules, _states, _beacons) shares.

Imported by the glue as underscore names (``from eos.glue import call as _call``) so Salt's
loader does not publish them as module functions. ``__virtual__`` itself stays in each glue
module: it must still answer (False, reason) when ``import eos`` fails.
"""
import json
import os
import tempfile

from salt.exceptions import CommandExecutionError


def call(fn, *args, **kwargs):
    """Run an eos function, turning its OSError into Salt's CommandExecutionError."""
    try:
        return fn(*args, **kwargs)
    except OSError as exc:
        raise CommandExecutionError(str(exc)) from exc


def text(value):
    """
    Salt's outputters and its msgpack transport need valid UTF-8. eos returns file names that
    are not (a mount point, a backing file) with surrogate escapes, as os.fsdecode does; here
    their undecodable bytes become ``\\xNN`` escapes, as Python's "backslashreplace" writes them.
    Dicts and lists are converted recursively; other values are returned as they are.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {text(k): text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [text(v) for v in value]
    return value


def save_json(path, data):
    """Replace the JSON file at path atomically (temp file, fsync, rename): a crash leaves the
    old content or the new, never half of one. Its directory is created private (0700)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)  # ensure_ascii: non-UTF-8 names round-trip
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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


def fire(opts, salt_funcs, data, tag):
    """Fire an event from a minion's beacon or module: to the master's bus; a masterless
    minion has only its own bus."""
    masterless = (opts.get("file_client") == "local" or opts.get("local")) and not opts.get(
        "use_master_when_local")
    if masterless:
        return salt_funcs["event.fire"](data, tag)
    return salt_funcs["event.fire_master"](data, tag)
