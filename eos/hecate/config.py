"""Routes as Caddy JSON, and back.

Hecate owns these parts of Caddy's config and keeps everything else (admin, storage, logging,
other servers and apps) as it finds it:

- ``apps.http.servers.eos_http``: plain-HTTP routes (tls=off) and a 404 for unknown hosts;
- ``apps.http.servers.eos_https``: TLS routes (tls=internal or acme), present when one exists;
- ``apps.http.http_port`` / ``https_port``, ``apps.tls.automation.policies`` (one policy per
  TLS route: Caddy's internal CA or ACME from pillar) and ``apps.pki`` (the internal CA is
  never installed into the system trust store).

A route is ``{"@id": "eos-hecate-route-NAME", "match": [{"host": [...]}], "handle":
[reverse_proxy], "terminal": true}``; reading it back gives the spec route_get returns, and
rendering that spec again must give the same JSON, otherwise the route was edited by hand."""
import copy

ROUTE_ID = "eos-hecate-route-"
SERVERS = {"off": "eos_http", "internal": "eos_https", "acme": "eos_https"}
FALLBACK = {"handle": [{"handler": "static_response", "status_code": 404,
                        "body": "no Hecate route for this host\n"}]}


def settings_defaults():
    return {"listen": "", "http_port": 80, "https_port": 443, "health_interval": "10s",
            "health_timeout": "5s", "acme": {}}


def _proxy(spec, st):
    rp = {"handler": "reverse_proxy", "upstreams": [{"dial": u} for u in spec["upstreams"]]}
    if spec["headers"]:
        rp["headers"] = {"request": {"set": {k: [v] for k, v in spec["headers"].items()}}}
    if spec["health_uri"]:
        rp["health_checks"] = {"active": {"uri": spec["health_uri"],
                                          "interval": st["health_interval"],
                                          "timeout": st["health_timeout"]}}
    return rp


def render_route(spec, st):
    return {"@id": ROUTE_ID + spec["name"], "match": [{"host": list(spec["domains"])}],
            "handle": [_proxy(spec, st)], "terminal": True}


def render_policy(spec, st):
    if spec["tls"] == "internal":
        issuer = {"module": "internal"}
    else:
        issuer = {"module": "acme"}
        for key in ("email", "ca"):
            if st["acme"].get(key):
                issuer[key] = st["acme"][key]
    return {"subjects": list(spec["domains"]), "issuers": [issuer]}


def _server(routes, port, st, tls):
    fallback = dict(copy.deepcopy(FALLBACK), **{"@id": f"eos-hecate-fallback-{'https' if tls else 'http'}"})
    server = {"listen": [f"{st['listen']}:{port}"], "routes": routes + [fallback]}
    # Hecate's servers never get automatic redirects; the plain one never gets certificates.
    server["automatic_https"] = {"disable_redirects": True} if tls else {"disable": True}
    return server


def render(current, table, st):
    """The whole new config: ``current`` with Hecate's parts replaced by ``table``'s routes."""
    cfg = copy.deepcopy(current or {})
    apps = cfg.setdefault("apps", {})
    http = apps.setdefault("http", {})
    servers = http.setdefault("servers", {})
    http["http_port"], http["https_port"] = st["http_port"], st["https_port"]
    by_server = {"eos_http": [], "eos_https": []}
    policies = []
    for rname in sorted(table):
        spec = table[rname]
        by_server[SERVERS[spec["tls"]]].append(render_route(spec, st))
        if spec["tls"] != "off":
            policies.append(render_policy(spec, st))
    servers["eos_http"] = _server(by_server["eos_http"], st["http_port"], st, tls=False)
    servers.pop("eos_https", None)
    if by_server["eos_https"]:
        servers["eos_https"] = _server(by_server["eos_https"], st["https_port"], st, tls=True)
    tls_app = apps.setdefault("tls", {})
    tls_app.setdefault("automation", {})["policies"] = policies
    if not policies:
        tls_app["automation"].pop("policies")
    apps["pki"] = {"certificate_authorities": {"local": {"install_trust": False}}}
    return cfg


def owned(cfg):
    """The parts of a config Hecate owns (for comparing two configs)."""
    apps = (cfg or {}).get("apps") or {}
    http = apps.get("http") or {}
    servers = http.get("servers") or {}
    return {"servers": {k: servers.get(k) for k in ("eos_http", "eos_https")},
            "ports": [http.get("http_port"), http.get("https_port")],
            "policies": ((apps.get("tls") or {}).get("automation") or {}).get("policies"),
            "pki": apps.get("pki")}


def _tls_of(domains, policies):
    for policy in policies or []:
        if isinstance(policy, dict) and policy.get("subjects") == domains:
            issuers = policy.get("issuers") or [{}]
            module = issuers[0].get("module") if isinstance(issuers[0], dict) else None
            return "internal" if module == "internal" else "acme", policy
    return "acme", None   # Caddy's default issuer


def _spec_of(route, server, policies):
    """The spec of one Hecate route as Caddy has it; shapes Hecate never writes give empty
    fields (and then a render that differs: the route is reported as edited by hand)."""
    match = (route.get("match") or [{}])[0]
    domains = match.get("host") if isinstance(match, dict) else None
    domains = [d for d in domains if isinstance(d, str)] if isinstance(domains, list) else []
    rp = next((h for h in route.get("handle") or [] if isinstance(h, dict)
               and h.get("handler") == "reverse_proxy"), {})
    ups = [u.get("dial") for u in rp.get("upstreams") or [] if isinstance(u, dict)]
    hdrs = ((rp.get("headers") or {}).get("request") or {}).get("set") or {}
    active = (rp.get("health_checks") or {}).get("active") or {}
    tls, policy = ("off", None) if server == "eos_http" else _tls_of(domains, policies)
    spec = {"name": route["@id"][len(ROUTE_ID):], "domains": domains,
            "upstreams": [u for u in ups if isinstance(u, str)], "tls": tls,
            "health_uri": active.get("uri") or None,
            "headers": {k: v[0] for k, v in sorted(hdrs.items()) if isinstance(v, list) and v}}
    return spec, policy


def routes(cfg, st):
    """{name: spec} of the Hecate routes in cfg; each spec has ``by_hand``: True when Caddy's
    JSON for it is not what Hecate would render (someone edited it)."""
    own = owned(cfg)
    out = {}
    for server in ("eos_http", "eos_https"):
        for route in (own["servers"][server] or {}).get("routes") or []:
            rid = route.get("@id") if isinstance(route, dict) else None
            if not isinstance(rid, str) or not rid.startswith(ROUTE_ID):
                continue
            spec, policy = _spec_of(route, server, own["policies"])
            expected = render_route(spec, st)
            spec["by_hand"] = expected != route or (
                spec["tls"] != "off" and policy != render_policy(spec, st))
            out[spec["name"]] = spec
    return out


def unmanaged(cfg):
    """Routes in Hecate's servers that Hecate did not write (no eos-hecate @id)."""
    out = []
    for server, body in owned(cfg)["servers"].items():
        for route in (body or {}).get("routes") or []:
            rid = route.get("@id") if isinstance(route, dict) else None
            if not (isinstance(rid, str) and rid.startswith("eos-hecate-")):
                out.append({"server": server, "route": route})
    return out
