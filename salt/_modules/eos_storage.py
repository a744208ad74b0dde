"""Eos storage: inventory and analysis of this minion's storage, done in C by the eos package.

Thin glue: every function calls one eos.* function and turns its OSError into Salt's
CommandExecutionError.
"""
import functools

from salt.exceptions import CommandExecutionError

try:
    import eos

    HAS_EOS = True
    _IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the minion
    HAS_EOS = False
    _IMPORT_ERROR = exc

__virtualname__ = "eos_storage"


def __virtual__():
    if not HAS_EOS:
        return (False, f"eos_storage: the eos package cannot be imported: {_IMPORT_ERROR}")
    return __virtualname__


def _oserror_to_salt(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except OSError as exc:
            raise CommandExecutionError(str(exc)) from exc

    return wrapper


def _nonneg_int(name, value):
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise CommandExecutionError(f"{name} must be an integer >= 0, got {value!r}") from None
    if isinstance(value, bool) or n < 0 or (isinstance(value, float) and value != n):
        raise CommandExecutionError(f"{name} must be an integer >= 0, got {value!r}")
    return n


@_oserror_to_salt
def top_consumers(path, depth=2, limit=20):
    """
    The largest directories (down to ``depth`` levels below ``path``, cumulative) and the
    largest files under ``path``, by disk usage in bytes, exactly like ``du -x -B1``: the
    walk stays on the filesystem of ``path``, never follows symlinks and counts hard-linked
    files once. Returns the totals (``bytes``, ``apparent_bytes``, ``files``, ``dirs``),
    ``top_dirs`` and ``top_files`` (``limit`` of each, largest first) and the ``errors`` met
    in unreadable subtrees, which are skipped (like du, an unreadable directory's own blocks
    still count). A hard-linked file counts once, in the first directory the walk meets it in.
    Mounts below ``path`` (other filesystems, and bind mounts) are not entered.

    path
        The directory to walk (not a symlink to one).

    depth
        How many levels below ``path`` directories are listed (0: only ``path`` itself).

    limit
        How many directories and how many files to list.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.top_consumers /var
        salt '*' eos_storage.top_consumers /srv/data 3 10
    """
    depth = _nonneg_int("depth", depth)
    limit = _nonneg_int("limit", limit)
    return eos.top_consumers(str(path), depth, limit)
