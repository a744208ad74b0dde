"""A real single-host Ceph cluster (Pacific) on 127.0.0.1 for tests: private ceph.conf, a
free monitor port, private data/run/log dirs, memstore OSDs, one MDS with CephFS.

No systemd, no cephadm: monmaptool + ceph-authtool + ceph-mon --mkfs, then ceph-mgr, ceph-osd
and ceph-mds in the foreground (-f) as children of the test process, so their pids are ours and
teardown SIGKILLs exactly them (after unmounting any ceph-fuse mount we made)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid

DAEMONS = ("ceph-mon", "ceph-mgr", "ceph-osd", "ceph-mds", "ceph", "ceph-authtool", "monmaptool")
FS_NAME = "cephfs"


def missing_tools():
    """The Ceph programs that are not installed here (empty when all are)."""
    return [t for t in DAEMONS if not shutil.which(t)]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CephError(RuntimeError):
    pass


class CephCluster:
    """start() bootstraps mon.a, mgr.x, osd.0, cephfs and mds.a; stop() kills them."""

    def __init__(self, base, port=None):
        self.base = str(base)
        self.port = port or free_port()
        self.fsid = str(uuid.uuid4())
        self.conf = os.path.join(self.base, "ceph.conf")
        self.keyring = os.path.join(self.base, "ceph.client.admin.keyring")
        self.mon_addr = f"v2:127.0.0.1:{self.port}"
        self.procs = {}     # daemon name ("osd.0") -> Popen
        self.fuse_mounts = []
        self.fs_name = FS_NAME

    # -- helpers ---------------------------------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.base, *parts)

    def run(self, argv, timeout=60, check=True):
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise CephError(f"{argv!r} failed ({p.returncode}): {p.stderr.strip()[-2000:]}")
        return p

    def ceph(self, *args, fmt_json=False, timeout=30, check=True):
        """Run the ceph CLI against this cluster; parsed JSON when fmt_json."""
        argv = ["ceph", "-c", self.conf, "--connect-timeout", "15", *map(str, args)]
        if fmt_json:
            argv += ["--format", "json"]
        p = self.run(argv, timeout=timeout, check=check)
        if fmt_json and p.returncode == 0:
            return json.loads(p.stdout)
        return p

    def spawn(self, name, argv):
        kind, ident = name.split(".", 1)
        log = open(self.path("log", f"{name}.out"), "ab")
        self.procs[name] = subprocess.Popen(
            [*argv, "-f", "-c", self.conf, "-i", ident], stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def diagnostics(self, n=25):
        """What a failed test should show: which daemons died, and the end of every log."""
        out = []
        for name, p in sorted(self.procs.items()):
            state = "running" if p.poll() is None else f"exited {p.returncode}"
            out.append(f"{name} (pid {p.pid}): {state}")
        try:
            logs = sorted(os.listdir(self.path("log")))
        except OSError:
            logs = []
        for log in logs:
            try:
                with open(self.path("log", log), errors="replace") as f:
                    tail = f.readlines()[-n:]
            except OSError:
                continue
            out.append(f"--- {log} (last {len(tail)} lines)")
            out.extend(line.rstrip("\n") for line in tail)
        return "\n".join(out)

    def log_tail(self, name, n=30):
        try:
            with open(self.path("log", f"{name}.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def write_conf(self):
        b = self.base
        conf = f"""[global]
fsid = {self.fsid}
mon host = [{self.mon_addr}]
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = {b}/run
admin socket = {b}/run/$cluster-$name.asok
pid file = {b}/run/$name.pid
log file = {b}/log/$name.log
crash dir = {b}/crash
log to stderr = false
err to stderr = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon data avail warn = 1
mon data avail crit = 0
mon warn on pool no app = false
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
auth allow insecure global id reclaim = false
mon osd min down reporters = 1
mgr stats period = 1
osd objectstore = memstore
memstore device bytes = 536870912
osd crush chooseleaf type = 0
osd max object name len = 256
osd max object namespace len = 64
ms bind port min = 6800
ms bind port max = 7568
client mount timeout = 20
rados mon op timeout = 20
rados osd op timeout = 20

[mon]
mon data = {b}/mon/$cluster-$id
[mgr]
mgr data = {b}/mgr/$cluster-$id
keyring = {b}/mgr/$cluster-$id/keyring
[osd]
osd data = {b}/osd/$cluster-$id
keyring = {b}/osd/$cluster-$id/keyring
osd heartbeat interval = 1
osd heartbeat grace = 5
[mds]
mds data = {b}/mds/$cluster-$id
keyring = {b}/mds/$cluster-$id/keyring
[client]
keyring = {self.keyring}
"""
        with open(self.conf, "w") as f:
            f.write(conf)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, timeout=60, mon_only=False):
        """Bootstrap mon.a; then (unless mon_only) mgr.x, osd.0, CephFS and mds.a, and wait
        for HEALTH_OK."""
        for d in ("run", "log", "crash", "mon", "mgr", "osd", "mds", "mnt"):
            os.makedirs(self.path(d), exist_ok=True)
        os.chmod(self.base, 0o700)
        self.write_conf()
        monkey = self.path("mon.keyring")
        self.run(["ceph-authtool", "--create-keyring", monkey, "--gen-key", "-n", "mon.",
                  "--cap", "mon", "allow *"])
        self.run(["ceph-authtool", "--create-keyring", self.keyring, "--gen-key", "-n",
                  "client.admin", "--cap", "mon", "allow *", "--cap", "osd", "allow *",
                  "--cap", "mds", "allow *", "--cap", "mgr", "allow *"])
        self.run(["ceph-authtool", monkey, "--import-keyring", self.keyring])
        monmap = self.path("monmap")
        self.run(["monmaptool", "--create", "--fsid", self.fsid, "--addv", "a",
                  f"[{self.mon_addr}]", monmap])
        self.run(["ceph-mon", "-c", self.conf, "--mkfs", "-i", "a", "--monmap", monmap,
                  "--keyring", monkey])
        self.spawn("mon.a", ["ceph-mon"])
        if mon_only:
            self.wait_for(lambda st: st.get("quorum_names") == ["a"], timeout, "mon.a in quorum")
            return self

        mgrdir = self.path("mgr", "ceph-x")
        os.makedirs(mgrdir, exist_ok=True)
        self.ceph("auth", "get-or-create", "mgr.x", "mon", "allow profile mgr", "osd", "allow *",
                  "mds", "allow *", "-o", os.path.join(mgrdir, "keyring"))
        self.spawn("mgr.x", ["ceph-mgr"])

        self.add_osd()

        # The pool ceph-mgr's devicehealth module would make by itself at some moment after
        # the first OSD is up; made here so the pool set is fixed once start() returns.
        self.ceph("osd", "pool", "create", "device_health_metrics", "1")
        self.ceph("osd", "pool", "application", "enable", "device_health_metrics",
                  "mgr_devicehealth")
        self.ceph("osd", "pool", "create", "cephfs_metadata", "8")
        self.ceph("osd", "pool", "create", "cephfs_data", "8")
        self.ceph("fs", "new", self.fs_name, "cephfs_metadata", "cephfs_data")
        self.add_mds("a")
        self.wait_healthy(timeout)
        return self

    def add_osd(self, crush=True):
        """Create and start one more memstore OSD; return its id."""
        osd_uuid = str(uuid.uuid4())
        osd_id = int(self.ceph("osd", "new", osd_uuid).stdout.strip())
        odir = self.path("osd", f"ceph-{osd_id}")
        os.makedirs(odir, exist_ok=True)
        argv = ["ceph-osd", "-c", self.conf, "-i", str(osd_id), "--mkfs", "--mkkey", "--no-mon-config",
                "--osd-uuid", osd_uuid]
        if not crush:
            argv += ["--osd-crush-update-on-start", "false"]
        self.run(argv)
        self.ceph("auth", "add", f"osd.{osd_id}", "osd", "allow *", "mon", "allow profile osd",
                  "mgr", "allow profile osd", "-i", os.path.join(odir, "keyring"))
        extra = [] if crush else ["--osd-crush-update-on-start", "false"]
        self.spawn(f"osd.{osd_id}", ["ceph-osd", *extra])
        return osd_id

    def add_mds(self, ident):
        mdir = self.path("mds", f"ceph-{ident}")
        os.makedirs(mdir, exist_ok=True)
        self.ceph("auth", "get-or-create", f"mds.{ident}", "mon", "allow profile mds", "osd",
                  "allow rwx", "mds", "allow", "mgr", "allow profile mds",
                  "-o", os.path.join(mdir, "keyring"))
        self.spawn(f"mds.{ident}", ["ceph-mds"])

    def status(self):
        return self.ceph("status", fmt_json=True)

    def wait_healthy(self, timeout=60):
        """Wait (bounded) for HEALTH_OK, every OSD up and an active MDS."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise CephError(f"{name} exited with {p.returncode}:\n{self.log_tail(name)}")
            p = self.ceph("status", fmt_json=True, check=False)
            if isinstance(p, dict):
                last = p
                om = p.get("osdmap", {})
                fs = p.get("fsmap", {})
                if (p["health"]["status"] == "HEALTH_OK" and om.get("num_osds")
                        and om.get("num_up_osds") == om.get("num_osds")
                        and fs.get("up", 0) >= 1
                        and any(s.get("status") == "up:active" for s in fs.get("by_rank", []))
                        and self._pgs_clean(p.get("pgmap", {}))):
                    return p
            time.sleep(0.5)
        raise CephError(f"cluster not healthy after {timeout}s: "
                        f"{json.dumps(last and last.get('health'))[:3000]}")

    @staticmethod
    def _pgs_clean(pgmap):
        """Every PG active+clean, and the mgr already reporting them and the capacity."""
        clean = sum(s["count"] for s in pgmap.get("pgs_by_state", [])
                    if s["state_name"] == "active+clean")
        return pgmap.get("bytes_total", 0) > 0 and 0 < pgmap.get("num_pgs", 0) == clean

    def wait_for(self, pred, timeout=30, what="condition"):
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.ceph("status", fmt_json=True, check=False)
            if isinstance(st, dict) and pred(st):
                return st
            time.sleep(0.5)
        raise CephError(f"{what} not reached in {timeout}s: {json.dumps(st)[:2000]}")

    def kill(self, name):
        """SIGKILL one of our daemons and reap it."""
        p = self.procs.pop(name)
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)

    def kill_pidfile(self, name, timeout=30, marker=None):
        """SIGKILL a daemon that daemonized itself (started by the code under test), found by
        its pid file in this cluster's run dir and checked to be ours by ``marker`` (default:
        this cluster's conf path) in its command line; wait until it is gone."""
        try:
            with open(self.path("run", f"{name}.pid")) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return False
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if (marker or self.conf).encode() not in f.read():
                    return False        # not one of ours (pid reused)
            os.kill(pid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            return False
        deadline = time.monotonic() + timeout
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().split(")")[-1].split()[0] == "Z":
                        break
            except OSError:
                break
            time.sleep(0.05)
        return True

    def drain_osd(self, osd_id, timeout=180):
        """After `osd out`: wait (bounded) until no PG lives on the OSD any more and every PG
        is active+clean again, so removing it loses nothing (pools here have size 1)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pgs = self.ceph("pg", "ls-by-osd", str(osd_id), fmt_json=True, check=False)
            on_it = pgs.get("pg_stats", []) if isinstance(pgs, dict) else pgs
            st = self.ceph("status", fmt_json=True, check=False)
            if (isinstance(on_it, list) and not on_it and isinstance(st, dict)
                    and self._pgs_clean(st.get("pgmap", {}))):
                return
            time.sleep(1)
        raise CephError(f"osd.{osd_id} not drained after {timeout}s")

    def rados(self, *args, data=None):
        """Run the rados CLI against this cluster; its stdout (bytes)."""
        return subprocess.run(["rados", "-c", self.conf, *map(str, args)], input=data,
                              capture_output=True, timeout=60, check=True).stdout

    def fs_data_pool(self):
        """The name of this cluster's CephFS data pool, as the monitors report it."""
        (fs,) = [f for f in self.ceph("fs", "ls", fmt_json=True) if f["name"] == self.fs_name]
        return fs["data_pools"][0]

    def pool_pgs(self, pool):
        """{pgid: acting OSD ids} of every PG of ``pool`` (`pg ls-by-pool`)."""
        got = self.ceph("pg", "ls-by-pool", pool, fmt_json=True)
        stats = got.get("pg_stats", []) if isinstance(got, dict) else got
        return {p["pgid"]: p["acting"] for p in stats}

    def object_acting(self, pool, name):
        """The acting OSD ids of the PG object ``name`` of ``pool`` maps to (`osd map`)."""
        return self.ceph("osd", "map", pool, name, fmt_json=True)["acting"]

    def remove_osd(self, osd_id):
        """Kill osd.N (ours or self-daemonized), mark it down and purge it from the maps."""
        name = f"osd.{osd_id}"
        if name in self.procs:
            self.kill(name)
        self.kill_pidfile(name)
        self.ceph("osd", "down", str(osd_id), check=False)
        self.ceph("osd", "purge", str(osd_id), "--yes-i-really-mean-it")
        shutil.rmtree(self.path("osd", f"ceph-{osd_id}"), ignore_errors=True)

    def fuse_mount(self, mountpoint):
        os.makedirs(mountpoint, exist_ok=True)
        self.run(["ceph-fuse", "-c", self.conf, "-n", "client.admin", mountpoint], timeout=60)
        self.fuse_mounts.append(mountpoint)
        return mountpoint

    def fuse_umount(self, mountpoint):
        self.run(["umount", mountpoint], timeout=30)
        self.fuse_mounts.remove(mountpoint)

    def stop(self):
        errors = []
        for mp in reversed(self.fuse_mounts):
            p = subprocess.run(["umount", "-l", mp], capture_output=True, text=True)
            if p.returncode:
                errors.append(p.stderr.strip())
        self.fuse_mounts.clear()
        for name in list(self.procs):
            try:
                self.kill(name)
            except (OSError, subprocess.TimeoutExpired) as exc:
                errors.append(f"{name}: {exc}")
        # Daemons the code under test started (they daemonize: not our children).
        for pidfile in os.listdir(self.path("run")):
            if pidfile.endswith(".pid"):
                self.kill_pidfile(pidfile[:-4])
        return errors
