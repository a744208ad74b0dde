"""The few helpers the Eos Salt glue (salt/_modules, _states, _beacons) shares.

Imported by the glue as underscore names (``from eos.glue import call as _call``) so Salt's
loader does not publish them as module functions. ``__virtual__`` itself stays in each glue
module: it must still answer (False, reason) when ``import eos`` fails.
"""
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
