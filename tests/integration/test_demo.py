"""`make demo` / `make demo-stop` (scripts/demo) end to end, in a temporary sandbox on free
ports: a master built by eos-bootstrap, a second node joining through eos-bootstrap join, real
loop filesystems expanded by hand and by the threshold reactor, an idempotent start, and a stop
that leaves no daemon, mount or loop device behind."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from tests.support.saltenv import REPO

DEMO = os.path.join(REPO, "scripts", "demo")


def free_port():
    from pytestshellutils.utils import ports

    return ports.get_unused_localhost_port()


@pytest.fixture
def demo(request):
    if os.geteuid() != 0:
        pytest.skip(f"the demo attaches loop devices; running as uid {os.geteuid()}")
    if request.config._eos_ns_reason:
        pytest.skip(request.config._eos_ns_reason)
    # Short: Salt's unix sockets go under it (scripts/demo refuses paths over 60 characters).
    sandbox = tempfile.mkdtemp(prefix="eos-demo-")
    env = {**os.environ, "EOS_DEMO_SANDBOX": str(sandbox), "EOS_DEMO_PUBLISH_PORT": str(free_port()),
           "EOS_DEMO_RET_PORT": str(free_port()), "EOS_DEMO_API_PORT": str(free_port()),
           "EOS_DEMO_MINION_ID": f"eos-demo-{os.getpid()}"}

    def run(action):
        return subprocess.run(["bash", DEMO, action], env=env, capture_output=True, text=True,
                              timeout=600)

    run.sandbox = sandbox
    run.env = env
    yield run
    run("stop")
    shutil.rmtree(sandbox, ignore_errors=True)


def loops_of(sandbox):
    out = subprocess.run(["losetup", "-l", "-n", "-O", "NAME,BACK-FILE"], capture_output=True,
                         text=True, check=True).stdout
    return [line for line in out.splitlines() if str(sandbox) in line]


def daemon_pids(sandbox):
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        if str(sandbox) in cmd and "salt-" in cmd:
            pids.append(pid)
    return pids


def section(out, title):
    """The lines of the demo's output under the "==> title" heading, up to the next one."""
    part = out.split(f"==> {title}", 1)[1]
    return part.split("==> ", 1)[0]


def test_demo_start_twice_then_stop_leaves_nothing(demo):
    """The whole demo at its own scale (it is small: a 320 MiB XFS): bootstrap, roles, expand,
    a second node's join, the threshold reactor; then a second start on what runs; then stop."""
    mid = demo.env["EOS_DEMO_MINION_ID"]
    first = demo("start")
    out = first.stdout
    assert first.returncode == 0, out + first.stderr
    # Built by eos-bootstrap: every step done in this first run, the summary printed.
    assert "[roles] done in" in first.stderr and "master_fingerprint" in out
    finger = json.loads(out.split("eos-bootstrap master", 1)[1].split("\n", 1)[1].split("\n}\n", 1)[0] + "\n}")[
        "master_fingerprint"]
    # salt-run eos_roles.calculate answers without a sync by hand: one node, then two.
    assert f"  {mid}: monolith" in section(out, "salt-run eos_roles.calculate")
    # The fairly full XFS: analyze says expand; the plan changes nothing; the change grows it.
    data = f"{demo.sandbox}/mnt/data"
    rows = [ln.split() for ln in section(out, "salt '*' eos_storage.analyze").splitlines()
            if ln.strip().startswith(f"{data} ")]
    assert rows and rows[0][1] == "xfs" and float(rows[0][2]) >= 75 and rows[0][5] == "expand", rows
    plan = section(out, f"salt {mid} eos_storage.expand {data} 400M test=True")
    assert f"would grow {data} (xfs) from 320 MiB to 400 MiB" in plan, plan
    assert "xfs_grow" in plan and "[planned]" in plan, plan
    grown = section(out, f"salt {mid} eos_storage.expand {data} 400M\n")
    assert f"grew {data} (xfs) from 320 MiB to 400 MiB" in grown and "[done]" in grown, grown
    # The second node joined with the master's fingerprint, its key accepted by the reactor.
    joined = section(out, f"eos-bootstrap join 127.0.0.1:{demo.env['EOS_DEMO_RET_PORT']}")
    result = json.loads(joined[joined.index("{"):joined.rindex("}") + 1])
    with open(f"{demo.sandbox}/run/node2.finger") as f:
        assert result["fingerprint"] == f.read().strip()
    assert result["roles"] and result["id"] == f"{mid}-node2", result
    assert f"--master-fingerprint {finger}" in out
    assert f"{mid}-node2" in section(out, "salt-key -L").split("Unaccepted Keys")[0]
    # The threshold reactor: emergency on the filled XFS, and eos_storage.emergency expanded it
    # to its whole device (480 MiB).
    events = section(out, "the events on the master's bus")
    assert f"eos/storage/threshold/emergency  id={mid} target={data}" in events, events
    assert "eos/storage/expand/done" in events and "after=480 MiB" in events, events
    assert len(loops_of(demo.sandbox)) == 3
    status = demo("status")
    for fstype in ("xfs", "ext4", "btrfs"):
        assert f" {fstype} " in status.stdout, status.stdout
    assert "salt-master (m): pid" in status.stdout and "salt-minion (n2): pid" in status.stdout
    # None of it is mounted in this (the caller's) namespace.
    with open("/proc/self/mountinfo") as f:
        assert f"{demo.sandbox}/mnt/" not in f.read()

    # Again: the bootstrap's checkpoints say every step is done, the daemons are reused, the
    # data filesystem is made afresh and the same story is shown.
    again = demo("start")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "[master] done before" in again.stderr and "[roles] done in" not in again.stderr
    assert "making the data filesystem afresh" in again.stdout
    assert "mkfs.ext4" not in again.stdout and "mkfs.btrfs" not in again.stdout
    assert f"grew {data} (xfs) from 320 MiB to 400 MiB" in again.stdout
    assert "after=480 MiB" in section(again.stdout, "the events on the master's bus")
    assert len(loops_of(demo.sandbox)) == 3

    stop = demo("stop")
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert loops_of(demo.sandbox) == []
    assert daemon_pids(demo.sandbox) == []
    with open("/proc/self/mountinfo") as f:
        assert str(demo.sandbox) not in f.read()
    assert demo("stop").returncode == 0


def test_demo_refuses_a_taken_port(demo):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        demo.env["EOS_DEMO_RET_PORT"] = str(port)
        ret = demo("start")
    assert ret.returncode != 0
    assert f"port {port} on 127.0.0.1 is taken" in ret.stderr
    assert loops_of(demo.sandbox) == []
