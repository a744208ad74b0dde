"""A fleet of real Salt daemons on this machine, for bench/bench_fleet.py and
tests/integration/test_syndic.py: salt-masters (one of them a master of masters), salt-syndics
and many salt-minions, each with its own id, root_dir, cachedir, sock_dir, free ports, and for
a minion its own loopback source address (127.0.0.x) and optionally its own loop-backed XFS.

Every daemon runs in the foreground as a child of this process in its own session; stop()
ends each by its pid (SIGTERM to its process group, SIGKILL after a bound), so nothing is left
behind. Mounts stay in the caller's mount namespace: call mountns.enter_private_mount_namespace()
first (pytest's conftest does).

All masters share one file_roots (this repository's salt/) and one pillar root, as a real
fleet's masters would through gitfs or shared storage: eos_roles.apply writes pillar on the top
master and the minions under a syndic read it from their own master.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import yaml

from tests.support.blockdev import LoopFactory
from tests.support.saltenv import REPO, SALT_TREE, VENV_BIN


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The link between a salt-syndic and its master of masters runs on Salt's tcp transport. On
# zeromq (Salt 3008.3) the syndic's requests to the top go through a sync ReqChannel called from
# inside its running event loop (salt.minion.Syndic._send_req_sync); SyncWrapper runs each call
# in a thread and afterwards cancels the asyncio tasks it takes for orphans
# (salt/utils/asynchronous.py, _target), among them the zeromq RequestClient's _send_recv task.
# The first request is answered, every later one waits out its timeout (3 tries, 60 s each for
# the start event), with the syndic's event loop blocked meanwhile: it never gets to relay the
# top's publishes.
# Reproduced without any daemon in tests/unit/test_syndic_transport.py.
SYNDIC_TRANSPORT = "tcp"


def reactor_wiring():
    """The master's reactors and schedule as salt/reactor/eos_reactor.conf and
    eos_schedule.conf give them (what eos-bootstrap writes)."""
    from eos.bootstrap.configs import reactor_wiring as wiring

    return wiring(SALT_TREE)


class Daemon:
    """One running salt daemon (argv in its own session); .pid, .stop()."""

    def __init__(self, name, argv, log, cwd=None):
        self.name = name
        self.log = log
        with open(log + ".out", "ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True, cwd=cwd)
        self.pid = self.proc.pid

    def rss_bytes(self):
        """Resident memory of this daemon and every process in its session (workers, jobs)."""
        total = 0
        for pid in _session_pids(self.pid):
            try:
                with open(f"/proc/{pid}/statm") as f:
                    total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, ValueError, IndexError):
                continue
        return total

    def cpu_seconds(self):
        """User + system CPU of the daemon's whole session so far (children still running)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in _session_pids(self.pid):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
            except (OSError, ValueError, IndexError):
                continue
        return total

    def terminate(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self, timeout=20):
        if self.proc.poll() is not None:
            return
        self.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # the session's leftovers (job processes)
        except ProcessLookupError:
            pass
        self.proc.wait(10)


def _session_pids(sid):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # field 6 of stat: the session id
            pids.append(int(entry))
    return pids


class Master:
    def __init__(self, fleet, name, conf):
        self.fleet, self.id, self.conf = fleet, name, conf
        self.confdir = os.path.dirname(conf["conf_file"])
        self.daemon = None
        self.syndic = None

    def cli(self, *args, timeout=120):
        """`salt` / `salt-run` (args[0]) against this master; the CompletedProcess."""
        tool, rest = args[0], args[1:]
        return subprocess.run([os.path.join(VENV_BIN, tool), f"--config-dir={self.confdir}", *rest],
                              capture_output=True, text=True, timeout=timeout)


class Fleet:
    """Masters, syndics and minions under root; start with master()/syndic()/minions(); stop()."""

    def __init__(self, root, pillar=None, log_level="warning"):
        self.root = root
        self.pillar_root = os.path.join(root, "pillar")
        os.makedirs(self.pillar_root, exist_ok=True)
        if pillar is not None:
            self.write_pillar(pillar)
        self.log_level = log_level
        self.daemons = []
        self.minion_conf = {}
        self.loops = LoopFactory(root)
        self._next_addr = 2

    def write_pillar(self, data):
        with open(os.path.join(self.pillar_root, "top.sls"), "w") as f:
            yaml.safe_dump({"base": {"*": ["fleet"]}}, f)
        with open(os.path.join(self.pillar_root, "fleet.sls"), "w") as f:
            yaml.safe_dump(data, f)

    def _master_conf(self, name, extra):
        root = os.path.join(self.root, name)
        conf = {
            "id": name, "interface": "127.0.0.1", "publish_port": free_port(), "ret_port": free_port(),
            "root_dir": root, "pki_dir": os.path.join(root, "pki"),
            "cachedir": os.path.join(root, "cache"), "sock_dir": os.path.join(root, "sock"),
            "log_file": os.path.join(root, "master.log"), "pidfile": os.path.join(root, "master.pid"),
            "syndic_log_file": os.path.join(root, "syndic.log"),
            "syndic_pidfile": os.path.join(root, "syndic.pid"),
            "log_level_logfile": self.log_level, "user": "root",
            "file_roots": {"base": [SALT_TREE]}, "pillar_roots": {"base": [self.pillar_root]},
            "fileserver_backend": ["roots"],
            "runner_dirs": [os.path.join(SALT_TREE, "_runners")],
            # Keys are accepted as they come: the fleet measures Eos, not key handling (the
            # fingerprint-bound acceptance is tests/integration/test_key_acceptance.py).
            "auto_accept": True,
            # Each request worker builds six MasterMinions when it starts (ClearFuncs and
            # AESFuncs: LocalClient, RemoteFuncs, ...), each computing the master's own grains,
            # and runners and orchestrations build more: with the grains cached (grains_cache)
            # and no reverse lookup of every address (enable_fqdns_grains) a worker is ready in
            # a quarter of the time, and minions no longer wait ~60 s for their first pillar
            # behind workers still loading (README "A larger fleet").
            "grains_cache": True, "enable_fqdns_grains": False,
            "conf_file": os.path.join(root, "conf", "master"),
        }
        conf.update(extra or {})
        os.makedirs(os.path.dirname(conf["conf_file"]), exist_ok=True)
        with open(conf["conf_file"], "w") as f:
            yaml.safe_dump(conf, f)
        return conf

    def _start(self, name, tool, confdir, log):
        d = Daemon(name, [os.path.join(VENV_BIN, tool), f"--config-dir={confdir}", "-l", "quiet"], log)
        self.daemons.append(d)
        return d

    def master(self, name, extra=None):
        """A salt-master (the master of masters with extra={'order_masters': True})."""
        m = Master(self, name, self._master_conf(name, extra))
        m.daemon = self._start(name, "salt-master", m.confdir, m.conf["log_file"])
        return m

    def master_of_masters(self, name, extra=None):
        """The top of a syndic topology: order_masters, on the transport its syndics use."""
        return self.master(name, {"order_masters": True, "transport": SYNDIC_TRANSPORT, **(extra or {})})

    def syndics(self, names, top, extra=None, ready_timeout=180):
        """One salt-master plus its salt-syndic per name, each syndic connecting its master to
        the master ``top``, all started together. A syndic starts once its own master (and the
        top) answer: one started before never forwards what the top publishes. Returns the
        masters once the top has every salt/syndic/<id>/start: events the syndic's minions
        fire before that are dropped ("Unable to call _fire_master on ..., that syndic is not
        connected")."""
        masters = [self._syndic_master(name, top, extra) for name in names]
        for m in [top, *masters]:
            wait_for_master(m, ready_timeout)
        bus = Bus(top)
        try:
            for m in masters:
                m.syndic = self._start(m.id + "-syndic", "salt-syndic", m.confdir, m.conf["syndic_log_file"])
            for m in masters:
                bus.wait(f"salt/syndic/{m.id}/start", ready_timeout)
        finally:
            bus.close()
        return masters

    def _syndic_master(self, name, top, extra):
        extra = dict(extra or {}, syndic_master="127.0.0.1", syndic_master_port=top.conf["ret_port"],
                     master_id=name)
        m = Master(self, name, self._master_conf(name, extra))
        # salt-syndic reads the minion file of the same config dir over the master one: its
        # id, its key (pki_dir), where its own master's sockets are, master_id (the syndic
        # forwards only publishes that did not come from its own master), the transport to the
        # top (SYNDIC_TRANSPORT) and the top's publish_port. Without that last one the syndic
        # subscribes to its OWN master's publisher: the minion defaults carry no publish_port,
        # so salt.config.syndic_config keeps the lower master's, and
        # salt.channel.client.AsyncPubChannel.connect takes any publish_port other than 4506 as
        # meant, not the one the top reported at sign-in. The syndic then hears only its own
        # master's publishes, under that master's AES key, never the top's. (With the default
        # ports on separate hosts both are 4505, which is why it goes unnoticed there.)
        c = m.conf
        with open(os.path.join(m.confdir, "minion"), "w") as f:
            yaml.safe_dump({"id": name, "master_id": name, "publish_port": top.conf["publish_port"],
                            "transport": top.conf.get("transport", "zeromq"),
                            "root_dir": c["root_dir"], "cachedir": c["cachedir"],
                            "sock_dir": c["sock_dir"], "pki_dir": os.path.join(c["root_dir"], "syndic-pki"),
                            "log_file": c["syndic_log_file"], "file_roots": c["file_roots"],
                            "pillar_roots": c["pillar_roots"], "log_level_logfile": self.log_level,
                            "enable_fqdns_grains": False, "acceptance_wait_time": 2}, f)
        m.daemon = self._start(name, "salt-master", m.confdir, m.conf["log_file"])
        return m

    def minion_config(self, master, mid, extra=None):
        root = os.path.join(self.root, "m", mid)
        addr = f"127.0.0.{self._next_addr}"
        self._next_addr += 1
        conf = {
            "id": mid, "master": "127.0.0.1", "master_port": master.conf["ret_port"],
            "publish_port": master.conf["publish_port"], "source_address": addr,
            "root_dir": root, "pki_dir": os.path.join(root, "pki"),
            "cachedir": os.path.join(root, "cache"), "sock_dir": os.path.join(root, "sock"),
            "log_file": os.path.join(root, "minion.log"), "pidfile": os.path.join(root, "minion.pid"),
            "log_level_logfile": self.log_level, "user": "root",
            "enable_fqdns_grains": False, "acceptance_wait_time": 2, "random_reauth_delay": 0,
            # A join reloads the minion's modules twice (the orchestration's refresh_grains,
            # then eos_roles.apply's pillar refresh), and each reload ran the grains again (3 s
            # of CPU each on a busy host, times N minions on the same cores): cached, the
            # second reload reads the grains refresh_grains computed seconds before
            # (refresh_grains always computes them afresh).
            "grains_cache": True,
            "eos": {"storage": {"state_dir": os.path.join(root, "state")}},
        }
        conf.update(extra or {})
        confdir = os.path.join(root, "conf")
        os.makedirs(confdir, exist_ok=True)
        with open(os.path.join(confdir, "minion"), "w") as f:
            yaml.safe_dump(conf, f)
        self.minion_conf[mid] = conf
        return confdir

    def minion(self, master, mid, extra=None, mountpoint=None, size=320 << 20):
        """A salt-minion; with mountpoint, in a mount namespace of its own with its own
        loop-backed XFS (a sparse image) there (tests/support/fleet_minion.py)."""
        confdir = self.minion_config(master, mid, extra)
        # At nice 10: on one machine the minions share the master's CPUs, which separate hosts
        # do not. Unniced, fifty minions forking jobs starved the master's workers until neither
        # the minions' returns nor the CLI's publishes were answered, and each timed-out ping
        # added fifty more jobs (README "A larger fleet").
        argv = [shutil.which("nice"), "-n", "10", os.path.join(VENV_BIN, "salt-minion"), f"--config-dir={confdir}", "-l", "quiet"]
        if mountpoint:
            loop = self.loops.create(size, "xfs")
            os.makedirs(mountpoint, exist_ok=True)
            argv = [sys.executable, "-m", "tests.support.fleet_minion", loop.device, mountpoint, *argv]
        d = Daemon(mid, argv, self.minion_conf[mid]["log_file"], cwd=REPO)
        self.daemons.append(d)
        return d

    def stop(self):
        """Every daemon, minions first (by pid), then the mounts and loop devices."""
        errors = []
        for d in self.daemons:  # all told at once: each takes seconds to wind down
            d.terminate()
        for d in reversed(self.daemons):
            try:
                d.stop()
            except Exception as exc:  # pylint: disable=broad-except
                errors.append(f"{d.name} (pid {d.pid}): {exc}")
        self.daemons.clear()
        errors += self.loops.cleanup()
        return errors


_JOB_NEW = re.compile(r"^(syndic/[^/]+/)?salt/job/[^/]+/new$")


class Bus:
    """What a master's event bus carries from now on (a listener thread in this process)."""

    def __init__(self, master):
        import threading

        import salt.config
        import salt.utils.event

        opts = salt.config.master_config(master.conf["conf_file"])
        self.ev = salt.utils.event.get_master_event(opts, opts["sock_dir"], listen=True)
        self.events = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            got = self.ev.get_event(wait=1, full=True)
            if got:
                with self.lock:
                    self.events.append((time.time(), got["tag"], got["data"]))

    def tags(self, prefix, since=0):
        with self.lock:
            return [(t, tag, d) for t, tag, d in self.events if t >= since and tag.startswith(prefix)]

    def new_jobs(self, fun, since=0):
        """[(minion list, data)] of the jobs of fun published since `since`, one per jid: by this
        master, or by a syndic's master below it (forwarded as syndic/<syndic id>/salt/job/<jid>/new
        with the minions that master targeted; a job the top published and its syndics passed
        on is one job, its minions the union)."""
        jobs = {}
        with self.lock:
            for t, tag, d in self.events:
                if t >= since and _JOB_NEW.match(tag) and isinstance(d, dict) and d.get("fun") == fun:
                    minions, _ = jobs.setdefault(d.get("jid") or tag, (set(), d))
                    minions.update(d.get("minions") or [])
        return [(sorted(m), d) for m, d in jobs.values()]

    def runs(self, fun, since=0):
        with self.lock:
            return [d for t, tag, d in self.events if t >= since and tag.startswith("salt/run/")
                    and tag.endswith("/new") and isinstance(d, dict) and d.get("fun") == fun]

    def wait(self, tag, timeout, since=0):
        """Seconds until an event tagged exactly `tag` arrived; RuntimeError at timeout."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if any(t == tag for _, t, _ in self.tags(tag, since)):
                return time.monotonic() - start
            time.sleep(0.5)
        raise RuntimeError(f"no {tag} on the bus within {timeout} s")

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.ev.destroy()


def wait_for_master(master, timeout):
    """Until `salt-run test.arg` answers on master (its workers and event bus are up)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if master.daemon.proc.poll() is not None:
            raise RuntimeError(f"salt-master {master.id} exited ({master.daemon.proc.returncode}); see {master.conf['log_file']}")
        try:
            if master.cli("salt-run", "--out=json", "test.arg", "up", timeout=60).returncode == 0:
                return time.monotonic() - start
        except subprocess.TimeoutExpired:
            pass
        time.sleep(1)
    raise RuntimeError(f"salt-master {master.id} did not answer within {timeout} s")


def wait_for_workers(master, timeout):
    """Until every request worker of master answers; returns the seconds it took. A Salt 3008
    worker loads its modules in a thread after it starts and holds the requests it is handed
    until then (tens of seconds on a busy host), while `salt-run` answers without any worker:
    minions started before would wait for their first pillar behind workers still loading,
    which is a master's start, not theirs. A publish to an id no minion holds costs one worker
    a round trip, and the request router hands concurrent requests to the workers in turn, so
    worker_threads of them at once reach each worker."""
    start = time.monotonic()
    argv = [os.path.join(VENV_BIN, "salt"), f"--config-dir={master.confdir}", "--timeout=1",
            "-L", "eos-fleet-no-such-minion", "test.ping"]
    procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL) for _ in range(int(master.conf.get("worker_threads", 5)))]
    try:
        for p in procs:
            p.wait(max(1, timeout - (time.monotonic() - start)))
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"the request workers of salt-master {master.id} did not answer within {timeout} s") from exc
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return time.monotonic() - start


def wait_for_minions(master, ids, timeout, daemons=()):
    """Until every id in ids answers test.ping (targeted by exact id) through master; returns
    the seconds it took. RuntimeError naming the missing ids at timeout, or at once naming a
    daemon of ``daemons`` that has exited."""
    import json

    start = time.monotonic()
    missing = set(ids)
    while time.monotonic() - start < timeout:
        dead = [d for d in daemons if d.proc.poll() is not None]
        if dead:
            raise RuntimeError(f"{dead[0].name} exited ({dead[0].proc.returncode}); see {dead[0].log}.out")
        # A wait that grows with the fleet: every retry publishes a new job to each missing
        # minion, and retrying every 10 s kept a loaded fleet from ever catching up.
        wait = max(10, len(missing))
        try:
            p = master.cli("salt", "--out=json", "--static", f"--timeout={wait}", "-L", ",".join(sorted(missing)),
                           "test.ping", timeout=120 + 2 * wait)
            got = json.loads(p.stdout) if p.stdout.strip() else {}
        except (ValueError, subprocess.TimeoutExpired):  # a CLI starved at load 80: ask again
            got = {}
        missing = {m for m in missing if got.get(m) is not True}
        if not missing:
            return time.monotonic() - start
        time.sleep(2)
    raise RuntimeError(f"{len(missing)} minions did not answer within {timeout} s: {sorted(missing)[:20]}")
