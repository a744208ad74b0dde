"""Minion keys for tests of key acceptance: a minion config whose key pair is made before the
minion ever talks to the master (so the test knows its fingerprint, as an operator who
registers it out of band would), and a knock: one real salt-call that sends the key to the
master (a pending key there, and a salt/auth event)."""
import os
import subprocess

import yaml

from tests.support.saltenv import VENV_BIN


def pregenerate(pki_dir, hash_type):
    """Make the minion's key pair in pki_dir (a minion keeps an existing one); returns its
    fingerprint, as ``salt-call --local key.finger`` prints it."""
    import salt.crypt
    import salt.utils.crypt

    os.makedirs(pki_dir, mode=0o700, exist_ok=True)
    priv, pub = salt.crypt.gen_keys(2048)
    fd = os.open(os.path.join(pki_dir, "minion.pem"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as f:
        f.write(priv)
    with open(os.path.join(pki_dir, "minion.pub"), "w") as f:
        f.write(pub)
    return salt.utils.crypt.pem_finger(path=os.path.join(pki_dir, "minion.pub"), sum_type=hash_type)


def minion_with_key(root, mid, master):
    """A minion config under root for the master factory; returns (confdir, fingerprint)."""
    pki = os.path.join(root, "pki")
    finger = pregenerate(pki, master.config["hash_type"])
    confdir = os.path.join(root, "conf")
    os.makedirs(confdir, exist_ok=True)
    opts = {
        "id": mid, "master": "127.0.0.1", "master_port": master.config["ret_port"],
        "publish_port": master.config["publish_port"], "root_dir": root, "pki_dir": pki,
        "cachedir": os.path.join(root, "cache"), "sock_dir": os.path.join(root, "sock"),
        "log_file": os.path.join(root, "minion.log"), "log_level_logfile": "info",
        "acceptance_wait_time": 1, "auth_tries": 1, "auth_timeout": 10, "enable_fqdns_grains": False,
    }
    with open(os.path.join(confdir, "minion"), "w") as f:
        yaml.safe_dump(opts, f)
    return confdir, finger


def knock(confdir, timeout=60):
    """One salt-call test.ping: authenticates (the key becomes pending, or is used when
    accepted). Returns the CompletedProcess; a pending key makes it fail, which is expected."""
    return subprocess.run([os.path.join(VENV_BIN, "salt-call"), f"--config-dir={confdir}",
                           "--out=json", "test.ping"], capture_output=True, text=True, timeout=timeout)
