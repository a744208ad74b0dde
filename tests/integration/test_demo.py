"""`make demo` / `make demo-stop` (scripts/demo), in a temporary sandbox on free ports: the
demo's own part (private namespace, loop filesystems, the pillar it gives eos-bootstrap), made
twice, a stop that leaves no daemon, mount or loop device behind, and taken ports refused. The
full demo takes minutes (eos-bootstrap master, a join, the reactor): its steps are tested at
their own scale in test_bootstrap.py, test_storage_reactor.py and the expand tests."""
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


def in_ns(demo, *argv):
    with open(f"{demo.sandbox}/run/ns.pid") as f:
        pid = f.read().strip()
    return subprocess.run(["nsenter", f"--target={pid}", "--mount", "--", *argv], capture_output=True,
                          text=True, check=True).stdout


def test_demo_prepare_twice_then_stop_leaves_nothing(demo):
    """The demo's own part before eos-bootstrap (scripts/demo prepare): the private namespace,
    the loop filesystems, the pillar that registers the second node's key; a second prepare
    after the data filesystem was used makes it afresh and keeps the others; stop leaves
    nothing. The full demo (bootstrap, join, reactor: minutes on this machine) is not run in the
    suite; its steps are tested in test_bootstrap.py, test_storage_reactor.py and test_expand*."""
    import salt.utils.crypt
    import yaml

    first = demo("prepare")
    assert first.returncode == 0, first.stdout + first.stderr
    assert len(loops_of(demo.sandbox)) == 3
    data = f"{demo.sandbox}/mnt/data"
    size, pcent = in_ns(demo, "df", "-B1M", "--output=size,pcent", data).split()[-2:]
    # df counts XFS's usable part (about 256 of the 320 MiB): fairly full, short of its device.
    assert 200 <= int(size) <= 320 and 80 <= int(pcent.rstrip("%")) <= 90, (size, pcent)
    status = demo("status")
    for fstype in ("xfs", "ext4", "btrfs"):
        assert f" {fstype} " in status.stdout, status.stdout
    with open("/proc/self/mountinfo") as f:
        assert f"{demo.sandbox}/mnt/" not in f.read()
    # The pillar the bootstrap keeps: exactly the second node's key registered, every storage
    # allowlist inside the sandbox, roles recorded without their services.
    with open(f"{demo.sandbox}/m/srv/eos/pillar/eos.sls") as f:
        eos = yaml.safe_load(f)["eos"]
    finger = salt.utils.crypt.pem_finger(path=f"{demo.sandbox}/n2/etc/salt/pki/minion/minion.pub",
                                         sum_type="sha256")
    assert eos["cluster"]["expected_keys"] == {f"{demo.env['EOS_DEMO_MINION_ID']}-node2": finger}
    assert eos["services"] == {"manage": False}
    for key in ("cleanup", "cleanup_emergency", "compress"):
        assert all(r["path"].startswith(f"{data}/") for r in eos["storage"][key]), eos["storage"]
    assert eos["storage"]["state_dir"].startswith(f"{demo.sandbox}/")

    # A start grew and filled "data" (run/data.used): the next one makes it afresh, and only it.
    open(f"{demo.sandbox}/run/data.used", "w").close()
    again = demo("prepare")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "making the data filesystem afresh" in again.stdout and "mkfs.xfs" in again.stdout
    assert "mkfs.ext4" not in again.stdout and "mkfs.btrfs" not in again.stdout
    assert len(loops_of(demo.sandbox)) == 3
    with open(f"{demo.sandbox}/m/srv/eos/pillar/eos.sls") as f:
        assert yaml.safe_load(f)["eos"]["cluster"]["expected_keys"] == eos["cluster"]["expected_keys"]

    stop = demo("stop")
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert loops_of(demo.sandbox) == []
    assert daemon_pids(demo.sandbox) == []
    with open("/proc/self/mountinfo") as f:
        assert str(demo.sandbox) not in f.read()
    assert not os.path.exists(f"{demo.sandbox}/run/ns.pid")
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
