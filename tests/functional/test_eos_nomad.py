"""The eos_nomad runner in-process against tests/support/nomad_api.py, a stand-in answering
Nomad's documented HTTP API (no Nomad can be installed here), and against a real Nomad when
NOMAD_ADDR is set."""
import http.server
import json
import os
import threading
import time

import pytest

from tests.support import tfenv
from tests.support.nomad_api import NomadAPI

PROFILES = {"staging": {"replicas": 1, "cpu": 100, "memory": 128},
            "production": {"replicas": 3, "cpu": 500, "memory": 512}}


class Backend:
    """The task's process stand-in: an HTTP server answering /health (200 or 503)."""

    def __init__(self):
        state = self
        self.healthy = True

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                code = 200 if state.healthy else 503
                body = f"service backend {self.path}".encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    server = NomadAPI()
    yield server
    server.close()


@pytest.fixture
def backend():
    b = Backend()
    yield b
    b.close()


@pytest.fixture
def master(tmp_path, api):
    return tfenv.master_opts(tmp_path / "master", {"eos_nomad_address": api.address, "eos_nomad_timeout": 2})


def service(port, **over):
    svc = {"image": "registry.example/web:1.2", "cpu": 200, "memory": 64, "ports": {"http": port},
           "health": {"path": "/health", "port": "http", "interval": 5, "timeout": 1},
           "env": {"MODE": "test"}}
    svc.update(over)
    return svc


def pillar(opts, services):
    tfenv.write_pillar(opts, {"eos": {"environments": PROFILES, "services": services}})




def test_render_job_and_terraform_resource(master):
    pillar(master, {"web": service(8080), "api": service(9090, via="terraform", count=2)})
    job = tfenv.ok(tfenv.run(master, "eos_nomad.render", "web", "production"))["job"]
    assert job["ID"] == "web-production" and job["Type"] == "service"
    tg = job["TaskGroups"][0]
    assert tg["Count"] == 3, "count comes from the production profile's replicas"
    assert tg["Networks"][0]["ReservedPorts"] == [{"Label": "http", "Value": 8080}]
    task = tg["Tasks"][0]
    assert task["Config"]["image"] == "registry.example/web:1.2"
    assert task["Resources"] == {"CPU": 200, "MemoryMB": 64}
    assert task["Services"][0]["Checks"][0]["Path"] == "/health"
    assert task["Services"][0]["Checks"][0]["Interval"] == 5 * 10**9
    tf = tfenv.ok(tfenv.run(master, "eos_nomad.render", "api", "staging"))
    assert tf["via"] == "terraform"
    res = tf["terraform"]["resource"]["nomad_job"]["api"]
    assert res["json"] is True and json.loads(res["jobspec"])["Job"]["TaskGroups"][0]["Count"] == 2
    assert "via terraform" in tfenv.err(tfenv.run(master, "eos_nomad.run", "api", "staging"))


@pytest.mark.parametrize("svc,expect", [
    ({"image": "x", "count": -1}, "count must be an integer from 0 to 1000, got -1"),
    ({"image": "x", "count": "3"}, "count must be an integer"),
    ({"image": "x; rm -rf /"}, "image must be an image reference"),
    ("not a mapping", "pillar eos:services:web must be a mapping, got 'not a mapping'"),
    ({"image": "x", "ports": {"http": 80}, "health": {"port": "db"}}, "health port 'db' is not one of its ports"),
])
def test_bad_service_pillar_is_refused(master, api, svc, expect):
    pillar(master, {"web": svc})
    assert expect in tfenv.err(tfenv.run(master, "eos_nomad.run", "web", "staging"))
    assert not [r for r in api.state.requests if r[0] != "GET"], "nothing may be sent"


def test_bad_names_are_refused(master, api):
    pillar(master, {"web": service(80)})
    assert "service name '../web' is not allowed" in tfenv.err(tfenv.run(master, "eos_nomad.run", "../web", "staging"))
    assert "environment name 'a/b' is not allowed" in tfenv.err(tfenv.run(master, "eos_nomad.status", "web", "a/b"))
    assert api.state.requests == []


def test_plan_run_status_allocations_revert_stop(master, api, backend):
    pillar(master, {"web": service(backend.port)})
    plan = tfenv.ok(tfenv.run(master, "eos_nomad.plan", "web", "staging"))
    assert plan["diff"] == "Added" and plan["groups"] == {"web": {"Place": 1}}
    assert "web-staging" not in api.state.versions, "a plan registers nothing"

    ret = tfenv.ok(tfenv.run(master, "eos_nomad.run", "web", "staging"))
    assert ret["healthy"] is True and ret["version"] == 0 and ret["deployment"]["status"] == "successful"
    st = tfenv.ok(tfenv.run(master, "eos_nomad.status", "web", "staging"))
    assert st["version"] == 0 and st["stable"] is True and st["deployment"]["groups"]["web"]["HealthyAllocs"] == 1
    allocs = tfenv.ok(tfenv.run(master, "eos_nomad.allocations", "web", "staging"))
    assert [(a["healthy"], a["client_status"]) for a in allocs] == [(True, "running")]

    pillar(master, {"web": service(backend.port, count=2)})
    assert tfenv.ok(tfenv.run(master, "eos_nomad.plan", "web", "staging"))["diff"] == "Edited"
    assert tfenv.ok(tfenv.run(master, "eos_nomad.run", "web", "staging"))["version"] == 1
    back = tfenv.ok(tfenv.run(master, "eos_nomad.revert", "web", "staging"))
    assert back["reverted_to"] == 0 and back["from"] == 1
    assert api.state.versions["web-staging"][-1]["TaskGroups"][0]["Count"] == 1
    assert tfenv.ok(tfenv.run(master, "eos_nomad.stop", "web", "staging"))["stopped"] is True
    assert tfenv.ok(tfenv.run(master, "eos_nomad.status", "web", "staging"))["stopped"] is True


def test_unhealthy_run_reverts_or_stops(master, api, backend):
    pillar(master, {"web": service(backend.port)})
    backend.healthy = False
    msg = tfenv.err(tfenv.run(master, "eos_nomad.run", "web", "staging", wait=30))
    assert "did not become healthy (deployment failed: Failed due to unhealthy allocations)" in msg, msg
    assert "stopped (it had no earlier stable version)" in msg
    assert "web-staging" in api.state.stopped

    backend.healthy = True
    assert tfenv.ok(tfenv.run(master, "eos_nomad.run", "web", "staging"))["version"] == 1
    backend.healthy = False
    pillar(master, {"web": service(backend.port, image="registry.example/web:1.3")})
    msg = tfenv.err(tfenv.run(master, "eos_nomad.run", "web", "staging", wait=30))
    assert "version 2 did not become healthy" in msg and "reverted to version 1" in msg, msg
    assert api.state.versions["web-staging"][-1]["TaskGroups"][0]["Tasks"][0]["Config"]["image"].endswith(":1.2")


def test_api_500_and_hang_are_bounded_clear_errors(master, api, backend):
    pillar(master, {"web": service(backend.port)})
    api.state.fail_status = 500
    msg = tfenv.err(tfenv.run(master, "eos_nomad.run", "web", "staging"))
    assert f"POST {api.address}/v1/jobs answered 500: rpc error: stand-in fault" in msg, msg
    api.state.fail_status = None
    api.state.hang = 60
    started = time.monotonic()
    msg = tfenv.err(tfenv.run(master, "eos_nomad.status", "web", "staging"))
    assert time.monotonic() - started < 20, "eos_nomad_timeout is 2 s: the call must not wait for the answer"
    assert f"at {api.address} failed" in msg and "timed out" in msg, msg
    api.state.hang = 0
    assert "web-staging" not in api.state.versions


@pytest.mark.skipif(not os.environ.get("NOMAD_ADDR"),
                    reason="NOMAD_ADDR is not set: no Nomad server to test against (none can be installed here)")
def test_against_a_real_nomad(tmp_path):
    """With NOMAD_ADDR (and NOMAD_TOKEN when ACLs are on): plan, run a raw_exec job whose
    check is a real HTTP server the job starts, status, allocations, stop."""
    opts = tfenv.master_opts(tmp_path / "m", {"eos_nomad_address": os.environ["NOMAD_ADDR"]})
    svc = {"image": "python3", "driver": "raw_exec", "count": 1, "ports": {"http": 0},
           "health": {"path": "/", "port": "http"}}
    pillar(opts, {"eos-real-test": svc})
    plan = tfenv.ok(tfenv.run(opts, "eos_nomad.plan", "eos-real-test", "staging"))
    assert plan["diff"] in ("Added", "Edited", "None")
    st = tfenv.run(opts, "eos_nomad.status", "eos-real-test", "staging")
    assert st["success"] or "answered 404" in str(st["return"])


def test_acl_token_comes_from_the_secrets_store(tmp_path, api, backend, openbao_dev):
    from eos import vault

    token = "nomad-acl-0f1e2d3c"
    vault.kv_put(vault.connect(openbao_dev.addr, token_file=openbao_dev.token_file), "eos/nomad", {"acl": token})
    opts = tfenv.master_opts(tmp_path / "m", {"eos_nomad_address": api.address, "eos_nomad_timeout": 2,
                                              "eos_nomad_token": "eos/nomad#acl",
                                              "eos_vault_addr": openbao_dev.addr,
                                              "eos_vault_token_file": openbao_dev.token_file})
    pillar(opts, {"web": service(backend.port)})
    api.state.acl_token = token
    assert tfenv.ok(tfenv.run(opts, "eos_nomad.run", "web", "staging"))["healthy"] is True
    assert api.state.tokens == {token}
    api.state.acl_token = "another"
    msg = tfenv.err(tfenv.run(opts, "eos_nomad.status", "web", "staging"))
    assert "answered 403: Permission denied" in msg and token not in msg, msg
