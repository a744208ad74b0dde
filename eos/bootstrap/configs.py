"""The Salt configuration Eos writes: the master (file_roots on Eos's salt/ tree, pillar_roots,
the reactors of salt/reactor/eos_reactor.conf, peer_run, optional SSDP discovery, salt-api
rest_cherrypy with TLS and Salt's ``file`` eauth), the minions, the eauth users and the first
pillar. Every file is written atomically; YAML is written as JSON (a subset of YAML), so no
value can change the structure."""
import hashlib
import json
import os
import secrets

from eos.glue import save_json

DISCOVERY_PORT = 4520   # Salt's SSDP port; its minion-side client always uses this one
API_USERS = {
    # A node registers itself (the webhook needs any valid token) and reads the cluster info.
    "eos-node": [{"@runner": ["eos_cluster.info"]}],
    # An operator: cluster info, role calculation and key acceptance, nothing else.
    "eos-operator": [{"@runner": ["eos_cluster.info", "eos_roles.calculate", "eos_roles.accept_key"]}],
}


def write(path, data, mode=0o644):
    """data as JSON (valid YAML) at path, atomically; returns path."""
    save_json(path, data)
    os.chmod(path, mode)
    return path


def reactor_wiring(tree):
    """The reactors and the master's schedule (eos_roles.reconcile) as the tree wires them."""
    import salt.utils.yaml

    wiring = {}
    for name in ("eos_reactor.conf", "eos_schedule.conf"):
        with open(os.path.join(tree, "reactor", name), encoding="utf-8") as f:
            wiring.update(salt.utils.yaml.safe_load(f))
    return wiring


def common(lay, role):
    return {"root_dir": lay.root, "user": "root", "pki_dir": lay.pki(role),
            "cachedir": lay.cache(role), "sock_dir": lay.sock(role),
            "log_file": lay.log(role), "log_level_logfile": "info"}


def master(lay, opts, tree):
    conf = {**common(lay, "master"), **reactor_wiring(tree),
            "id": f"{opts.id}-master", "interface": opts.interface,
            "publish_port": opts.publish_port, "ret_port": opts.ret_port,
            "key_logfile": lay.log("key"), "auto_accept": False,
            "fileserver_backend": ["roots"], "file_roots": {"base": [tree]},
            "pillar_roots": {"base": [lay.pillar_dir]},
            "rest_cherrypy": {"host": opts.interface, "port": opts.api_port,
                              "ssl_crt": os.path.join(lay.eos_dir, "tls", "api.crt"),
                              "ssl_key": os.path.join(lay.eos_dir, "tls", "api.key"),
                              "webhook_url": "/hook", "webhook_disable_auth": False},
            # salt-api answers runner calls only (each limited further by eauth): no local/wheel/ssh
            "netapi_enable_clients": ["runner"],
            "api_logfile": lay.log("api"), "api_pidfile": lay.pidfile("salt-api"),
            "external_auth": {"file": {"^filename": os.path.join(lay.eos_dir, "api-users"),
                                       "^filetype": "text", "^hashtype": "sha256", **API_USERS}}}
    if opts.discovery:
        conf["discovery"] = {"port": DISCOVERY_PORT, "mapping": {"eos-cluster": opts.cluster}}
    return write(os.path.join(lay.conf_dir, "master"), conf)


def minion(lay, mid, master_addr, ret_port, publish_port, finger=None, extra=None):
    conf = {**common(lay, "minion"), "id": mid, "master": master_addr, "master_port": ret_port,
            "publish_port": publish_port, "enable_fqdns_grains": False,
            "acceptance_wait_time": 2, "random_reauth_delay": 0, "auth_timeout": 10,
            **({"master_finger": finger} if finger else {}), **(extra or {})}
    return write(os.path.join(lay.conf_dir, "minion"), conf)


def api_users(lay):
    """The eauth users file (user:sha256 lines) and, next to it, the clear passwords for the
    operator (0600, root only); kept when both exist."""
    users = os.path.join(lay.eos_dir, "api-users")
    clear = os.path.join(lay.eos_dir, "api-credentials.json")
    if os.path.exists(users) and os.path.exists(clear):
        return users, clear
    passwords = {user: secrets.token_urlsafe(24) for user in API_USERS}
    write(clear, passwords, mode=0o600)
    lines = "".join(f"{u}:{hashlib.sha256(p.encode()).hexdigest()}\n" for u, p in passwords.items())
    tmp = users + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(lines)
    os.replace(tmp, users)
    return users, clear


def pillar(lay, node_count=1):
    """top.sls and eos.sls (cluster settings; an operator adds eos:cluster:expected_keys),
    written only when absent: the operator owns them afterwards."""
    written = []
    files = {"top.sls": {"base": {"*": ["eos"]}},
             "eos.sls": {"eos": {"cluster": {"node_count": node_count, "auto_accept": True,
                                             "expected_keys": {}}}}}
    for name, data in files.items():
        path = os.path.join(lay.pillar_dir, name)
        if not os.path.exists(path):
            written.append(write(path, data, mode=0o640))
    return written
