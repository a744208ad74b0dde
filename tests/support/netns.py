"""Separate "machines" for tests: each a network namespace of its own (``ip netns add``) with
its own UTS namespace (hostname) and a private mount namespace (its own /etc/hosts), held open
by a sleeping process; commands run in it through nsenter. A Lan joins machines with veth pairs
to a bridge inside the first one, on addresses of a private range the test picks; nothing
reaches any other address (no route leaves the namespaces)."""
import os
import signal
import subprocess
import time


def _ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def skip_reason():
    """Why machines cannot be made here, or None (probed: a throwaway namespace)."""
    if os.geteuid() != 0:
        return f"network namespaces need root; running as uid {os.geteuid()}"
    name = f"eosprobe{os.getpid()}"
    proc = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if proc.returncode != 0:
        return f"ip netns add failed: {proc.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


class Machine:
    def __init__(self, name, base):
        self.hostname = name
        self.netns = f"eos{os.getpid() % 100000}{name}"[:15]
        self.dir = os.path.join(base, name)
        os.makedirs(self.dir, exist_ok=True)
        self.address = None
        self.hosts = {"127.0.0.1": "localhost"}
        _ip("netns", "add", self.netns)
        _ip("-n", self.netns, "link", "set", "lo", "up")
        self.holder = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, "unshare", "--uts", "--mount", "--propagation",
             "private", "--", "sleep", "infinity"], stdin=subprocess.DEVNULL, start_new_session=True)
        self._wait_for_holder()
        self.run(["hostname", name], check=True)
        self.write_hosts()
        self.run(["mount", "--bind", self.hosts_file, "/etc/hosts"], check=True)
        # No name server: a lookup that /etc/hosts cannot answer fails at once on this
        # machine's loopback instead of waiting for a server no packet may reach.
        with open(os.path.join(self.dir, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        self.run(["mount", "--bind", os.path.join(self.dir, "resolv.conf"), "/etc/resolv.conf"], check=True)

    def _wait_for_holder(self):
        deadline = time.monotonic() + 10
        me = os.readlink("/proc/self/ns/uts")
        while time.monotonic() < deadline:
            for pid in [self.holder.pid] + _children(self.holder.pid):
                try:
                    if os.readlink(f"/proc/{pid}/ns/uts") != me and \
                            open(f"/proc/{pid}/comm").read().strip() == "sleep":
                        self.pid = pid
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"machine {self.hostname}: no namespace holder after 10 s")

    @property
    def hosts_file(self):
        return os.path.join(self.dir, "hosts")

    def write_hosts(self):
        with open(self.hosts_file + ".tmp", "w") as f:
            f.writelines(f"{addr} {name}\n" for addr, name in self.hosts.items())
        # Rewritten in place: the bind mount holds the inode.
        with open(self.hosts_file, "a+") as f:
            f.seek(0)
            f.truncate()
            f.write(open(self.hosts_file + ".tmp").read())
        os.unlink(self.hosts_file + ".tmp")

    def argv(self, argv):
        return ["nsenter", f"--target={self.pid}", "--net", "--uts", "--mount", "--", *argv]

    def run(self, argv, check=False, timeout=300, **kw):
        return subprocess.run(self.argv(argv), capture_output=True, text=True, timeout=timeout,
                              check=check, **kw)

    def popen(self, argv, **kw):
        return subprocess.Popen(self.argv(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True, **kw)

    def pids(self):
        """Every process in this machine's network namespace but the holder."""
        out = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True).stdout
        return [int(p) for p in out.split() if int(p) != self.pid]

    def close(self):
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.holder.kill()
        self.holder.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(p) for p in f.read().split()]
    except OSError:
        return []
    return kids + [k for c in kids for k in _children(c)]


class Lan:
    """hub gets PREFIX.1 on a bridge; each attached machine PREFIX.N on a veth into it, with
    the hub as its default route (so Salt's SSDP broadcast reaches the hub)."""

    def __init__(self, hub, prefix):
        self.hub, self.prefix, self.next = hub, prefix, 2
        _ip("-n", hub.netns, "link", "add", "br0", "type", "bridge")
        _ip("-n", hub.netns, "addr", "add", f"{prefix}.1/24", "dev", "br0")
        _ip("-n", hub.netns, "link", "set", "br0", "up")
        hub.address = f"{prefix}.1"
        hub.hosts[hub.address] = hub.hostname
        hub.write_hosts()

    def attach(self, machine):
        n, self.next = self.next, self.next + 1
        port = f"p{n}"
        _ip("link", "add", "eth0", "netns", machine.netns, "type", "veth", "peer", "name", port,
            "netns", self.hub.netns)
        _ip("-n", self.hub.netns, "link", "set", port, "master", "br0", "up")
        _ip("-n", machine.netns, "addr", "add", f"{self.prefix}.{n}/24", "dev", "eth0")
        _ip("-n", machine.netns, "link", "set", "eth0", "up")
        _ip("-n", machine.netns, "route", "add", "default", "via", f"{self.prefix}.1")
        machine.address = f"{self.prefix}.{n}"
        machine.hosts.update({machine.address: machine.hostname, self.hub.address: self.hub.hostname})
        machine.write_hosts()
        return machine
