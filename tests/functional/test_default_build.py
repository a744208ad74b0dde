"""The extension a minion loads is the default build: the crash-injection hooks of the test build
(EOS_TEST_CRASH_AFTER_STEP, EOS_TEST_FAIL_STEP; compiled in with EOS_TEST_HOOKS=1, see setup.py)
are not in it, so an environment variable can never make a minion kill itself in the middle of
a change. The default extension is built from this tree into a temporary directory and drives a
real expand on a loop device with both variables set."""
import json
import os
import shutil
import subprocess
import sys

import pytest

import eos

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MiB = 1 << 20
HOOKS = {"EOS_TEST_CRASH_AFTER_STEP": "1", "EOS_TEST_FAIL_STEP": "1"}

RUN = """
import json, sys
import eos
assert eos.__file__.startswith(sys.argv[1]), eos.__file__
res = eos.expand(sys.argv[2], "+64M", state_dir=sys.argv[3])
print(json.dumps({"test_hooks": eos.TEST_HOOKS, "changed": res["changed"],
                  "done": [s["kind"] for s in res["plan"] if s["status"] == "done"]}))
"""


@pytest.fixture(scope="module")
def default_build(tmp_path_factory):
    """eos (package and extension) built the default way, without EOS_TEST_HOOKS."""
    out = tmp_path_factory.mktemp("default-build")
    env = {k: v for k, v in os.environ.items() if k not in ("EOS_TEST_HOOKS", "EOS_SANITIZE")}
    build = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--build-lib", str(out / "lib"),
         "--build-temp", str(out / "tmp")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stderr[-4000:]
    for name in os.listdir(os.path.join(REPO, "eos")):
        if name.endswith(".py"):
            shutil.copy(os.path.join(REPO, "eos", name), out / "lib" / "eos" / name)
    return str(out / "lib")


def xfs_bytes(mountpoint):
    g = eos.xfs_geometry(mountpoint)
    return g["datablocks"] * g["blocksize"]


def test_the_default_build_ignores_the_hook_variables(loops, tmp_path, default_build):
    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    lp.grow_backing(640 * MiB)
    env = {**os.environ, **HOOKS, "PYTHONPATH": default_build}
    env.pop("EOS_TEST_HOOKS", None)
    # cwd: not the repository, whose eos/ (the test build) would come first on sys.path.
    proc = subprocess.run([sys.executable, "-c", RUN, default_build, mnt, str(tmp_path / "state")],
                          env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    # With the hooks, step 1 would fail (EOS_TEST_FAIL_STEP) or the process die by SIGKILL.
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out == {"test_hooks": False, "changed": True, "done": ["loop_capacity", "xfs_grow"]}
    assert xfs_bytes(mnt) == 384 * MiB
    assert os.path.exists(tmp_path / "state" / "expand")


def test_the_default_build_refuses_convert_crash_injection(default_build, tmp_path):
    """convert's crash_after= (the journal's crash points) is refused whole, before anything."""
    code = ("import eos, sys\n"
            "try:\n"
            "    eos.convert('/nonexistent', '/dev/null', crash_after='mkfs', state_dir=sys.argv[1])\n"
            "except ValueError as exc:\n"
            "    print(exc)\n")
    env = {**os.environ, "PYTHONPATH": default_build}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "state")], env=env,
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "needs the test build" in proc.stdout, proc
    assert not os.path.exists(tmp_path / "state")


@pytest.mark.skipif(not eos.TEST_HOOKS, reason="eos._eos is the default build, which has no "
                    "crash-injection hooks (build it with EOS_TEST_HOOKS=1, as make test does)")
def test_the_test_build_honours_them(loops, tmp_path):
    """The contrast: the same call in the test build fails at the injected step."""
    lp = loops.create(320 * MiB, "xfs")
    mnt = loops.mount(lp)
    lp.grow_backing(640 * MiB)
    env = {**os.environ, "EOS_TEST_FAIL_STEP": "1"}
    code = ("import eos, sys; eos.expand(sys.argv[1], '+64M', state_dir=sys.argv[2])")
    proc = subprocess.run([sys.executable, "-c", code, mnt, str(tmp_path / "state")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "injected failure (EOS_TEST_FAIL_STEP=1)" in proc.stderr
    assert xfs_bytes(mnt) == 320 * MiB
