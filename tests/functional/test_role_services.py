"""Role state pieces through real Salt without daemons (salt-call --local): the Consul and
Nomad configurations parsed back as HCL (neither can be installed here, so their states fail
with a clear message), and Eos's storage figures in the node exporter's textfile format."""
import os
import re

import pytest
import yaml


def _root(salt_local):
    with open(os.path.join(salt_local.conf, "minion")) as f:
        return yaml.safe_load(f)["root_dir"]


def _pillar(me, roles):
    return {"eos": {"roles": {me: roles, "core2": ["core"], "core3": ["core"], "w1": ["compute"]},
                    "nodes": {me: {"address": "10.0.0.1"}, "core2": {"address": "10.0.0.2"}}}}


def _load_hcl(path):
    import hcl2

    with open(path) as f:
        return hcl2.load(f)


def _unquote(value):
    """python-hcl2 keeps the quotes of string values ('"eos"')."""
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    return value.strip('"') if isinstance(value, str) else value


def test_consul_and_nomad_server_configs_parse_and_fail_clearly(salt_local):
    pytest.importorskip("hcl2", reason="python-hcl2 (requirements-test.txt) is not installed")
    me = "eos-test-minion"
    root = _root(salt_local)
    salt_local.pillar(_pillar(me, ["core"]))
    r = salt_local.call("state.apply", "roles.consul,roles.nomad")
    assert r.returncode != 0, r
    failed = {v["__id__"]: v["comment"] for v in r.data.values() if v["result"] is False}
    assert set(failed) == {"eos-consul-pkg", "eos-nomad-pkg"}, r
    assert 'package "consul" (consul) cannot be installed' in failed["eos-consul-pkg"]
    assert "eos:packages:nomad" in failed["eos-nomad-pkg"]

    consul = _load_hcl(os.path.join(root, "etc/eos/core/consul.hcl"))
    assert consul["server"] is True and consul["bootstrap_expect"] == 3
    assert _unquote(consul["retry_join"]) == ["core2", "core3"]
    assert _unquote(consul["bind_addr"]) == "10.0.0.1" and _unquote(consul["node_name"]) == me
    nomad = _load_hcl(os.path.join(root, "etc/eos/core/nomad.hcl"))
    (server,) = nomad["server"]
    assert server["enabled"] is True and server["bootstrap_expect"] == 3
    assert _unquote(server["server_join"][0]["retry_join"]) == ["core2", "core3"]
    assert "client" not in nomad


def test_nomad_client_config_on_a_compute_node(salt_local):
    pytest.importorskip("hcl2", reason="python-hcl2 (requirements-test.txt) is not installed")
    root = _root(salt_local)
    salt_local.pillar(_pillar("eos-test-minion", ["compute"]))
    r = salt_local.call("state.apply", "roles.nomad")
    assert r.returncode != 0
    nomad = _load_hcl(os.path.join(root, "etc/eos/compute/nomad.hcl"))
    (client,) = nomad["client"]
    assert client["enabled"] is True and _unquote(client["node_class"]) == "compute"
    assert _unquote(client["servers"]) == ["core2", "core3"]
    assert "server" not in nomad


def test_role_state_test_mode_plans_services_and_changes_nothing(salt_local):
    root = _root(salt_local)
    salt_local.pillar({"eos": {"roles": {"eos-test-minion": ["observe", "message"]},
                               "nodes": {"eos-test-minion": {"address": "127.0.0.1"}}}})
    r = salt_local.call("state.apply", "roles.observe,roles.message", "test=True")
    assert r.returncode == 0, r
    ids = {v["__id__"]: v for v in r.data.values()}
    for sid in ("eos-prometheus-config", "eos-prometheus-running", "eos-nats-config",
                "eos-nats-running", "eos-node-exporter-running"):
        assert sid in ids and ids[sid]["result"] in (None, True), (sid, ids.get(sid))
    assert not os.path.exists(os.path.join(root, "etc/eos/observe/prometheus.yml"))
    assert not os.path.exists(os.path.join(root, "var/lib/eos/node-exporter"))


def test_export_metrics_writes_the_textfile(salt_local, tmp_path):
    out = tmp_path / "textfile"
    r = salt_local.call("eos_storage.export_metrics", f"directory={out}")
    assert r.returncode == 0, r
    text = (out / "eos_storage.prom").read_text()
    assert r.data["mounts"] >= 1
    for name in ("eos_storage_level", "eos_storage_used_pct", "eos_storage_inodes_used_pct"):
        assert f"# TYPE {name} gauge" in text
    # the mount of the tmp dir is there, with a sane percentage
    samples = re.findall(r'^eos_storage_used_pct\{mount="([^"]*)",fstype="[^"]*"\} (\S+)$', text, re.M)
    assert samples and all(0 <= float(v) <= 100 for _, v in samples)
    assert not [n for n in os.listdir(out) if n.startswith(".")]      # no temp file left


def test_metrics_label_escaping():
    from eos import metrics

    text = metrics.render([{"target": '/mnt/a "b"\\c\nd', "fstype": "xfs", "level": "degraded",
                            "used_pct": 81.5, "inodes_pct": None,
                            "growth": {"bytes_per_hour": 10.0, "seconds_to_full": 3600}},
                           {"target": "/broken", "error": "EIO"}])
    assert 'eos_storage_level{mount="/mnt/a \\"b\\"\\\\c\\nd",fstype="xfs"} 4' in text
    assert "eos_storage_seconds_to_full" in text and "/broken" not in text
    assert "eos_storage_inodes_used_pct{" not in text
