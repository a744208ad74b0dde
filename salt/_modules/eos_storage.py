"""Eos storage execution module: the work is done in C by the eos package (eos._eos)."""
try:
    import eos

    HAS_EOS = True
    IMPORT_ERROR = ""
except ImportError as exc:  # pragma: no cover - depends on the minion's environment
    HAS_EOS = False
    IMPORT_ERROR = str(exc)

from salt.exceptions import CommandExecutionError

__virtualname__ = "eos_storage"


def __virtual__():
    if not HAS_EOS:
        return (False, f"eos_storage: the eos package cannot be imported: {IMPORT_ERROR}")
    return __virtualname__


def _call(fn, *args, **kwargs):
    """Run an eos function, turning its OSError into Salt's CommandExecutionError."""
    try:
        return fn(*args, **kwargs)
    except OSError as exc:
        raise CommandExecutionError(str(exc)) from exc


def _pillar(key, default):
    """A pillar value as plain data (Salt 3008 masks pillar.get's return unless unmask=True)."""
    return __salt__["pillar.get"](key, default, unmask=True)


def analyze(path=None, record=True, window=None):
    """
    Analyse the mounted filesystems (or only the one holding ``path``): usage and inode
    percentages, the threshold level for this node's scale tier, growth from the samples kept
    in the minion's cache, the expansion paths that exist and a recommendation (``expand``,
    ``cleanup`` or ``none``).

    Thresholds come from the tier for pillar ``eos:cluster:node_count`` (default 1), with
    pillar ``eos:storage:thresholds`` overriding single levels (a bad value is refused).

    path
        Only the mount containing this path.
    record
        Append a usage sample for each mount before computing growth (default True).
    window
        Growth window in seconds (default 24 hours).

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.analyze
        salt '*' eos_storage.analyze /var record=False
    """
    return _call(
        eos.analyze,
        __opts__["cachedir"],
        node_count=_pillar("eos:cluster:node_count", 1),
        thresholds=_pillar("eos:storage:thresholds", None),
        record=bool(record),
        path=path,
        window=float(window or 0),
    )
