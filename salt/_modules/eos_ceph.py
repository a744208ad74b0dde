"""Eos Ceph execution module: cluster state read in C through librados and libcephfs.

Every function connects with ``conf``, ``keyring``, ``name`` (default ``client.admin``),
``mon_host`` and ``timeout`` (seconds, default 10). Each defaults to the minion config or
pillar value ``eos:ceph:<key>`` (for example pillar ``eos: {ceph: {conf: /etc/ceph/ceph.conf}}``),
and librados' own defaults apply when neither is set. Nothing waits longer than ``timeout``:
an unreachable monitor or a wrong key is a CommandExecutionError, not a hang.
"""
from salt.exceptions import CommandExecutionError

try:
    import eos
    from eos.glue import call as _call, text_returns as _text_returns
except ImportError as exc:  # pragma: no cover - depends on the minion's environment
    _UNLOADABLE = f"eos_ceph: the eos package cannot be imported: {exc}"
else:
    _UNLOADABLE = ""

__virtualname__ = "eos_ceph"

_CONN_KEYS = ("conf", "keyring", "name", "mon_host", "timeout")


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


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
            # librados takes each setting whole; a control byte here is never a real value.
            if any(ord(c) < 32 or c == "\x7f" for c in value):
                raise CommandExecutionError(f"{key} {value!r} holds a control character")
        conn[key] = value
    return conn


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


def _deploy(fn, target, test, data_root, kwargs, **extra):
    conn = _conn(kwargs)
    if data_root is None:
        data_root = __salt__["config.get"](f"eos:ceph:{fn}_data_root", None)
    args = {"test": bool(test), **extra}
    if data_root:
        args["data_root"] = str(data_root)
    if wait := __salt__["config.get"]("eos:ceph:wait", None):
        args["wait"] = int(wait)
    res = _call(getattr(eos, f"ceph_{fn}_add"), target, **args, **conn)
    res["changes"] = {} if res["action"] == "none" else {res["daemon"]: res["action"]}
    return res


def osd_add(device, crush_weight=None, data_root=None, test=False, conf=None, keyring=None,
            name=None, mon_host=None, timeout=None):
    """
    Prepare and start a bluestore OSD on a local block device or file (``ceph osd new``,
    ``ceph-osd --mkfs``, ``auth add`` with a key made for it, start, wait until it is up).
    Idempotent: an OSD whose data directory already points at the device is left alone when
    it is up and started when it is down. ``test=True`` changes nothing and reports the plan.

    Returns ``{daemon, action (create/start/none), data, test, changes}``.

    device
        the block device or file (a file must be large enough for bluestore: about 10 GiB
        apparent size; sparse is fine)
    crush_weight
        initial CRUSH weight (default: by size, as Ceph does; 0 keeps data off it)
    data_root
        where ``ceph-<id>`` data directories live (default pillar
        ``eos:ceph:osd_data_root``, else /var/lib/ceph/osd)

    CLI Example:

    .. code-block:: bash

        salt 'node2' eos_ceph.osd_add /dev/sdb
        salt 'node2' eos_ceph.osd_add /dev/sdb test=True
    """
    extra = {}
    if crush_weight is not None:
        try:
            extra["crush_weight"] = float(crush_weight)
        except (TypeError, ValueError):
            raise CommandExecutionError(f"crush_weight must be a number, not {crush_weight!r}")
        if extra["crush_weight"] < 0:
            raise CommandExecutionError(f"crush_weight must be >= 0, not {crush_weight!r}")
    return _deploy("osd", device, test, data_root, locals(), **extra)


def mon_add(mon_id, public_addr, data_root=None, test=False, conf=None, keyring=None, name=None,
            mon_host=None, timeout=None):
    """
    Add a monitor on this host: the current monmap and the ``mon.`` key are fetched from the
    cluster, ``ceph-mon --mkfs``, started on ``public_addr``, then waited for in quorum.
    Idempotent (in quorum: nothing; data here but not running: started). ``test=True``
    changes nothing.

    Returns ``{daemon, action (create/start/none), data, test, changes}``.

    CLI Example:

    .. code-block:: bash

        salt 'node2' eos_ceph.mon_add node2 v2:10.0.0.2:3300
        salt 'node2' eos_ceph.mon_add node2 v2:10.0.0.2:3300 test=True
    """
    return _deploy("mon", str(mon_id), test, data_root, locals(), public_addr=str(public_addr))


def mds_add(mds_id, data_root=None, test=False, conf=None, keyring=None, name=None,
            mon_host=None, timeout=None):
    """
    Add an MDS on this host (key made with ``auth get-or-create`` and written 0600, daemon
    started, waited for in the MDS map: active when a file system needs one, else standby).
    Idempotent; ``test=True`` changes nothing.

    Returns ``{daemon, action (create/start/none), data, test, changes}``.

    CLI Example:

    .. code-block:: bash

        salt 'node2' eos_ceph.mds_add node2
    """
    return _deploy("mds", str(mds_id), test, data_root, locals())


def fs_add(fs_name="cephfs", metadata_pool=None, data_pool=None, test=False, conf=None,
           keyring=None, name=None, mon_host=None, timeout=None):
    """
    A CephFS file system with its metadata and data pools (``<fs_name>_metadata`` and
    ``<fs_name>_data`` unless given), each created when missing, then ``fs new``. A file
    system of that name on other pools is an error. ``test=True`` changes nothing.

    Returns ``{fs, action (create/none), pools, test, changes}``.

    CLI Example:

    .. code-block:: bash

        salt 'node1' eos_ceph.fs_add cephfs
        salt 'node1' eos_ceph.fs_add cephfs test=True
    """
    conn = _conn(locals())
    fs_name = str(fs_name)
    metadata_pool = str(metadata_pool or f"{fs_name}_metadata")
    data_pool = str(data_pool or f"{fs_name}_data")
    res = _call(eos.ceph_fs_add, fs_name, metadata_pool, data_pool, test=bool(test), **conn)
    res["changes"] = {} if res["action"] == "none" else {
        fs_name: {"metadata_pool": metadata_pool, "data_pool": data_pool}}
    return res


CEPHFS_FSTYPES = ("ceph", "fuse.ceph-fuse", "fuse.ceph")


def expand(path, device, crush_weight=None, data_root=None, test=False, conf=None,
           keyring=None, name=None, mon_host=None, timeout=None):
    """
    Expand the CephFS that ``path`` is on: a CephFS grows by OSD capacity, so this adds (or
    starts) a bluestore OSD on ``device`` on this host (see ``eos_ceph.osd_add``). A path on
    any other file system is an error naming its type. ``test=True`` changes nothing.

    Returns the ``osd_add`` result plus ``path``, ``fstype`` and ``size_before`` (bytes, from
    statvfs of the mount).

    CLI Example:

    .. code-block:: bash

        salt 'node2' eos_ceph.expand /mnt/cephfs /dev/sdc
    """
    try:
        use = eos.usage(str(path))
    except OSError as exc:
        raise CommandExecutionError(str(exc)) from exc
    if use["fstype"] not in CEPHFS_FSTYPES:
        raise CommandExecutionError(
            f"{path!r} is on {use['fstype']} ({use['target']}), not CephFS: nothing to add OSDs to")
    res = osd_add(device, crush_weight=crush_weight, data_root=data_root, test=test, conf=conf,
                  keyring=keyring, name=name, mon_host=mon_host, timeout=timeout)
    res.update({"path": str(path), "fstype": use["fstype"], "mount": use["target"],
                "size_before": use["size"]})
    return res


def _setting(key, value, default=None):
    if value is None:
        value = __salt__["config.get"](f"eos:ceph:{key}", None)
    return default if value is None else value


def bootstrap(public_addr=None, mon_id=None, conf=None, keyring=None, mon_data_root=None,
              run_dir=None, log_dir=None, conf_extra=None, test=False):
    """
    Make this host the first monitor of a new cluster: a new fsid, ``conf`` (0644), the
    ``mon.`` and ``client.admin`` keys (the admin keyring at ``keyring``, 0600), the monmap,
    ``ceph-mon --mkfs``, start, quorum. Idempotent: a configured host whose monitor is in
    quorum is left alone; a stopped one is started. ``test=True`` changes nothing.

    Defaults (pillar ``eos:ceph:<key>``): public_addr ``mon_addr``, else ``v2:<first ipv4>:3300``;
    mon_id the minion id; conf /etc/ceph/ceph.conf; keyring
    /etc/ceph/ceph.client.admin.keyring; ``conf_extra`` (a dict or ``key = value`` lines)
    is added to [global].

    CLI Example:

    .. code-block:: bash

        salt 'node1' eos_ceph.bootstrap v2:10.0.0.1:3300
    """
    mon_id = str(_setting("mon_id", mon_id, __grains__["id"]))
    public_addr = _setting("mon_addr", public_addr)
    if public_addr is None:
        ips = [ip for ip in __grains__.get("ipv4", []) if not ip.startswith("127.")]
        if not ips:
            raise CommandExecutionError("no public_addr given and no non-loopback IPv4 address")
        public_addr = f"v2:{ips[0]}:3300"
    if not isinstance(public_addr, str):
        raise CommandExecutionError(f"invalid address {public_addr!r} (want e.g. v2:10.0.0.1:3300)")
    extra = _setting("conf_extra", conf_extra)
    if isinstance(extra, dict):
        extra = "\n".join(f"{k} = {v}" for k, v in extra.items())
    args = {"test": bool(test)}
    for key, value in (("mon_root", _setting("mon_data_root", mon_data_root)),
                       ("run_dir", _setting("run_dir", run_dir)),
                       ("log_dir", _setting("log_dir", log_dir)), ("extra", extra)):
        if value:
            args[key] = str(value)
    if wait := __salt__["config.get"]("eos:ceph:wait", None):
        args["wait"] = int(wait)
    res = _call(eos.ceph_bootstrap, mon_id, str(public_addr),
                str(_setting("conf", conf, "/etc/ceph/ceph.conf")),
                str(_setting("keyring", keyring, "/etc/ceph/ceph.client.admin.keyring")), **args)
    res["changes"] = {} if res["action"] == "none" else {res["daemon"]: res["action"]}
    return res


def mgr_add(mgr_id=None, data_root=None, test=False, conf=None, keyring=None, name=None,
            mon_host=None, timeout=None):
    """
    Add a manager on this host (default id: the minion id); idempotent, ``test=True`` aware.

    CLI Example:

    .. code-block:: bash

        salt 'node1' eos_ceph.mgr_add
    """
    return _deploy("mgr", str(mgr_id or __grains__["id"]), test, data_root, locals())


def _client_texts(conn):
    path = conn.get("conf", "/etc/ceph/ceph.conf")
    try:
        with open(path) as f:
            conf_text = f.read()
    except OSError as exc:
        raise CommandExecutionError(f"cannot read {path!r}: {exc}") from exc
    entity = conn.get("name", "client.admin")
    keyring_text = _call(eos.ceph_mon_command,
                         '{"prefix": "auth get", "entity": "%s"}' % entity, **conn)
    return {"conf_text": conf_text, "keyring_text": keyring_text}


def _vault_client():
    """eos.vault, a client with this node's token (pillar eos:vault) and the kv mount."""
    from eos import vault  # hvac: only the functions that reach the store need it

    config = dict(__salt__["config.get"]("eos:vault", {}, merge="recurse") or {})
    # The node token where eos_vault.install_token put it (under the minion's root).
    if not config.get("token_file"):
        config["token_file"] = vault.node_token_file(__opts__)
    s = vault.settings(config)
    client = vault.connect(s["addr"], token_file=s["token_file"], verify=s["verify"],
                           timeout=s["timeout"])
    return vault, client, s["mount"]


def store_client(secret_path, conf=None, keyring=None, name=None, mon_host=None, timeout=None):
    """
    Put what another host needs to join as a client (this host's ceph.conf and the client key,
    fetched from the cluster with ``auth get``) into the secrets store at ``secret_path`` (kv
    v2, with this node's token; pillar ``eos:vault``), unless the store holds them already.
    Returns the path and the changes, never the key: the other hosts read it from the store (``write_client secret_path=...``), so the key
    does not cross the Salt bus.

    CLI Example:

    .. code-block:: bash

        salt 'node1' eos_ceph.store_client eos/ceph/client-admin
    """
    texts = _client_texts(_conn({k: v for k, v in locals().items() if k != "secret_path"}))
    vault, client, mount = _vault_client()
    try:
        if vault.kv_get(client, secret_path, mount) == texts:
            return {"secret": f"{mount}/{secret_path}", "changes": {}}
    except vault.VaultError as exc:
        if "no secret at" not in str(exc):
            raise
    version = vault.kv_put(client, secret_path, texts, mount)
    return {"secret": f"{mount}/{secret_path}", "changes": {"stored": f"{mount}/{secret_path}",
                                                            "version": version}}


def write_client(secret_path, conf=None, keyring=None, test=False):
    """
    Write this host's ceph.conf (0644) and client keyring (0600) from the secrets store
    (``secret_path``, as ``store_client`` put them there); ``changes`` is empty when both were
    already there.

    CLI Example:

    .. code-block:: bash

        salt 'node2' eos_ceph.write_client eos/ceph/client-admin
    """
    vault, client, mount = _vault_client()
    texts = vault.kv_get(client, secret_path, mount)
    if not isinstance(texts.get("conf_text"), str) or not isinstance(texts.get("keyring_text"), str):
        raise CommandExecutionError(f"secret {mount}/{secret_path} holds no Ceph client "
                                    "configuration (conf_text, keyring_text)")
    conf = str(_setting("conf", conf, "/etc/ceph/ceph.conf"))
    keyring = str(_setting("keyring", keyring, "/etc/ceph/ceph.client.admin.keyring"))
    changed = _call(eos.ceph_write_client, conf, texts["conf_text"], keyring,
                    texts["keyring_text"], test=bool(test))
    return {"conf": conf, "keyring": keyring,
            "changes": {"written": [conf, keyring]} if changed else {}, "test": bool(test)}


def _data_root(data_root):
    root = data_root or __salt__["config.get"]("eos:ceph:osd_data_root", None) or "/var/lib/ceph/osd"
    if not isinstance(root, str) or not root.startswith("/") or len(root) > 1024 or any(
            ord(c) < 32 for c in root):
        raise CommandExecutionError(f"OSD data root {root!r} is not an absolute path")
    return root


def local_osds(data_root=None):
    """
    The OSDs whose data directories are on this host under ``data_root`` (default pillar
    ``eos:ceph:osd_data_root``, else /var/lib/ceph/osd): ``[{id, data, device}]`` by id.

    CLI Example:

    .. code-block:: bash

        salt 'node2' eos_ceph.local_osds
    """
    return _call(eos.ceph_local_osds, _data_root(data_root))


def data_role(data_root=None):
    """
    What the data role does on this host: ``devices``, the devices it makes OSDs on (the
    unused devices of the ``eos_storage`` grain and those already backing this host's OSDs,
    narrowed by pillar ``eos:data:devices`` (paths or patterns) and ``eos:data:max_osds``,
    leaving out every role's filesystem device ``eos:<role>:fs_device``), ``data_root``
    (pillar ``eos:ceph:osd_data_root``) and ``crush_weight`` (``eos:data:crush_weight``, None:
    by size). Pillar values of the wrong type or out of bounds are an error that quotes them.

    CLI Example:

    .. code-block:: bash

        salt 'node2' eos_ceph.data_role
    """
    from eos import role_storage

    pillar = __salt__["pillar.get"]("eos", {}) or {}
    root = _data_root(data_root)
    try:
        if not isinstance(pillar, dict):
            raise ValueError(f"eos: {pillar!r} is not a mapping")
        settings = pillar.get("data") or {}
        exclude = [d for role in eos.ROLES if (d := role_storage.fs_device(role, pillar.get(role)))]
        local = [o["device"] for o in local_osds(root) if o["device"]]
        devices = role_storage.osd_devices(
            settings, __salt__["grains.get"]("eos_storage:unused_devices", []), local, exclude)
        return {"devices": devices, "data_root": root,
                "crush_weight": role_storage.crush_weight(settings)}
    except ValueError as exc:
        raise CommandExecutionError(str(exc)) from exc


def osd_remove(osd_id, data_root=None, wait=600, test=False, conf=None, keyring=None, name=None,
               mon_host=None, timeout=None):
    """
    Take OSD ``osd_id`` of this host out of the cluster without losing data: mark it out,
    wait (at most ``wait`` seconds) until no PG lives on it and every PG is active+clean,
    then stop its daemon, wait until Ceph calls it safe to destroy, purge it and remove its
    data directory. A drain that does not finish in time marks it in again and is an error.
    ``test=True`` changes nothing.

    Returns ``{daemon, action (remove/cleanup/none), drain_ms, pgs_at_start, changes}``.

    CLI Example:

    .. code-block:: bash

        salt 'node2' eos_ceph.osd_remove 3
        salt 'node2' eos_ceph.osd_remove 3 wait=1800 test=True
    """
    conn = _conn(locals())
    try:
        osd_id, wait = int(osd_id), int(wait)
    except (TypeError, ValueError):
        raise CommandExecutionError(f"osd_id and wait must be whole numbers, not {osd_id!r}, {wait!r}")
    if not 0 < wait <= 86400:
        raise CommandExecutionError(f"wait must be 1 to 86400 seconds, not {wait!r}")
    res = _call(eos.ceph_osd_remove, osd_id, data_root=_data_root(data_root), test=bool(test),
                wait=wait, **conn)
    res["changes"] = {} if res["action"] == "none" else {res["daemon"]: res["action"]}
    return res


if not _UNLOADABLE:  # every public function's return is valid UTF-8 on the bus
    _text_returns(globals())
