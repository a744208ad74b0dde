"""Route input is outside data (CLI arguments, pillar written by others, other helpers' calls):
every field is checked against a strict grammar and bounds before anything is sent to Caddy,
and a refusal quotes the input (escaped, so a non-UTF-8 name prints readably)."""
import ipaddress
import re

TLS_MODES = ("off", "internal", "acme")
MAX_ROUTES = 2000            # per edge node; pillar eos:hecate:max_routes lowers or raises it
MAX_DOMAINS = 100            # per route
MAX_UPSTREAMS = 64           # per route
MAX_HEADERS = 32             # per route

NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,62})\Z")
LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
HOSTNAME_RE = re.compile(r"[A-Za-z0-9.-]{1,253}\Z")
PORT_RE = re.compile(r"[0-9]{1,5}\Z")
HEADER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}\Z")
HEADER_VALUE_RE = re.compile(r"[\x20-\x7e]{0,1024}\Z")
HEALTH_URI_RE = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@/%?-]{0,255}\Z")


class SpecError(ValueError):
    """Route input that does not follow the grammar; the message quotes it."""


def quote(value):
    """repr() of outside data, with undecodable bytes (surrogate escapes) shown as \\xNN and
    the whole bounded, so that an error message is always printable and short."""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "...(truncated)"


def name(value):
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise SpecError(f"route name {quote(value)}: use 1-63 characters a-z 0-9 _ -, "
                        "starting with a letter or digit")
    return value


def _listish(value, what, limit):
    """A list of strings, or one comma-separated string (as the Salt CLI passes it)."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if not isinstance(value, (list, tuple)) or not value:
        raise SpecError(f"{what} {quote(value)}: a non-empty list is required")
    if len(value) > limit:
        raise SpecError(f"{what}: {len(value)} given, at most {limit} allowed")
    for v in value:
        if not isinstance(v, str):
            raise SpecError(f"{what}: {quote(v)} is not a string")
    return list(value)


def domain(value):
    """A DNS name in lower case; a wildcard only as the whole leftmost label ("*.example.com")."""
    labels = value.split(".") if len(value) <= 253 else []
    if labels and labels[0] == "*" and len(labels) >= 2:
        labels = labels[1:]
    if len(labels) < 1 or not all(LABEL_RE.match(label) for label in labels):
        raise SpecError(f"domain {quote(value)}: lower-case DNS labels (a-z 0-9 -) joined by "
                        "dots, a wildcard only as the whole first label")
    return value


def _unique(value, what, limit, check):
    """A list (or comma-separated string) of at most ``limit`` distinct items, each checked."""
    out = [check(v) for v in _listish(value, what, limit)]
    if len(set(out)) != len(out):
        raise SpecError(f"{what} {quote(out)}: an item is listed twice")
    return out


def domains(value):
    return _unique(value, "domains", MAX_DOMAINS, domain)


def upstream(value):
    """host:port with an IPv4 address, a bracketed IPv6 address or a DNS name; port 1-65535.
    No scheme, path or anything else: the value goes into Caddy's dial address as it is."""
    host, sep, port = value.rpartition(":")
    ok = bool(sep) and bool(PORT_RE.match(port)) and 1 <= int(port) <= 65535
    if ok and host.startswith("["):
        try:
            ok = host.endswith("]") and ipaddress.IPv6Address(host[1:-1]) is not None
        except ValueError:
            ok = False
    elif ok:
        ok = bool(HOSTNAME_RE.match(host)) and all(
            LABEL_RE.match(label) for label in host.lower().split("."))
    if not ok:
        raise SpecError(f"upstream {quote(value)}: host:port is required (an IPv4 address, "
                        "[IPv6] or a DNS name; port 1-65535), nothing else")
    return value


def upstreams(value):
    return _unique(value, "upstreams", MAX_UPSTREAMS, upstream)


def tls(value):
    if value not in TLS_MODES:
        raise SpecError(f"tls {quote(value)}: one of {', '.join(TLS_MODES)}")
    return value


def health_uri(value):
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not HEALTH_URI_RE.match(value):
        raise SpecError(f"health_uri {quote(value)}: an absolute path (and query), at most 256 "
                        "URI characters")
    return value


def headers(value):
    """Request headers set towards the upstreams: {Name: value}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"headers {quote(value)}: a mapping of header name to value is required")
    if len(value) > MAX_HEADERS:
        raise SpecError(f"headers: {len(value)} given, at most {MAX_HEADERS} allowed")
    for k, v in value.items():
        if not isinstance(k, str) or not HEADER_NAME_RE.match(k):
            raise SpecError(f"header name {quote(k)}: letters, digits and '-', at most 64")
        if not isinstance(v, str) or not HEADER_VALUE_RE.match(v):
            raise SpecError(f"header {k} value {quote(v)}: printable ASCII, at most 1024 characters")
    return {k: value[k] for k in sorted(value)}


def route(rname, rdomains, rupstreams, rtls="off", rhealth_uri=None, rheaders=None):
    """One route, checked and in canonical form (the form route_get returns)."""
    return {"name": name(rname), "domains": domains(rdomains), "upstreams": upstreams(rupstreams),
            "tls": tls(rtls), "health_uri": health_uri(rhealth_uri), "headers": headers(rheaders)}


ROUTE_KEYS = {"name", "domains", "upstreams", "tls", "health_uri", "headers"}


def route_from_dict(rname, data, default_tls="off"):
    if not isinstance(data, dict):
        raise SpecError(f"route {quote(rname)}: a mapping is required, got {quote(data)}")
    unknown = set(data) - ROUTE_KEYS
    if unknown:
        raise SpecError(f"route {quote(rname)}: unknown key(s) {quote(sorted(map(str, unknown)))}; "
                        f"known: {', '.join(sorted(ROUTE_KEYS))}")
    return route(rname, data.get("domains"), data.get("upstreams"), data.get("tls", default_tls),
                 data.get("health_uri"), data.get("headers"))


def route_table(routes, limit=MAX_ROUTES, default_tls="off"):
    """A whole table: {name: spec} or [{name: ..., ...}] from pillar. Names and domains must be
    unique across routes; the count is bounded."""
    if routes is None:
        routes = {}
    if isinstance(routes, dict):
        items = list(routes.items())
    elif isinstance(routes, list):
        items = [(r.get("name") if isinstance(r, dict) else None, r) for r in routes]
    else:
        raise SpecError(f"routes {quote(routes)}: a mapping of name to route is required")
    if len(items) > limit:
        raise SpecError(f"routes: {len(items)} given, at most {limit} allowed on one edge node")
    table = {}
    for rname, data in items:
        spec = route_from_dict(rname, data, default_tls)
        if spec["name"] in table:
            raise SpecError(f"route name {quote(spec['name'])} is given twice")
        table[spec["name"]] = spec
    check_unique_domains(table)
    return table


def check_unique_domains(table):
    """A domain served by two routes would make one of them unreachable."""
    owner = {}
    for rname in sorted(table):
        for d in table[rname]["domains"]:
            if d in owner:
                raise SpecError(f"domain {quote(d)} is in route {owner[d]!r} and in route {rname!r}")
            owner[d] = rname
