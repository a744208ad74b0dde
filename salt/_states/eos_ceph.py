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
    try:
        res = __salt__[fn](*args, test=test, **kwargs)
    except CommandExecutionError as exc:
        ret["comment"] = str(exc)
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
