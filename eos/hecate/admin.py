"""The HTTP client of Caddy's admin endpoint, through urllib3 (the client under requests and
Salt's HTTP utilities). The endpoint is a unix socket (``unix//run/eos/hecate/admin.sock``)
or a loopback address (``http://127.0.0.1:2019``); anything else is refused, so the admin API
is never reached over a network. Every call has a connect and a read timeout; an error names
the endpoint and the path, and quotes at most a bounded part of Caddy's answer."""
import ipaddress
import json
import socket
import urllib.parse

import urllib3

DEFAULT_TIMEOUT = 5.0
MAX_BODY = 64 * 1024 * 1024   # a 10,000-route config is about 5 MB


class AdminError(RuntimeError):
    """Caddy's admin endpoint failed, refused the request or could not be reached."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class Conflict(AdminError):
    """Caddy's config changed since it was read (ETag mismatch, HTTP 412): another writer."""


class _UnixConnection(urllib3.connection.HTTPConnection):
    """urllib3's HTTP connection, over a unix socket instead of TCP."""

    def __init__(self, *args, socket_path, **kwargs):
        super().__init__(*args, **kwargs)
        self.socket_path = socket_path

    def _new_conn(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        return sock


class _UnixPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _UnixConnection


def _pool(endpoint, timeout):
    t = urllib3.Timeout(connect=timeout, read=timeout)
    if endpoint.startswith("unix/"):
        path = endpoint[len("unix/"):]
        if not path.startswith("/"):
            raise AdminError(f"Caddy admin endpoint {endpoint!r}: unix/ needs an absolute path")
        # Caddy checks the Host header of admin requests: "localhost" is what it accepts on a socket.
        return _UnixPool("localhost", timeout=t, retries=False, maxsize=1, socket_path=path)
    url = urllib.parse.urlsplit(endpoint)
    try:
        loopback = url.scheme == "http" and ipaddress.ip_address(url.hostname or "").is_loopback
    except ValueError:
        loopback = False
    if not loopback or not url.port:
        raise AdminError(f"Caddy admin endpoint {endpoint!r}: only unix//path or "
                         "http://<loopback address>:<port> is allowed (never a public address)")
    return urllib3.HTTPConnectionPool(url.hostname, url.port, timeout=t, retries=False, maxsize=1)


class Admin:
    """One admin endpoint. get_config() returns (config, etag); load() replaces the whole config
    in one request that Caddy validates and applies, or rejects leaving everything as it was."""

    def __init__(self, endpoint, timeout=DEFAULT_TIMEOUT):
        self.endpoint = endpoint
        self.timeout = float(timeout)
        self._pool = _pool(endpoint, self.timeout)

    def request(self, method, path, body=None, headers=None):
        where = f"Caddy admin {method} {self.endpoint} {path}"
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        hdrs.update(headers or {})
        try:
            resp = self._pool.urlopen(method, path, body=body, headers=hdrs, preload_content=False,
                                      redirect=False)
            data = resp.read(MAX_BODY + 1)
            resp.release_conn()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise AdminError(f"{where}: no answer within {self.timeout:g} s or unreachable: {reason}") from None
        if len(data) > MAX_BODY:
            raise AdminError(f"{where}: answer larger than {MAX_BODY} bytes")
        if resp.status == 412:
            raise Conflict(f"{where}: Caddy's config was changed by another writer since it was "
                           "read (ETag mismatch); nothing was changed, read it again", 412)
        if resp.status >= 300:
            msg = data[:2000].decode("utf-8", "backslashreplace").strip()
            try:
                msg = json.loads(msg).get("error", msg)
            except (ValueError, AttributeError):
                pass
            raise AdminError(f"{where}: HTTP {resp.status}: {msg}", resp.status)
        return data, resp.headers

    def get_config_raw(self):
        """The config exactly as Caddy serves it (bytes) and its ETag."""
        data, headers = self.request("GET", "/config/")
        return data, headers.get("Etag")

    def get_config(self):
        data, etag = self.get_config_raw()
        try:
            cfg = json.loads(data) if data.strip() else None
        except ValueError as exc:
            raise AdminError(f"Caddy admin {self.endpoint} /config/: not JSON: {exc}") from None
        if cfg is not None and not isinstance(cfg, dict):
            raise AdminError(f"Caddy admin {self.endpoint} /config/: not a JSON object")
        return cfg or {}, etag

    def load(self, cfg, etag):
        """Replace the whole config at once. POST /config/ with If-Match is Caddy's whole-config
        load (the same validate-then-switch path as POST /load) under its ETag check: a config
        Caddy rejects changes nothing, and a config changed since ``etag`` was read raises
        Conflict instead of being overwritten."""
        body = json.dumps(cfg, separators=(",", ":")).encode()
        headers = {"If-Match": etag} if etag else {}
        self.request("POST", "/config/", body=body, headers=headers)

    def upstreams(self):
        data, _ = self.request("GET", "/reverse_proxy/upstreams")
        try:
            items = json.loads(data)
        except ValueError:
            items = None
        if not isinstance(items, list):
            raise AdminError(f"Caddy admin {self.endpoint} /reverse_proxy/upstreams: not a JSON list")
        return items

    def metrics(self):
        data, _ = self.request("GET", "/metrics")
        return data.decode("utf-8", "replace")
