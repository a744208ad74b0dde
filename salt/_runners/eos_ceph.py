"""Eos Ceph runner: form a Ceph cluster with CephFS across minions.

Every step runs on the minions through the eos_ceph execution module (C through librados);
this runner only orders the steps and stops at the first failed step with a
CommandExecutionError naming the node, the step and the minion's error. The cluster's client
configuration and key go from the first monitor to the other nodes through the secrets store
(OpenBao, pillar ``eos:vault`` on the minions, each with its node token): the first node puts
them there, the others read them; the key never crosses the Salt bus.
"""
import time

import salt.client
from salt.exceptions import CommandExecutionError

__virtualname__ = "eos_ceph"


def __virtual__():
    return __virtualname__


def _nodes(nodes):
    if isinstance(nodes, str):
        nodes = [n.strip() for n in nodes.split(",")]
    nodes = [str(n) for n in (nodes or []) if str(n)]
    if not nodes:
        raise CommandExecutionError("nodes: give at least one minion id (nodes=node1,node2,node3)")
    if len(set(nodes)) != len(nodes):
        raise CommandExecutionError(f"nodes: duplicates in {nodes!r}")
    return nodes


class _Steps:
    def __init__(self, timeout):
        self.client = salt.client.LocalClient(mopts=__opts__)
        self.timeout = timeout
        self.log = []

    def run(self, node, fun, *args, **kwargs):
        """One function on one minion; its return, or CommandExecutionError."""
        ret = self.client.cmd(node, fun, arg=list(args), kwarg=kwargs or None,
                              timeout=self.timeout, full_return=True)
        if node not in ret:
            raise CommandExecutionError(f"{node}: {fun}: no answer within {self.timeout} s")
        out = ret[node]
        data = out.get("ret") if isinstance(out, dict) else out
        if not isinstance(out, dict) or out.get("retcode", 0) != 0:
            raise CommandExecutionError(f"{node}: {fun} failed: {data}")
        if isinstance(data, dict):
            changes = data.get("changes")
            self.log.append({"node": node, "step": fun, "changes": changes or {}})
        return data


def _addr(node, mon_addrs, steps):
    if mon_addrs and node in mon_addrs:
        return str(mon_addrs[node])
    addr = steps.run(node, "config.get", "eos:ceph:mon_addr")
    if addr:
        return str(addr)
    ips = [ip for ip in steps.run(node, "grains.get", "ipv4") or [] if not ip.startswith("127.")]
    if not ips:
        raise CommandExecutionError(f"{node}: no monitor address: set pillar eos:ceph:mon_addr "
                                    "or pass mon_addrs")
    return f"v2:{ips[0]}:3300"


def _devices(node, devices, steps):
    if devices is not None and node in devices:
        found = devices[node]
        return [found] if isinstance(found, str) else list(found)
    grain = steps.run(node, "grains.get", "eos_storage:unused_devices") or []
    return [d["path"] for d in grain if isinstance(d, dict) and d.get("path")]


def create_cephfs(nodes, name="cephfs", mon_addrs=None, devices=None, mds_count=2, wait=180,
                  timeout=300, fs_name=None, secret_path=None):
    """
    Form a Ceph cluster with a CephFS file system on ``nodes`` (minion ids):

    1. the first node bootstraps the first monitor (new fsid, keys) and a manager;
    2. the first node puts the cluster's ceph.conf and client key into the secrets store at
       ``eos/ceph/<fsid>/client`` (``secret_path`` overrides); the other nodes read them from
       there (written 0600);
    3. monitors on the first N nodes, N the largest odd number <= len(nodes), managers on the
       first two;
    4. an OSD on every unused device of every node (grain ``eos_storage:unused_devices``, or
       ``devices={node: [paths]}``);
    5. ``<name>_metadata`` and ``<name>_data`` pools and ``fs new``;
    6. MDS daemons on the first ``mds_count`` nodes (one active, the rest standby);
    7. a bounded wait (``wait`` seconds) for HEALTH_OK, all PGs active+clean and an active MDS.

    ``fs_name`` is another spelling of ``name`` (for the orchestration, where ``name`` is
    taken). Every step is idempotent, so a rerun after a failure converges. Addresses come from
    ``mon_addrs={node: "v2:ip:port"}``, else pillar ``eos:ceph:mon_addr`` of the node, else
    its first non-loopback IPv4 on port 3300.

    CLI Example:

    .. code-block:: bash

        salt-run eos_ceph.create_cephfs nodes=node1,node2,node3
        salt-run eos_ceph.create_cephfs nodes=node1,node2,node3 name=shared
    """
    nodes = _nodes(nodes)
    name = str(fs_name or name)
    steps = _Steps(int(timeout))
    n_mons = len(nodes) if len(nodes) % 2 else len(nodes) - 1
    mons, first = nodes[:n_mons], nodes[0]

    boot = steps.run(first, "eos_ceph.bootstrap", public_addr=_addr(first, mon_addrs, steps),
                     mon_id=first)
    steps.run(first, "eos_ceph.mgr_add", mgr_id=first)
    secret_path = str(secret_path or f"eos/ceph/{boot.get('fsid')}/client")
    if len(nodes) > 1:
        steps.run(first, "eos_ceph.store_client", secret_path)
    for node in nodes[1:]:
        steps.run(node, "eos_ceph.write_client", secret_path)
    for node in mons[1:]:
        steps.run(node, "eos_ceph.mon_add", mon_id=node,
                  public_addr=_addr(node, mon_addrs, steps))
    for node in nodes[1:2]:
        steps.run(node, "eos_ceph.mgr_add", mgr_id=node)
    osds = []
    for node in nodes:
        for device in _devices(node, devices, steps):
            osds.append(steps.run(node, "eos_ceph.osd_add", device=device)["daemon"])
    if not osds:
        raise CommandExecutionError(f"no OSD: none of {nodes} has an unused device "
                                    "(grain eos_storage:unused_devices) and none was given")
    steps.run(first, "eos_ceph.fs_add", fs_name=name)
    for node in nodes[:max(1, int(mds_count))]:
        steps.run(node, "eos_ceph.mds_add", mds_id=node)

    deadline = time.monotonic() + int(wait)
    while True:
        st = steps.run(first, "eos_ceph.status")
        pgs = st["pgs"]
        clean = pgs["total"] > 0 and pgs["states"].get("active+clean", 0) == pgs["total"]
        fs = steps.run(first, "eos_ceph.fs_status")
        active = any(m["state"] == "up:active" for f in fs["filesystems"] if f["name"] == name
                     for m in f["mds"])
        if st["health"] == "HEALTH_OK" and clean and active:
            break
        if time.monotonic() >= deadline:
            raise CommandExecutionError(
                f"cluster {boot.get('fsid')} not healthy after {wait} s: {st['health']} "
                f"{[c['message'] for c in st['checks']]}, pgs {pgs['states']}, "
                f"MDS active: {active}")
        time.sleep(2)
    return {"fsid": boot.get("fsid"), "fs": name, "mons": st["mons"]["quorum"], "osds": osds,
            "health": st["health"], "steps": steps.log}
