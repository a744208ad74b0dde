"""Eos Ceph states: monitors, OSDs and CephFS file systems present on a cluster, each
idempotent and test=True aware. The work is done by the eos_ceph execution module (C through
librados); connection keywords (conf, keyring, name, mon_host, timeout) are passed through and
default to pillar eos:ceph:<key>; the Ceph client name is ``client`` here (``name`` is the
state's name).

.. code-block:: yaml

    mon-node2:
      eos_ceph.mon_present:
        - name: node2
        - public_addr: v2:10.0.0.2:3300

    /dev/sdb:
      eos_ceph.osd_present

    cephfs:
      eos_ceph.fs_present
"""
from salt.exceptions import CommandExecutionError

try:
    from eos.glue import state_call as _state_call
except ImportError:  # pragma: no cover - __virtual__ then fails on the execution module
    _state_call = None

__virtualname__ = "eos_ceph"


def __virtual__():
    if "eos_ceph.status" not in __salt__:
        return (False, "eos_ceph: the eos_ceph execution module is not available")
    return __virtualname__


def _conn(conf, keyring, client, mon_host, timeout):
    conn = {"conf": conf, "keyring": keyring, "name": client, "mon_host": mon_host,
            "timeout": timeout}
    return {k: v for k, v in conn.items() if v is not None}


def _apply(name, fn, *args, **kwargs):
    ret = {"name": name, "result": False, "changes": {}, "comment": ""}
    test = bool(__opts__.get("test"))
    res = _state_call(__salt__, __opts__, ret, fn, *args, **kwargs)
    if res is None:
        return ret
    what = res.get("daemon") or f"CephFS {res.get('fs')}"
    if res["action"] == "none":
        ret["result"] = True
        ret["comment"] = f"{what} is already present"
        return ret
    ret["changes"] = res["changes"]
    if test:
        ret["result"] = None
        ret["comment"] = f"{what} would be {res['action']}d"
    else:
        ret["result"] = True
        ret["comment"] = f"{what} {res['action']}d"
    return ret


def mon_present(name, public_addr, data_root=None, conf=None, keyring=None, client=None,
                mon_host=None, timeout=None):
    """
    A monitor ``name`` on this host at ``public_addr`` (e.g. ``v2:10.0.0.2:3300``), in quorum.

    .. code-block:: yaml

        node2:
          eos_ceph.mon_present:
            - public_addr: v2:10.0.0.2:3300
    """
    conn = _conn(conf, keyring, client, mon_host, timeout)
    return _apply(name, "eos_ceph.mon_add", name, public_addr, data_root=data_root, **conn)


def osd_present(name, crush_weight=None, data_root=None, conf=None, keyring=None, client=None,
                mon_host=None, timeout=None):
    """
    A running bluestore OSD on the device or file ``name``.

    .. code-block:: yaml

        /dev/sdb:
          eos_ceph.osd_present
    """
    conn = _conn(conf, keyring, client, mon_host, timeout)
    return _apply(name, "eos_ceph.osd_add", name, crush_weight=crush_weight,
                  data_root=data_root, **conn)


def fs_present(name, metadata_pool=None, data_pool=None, conf=None, keyring=None, client=None,
               mon_host=None, timeout=None):
    """
    A CephFS file system ``name`` with its pools (``<name>_metadata``, ``<name>_data`` unless
    given).

    .. code-block:: yaml

        cephfs:
          eos_ceph.fs_present
    """
    conn = _conn(conf, keyring, client, mon_host, timeout)
    return _apply(name, "eos_ceph.fs_add", name, metadata_pool=metadata_pool,
                  data_pool=data_pool, **conn)


def client_present(name, conf=None, keyring=None):
    """
    This host's Ceph client configuration and key, read from the secrets store at the kv path
    ``name`` (where ``eos_ceph.store_client`` put them; the node's token from pillar
    ``eos:vault``): the key never crosses the Salt bus or lands in pillar.

    .. code-block:: yaml

        eos/ceph/client:
          eos_ceph.client_present
    """
    ret = {"name": name, "result": False, "changes": {}, "comment": ""}
    test = bool(__opts__.get("test"))
    res = _state_call(__salt__, __opts__, ret, "eos_ceph.write_client", name, conf=conf,
                      keyring=keyring)
    if res is None:
        return ret
    ret["changes"] = res["changes"]
    ret["result"] = None if test and res["changes"] else True
    ret["comment"] = (f"{res['conf']} and {res['keyring']} "
                      + (("would be written" if test else "written") if res["changes"]
                         else "already match the secrets store"))
    return ret


def osds_absent(name, wait=600, conf=None, keyring=None, client=None, mon_host=None,
                timeout=None):
    """
    No OSD of this host left under the data root ``name``: each one in turn is marked out,
    drained (at most ``wait`` seconds: no PG on it, every PG active+clean), stopped and only
    then purged (``eos_ceph.osd_remove``). The first one that cannot be drained stops the
    state with its error; the rest stay.

    .. code-block:: yaml

        /var/lib/ceph/osd:
          eos_ceph.osds_absent:
            - wait: 1800
    """
    ret = {"name": name, "result": False, "changes": {}, "comment": ""}
    test = bool(__opts__.get("test"))
    conn = _conn(conf, keyring, client, mon_host, timeout)
    done = []
    try:
        for osd in __salt__["eos_ceph.local_osds"](name):
            res = __salt__["eos_ceph.osd_remove"](osd["id"], data_root=name, wait=wait, test=test,
                                                  **conn)
            ret["changes"].update(res["changes"])
            if res["changes"]:
                done.append(f"{res['daemon']} ({res['pgs_at_start']} PGs moved off in "
                            f"{res['drain_ms'] / 1000:.1f} s)" if not test else res["daemon"])
    except CommandExecutionError as exc:
        ret["comment"] = "; ".join(([f"removed {', '.join(done)}"] if done else []) + [str(exc)])
        return ret
    ret["result"] = None if test and ret["changes"] else True
    ret["comment"] = (f"{'would remove' if test else 'drained and removed'} {', '.join(done)}"
                      if done else f"no OSD under {name}")
    return ret
