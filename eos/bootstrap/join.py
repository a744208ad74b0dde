"""``eos-bootstrap join MASTER[:PORT] --master-fingerprint FP``: a minion that trusts exactly
the master whose key has fingerprint FP (Salt's ``master_finger``), joins through the master's
node-join reactor, and waits (bounded) for its key to be accepted and its roles applied.

Order: the local health check, the minion's key pair (its fingerprint printed for the
operator), then authentication through a probe configuration. A master whose key is not FP
makes Salt's minion exit 42: everything this join wrote is removed and nothing is configured.
(Salt's master sends its key only once it accepted the minion's: the check happens then; a
pending key only waits.) Only then is the minion configured and started."""
import json
import os
import time

from eos.bootstrap import configs, roles
from eos.bootstrap.proc import BootstrapError, alive, reachable, run, run_watched, start_daemon

FINGER_MISMATCH = 42  # salt.crypt.AsyncAuth._finger_fail's exit code


def parse_master(text, default_port):
    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    host = host or text
    try:
        port = int(port) if port else default_port
    except ValueError as exc:
        raise BootstrapError(f"master {text!r}: the port is not a number") from exc
    if not host or not 0 < port < 65536:
        raise BootstrapError(f"master {text!r} is not HOST[:PORT]")
    return host, port


def discover(cluster, timeout, log):
    """The address of the master of this cluster, found by Salt's own SSDP discovery client
    (the master answers when its ``discovery`` option is set; eos-bootstrap master
    --discovery sets it with mapping {eos-cluster: NAME})."""
    import salt.utils.ssdp

    found = {}
    for attempt in range(3):
        client = salt.utils.ssdp.SSDPDiscoveryClient(port=configs.DISCOVERY_PORT, timeout=timeout)
        found.update(client.discover())
        if found:
            break
        log(f"no master answered SSDP discovery (attempt {attempt + 1} of 3)")
    matching = sorted({addr[0] for addr, answers in found.items() for a in answers
                       if isinstance(a, dict) and (a.get("mapping") or {}).get("eos-cluster") == cluster})
    if len(matching) != 1:
        raise BootstrapError(f"SSDP discovery of cluster {cluster!r} on UDP port {configs.DISCOVERY_PORT} "
                             f"found {matching or 'no master'}; give the master's address instead")
    return matching[0]


class Join:
    def __init__(self, lay, opts, cp, tree, log):
        self.lay, self.opts, self.cp, self.tree, self.log = lay, opts, cp, tree, log
        self.probe_dir = os.path.join(lay.eos_dir, "probe")
        self.host = self.port = None

    def salt_call(self, confdir, *args, local=False, timeout=60, watch=None):
        argv = [self.lay.bin("salt-call"), f"--config-dir={confdir}", "--out=json", "--retcode-passthrough"]
        argv += ["--local"] if local else []
        if watch:
            return run_watched(argv + list(args), timeout, watch)
        return run(argv + list(args), timeout=timeout, check=False)

    def gone(self, doing):
        why = reachable(self.host, self.port, 3)
        if why:
            raise BootstrapError(f"the master {self.host}:{self.port} went away while {doing}: {why}")

    # --- steps -------------------------------------------------------------------------
    def locate(self):
        if self.opts.master:
            self.host, self.port = parse_master(self.opts.master, self.opts.ret_port)
        else:
            self.host, self.port = discover(self.opts.cluster, self.opts.discovery_timeout, self.log), self.opts.ret_port
        why = reachable(self.host, self.port, 5)
        if why:
            raise BootstrapError(f"the master {self.host}:{self.port} does not answer: {why}")
        return {"host": self.host, "port": self.port}

    def write_probe(self):
        for d in (self.lay.conf_dir, self.lay.eos_dir, self.lay.cache("minion"), self.lay.sock("minion"),
                  os.path.dirname(self.lay.log("x")), os.path.dirname(self.lay.pidfile("x"))):
            if not os.path.isdir(d):
                os.makedirs(d, exist_ok=True)
                self.cp.created(d)
        probe = configs.common(self.lay, "minion")
        probe.update(id=self.opts.id, master=self.host, master_port=self.port,
                     publish_port=self.opts.publish_port, master_finger=self.opts.master_fingerprint,
                     auth_tries=1, auth_timeout=10, acceptance_wait_time=1, random_reauth_delay=0,
                     enable_fqdns_grains=False, log_file=self.lay.log("probe"))
        self.cp.created(configs.write(os.path.join(self.probe_dir, "minion"), probe))
        self.cp.created(self.probe_dir)

    def health(self, local=True):
        """eos_cluster.health_check: first locally (disk, Salt version, names), before anything
        reaches the master; then, with the key accepted, through the master, whose
        eos_roles.master_info (peer_run) gives the clock to compare with. Locally the clock
        check could only ask whether NTP synchronized the kernel clock, so it waits for that."""
        ret = self.salt_call(self.probe_dir, "--module-dirs=" + os.path.join(self.tree, "_modules"),
                             "eos_cluster.health_check", f"max_skew={self.opts.max_skew}",
                             f"min_free_bytes={self.opts.min_free_bytes}", local=local, timeout=180)
        try:
            result = json.loads(ret.stdout)["local"]
        except (ValueError, KeyError, TypeError):
            raise BootstrapError(f"eos_cluster.health_check did not run: {(ret.stderr or ret.stdout)[-800:]}")
        failed = {k: v.get("comment") for k, v in result.get("checks", {}).items()
                  if not v.get("result") and not (local and k == "clock")}
        if failed:
            raise BootstrapError("pre-join health check failed, not joining: " +
                                 "; ".join(f"{k}: {v}" for k, v in sorted(failed.items())))
        return {"checks": sorted(result.get("checks", {}))}

    def clock(self):
        return self.health(local=False)

    def keys(self):
        import salt.utils.crypt

        pki = self.lay.pki("minion")
        if not os.path.exists(os.path.join(pki, "minion.pub")):
            os.makedirs(pki, mode=0o700, exist_ok=True)
            self.cp.created(pki)
            run([self.lay.bin("salt-key"), f"--gen-keys-dir={pki}", "--gen-keys=minion"], timeout=120)
        finger = salt.utils.crypt.pem_finger(path=os.path.join(pki, "minion.pub"), sum_type="sha256")
        self.log(f"this minion's key fingerprint ({self.opts.id}): {finger}")
        return {"fingerprint": finger}

    def authenticate(self):
        """One authentication with master_finger set: the key is submitted (pending, or
        accepted by the master's reactor); a master with another key is refused."""
        ret = self.salt_call(self.probe_dir, "test.ping", timeout=60,
                             watch=lambda: self.gone("waiting for the key to be accepted"))
        if ret.returncode == FINGER_MISMATCH:
            import salt.utils.crypt

            pub = os.path.join(self.lay.pki("minion"), "minion_master.pub")
            seen = salt.utils.crypt.pem_finger(path=pub, sum_type="sha256") if os.path.exists(pub) else "unknown"
            if os.path.exists(pub):  # the refused master's key is not kept either
                os.unlink(pub)
            raise Refused(f"the master at {self.host}:{self.port} has key fingerprint {seen}, not "
                          f"{self.opts.master_fingerprint!r}: refused, nothing configured")
        return ret.returncode == 0

    def accepted(self):
        deadline = time.monotonic() + self.opts.wait
        said = False
        while not self.authenticate():
            self.gone("waiting for the key to be accepted")
            if time.monotonic() > deadline:
                raise Pending(f"the key of {self.opts.id} ({self.cp.info('keys').get('fingerprint')}) is still "
                              f"pending after {self.opts.wait} s: register it on the master (pillar "
                              f"eos:cluster:expected_keys) or accept it there (salt-run eos_roles.accept_key "
                              f"{self.opts.id} fingerprint=FP); rerun this command to continue")
            if not said:
                self.log("key pending: waiting for the master to accept it (its fingerprint is not "
                         "registered there yet, or the reactor has not answered)")
                said = True
            time.sleep(2)

    def configure(self):
        self.cp.created(configs.minion(self.lay, self.opts.id, self.host, self.port, self.opts.publish_port,
                                       finger=self.opts.master_fingerprint))

    def start(self):
        pid = start_daemon([self.lay.bin("salt-minion"), "-c", self.lay.conf_dir,
                            f"--log-file={self.lay.log('minion')}"],
                           self.lay.pidfile("salt-minion"), self.lay.conf_dir, timeout=60)
        self.cp.started("salt-minion", pid)

    def roles(self):
        """The node-addition orchestration (the master's reactor on this minion's start event)
        syncs it and applies its roles."""
        return {"roles": roles.wait(self.lay, self.opts.id, self.opts.wait,
                                    lambda: self.gone("waiting for this node's roles"), self.log)}

    def daemon_gone(self, step):
        """A rerun after the recorded minion stopped (a reboot, make demo-stop) starts it again."""
        return step == "minion" and not alive(self.cp.state["pids"].get("salt-minion"), self.lay.conf_dir)

    def run(self):
        if self.cp.done("locate") and not self.opts.master and not self.opts.auto_discover:
            info = self.cp.info("locate")
            self.host, self.port = info["host"], info["port"]
        steps = [("locate", self.locate), ("probe", self.write_probe), ("health", self.health),
                 ("keys", self.keys), ("accepted", self.accepted), ("clock", self.clock), ("config", self.configure),
                 ("minion", self.start), ("roles", self.roles)]
        for name, fn in steps:
            if name == "locate" or not self.cp.done(name) or self.daemon_gone(name):
                self.log(f"[{name}] ...")
                self.cp.mark(name, **(fn() or {}))
        return {"id": self.opts.id, "master": f"{self.host}:{self.port}",
                "fingerprint": self.cp.info("keys").get("fingerprint"), "roles": self.cp.info("roles").get("roles")}


class Refused(BootstrapError):
    """The master's key is not the expected one: undo everything."""


class Pending(BootstrapError):
    """The key waits for an operator: keep what was done, a rerun continues."""

