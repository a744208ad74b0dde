"""A join whose event was lost: the master's schedule (salt/reactor/eos_schedule.conf) runs
eos_roles.reconcile, which assigns roles to an accepted minion that never joined, and gives a
minion whose role states failed in the last run its role states again.

The master here has no node-join reactor at all, so the minion's start event goes unread, as it
does when a busy master drops its reactor as a slow subscriber (bench_fleet at N=50). The
schedule and eos_roles_reconcile_after are shortened to seconds."""
import json
import os
import pathlib
import time
import warnings

import pytest
import yaml
from saltfactories.utils import random_string

from eos.bootstrap.configs import reactor_wiring
from tests.support import saltenv

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def master(salt_factories):
    schedule = reactor_wiring(saltenv.SALT_TREE)["schedule"]
    schedule["eos_roles_reconcile"].update(seconds=5, kwargs={"settle": 1})
    overrides = {
        "file_roots": {"base": [saltenv.SALT_TREE]},
        "runner_dirs": [os.path.join(saltenv.SALT_TREE, "_runners")],
        "schedule": schedule,
        "eos_roles_reconcile_after": 3,
        "eos_roles_grains_timeout": 10,
        "log_level_logfile": "info",
    }
    factory = salt_factories.salt_master_daemon(random_string("eos-reconcile-"), overrides=overrides)
    pillar = pathlib.Path(factory.config["pillar_roots"]["base"][0])
    (pillar / "top.sls").write_text(yaml.safe_dump({"base": {"*": ["eos_test"]}}))
    (pillar / "eos_test.sls").write_text(yaml.safe_dump({"eos": {"services": {"manage": False}}}))
    factory.eos_pillar = pillar
    with factory.started(start_timeout=120):
        yield factory


def test_schedule_assigns_a_minion_whose_join_was_never_handled(master):
    assert not master.config.get("reactor")
    minion = master.salt_minion_daemon(random_string("eos-unjoined-"))
    with minion.started(start_timeout=180):
        deadline = time.monotonic() + 180
        roles = None
        while time.monotonic() < deadline:
            ret = master.salt_cli(timeout=40).run("--timeout=20", "pillar.get", "eos:roles", "unmask=True",
                                                  minion_tgt=minion.id)
            roles = ret.data if isinstance(ret.data, dict) else None
            if roles and minion.id in roles:
                break
            time.sleep(3)
        assert roles and roles[minion.id], f"no roles for {minion.id} within 180 s: {ret}"
        written = yaml.safe_load((master.eos_pillar / "eos_roles.sls").read_text())
        assert written["eos"]["roles"] == roles
        assert written["eos"]["cluster"]["roles_generation"] == 1

        # Covered now: a reconcile changes nothing (once the scheduled run that assigned it has
        # saved its state), and the schedule made one generation only. On a loaded host that
        # run's role states can fail on the minion just started (CI saw it once): then one
        # reconcile applies them again, as below, and never assigns again.
        path = pathlib.Path(master.config["cachedir"]) / "eos_roles" / "state.json"
        retried = []
        for _ in range(40):
            before = (json.loads(path.read_text()).get("last") or {}) if path.exists() else {}
            ret = master.salt_run_cli(timeout=120).run("eos_roles.reconcile")
            if ret.returncode or not isinstance(ret.data, dict):
                break
            if "under way" in str(ret.data.get("comment")):
                time.sleep(2)
                continue
            if not ret.data["reconciled"] or ret.data["unassigned"] or ret.data["gone"]:
                break
            retried.append((ret.data["failed"], before.get("failures")))
            time.sleep(4)
        assert ret.returncode == 0, ret
        assert ret.data["reconciled"] is False, (ret.data, retried)
        assert len(retried) <= 1 and all(failed == [minion.id] for failed, _ in retried), retried
        if retried:  # said in the run's summary: why the first apply failed
            warnings.warn(f"the scheduled run's role states failed and one reconcile applied them again: {retried}")
        time.sleep(6)  # one more scheduled run
        again = yaml.safe_load((master.eos_pillar / "eos_roles.sls").read_text())
        assert again["eos"]["cluster"]["roles_generation"] == 1

        # The last run's role states failed on the minion (or its answer was lost): once that
        # run is older than eos_roles_reconcile_after, the schedule applies them again.
        state = json.loads(path.read_text())
        state["last"]["failures"] = {minion.id: "state.apply roles: simulated failure"}
        state["last"]["applied"] = {}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.rename(path)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            last = json.loads(path.read_text())["last"]
            if not last.get("failures") and minion.id in (last.get("applied") or {}):
                break
            time.sleep(2)
        assert not last.get("failures") and minion.id in last["applied"], last
        assert last["generation"] == 1
