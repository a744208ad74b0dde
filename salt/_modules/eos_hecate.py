"""
Hecate: the edge role's reverse proxy, a real Caddy driven through its admin API (JSON config).

Routes map domains to upstreams (``host:port``). Every change reads Caddy's whole config with
its ETag, renders the new one and loads it in one request that Caddy validates: a config Caddy
rejects changes nothing, a config changed meanwhile by another writer (another master, a hand
edit) is refused (HTTP 412) instead of overwritten, and the config before each change is kept
for ``restore``. Input is checked before anything is sent (``eos.hecate.spec``).

Settings (minion config or pillar, ``config.get`` order)::

    eos:
      hecate:
        admin: unix//run/eos/hecate/admin.sock   # or http://127.0.0.1:2019 (loopback only)
        timeout: 5                # seconds per admin request (connect, then each read)
        listen: ""                # address of the proxy listeners ("" = all)
        http_port: 80
        https_port: 443
        health_interval: 10s      # active health checks of routes with health_uri
        acme: {email: ops@example.com, ca: https://acme-v02.api.letsencrypt.org/directory}
        max_routes: 2000
        routes:                   # what reconcile (and the edge role) make true
          web: {domains: [www.example.com], upstreams: ["10.0.0.5:8080"], tls: acme,
                health_uri: /healthz, headers: {X-Forwarded-Proto: https}}
"""
import logging
import os
import re
import time

from salt.exceptions import CommandExecutionError

try:
    from eos.glue import load_json_dict as _load_json_dict, save_json as _save_json, text as _text
    from eos.hecate import admin as _admin_mod, config as _config, spec as _spec
except ImportError as exc:  # pragma: no cover - depends on the minion's environment
    _UNLOADABLE = f"eos_hecate: the eos package cannot be imported: {exc}"
else:
    _UNLOADABLE = ""

log = logging.getLogger(__name__)

__virtualname__ = "eos_hecate"

DEFAULT_ADMIN = "unix//run/eos/hecate/admin.sock"
DURATION_RE = re.compile(r"[1-9][0-9]{0,3}(ms|s|m)\Z")
HEALTH_RE = re.compile(r'^caddy_reverse_proxy_upstreams_healthy\{upstream="([^"\\]{1,300})"\} ([01])$',
                       re.M)


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


# --- settings and plumbing ----------------------------------------------------------------------

def _fail(msg):
    raise CommandExecutionError(_text(msg))


def _settings():
    raw = __salt__["config.get"]("eos:hecate", {}) or {}
    if not isinstance(raw, dict):
        _fail(f"eos:hecate must be a mapping, got {_spec.quote(raw)}")
    st = _config.settings_defaults()
    st.update({k: raw[k] for k in st if k in raw})
    st["admin"] = raw.get("admin") or DEFAULT_ADMIN
    st["timeout"], st["max_routes"] = raw.get("timeout", 5), raw.get("max_routes", _spec.MAX_ROUTES)
    st["default_tls"] = raw.get("tls", "off")
    for key in ("http_port", "https_port"):
        if not isinstance(st[key], int) or not 1 <= st[key] <= 65535:
            _fail(f"eos:hecate:{key} {_spec.quote(st[key])}: a port 1-65535")
    if not isinstance(st["listen"], str) or (st["listen"] and not re.match(r"[0-9a-fA-F.:\[\]]{2,45}\Z", st["listen"])):
        _fail(f"eos:hecate:listen {_spec.quote(st['listen'])}: an IP address or \"\"")
    if not isinstance(st["timeout"], (int, float)) or not 0.1 <= st["timeout"] <= 120:
        _fail(f"eos:hecate:timeout {_spec.quote(st['timeout'])}: seconds, 0.1 to 120")
    for key in ("health_interval", "health_timeout"):
        if not isinstance(st[key], str) or not DURATION_RE.match(st[key]):
            _fail(f"eos:hecate:{key} {_spec.quote(st[key])}: a duration such as 10s or 500ms")
    if not isinstance(st["max_routes"], int) or not 1 <= st["max_routes"] <= 100000:
        _fail(f"eos:hecate:max_routes {_spec.quote(st['max_routes'])}: a count, 1 to 100000")
    if not isinstance(st["acme"], dict):
        _fail(f"eos:hecate:acme {_spec.quote(st['acme'])}: a mapping (email, ca)")
    try:
        _spec.tls(st["default_tls"])
    except _spec.SpecError as exc:
        _fail(f"eos:hecate:{exc}")
    return st


def _state_dir():
    return os.path.join(__opts__["cachedir"], "eos", "hecate")


def _previous_path():
    return os.path.join(_state_dir(), "previous.json")


def _client(st):
    try:
        return _admin_mod.Admin(st["admin"], st["timeout"])
    except _admin_mod.AdminError as exc:
        _fail(str(exc))


def _read(st):
    """(admin client, config, etag, {name: spec})"""
    admin = _client(st)
    try:
        cfg, etag = admin.get_config()
    except _admin_mod.AdminError as exc:
        _fail(str(exc))
    return admin, cfg, etag, _config.routes(cfg, st)


def _load(admin, current, etag, table, st):
    """Load the config with ``table`` as Hecate's routes; keep ``current`` for restore."""
    new = _config.render(current, table, st)
    try:
        admin.load(new, etag)
    except _admin_mod.AdminError as exc:
        _fail(str(exc))
    try:
        _save_json(_previous_path(), current)
    except OSError as exc:
        log.warning("eos_hecate: the previous config could not be kept in %s: %s",
                    _previous_path(), exc)
    return new


def _test(test):
    return bool(__opts__.get("test")) if test is None else bool(test)


def _public(spec):
    return _text({k: v for k, v in spec.items() if k != "by_hand"} | {"by_hand": spec.get("by_hand", False)})


def _checked(fn, *args):
    try:
        return fn(*args)
    except _spec.SpecError as exc:
        _fail(str(exc))


# --- public functions ---------------------------------------------------------------------------

def route_list():
    """
    The Hecate routes Caddy serves, by name: domains, upstreams, tls, health_uri, headers, and
    ``by_hand`` (True when Caddy's JSON for the route is not what Hecate wrote).

    CLI Example:

    .. code-block:: bash

        salt edge1 eos_hecate.route_list
    """
    st = _settings()
    return {name: _public(spec) for name, spec in _read(st)[3].items()}


def route_get(name):
    """
    One route by name; ``{}`` when Caddy has no route of that name.

    CLI Example:

    .. code-block:: bash

        salt edge1 eos_hecate.route_get web
    """
    _checked(_spec.name, name)
    spec = _read(_settings())[3].get(name)
    return _public(spec) if spec else {}


def route_set(name, domains=None, upstreams=None, tls=None, health_uri=None, headers=None,
              test=None):
    """
    Add or replace the route ``name``: requests for ``domains`` go to ``upstreams``
    (``host:port``, load-balanced, with active health checks when ``health_uri`` is given).
    ``tls``: ``off`` (plain HTTP on http_port), ``internal`` (Caddy's own CA) or ``acme``
    (pillar eos:hecate:acme); default pillar eos:hecate:tls, else ``off``. ``headers`` are set
    on the requests to the upstreams. Returns ``{name, changed, old, new}``; ``test=True``
    changes nothing.

    CLI Example:

    .. code-block:: bash

        salt edge1 eos_hecate.route_set web domains=www.example.com upstreams=10.0.0.5:8080,10.0.0.6:8080
        salt edge1 eos_hecate.route_set api domains='[api.example.com]' upstreams='[10.0.0.7:9000]' tls=internal health_uri=/healthz
    """
    st = _settings()
    spec = _checked(_spec.route, name, domains, upstreams, tls or st["default_tls"], health_uri,
                    headers)
    admin, cfg, etag, table = _read(st)
    old = table.get(name)
    table = dict(table)
    table[name] = spec
    if name not in (old or {}) and len(table) > st["max_routes"]:
        _fail(f"route {name!r}: this edge node has {len(table) - 1} routes, at most "
              f"{st['max_routes']} allowed (eos:hecate:max_routes)")
    _checked(_spec.check_unique_domains, table)
    changed = old is None or old.get("by_hand") or {k: old[k] for k in spec} != spec
    if changed and not _test(test):
        _load(admin, cfg, etag, table, st)
    return _text({"name": name, "changed": bool(changed), "test": _test(test),
                  "old": _public(old) if old else None, "new": spec})


def route_delete(name, test=None):
    """
    Remove the route ``name`` (its domains then answer 404). Returns ``{name, changed, old}``;
    removing a route that does not exist changes nothing.

    CLI Example:

    .. code-block:: bash

        salt edge1 eos_hecate.route_delete web
    """
    _checked(_spec.name, name)
    st = _settings()
    admin, cfg, etag, table = _read(st)
    old = table.get(name)
    if old is not None and not _test(test):
        _load(admin, cfg, etag, {k: v for k, v in table.items() if k != name}, st)
    return _text({"name": name, "changed": old is not None, "test": _test(test),
                  "old": _public(old) if old else None})


def backend_health():
    """
    Every upstream of the Hecate routes: ``healthy`` from Caddy's active health checks
    (its admin metric ``caddy_reverse_proxy_upstreams_healthy``; None for an upstream without
    a health_uri), and Caddy's request and failure counts (``/reverse_proxy/upstreams``).

    CLI Example:

    .. code-block:: bash

        salt edge1 eos_hecate.backend_health
    """
    st = _settings()
    admin, _, _, table = _read(st)
    try:
        counts = {u.get("address"): u for u in admin.upstreams() if isinstance(u, dict)}
        healthy = {m.group(1): m.group(2) == "1" for m in HEALTH_RE.finditer(admin.metrics())}
    except _admin_mod.AdminError as exc:
        _fail(str(exc))
    out = {}
    for name in sorted(table):
        spec = table[name]
        for up in spec["upstreams"]:
            item = out.setdefault(up, {"upstream": up, "routes": [], "checked": False,
                                       "healthy": None, "num_requests": 0, "fails": 0})
            item["routes"].append(name)
            if spec["health_uri"]:
                item["checked"] = True
                item["healthy"] = healthy.get(up)
            c = counts.get(up) or {}
            for key in ("num_requests", "fails"):
                if isinstance(c.get(key), int):
                    item[key] = c[key]
    return _text([out[k] for k in sorted(out)])


def backup(path=None):
    """
    Save Caddy's whole current config (JSON) to ``path`` (default: a time-stamped file under
    the minion's cache, ``eos/hecate/backup-<time>.json``). Returns ``{path, bytes}``.

    CLI Example:

    .. code-block:: bash

        salt edge1 eos_hecate.backup
        salt edge1 eos_hecate.backup /var/backups/caddy.json
    """
    st = _settings()
    admin = _client(st)
    try:
        cfg, _ = admin.get_config()
    except _admin_mod.AdminError as exc:
        _fail(str(exc))
    path = path or os.path.join(_state_dir(), time.strftime("backup-%Y%m%dT%H%M%S.json", time.gmtime()))
    try:
        _save_json(path, cfg)
    except OSError as exc:
        _fail(f"backup: cannot write {path}: {exc}")
    return {"path": path, "bytes": os.path.getsize(path)}


def restore(path=None, test=None):
    """
    Load a config kept by ``backup`` (``path``), or by default the config as it was before the
    last Hecate change. The file's admin endpoint must be the current one (a restore never
    moves the admin API). Returns ``{path, changed}``.

    CLI Example:

    .. code-block:: bash

        salt edge1 eos_hecate.restore
        salt edge1 eos_hecate.restore /var/backups/caddy.json
    """
    st = _settings()
    path = path or _previous_path()
    try:
        cfg = _load_json_dict(path)
    except (OSError, ValueError) as exc:
        _fail(f"restore: cannot read {path}: {exc}")
    if not cfg:
        _fail(f"restore: {path} does not exist or holds no config")
    admin = _client(st)
    try:
        current, etag = admin.get_config()
    except _admin_mod.AdminError as exc:
        _fail(str(exc))
    if (cfg.get("admin") or {}) != (current.get("admin") or {}):
        _fail(f"restore: {path} has another admin endpoint ({_spec.quote(cfg.get('admin'))}) "
              f"than Caddy now ({_spec.quote(current.get('admin'))}); refused")
    changed = cfg != current
    if changed and not _test(test):
        try:
            admin.load(cfg, etag)
        except _admin_mod.AdminError as exc:
            _fail(str(exc))
        _save_json(_previous_path(), current)
    return {"path": path, "changed": changed, "test": _test(test)}


def _pillar_table(st):
    raw = __salt__["config.get"]("eos:hecate:routes", {})
    return _checked(_spec.route_table, raw, st["max_routes"], st["default_tls"])


def _diff(current_table, desired, cfg, st):
    """What reconcile would change: routes added, removed, changed (by hand or in pillar)."""
    added = sorted(set(desired) - set(current_table))
    removed = sorted(set(current_table) - set(desired))
    changed = sorted(n for n in set(desired) & set(current_table)
                     if current_table[n]["by_hand"]
                     or {k: current_table[n][k] for k in desired[n]} != desired[n])
    foreign = _config.unmanaged(cfg)
    new = _config.render(cfg, desired, st)
    other = not (added or removed or changed or foreign) and _config.owned(new) != _config.owned(cfg)
    return {"added": added, "removed": removed, "changed": changed,
            "unmanaged": len(foreign), "settings": other}


def reconcile(test=None):
    """
    Make Caddy serve exactly pillar ``eos:hecate:routes``: report routes that are missing,
    extra, changed in pillar or edited by hand in Caddy (and routes Hecate did not write in its
    servers), then load the pillar's routes in one change. ``test=True`` reports and changes
    nothing. Returns ``{changes, applied, routes}``.

    CLI Example:

    .. code-block:: bash

        salt edge1 eos_hecate.reconcile test=True
        salt edge1 eos_hecate.reconcile
    """
    st = _settings()
    desired = _pillar_table(st)
    admin, cfg, etag, table = _read(st)
    changes = _diff(table, desired, cfg, st)
    needed = any(changes[k] for k in changes)
    applied = needed and not _test(test)
    if applied:
        _load(admin, cfg, etag, desired, st)
    return _text({"changes": changes, "applied": applied, "test": _test(test),
                  "routes": sorted(desired)})
