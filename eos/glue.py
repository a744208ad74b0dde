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


def save_text(path, text, mode=0o600):
    """Replace the file at path atomically (temp file, fsync, rename) with text, created with
    mode: a crash leaves the old content or the new, never half of one; a reader never sees a
    partial file. Its directory is created private (0700) when missing."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_json(path, data):
    """Replace the JSON file at path atomically (see save_text; 0600)."""
    save_text(path, json.dumps(data))  # ensure_ascii: non-UTF-8 names round-trip


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
