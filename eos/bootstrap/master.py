"""``eos-bootstrap master``: a salt-master, its local minion and salt-api, configured for Eos,
started, synced and given roles. Each step is checkpointed; a rerun skips finished steps (and
restarts a recorded daemon that is gone), so a bootstrap killed halfway converges."""
import os
import shutil
import socket
import time

from eos.bootstrap import configs, roles, tls
from eos.bootstrap.proc import BootstrapError, alive, run, start_daemon, wait_port


class Master:
    def __init__(self, lay, opts, cp, tree, log):
        self.lay, self.opts, self.cp, self.tree, self.log = lay, opts, cp, tree, log
        wildcard = opts.interface in ("0.0.0.0", "::")
        self.local = "127.0.0.1" if wildcard else opts.interface
        # salt-api binds the interface: on a wildcard, this host's first address names it.
        self.api_host = (_addresses() or [self.local])[0] if wildcard else self.local

    def salt(self, name, *args, timeout=120):
        argv = [self.lay.bin(name), "-c", self.lay.conf_dir, "--out=json", *args]
        return run(argv, timeout=timeout)

    # --- steps -------------------------------------------------------------------------
    def config(self):
        lay = self.lay
        for d in (lay.conf_dir, lay.eos_dir, lay.pillar_dir, os.path.dirname(lay.log("x")),
                  os.path.dirname(lay.pidfile("x")), lay.cache("master"), lay.cache("minion"),
                  lay.sock("master"), lay.sock("minion")):
            if not os.path.isdir(d):
                os.makedirs(d, exist_ok=True)
                self.cp.created(d)
        names = [self.opts.id, socket.gethostname(), self.local, *_addresses()]
        cert = os.path.join(lay.eos_dir, "tls", "api.crt")
        if tls.self_signed(cert, os.path.join(lay.eos_dir, "tls", "api.key"), names):
            self.cp.created(os.path.dirname(cert))
        for path in configs.api_users(lay):
            self.cp.created(path)
        self.cp.created(configs.master(lay, self.opts, self.tree))
        self.cp.created(configs.minion(lay, self.opts.id, self.local, self.opts.ret_port,
                                       self.opts.publish_port))
        for path in configs.pillar(lay):
            self.cp.created(path)

    def keys(self):
        """The local minion's key pair, accepted on the master by placing its public key under
        exactly its id: no pending key, no glob."""
        lay = self.lay
        pub = os.path.join(lay.pki("minion"), "minion.pub")
        if not os.path.exists(pub):
            os.makedirs(lay.pki("minion"), mode=0o700, exist_ok=True)
            self.cp.created(lay.pki("minion"))
            run([lay.bin("salt-key"), "-c", lay.conf_dir, "--gen-keys=minion",
                 f"--gen-keys-dir={lay.pki('minion')}"], timeout=120)
        accepted = os.path.join(lay.pki("master"), "minions", self.opts.id)
        os.makedirs(os.path.dirname(accepted), mode=0o700, exist_ok=True)
        self.cp.created(lay.pki("master"))
        shutil.copyfile(pub, accepted + ".tmp")
        os.replace(accepted + ".tmp", accepted)

    def daemon(self, name, marker_port, what):
        pid = start_daemon([self.lay.bin(name), "-c", self.lay.conf_dir,
                            f"--log-file={self.lay.log(name.split('-')[1])}"],
                           self.lay.pidfile(name), self.lay.conf_dir, timeout=60)
        self.cp.started(name, pid)
        if marker_port:
            wait_port(self.local, marker_port, 60, what)
        return pid

    def master_daemon(self):
        self.daemon("salt-master", self.opts.ret_port, "salt-master")

    def minion_daemon(self):
        """Its start event makes the master's node-join reactor sync it and apply its roles."""
        self.daemon("salt-minion", None, "salt-minion")

    def sync(self):
        """Runners (and the rest of salt/) into the master's extension dirs before any minion
        starts: the node-addition orchestration and salt-run eos_roles.calculate need them."""
        self.salt("salt-run", "saltutil.sync_all")

    def api(self):
        self.daemon("salt-api", self.opts.api_port, "salt-api (rest_cherrypy)")

    def roles(self):
        """Wait for the orchestration the minion's start event began; when it did not give
        roles (it failed, or ran before a rerun), apply them once more directly."""
        try:
            return {"roles": roles.wait(self.lay, self.opts.id, 120, lambda: None, self.log)}
        except BootstrapError as exc:
            self.log(f"{exc}: running eos_roles.apply")
        self.salt("salt", "-L", self.opts.id, "saltutil.sync_all", "--timeout=60", timeout=300)
        self.salt("salt-run", "eos_roles.apply", timeout=600)
        return {"roles": roles.wait(self.lay, self.opts.id, 60, lambda: None, self.log)}

    def steps(self):
        return [("config", self.config, None), ("keys", self.keys, None),
                ("master", self.master_daemon, "salt-master"), ("sync", self.sync, None),
                ("api", self.api, "salt-api"), ("minion", self.minion_daemon, "salt-minion"),
                ("roles", self.roles, None)]

    def still_done(self, daemon):
        pid = self.cp.state["pids"].get(daemon)
        return daemon is None or alive(pid, self.lay.conf_dir)

    def run(self):
        for name, fn, daemon in self.steps():
            if self.cp.done(name) and self.still_done(daemon):
                self.log(f"[{name}] done before")
                continue
            started = time.monotonic()
            info = fn() or {}
            self.cp.mark(name, **info)
            self.log(f"[{name}] done in {time.monotonic() - started:.1f} s")
        return self.summary()

    def summary(self):
        import salt.utils.crypt

        finger = salt.utils.crypt.pem_finger(path=os.path.join(self.lay.pki("master"), "master.pub"),
                                             sum_type="sha256")
        return {"master_fingerprint": finger,
                "api": f"https://{self.api_host}:{self.opts.api_port}",
                "api_cert": os.path.join(self.lay.eos_dir, "tls", "api.crt"),
                "api_credentials": os.path.join(self.lay.eos_dir, "api-credentials.json"),
                "config_dir": self.lay.conf_dir}



def _addresses():
    """This host's own non-loopback IPv4 addresses (its name resolved): salt-api's certificate
    names them, and the summary gives the first as the API address."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({i[4][0] for i in infos if not i[4][0].startswith("127.")})
