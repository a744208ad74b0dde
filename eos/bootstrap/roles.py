"""Waiting for a node's roles: the role states (salt://roles/_role.jinja) put each applied role
into the node's grain ``eos_roles``; it is read locally (``salt-call --local``, no master
round trip), every wait bounded and checked by the caller's ``alive`` probe."""
import json
import time

from eos.bootstrap.proc import BootstrapError, run


def held(lay, mid):
    proc = run([lay.bin("salt-call"), f"--config-dir={lay.conf_dir}", "--local", "--out=json",
                "grains.get", "eos_roles"], timeout=120, check=False)
    try:
        roles = json.loads(proc.stdout)["local"] if proc.returncode == 0 else None
    except (ValueError, KeyError, TypeError):
        roles = None
    return roles if isinstance(roles, list) and roles else None


def wait(lay, mid, timeout, alive, log):
    """The roles of mid once applied; BootstrapError after timeout seconds. alive() raises when
    the master went away (a clear error, not a wait to the end)."""
    deadline = time.monotonic() + timeout
    while True:
        roles = held(lay, mid)
        if roles:
            log(f"{mid} holds its roles: {', '.join(roles)}")
            return roles
        alive()
        if time.monotonic() > deadline:
            raise BootstrapError(f"{mid} got no roles within {timeout:.0f} s; see the master's "
                                 "eos/cluster/join/failed events and its log")
        time.sleep(2)
