"""Eos Ceph execution module: cluster state read in C through librados and libcephfs.

Every function connects with ``conf``, ``keyring``, ``name`` (default ``client.admin``),
``mon_host`` and ``timeout`` (seconds, default 10). Each defaults to the minion config or
pillar value ``eos:ceph:<key>`` (for example pillar ``eos: {ceph: {conf: /etc/ceph/ceph.conf}}``),
and librados' own defaults apply when neither is set. Nothing waits longer than ``timeout``:
an unreachable monitor or a wrong key is a CommandExecutionError, not a hang.
"""
try:
    import eos

    HAS_EOS = True
    IMPORT_ERROR = ""
except ImportError as exc:  # pragma: no cover - depends on the minion's environment
    HAS_EOS = False
    IMPORT_ERROR = str(exc)

from salt.exceptions import CommandExecutionError

__virtualname__ = "eos_ceph"

_CONN_KEYS = ("conf", "keyring", "name", "mon_host", "timeout")


def __virtual__():
    if not HAS_EOS:
        return (False, f"eos_ceph: the eos package cannot be imported: {IMPORT_ERROR}")
    if not hasattr(eos, "ceph_status"):
        return (False, "eos_ceph: the eos package was built without librados/libcephfs")
    return __virtualname__


def _conn(kwargs):
    """Connection keywords: explicit arguments first, then config/pillar eos:ceph:<key>."""
    conn = {}
    for key in _CONN_KEYS:
        value = kwargs.get(key)
        if value is None:
            value = __salt__["config.get"](f"eos:ceph:{key}", None)
        if value is None or value == "":
            continue
        if key == "timeout":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise CommandExecutionError(f"timeout must be an integer (seconds), not {value!r}")
            if value <= 0:
                raise CommandExecutionError(f"timeout must be positive, not {value!r}")
        else:
            value = str(value)
        conn[key] = value
    return conn


def _call(fn, *args, **kwargs):
    """Run an eos function, turning its OSError into Salt's CommandExecutionError."""
    try:
        return fn(*args, **kwargs)
    except OSError as exc:
        raise CommandExecutionError(str(exc)) from exc


def status(conf=None, keyring=None, name=None, mon_host=None, timeout=None):
    """
    The cluster's state from one ``status`` monitor command through librados, digested in C:

    ``health`` (HEALTH_OK/WARN/ERR) and ``checks`` (name, severity, message), ``mons``
    (total, names in ``quorum``), ``osds`` (total, up, in), ``pgs`` (total, pools, objects,
    count per ``states``), ``usage`` (total/used/avail/data bytes), ``mgr_available`` and
    ``mds`` (up, in, max, standby).

    CLI Example:

    .. code-block:: bash

        salt '*' eos_ceph.status
        salt '*' eos_ceph.status conf=/etc/ceph/ceph.conf timeout=5
    """
    conn = _conn(locals())
    return _call(eos.ceph_status, **conn)


def pools(conf=None, keyring=None, name=None, mon_host=None, timeout=None):
    """
    Every pool: name, id, size, min_size, pg_num, application, stored_bytes, objects,
    used_bytes and max_avail_bytes (``osd pool ls detail`` and ``df`` through librados).

    CLI Example:

    .. code-block:: bash

        salt '*' eos_ceph.pools
    """
    conn = _conn(locals())
    return _call(eos.ceph_pools, **conn)


def fs_status(conf=None, keyring=None, name=None, mon_host=None, timeout=None):
    """
    CephFS file systems (name, id, metadata_pool, data_pools, max_mds, and each MDS with its
    name, rank and state) and the number of standby MDS daemons (``fs dump``).

    CLI Example:

    .. code-block:: bash

        salt '*' eos_ceph.fs_status
    """
    conn = _conn(locals())
    return _call(eos.ceph_fs_status, **conn)


def fs_check(path="/", fs_name=None, conf=None, keyring=None, name=None, mon_host=None,
             timeout=None):
    """
    Mount CephFS through libcephfs (no kernel client, no FUSE) and return ``statfs`` of
    ``path``: total_bytes, free_bytes, avail_bytes, files.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_ceph.fs_check
        salt '*' eos_ceph.fs_check / fs_name=cephfs
    """
    conn = _conn(locals())
    return _call(eos.cephfs_statfs, path, fs_name, **conn)


def pool_create(pool, test=False, conf=None, keyring=None, name=None, mon_host=None,
                timeout=None):
    """
    Create a replicated pool (the cluster's default size and pg count) unless it exists.
    Returns ``{"pool", "changes"}`` where changes is empty when it was already there.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_ceph.pool_create rbd
        salt '*' eos_ceph.pool_create rbd test=True
    """
    conn = _conn(locals())
    if not isinstance(pool, str) or not pool or len(pool) > 255 or "/" in pool:
        raise CommandExecutionError(f"invalid pool name {pool!r}")
    existing = _call(eos.ceph_pool_list, **conn)
    if pool in existing:
        return {"pool": pool, "changes": {}}
    if test:
        return {"pool": pool, "changes": {"created": pool}, "test": True}
    created = _call(eos.ceph_pool_create, pool, **conn)
    return {"pool": pool, "changes": {"created": pool} if created else {}}
