"""The ``eos-bootstrap`` command line: master, join, rollback, status. Progress goes to
stderr, the result (JSON) to stdout; exit 0 done, 1 failed, 2 bad arguments, 3 the key is
pending (rerun to continue)."""
import argparse
import json
import os
import re
import socket
import sys

from eos.bootstrap import checkpoint, install
from eos.bootstrap.layout import Layout, default_salt_tree
from eos.bootstrap.proc import BootstrapError

FINGER = re.compile(r"([0-9a-f]{2}:){31}[0-9a-f]{2}\Z")  # sha256, as salt-key -f prints it


def log(msg):
    print(f"eos-bootstrap: {msg}", file=sys.stderr, flush=True)


def _common(p):
    p.add_argument("--root", default="/", help="where the node's files live (default /)")
    p.add_argument("--venv", default="/opt/eos/venv", help="venv with Salt and Eos (made when absent)")
    p.add_argument("--source", default=None, help="the Eos checkout to install (default: this one)")
    p.add_argument("--salt-tree", default=None, help="Eos's salt/ tree (default: next to this package)")
    p.add_argument("--id", default=socket.gethostname(), help="minion id (default: the hostname)")
    p.add_argument("--publish-port", type=int, default=4505)
    p.add_argument("--ret-port", type=int, default=4506)
    p.add_argument("--cluster", default="eos", help="cluster name in SSDP discovery answers")


def parser():
    top = argparse.ArgumentParser(prog="eos-bootstrap", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    m = sub.add_parser("master", help="install and start a salt-master, its minion and salt-api")
    _common(m)
    m.add_argument("--interface", default="0.0.0.0", help="address the master and salt-api bind")
    m.add_argument("--api-port", type=int, default=8000)
    m.add_argument("--discovery", action="store_true", help="answer Salt's SSDP master discovery")
    j = sub.add_parser("join", help="make this machine a minion of an Eos master")
    _common(j)
    j.add_argument("master", nargs="?", help="MASTER[:PORT] (the ret port, default 4506)")
    j.add_argument("--master-fingerprint", required=True, help="the master's key (salt-key -f master.pub)")
    j.add_argument("--auto-discover", action="store_true", help="find the master by Salt's SSDP discovery")
    j.add_argument("--discovery-timeout", type=float, default=3.0)
    j.add_argument("--wait", type=float, default=120.0, help="seconds to wait for acceptance and roles")
    j.add_argument("--max-skew", type=float, default=5.0)
    j.add_argument("--min-free-bytes", type=int, default=1 << 30)
    for name in ("rollback", "status"):
        p = sub.add_parser(name)
        p.add_argument("--root", default="/")
    return top


def _checked(args, top):
    if args.command != "join":
        return
    if not FINGER.match(args.master_fingerprint or ""):
        top.error(f"--master-fingerprint {args.master_fingerprint!r} is not a sha256 fingerprint "
                  "(aa:bb:... 32 pairs, as 'salt-key -f master.pub' prints it)")
    if bool(args.master) == bool(args.auto_discover):
        top.error("give either MASTER[:PORT] or --auto-discover")


def _into_venv(args, lay):
    """Install (or find) the venv, then continue inside it: the later steps need Salt."""
    source = os.path.abspath(args.source or os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    cp = checkpoint.Checkpoints(lay.state_file, args.command)
    if install.ensure(lay.venv, source, log):
        cp.created(lay.venv)
    if not cp.done("install"):
        cp.mark("install", venv=lay.venv)
    if os.path.realpath(sys.prefix) != os.path.realpath(lay.venv):
        python = os.path.join(lay.venv, "bin", "python")
        os.execv(python, [python, "-m", "eos.bootstrap.cli", *sys.argv[1:]])
    return cp


def _run(args):
    if args.command in ("rollback", "status"):
        lay = Layout(args.root, "/")
        state = checkpoint.load(lay.state_file)
        if args.command == "status":
            return state
        if not state:
            raise BootstrapError(f"nothing to roll back: no {lay.state_file}")
        checkpoint.undo(checkpoint.Checkpoints(lay.state_file, state["kind"]), lay.conf_dir, log)
        return {"rolled_back": state["kind"]}
    lay = Layout(args.root, args.venv)
    tree = os.path.abspath(args.salt_tree or default_salt_tree() or "")
    if not os.path.isdir(os.path.join(tree, "_modules")):
        raise BootstrapError(f"no Eos salt/ tree at {tree!r}: give --salt-tree")
    cp = _into_venv(args, lay)
    if args.command == "master":
        from eos.bootstrap.master import Master

        return Master(lay, args, cp, tree, log).run()
    from eos.bootstrap.join import Join, Refused

    try:
        return Join(lay, args, cp, tree, log).run()
    except Refused:
        checkpoint.undo(cp, lay.conf_dir, lambda _msg: None)
        raise


def main(argv=None):
    top = parser()
    args = top.parse_args(argv)
    _checked(args, top)
    try:
        result = _run(args)
    except BootstrapError as exc:
        log(f"failed: {exc}")
        from eos.bootstrap.join import Pending

        return 3 if isinstance(exc, Pending) else 1
    print(json.dumps(result, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
