"""A private PostgreSQL cluster for tests (Debian's postgresql): initdb into a temporary
directory, the server on a free 127.0.0.1 port and a private socket directory, run as the
postgres user (PostgreSQL refuses root), stopped by its pid."""
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

from tests.support.ceph_cluster import free_port


def bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def missing_reason():
    if bindir() is None:
        return "PostgreSQL server programs not installed (Debian package postgresql)"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no 'postgres' user (installed with Debian's postgresql package)"
    return None


class Postgres:
    """start() then .conn_str (trust authentication, user postgres, database postgres)."""

    def __init__(self):
        # Its own directory under /tmp: pytest's are private to root, and the server runs as
        # the postgres user.
        self.base = tempfile.mkdtemp(prefix="eos-pg-")
        self.data = os.path.join(self.base, "data")
        self.sock = os.path.join(self.base, "sock")
        self.port = free_port()
        self.pid = None
        self.conn_str = f"postgres://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def _as_postgres(self, argv, timeout=60):
        return subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True,
                              text=True, timeout=timeout)

    def start(self, timeout=60):
        user = pwd.getpwnam("postgres")
        os.makedirs(self.sock, exist_ok=True)
        os.makedirs(self.data, exist_ok=True)
        for d in (self.base, self.sock, self.data):
            os.chown(d, user.pw_uid, user.pw_gid)
        os.chmod(self.base, 0o755)
        b = bindir()
        r = self._as_postgres([f"{b}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres",
                               "--no-sync", "-E", "UTF8"])
        assert r.returncode == 0, f"initdb failed: {r.stderr[-2000:]}"
        r = self._as_postgres([f"{b}/pg_ctl", "-D", self.data, "-l", os.path.join(self.base, "log"),
                               "-w", "-t", str(timeout), "-o",
                               f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off",
                               "start"], timeout=timeout + 10)
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {r.stderr[-2000:]} {self.log()}")
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())
        return self

    def psql(self, sql):
        r = self._as_postgres([f"{bindir()}/psql", "-h", self.sock, "-p", str(self.port), "-U",
                               "postgres", "-At", "-c", sql])
        assert r.returncode == 0, r.stderr
        return r.stdout

    def log(self):
        try:
            with open(os.path.join(self.base, "log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        """Fast shutdown by pid (SIGINT), bounded; SIGKILL when it does not end."""
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGINT)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    os.kill(self.pid, 0)
                    time.sleep(0.1)
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.pid = None
        shutil.rmtree(self.base, ignore_errors=True)
