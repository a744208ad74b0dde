"""Real Salt for tests: a private minion config for `salt-call --local` and for in-process
loaders, with this repository's salt/ tree as file_roots and extension dirs."""
import json
import os
import subprocess
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SALT_TREE = os.path.join(REPO, "salt")
VENV_BIN = os.path.dirname(sys.executable)


def minion_config(root, extra=None):
    """Write a local minion config under root and return its directory."""
    confdir = os.path.join(root, "conf")
    os.makedirs(confdir, exist_ok=True)
    opts = {
        "id": "eos-test-minion",
        "root_dir": root,
        "pki_dir": os.path.join(root, "pki"),
        "cachedir": os.path.join(root, "cache"),
        "sock_dir": os.path.join(root, "sock"),
        "log_file": os.path.join(root, "minion.log"),
        "pidfile": os.path.join(root, "minion.pid"),
        "file_client": "local",
        "file_roots": {"base": [SALT_TREE]},
        "pillar_roots": {"base": [os.path.join(root, "pillar")]},
        "module_dirs": [os.path.join(SALT_TREE, "_modules")],
        "states_dirs": [os.path.join(SALT_TREE, "_states")],
        "grains_dirs": [os.path.join(SALT_TREE, "_grains")],
        "beacons_dirs": [os.path.join(SALT_TREE, "_beacons")],
        "runner_dirs": [os.path.join(SALT_TREE, "_runners")],
        "log_level": "warning",
        "log_level_logfile": "info",
        "enable_fqdns_grains": False,
        "grains_cache": False,
        # The state root of expand and convert (journals, locks): private to this config.
        "eos": {"storage": {"state_dir": os.path.join(root, "state")}},
    }
    opts.update(extra or {})
    os.makedirs(os.path.join(root, "pillar"), exist_ok=True)
    with open(os.path.join(confdir, "minion"), "w") as f:
        yaml.safe_dump(opts, f)
    return confdir


def master_opts(root):
    """A private master config under root (for in-process RunnerClient calls, no daemon), with
    this tree's runners and a pillar root at root/pillar; returns Salt's parsed opts."""
    import salt.config

    conf = {
        "root_dir": root, "cachedir": os.path.join(root, "cache"),
        "pki_dir": os.path.join(root, "pki"), "sock_dir": os.path.join(root, "sock"),
        "log_file": os.path.join(root, "master.log"), "pidfile": os.path.join(root, "master.pid"),
        "file_roots": {"base": [SALT_TREE]}, "pillar_roots": {"base": [os.path.join(root, "pillar")]},
        "runner_dirs": [os.path.join(SALT_TREE, "_runners")],
        "log_level": "warning", "publish_port": 0, "ret_port": 0,
    }
    for d in ("pillar", "cache/proc", "pki/minions", "pki/minions_pre", "pki/minions_rejected", "sock"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    with open(os.path.join(root, "master"), "w") as f:
        yaml.safe_dump(conf, f)
    return salt.config.master_config(os.path.join(root, "master"))


def write_pillar(confdir, data):
    """Make `data` the whole pillar of the local minion."""
    with open(os.path.join(confdir, "minion")) as f:
        opts = yaml.safe_load(f)
    pdir = opts["pillar_roots"]["base"][0]
    with open(os.path.join(pdir, "top.sls"), "w") as f:
        yaml.safe_dump({"base": {"*": ["eos"]}}, f)
    with open(os.path.join(pdir, "eos.sls"), "w") as f:
        yaml.safe_dump(data, f)


class SaltCallResult:
    def __init__(self, proc, data):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.data = data

    def __repr__(self):
        return f"SaltCallResult(rc={self.returncode}, data={self.data!r}, stderr={self.stderr[-2000:]!r})"


def salt_call(confdir, *args, env=None, timeout=120):
    """Run `salt-call --local` with JSON output; return rc, parsed 'local' data and stderr."""
    argv = [os.path.join(VENV_BIN, "salt-call"), "--local", f"--config-dir={confdir}",
            "--out=json", "--retcode-passthrough", *map(str, args)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    data = None
    if proc.stdout.strip():
        try:
            data = json.loads(proc.stdout)["local"]
        except (ValueError, KeyError):
            data = proc.stdout
    return SaltCallResult(proc, data)


def reactor_master_overrides(**extra):
    """Master config overrides as README says to set up a master: this tree as file_roots and
    runner_dirs, the reactors wired as salt/reactor/eos_reactor.conf wires them."""
    with open(os.path.join(SALT_TREE, "reactor", "eos_reactor.conf")) as f:
        wiring = yaml.safe_load(f)
    return {"interface": "127.0.0.1", "file_roots": {"base": [SALT_TREE]},
            "runner_dirs": [os.path.join(SALT_TREE, "_runners")], "log_level_logfile": "info",
            **wiring, **extra}
