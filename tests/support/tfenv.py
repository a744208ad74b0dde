"""A master for the eos_terraform / eos_nomad / eos_deploy runners in-process (Salt's
RunnerClient with a private master config), components written by the tests, and
before/after snapshots of the trees a failed call must leave untouched."""
import hashlib
import os

import yaml

from tests.support import saltenv


def master_opts(root, extra=None):
    """A private master config under root (pillar in root/pillar, workspaces in root/terraform)."""
    import salt.config

    root = str(root)
    conf = {
        "id": "eos-test-master",
        "root_dir": root, "cachedir": os.path.join(root, "cache"), "pki_dir": os.path.join(root, "pki"),
        "sock_dir": os.path.join(root, "sock"), "log_file": os.path.join(root, "master.log"),
        "pidfile": os.path.join(root, "master.pid"),
        "file_roots": {"base": [saltenv.SALT_TREE]}, "pillar_roots": {"base": [os.path.join(root, "pillar")]},
        "runner_dirs": [os.path.join(saltenv.SALT_TREE, "_runners")],
        "log_level": "warning", "publish_port": 0, "ret_port": 0,
        "eos_terraform_root": os.path.join(root, "terraform"),
        "eos_terraform_components": os.path.join(root, "components"),
    }
    conf.update(extra or {})
    for d in ("cache/proc", "pki/minions", "pki/minions_pre", "pki/minions_rejected", "sock", "pillar",
              "components"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    with open(os.path.join(root, "master"), "w") as f:
        yaml.safe_dump(conf, f)
    return salt.config.master_config(os.path.join(root, "master"))


def run(opts, fun, *args, **kw):
    """One runner call (a client per call: RunnerClient is not thread-safe), full return."""
    import salt.runner

    client = salt.runner.RunnerClient(opts)
    return client.cmd(fun, arg=list(args), kwarg=kw, print_event=False, full_return=True)


def write_pillar(opts, data, name="eos_test"):
    pdir = opts["pillar_roots"]["base"][0]
    top = os.path.join(pdir, "top.sls")
    try:
        with open(top) as f:
            tops = yaml.safe_load(f) or {}
    except FileNotFoundError:
        tops = {}
    every = tops.setdefault("base", {}).setdefault("*", [])
    if name not in every:
        every.append(name)
    with open(top, "w") as f:
        yaml.safe_dump(tops, f)
    with open(os.path.join(pdir, name + ".sls"), "w") as f:
        yaml.safe_dump(data, f)


def write_component(opts, name, files):
    d = os.path.join(opts["eos_terraform_components"], name)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        os.unlink(os.path.join(d, old))
    for fname, text in files.items():
        with open(os.path.join(d, fname), "w") as f:
            f.write(text)
    return d


def snapshot(*roots):
    """Every file, directory and symlink under roots: path -> content hash / link target."""
    seen = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != ".terraform"]
            seen[dirpath] = "dir"
            for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    seen[path] = "-> " + os.readlink(path)
                else:
                    with open(path, "rb") as f:
                        seen[path] = hashlib.sha256(f.read()).hexdigest()
    return seen


VARS = 'variable "environment" { type = string }\nvariable "profile" { type = any }\n'


def resources(names, values=None, fail=(), sleep=None):
    """HCL of terraform_data resources, chained by depends_on so they apply in order; those in
    fail run a local-exec that exits 1."""
    out = [VARS]
    prev = None
    for name in names:
        body = [f'  input = "{(values or {}).get(name, name)}-${{var.environment}}"']
        if prev:
            body.append(f"  depends_on = [terraform_data.{prev}]")
        if name in fail:
            body.append('  provisioner "local-exec" { command = "echo failing on purpose >&2; exit 1" }')
        elif sleep:
            body.append(f'  provisioner "local-exec" {{ command = "sleep {sleep}" }}')
        out.append(f'resource "terraform_data" "{name}" {{\n' + "\n".join(body) + "\n}\n")
        out.append(f'output "{name}" {{ value = terraform_data.{name}.output }}\n')
        prev = name
    return "".join(out)


def ok(ret):
    """The return of a runner call that must have succeeded."""
    assert ret["success"] is True, ret
    return ret["return"]


def err(ret):
    """The error text of a runner call that must have failed."""
    assert ret["success"] is False, ret
    return str(ret["return"])
