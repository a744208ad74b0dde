"""
Hecate across the edge nodes, from the master.

``salt-run eos_hecate.routes`` asks every edge node (minions whose grain ``eos_roles`` holds
``edge`` or ``monolith``, as the role states set it; or ``nodes=a,b``) for its routes, targeted
by exact id, and shows them side by side with the routes that differ between nodes.
"""
import json

import salt.client
import salt.utils.minions
from salt.exceptions import CommandExecutionError

__virtualname__ = "eos_hecate"


def __virtual__():
    return __virtualname__


def _edge_nodes():
    ck = salt.utils.minions.CkMinions(__opts__)
    found = set()
    for role in ("edge", "monolith"):
        found.update(ck.check_minions(f"eos_roles:{role}", "grain")["minions"])
    return sorted(found)


def _node_list(nodes):
    if nodes is None:
        return _edge_nodes()
    if isinstance(nodes, str):
        nodes = [n.strip() for n in nodes.split(",") if n.strip()]
    if not isinstance(nodes, list) or not all(isinstance(n, str) and n for n in nodes):
        raise CommandExecutionError(f"nodes {nodes!r}: a list of minion ids is required")
    return sorted(set(nodes))


def routes(nodes=None, timeout=30):
    """
    Every edge node's Hecate routes side by side: ``routes`` maps each route name to each
    node's spec (None where the node lacks it), ``differ`` names the routes that are not the
    same on every node, ``unreachable`` the nodes that did not answer (their error, or no
    answer within ``timeout`` s). Raises when a node fails, so ``salt-run`` exits non-zero.

    CLI Example:

    .. code-block:: bash

        salt-run eos_hecate.routes
        salt-run eos_hecate.routes nodes=edge1,edge2
    """
    ids = _node_list(nodes)
    if not ids:
        raise CommandExecutionError("no edge nodes: no minion has eos_roles edge or monolith "
                                    "(apply roles.edge, or give nodes=...)")
    client = salt.client.get_local_client(__opts__["conf_file"])
    ret = client.cmd(ids, "eos_hecate.route_list", tgt_type="list", timeout=int(timeout),
                     full_return=True)
    per_node, unreachable = {}, {}
    for mid in ids:
        r = ret.get(mid)
        if not isinstance(r, dict) or r.get("retcode", 0) != 0 or not isinstance(r.get("ret"), dict):
            unreachable[mid] = (r or {}).get("ret") if isinstance(r, dict) else f"no answer within {timeout} s"
            continue
        per_node[mid] = r["ret"]
    names = sorted({n for table in per_node.values() for n in table})
    side = {n: {mid: per_node[mid].get(n) for mid in sorted(per_node)} for n in names}
    differ = [n for n in names if len({json.dumps(v, sort_keys=True) for v in side[n].values()}) > 1]
    out = {"nodes": sorted(per_node), "routes": side, "differ": differ, "unreachable": unreachable}
    if unreachable:
        __context__["retcode"] = 1
    return out
