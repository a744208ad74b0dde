"""A node from nothing to holding its roles: `eos-bootstrap join` against what a user would
otherwise do by hand on the same master (write the minion's config, start salt-minion, wait for
its key and `salt-key -a` it, then `salt-run eos_roles.apply` to give it its roles).

Each "machine" is a network namespace of its own (tests/support/netns.py): one master made with
`eos-bootstrap master` (the roles recorded, not run: pillar eos:services:manage false, so both
ways time Salt and Eos, not package installs), then per round one node joined each way, in
alternating order; the clock stops when the node's grain eos_roles holds its roles. Then N nodes
join at once through eos-bootstrap (`--nodes`, default 10), the time until the last one holds
its roles. Medians of the rounds, the ratio manual/eos, and the load average.

The master's node-join reactor also reacts to the hand-made minion's start (it cannot be
switched off for one node): the manual figure is the time until the user's own commands
returned with the roles held, with that reactor running beside them, as it would on an Eos master.
Results go to bench/README.md under "Joining a node"."""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import write_section  # noqa: E402
from eos.glue import save_json  # noqa: E402
from tests.support import netns, saltkeys  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(REPO, ".venv")
BIN = os.path.join(VENV, "bin")
HEADING = "## Joining a node: eos-bootstrap join vs by hand"


def root(machine):
    return os.path.join(machine.dir, "root")


def conf(machine):
    return os.path.join(root(machine), "etc", "salt")


def checked(proc, what):
    if proc.returncode != 0:
        raise RuntimeError(f"{what} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


class Bench:
    def __init__(self, base, prefix):
        self.base = base
        self.machines = []
        self.master = self.machine("bjmaster")
        self.lan = netns.Lan(self.master, prefix)
        pillar = os.path.join(root(self.master), "srv", "eos", "pillar")
        os.makedirs(pillar, exist_ok=True)
        self.pillar = {"eos": {"cluster": {"node_count": 1, "auto_accept": True, "expected_keys": {}},
                               "services": {"manage": False}}}
        save_json(os.path.join(pillar, "top.sls"), {"base": {"*": ["eos"]}})
        self.save_pillar()
        out = checked(self.master.run([os.path.join(BIN, "eos-bootstrap"), "master", "--venv", VENV,
                                       "--root", root(self.master), "--id", "bjmaster"], timeout=900),
                      "eos-bootstrap master")
        self.finger = json.loads(out)["master_fingerprint"]

    def machine(self, name):
        m = netns.Machine(name, self.base)
        self.machines.append(m)
        return m

    def save_pillar(self):
        save_json(os.path.join(root(self.master), "srv", "eos", "pillar", "eos.sls"), self.pillar)

    def node(self, name, register):
        node = self.lan.attach(self.machine(name))
        finger = saltkeys.pregenerate(os.path.join(conf(node), "pki", "minion"), "sha256")
        if register:
            self.pillar["eos"]["cluster"]["expected_keys"][name] = finger
            self.save_pillar()
        return node

    def roles_held(self, node):
        proc = node.run([os.path.join(BIN, "salt-call"), f"--config-dir={conf(node)}", "--local",
                         "--out=json", "grains.get", "eos_roles"], timeout=120)
        try:
            return bool(json.loads(proc.stdout)["local"])
        except (ValueError, KeyError, TypeError):
            return False

    def join(self, node):
        """eos-bootstrap join: its own wait ends when the roles are held."""
        started = time.monotonic()
        out = checked(node.run([os.path.join(BIN, "eos-bootstrap"), "join", self.master.address, "--venv", VENV,
                                "--root", root(node), "--id", node.hostname, "--master-fingerprint", self.finger,
                                "--min-free-bytes", "1048576", "--wait", "600"], timeout=900),
                      f"eos-bootstrap join ({node.hostname})")
        elapsed = time.monotonic() - started
        if not json.loads(out)["roles"]:
            raise RuntimeError(f"{node.hostname} joined without roles: {out}")
        return elapsed

    def by_hand(self, node):
        """A minion config written by hand, salt-minion started, its key accepted with salt-key
        once it is pending, then salt-run eos_roles.apply; until the roles are held."""
        started = time.monotonic()
        r = root(node)
        os.makedirs(conf(node), exist_ok=True)
        save_json(os.path.join(conf(node), "minion"), {
            "id": node.hostname, "master": self.master.address, "root_dir": r, "user": "root",
            "pki_dir": os.path.join(conf(node), "pki", "minion"),
            "cachedir": os.path.join(r, "var", "cache", "salt", "minion"),
            "sock_dir": os.path.join(r, "var", "run", "salt", "minion"),
            "log_file": os.path.join(r, "var", "log", "salt", "minion"), "acceptance_wait_time": 2,
            "random_reauth_delay": 0, "enable_fqdns_grains": False})
        checked(node.run([os.path.join(BIN, "salt-minion"), "-c", conf(node), "-d",
                          f"--pid-file={os.path.join(r, 'salt-minion.pid')}"], timeout=120), "salt-minion -d")
        salt_key = [os.path.join(BIN, "salt-key"), "-c", conf(self.master)]
        deadline = time.monotonic() + 600
        while node.hostname not in self.master.run(salt_key + ["-l", "un"], timeout=60).stdout.split():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{node.hostname}'s key never became pending")
            time.sleep(1)
        checked(self.master.run(salt_key + ["-y", "-a", node.hostname], timeout=60), "salt-key -a")
        run = [os.path.join(BIN, "salt-run"), "-c", conf(self.master), "--out=json", "eos_roles.apply"]
        # As a user would: rerun it while it fails (the minion not answering yet, or the node-join
        # orchestration's apply running beside it), until the node holds its roles.
        while not self.roles_held(node):
            proc = self.master.run(run, timeout=900)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{node.hostname} holds no roles after salt-run eos_roles.apply: "
                                   f"{(proc.stdout + proc.stderr)[-2000:]}")
            if proc.returncode != 0:
                time.sleep(1)
        return time.monotonic() - started

    def at_once(self, count, tag):
        nodes = [self.node(f"bj{tag}{i}", register=True) for i in range(count)]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(self.join, nodes))
        return time.monotonic() - started

    def close(self):
        for m in self.machines:
            m.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--nodes", type=int, default=10, help="nodes joining at once (0: skip)")
    args = ap.parse_args()
    # A SIGTERM (a timeout) still removes the namespaces and their daemons (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    reason = netns.skip_reason()
    if reason:
        sys.exit(f"bench_join: {reason}")
    base = tempfile.mkdtemp(prefix="eos-bj-")
    load = [os.getloadavg()]
    bench = None
    try:
        bench = Bench(base, f"10.252.{os.getpid() % 200 + 20}")
        eos_t, hand_t = [], []
        for r in range(args.rounds):
            ways = [("eos", lambda: eos_t.append(bench.join(bench.node(f"bje{r}", register=True)))),
                    ("hand", lambda: hand_t.append(bench.by_hand(bench.node(f"bjh{r}", register=False))))]
            for _, fn in (ways if r % 2 == 0 else ways[::-1]):
                fn()
            print(f"round {r + 1}: eos-bootstrap join {eos_t[-1]:.1f} s, by hand {hand_t[-1]:.1f} s", flush=True)
        many = bench.at_once(args.nodes, "n") if args.nodes else None
        load.append(os.getloadavg())
    finally:
        if bench:
            bench.close()
        shutil.rmtree(base, ignore_errors=True)
    eos_m, hand_m = statistics.median(eos_t), statistics.median(hand_t)
    lines = [HEADING, "",
             "`bench/bench_join.py`: a node (a network namespace of its own) from nothing to holding its roles",
             "(grain `eos_roles`), on one master made by `eos-bootstrap master`; roles recorded, not run",
             "(`eos:services:manage: false`). By hand: minion config written, `salt-minion -d`, `salt-key -a`",
             "once the key is pending, `salt-run eos_roles.apply`.", "",
             "| way | median (s) | rounds (s) |", "|---|---|---|",
             f"| `eos-bootstrap join` (key pre-registered, accepted by the reactor) | {eos_m:.1f} | "
             + ", ".join(f"{t:.1f}" for t in eos_t) + " |",
             f"| by hand | {hand_m:.1f} | " + ", ".join(f"{t:.1f}" for t in hand_t) + " |", "",
             f"Ratio by hand / eos-bootstrap join: **{hand_m / eos_m:.2f}** (medians of {args.rounds} rounds, "
             "alternating which way goes first)."]
    if many is not None:
        lines.append(f"{args.nodes} nodes joining at once through `eos-bootstrap join`: the last holds its roles "
                     f"after **{many:.1f} s** ({many / args.nodes:.1f} s per node; one node alone: {eos_m:.1f} s).")
    lines += ["", f"Load average (1, 5, 15 min) before: {' '.join(f'{x:.2f}' for x in load[0])}; after: "
              f"{' '.join(f'{x:.2f}' for x in load[-1])} (2 cores, shared with other work)."]
    write_section(HEADING, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
