"""eos_services through salt-call on real services: init scripts running real daemons, driven
by Salt's debian_service provider and service(8) (tests/support/initd.py; no systemd here).
The degraded level stops the non-critical services of the node's roles and records them;
restore starts exactly those again, and only once no mount is under pressure."""
import json
import os
import uuid

import pytest

from tests.support import initd, saltenv

MINION = "eos-test-minion"


@pytest.fixture
def services(tmp_path, request):
    reason = request.config._eos_ns_reason
    if reason:
        pytest.skip(reason)
    d = initd.InitD(str(tmp_path))
    yield d
    d.close()


@pytest.fixture
def salt(tmp_path):
    confdir = saltenv.minion_config(str(tmp_path / "salt"), extra=initd.SALT_PROVIDERS)

    class Salt:
        cachedir = str(tmp_path / "salt" / "cache")

        @staticmethod
        def call(*args, **kw):
            return saltenv.salt_call(confdir, *args, **kw)

        @staticmethod
        def pillar(roles, by_role, protect=None):
            degraded = {"services": by_role}
            if protect is not None:
                degraded["protect"] = protect
            saltenv.write_pillar(confdir, {"eos": {"roles": {MINION: roles, "other": ["data"]},
                                                   "storage": {"degraded": degraded}}})

        @classmethod
        def levels(cls, levels):
            """What the eos_storage beacon last saw (its levels file)."""
            os.makedirs(os.path.join(cls.cachedir, "eos"), exist_ok=True)
            with open(os.path.join(cls.cachedir, "eos", "beacon_levels.json"), "w") as f:
                json.dump(levels, f)

    return Salt


def names(n):
    tag = uuid.uuid4().hex[:6]
    return [f"eos-{tag}-{i}" for i in range(n)]


def test_noncritical_follows_roles_and_pillar(salt):
    a, b, c, d, e = names(5)
    salt.pillar(["edge", "app"], {"app": [b, a], "edge": [c, a], "data": [d], "all": [e]})
    res = salt.call("eos_services.noncritical")
    assert res.returncode == 0, res
    assert res.data == {"id": MINION, "roles": ["app", "edge"],
                        "services": sorted([{"name": a, "role": "app"}, {"name": b, "role": "app"},
                                            {"name": c, "role": "edge"}, {"name": e, "role": "all"}],
                                           key=lambda s: s["name"])}


def test_stop_and_restore_real_services(salt, services):
    up1, up2, down, absent = names(4)
    services.install(up1)
    services.install(up2)
    services.install(down, running=False)
    salt.pillar(["app"], {"app": [up1, down, absent], "all": [up2]})
    pids = {n: services.pid(n) for n in (up1, up2)}
    assert all(pids.values())

    res = salt.call("eos_services.stop_noncritical", "test=True")
    assert res.returncode == 0, res
    assert res.data["would_stop"] == sorted([up1, up2])
    assert res.data["already_stopped"] == [down] and res.data["not_installed"] == [absent]
    assert {n: services.pid(n) for n in pids} == pids, "test=True changed something"

    res = salt.call("eos_services.stop_noncritical", "reason=storage degraded on /srv")
    assert res.returncode == 0, res
    assert res.data["stopped"] == sorted([up1, up2])
    assert not services.running(up1) and not services.running(up2)
    with open(os.path.join(salt.cachedir, "eos", "stopped_services.json")) as f:
        record = json.load(f)
    assert sorted(record) == sorted([up1, up2])
    assert record[up1]["role"] == "app" and record[up1]["reason"] == "storage degraded on /srv"

    res = salt.call("eos_services.stop_noncritical")  # idempotent
    assert res.returncode == 0 and res.data["stopped"] == [] and res.data["held"] == sorted([up1, up2])

    # Another mount still at emergency: the services stay stopped.
    salt.levels({"/srv": "cleanup", "/var": "emergency"})
    res = salt.call("eos_services.restore")
    assert res.returncode == 0, res
    assert res.data["started"] == [] and res.data["waiting_for"] == ["/var"]
    assert not services.running(up1)

    salt.levels({"/srv": "ok", "/var": "warning"})
    res = salt.call("eos_services.restore", "test=True")
    assert res.returncode == 0 and res.data["would_start"] == sorted([up1, up2]), res
    assert not services.running(up1)
    res = salt.call("eos_services.restore")
    assert res.returncode == 0, res
    assert res.data["started"] == sorted([up1, up2])
    assert services.running(up1) and services.running(up2)
    assert not services.running(down), "restore started a service Eos had not stopped"
    res = salt.call("eos_services.restore")
    assert res.returncode == 0 and res.data["started"] == [], res


@pytest.mark.parametrize("listed,protect,quoted", [
    ("sshd", None, "'sshd'"),
    ("salt-minion", None, "'salt-minion'"),
    ("my-agent", ["my-agent"], "'my-agent'"),
    ("a b", None, "invalid service name 'a b'"),
    ("../x", None, "invalid service name '../x'"),
])
def test_protected_or_invalid_names_refused_and_nothing_stops(salt, services, listed, protect, quoted):
    (up,) = names(1)
    services.install(up)
    salt.pillar(["app"], {"app": [up, listed]}, protect=protect)
    res = salt.call("eos_services.stop_noncritical")
    assert res.returncode != 0
    assert quoted in res.stdout + res.stderr
    assert services.running(up)


def test_a_service_that_will_not_stop_is_an_error_naming_it(salt, services):
    stuck, ok = names(2)
    services.install(stuck, stuck=True)
    services.install(ok)
    salt.pillar(["app"], {"app": [stuck, ok]})
    res = salt.call("eos_services.stop_noncritical")
    assert res.returncode != 0
    assert f"could not stop '{stuck}'" in res.stdout + res.stderr
    assert services.running(stuck) and not services.running(ok)
    # What did stop is recorded, so the recovery starts it again.
    salt.levels({"/srv": "ok"})
    res = salt.call("eos_services.restore")
    assert res.returncode == 0 and res.data["started"] == [ok], res
    assert services.running(ok)
