"""`make demo` / `make demo-stop` (scripts/demo) end to end, in a temporary sandbox on free
ports: real daemons, real loop filesystems, idempotent start, and a stop that leaves no daemon,
mount or loop device behind."""
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
           "EOS_DEMO_RET_PORT": str(free_port()), "EOS_DEMO_MINION_ID": f"eos-demo-{os.getpid()}"}

    def run(action):
        return subprocess.run(["bash", DEMO, action], env=env, capture_output=True, text=True,
                              timeout=300)

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


def test_demo_start_twice_then_stop_leaves_nothing(demo):
    first = demo("start")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "salt '*' eos_storage.analyze" in first.stdout
    # The summary of analyze's return: the fairly full XFS sits on a larger device, so it is
    # past the cleanup level and analyze says to expand it.
    summary = first.stdout.split("salt '*' eos_storage.analyze", 1)[1]
    data = [line.split() for line in summary.splitlines() if line.strip().startswith(f"{demo.sandbox}/mnt/data ")]
    assert data, first.stdout
    target, fstype, used_pct, _, level, action = data[0][:6]
    assert (fstype, action) == ("xfs", "expand") and float(used_pct) >= 75 and level != "ok", data
    assert len(loops_of(demo.sandbox)) == 3
    status = demo("status")
    for fstype in ("xfs", "ext4", "btrfs"):
        assert f" {fstype} " in status.stdout, status.stdout
    # None of it is mounted in this (the caller's) namespace.
    with open("/proc/self/mountinfo") as f:
        assert f"{demo.sandbox}/mnt/" not in f.read()

    again = demo("start")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "salt-master already running" in again.stdout
    assert "mkfs" not in again.stdout
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
