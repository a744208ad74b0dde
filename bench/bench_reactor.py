#!/usr/bin/env python3
"""The threshold reactor's cost per event on the master: salt/reactor/storage_threshold.sls
rendered through Salt's own renderer pipeline (salt.template.compile_template with the
master's renderers, as the Reactor does) for a normal, signed event and for hostile ones, and
the previous Jinja version of the reactor (no checks, no signature: what the project shipped
before) on the same normal event.

A real RSA key pair stands in for the minion's Salt key (its public half where the master keeps
accepted keys). Medians of rounds; results go to bench/README.md under "Reactor: cost of a
hostile event". EOS_BENCH_REACTOR_N=N renders per round, EOS_BENCH_REACTOR_ROUNDS rounds."""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

from bench.common import write_section  # noqa: E402

N = int(os.environ.get("EOS_BENCH_REACTOR_N", "200"))
ROUNDS = int(os.environ.get("EOS_BENCH_REACTOR_ROUNDS", "7"))
HEADING = "## Reactor: cost of a hostile event"
REACTOR = os.path.join(REPO, "salt", "reactor", "storage_threshold.sls")
JINJA_COMMIT = "9eb0477"  # the last commit with the Jinja reactor
MID = "eos-bench-minion"
TAG = "eos/storage/threshold/degraded"


def master_opts(root):
    import salt.config

    opts = salt.config.apply_master_config({
        "root_dir": root, "pki_dir": os.path.join(root, "pki"), "cachedir": os.path.join(root, "cache"),
        "sock_dir": os.path.join(root, "sock"), "log_file": os.path.join(root, "master.log"),
        "file_roots": {"base": [os.path.join(REPO, "salt")]}})
    os.makedirs(os.path.join(opts["pki_dir"], "minions"), exist_ok=True)
    return opts


def minion_key(root, opts):
    """A minion key pair: the private half for signing, the public one accepted on the master."""
    import salt.crypt

    priv, pub = salt.crypt.gen_keys(2048)
    mpki = os.path.join(root, "minion-pki")
    os.makedirs(mpki)
    with open(os.path.join(mpki, "minion.pem"), "w") as f:
        f.write(priv)
    with open(os.path.join(opts["pki_dir"], "minions", MID), "w") as f:
        f.write(pub)
    return {"pki_dir": mpki, "id": MID}


def events_to_render(minion):
    from eos import events

    figures = {"target": "/srv", "level": "degraded", "previous": "ok", "used_pct": 82.0,
               "inodes_pct": 1.0}
    signed = events.sign(minion, TAG, figures)

    def env(mid, payload):
        return {"id": mid, "tag": TAG, "data": payload, "cmd": "_minion_event"}

    return {
        "normal (signed, acted on)": (env(MID, signed), 2),
        "1 MB target (dropped: length)": (env(MID, dict(signed, target="A" * (1 << 20))), 0),
        "YAML in used_pct (dropped: type)": (env(MID, dict(signed, used_pct="82\n  x: {y: z}")), 0),
        "forged envelope (dropped: signature)": (env("eos-other-minion", dict(signed)), 0),
        "glob id `*` (dropped: id)": (env("*", signed), 0),
    }


def medians_per_render(cases):
    """{name: median seconds per render}; each round times every case in turn, so that a change
    of the machine's load during the run falls on all of them alike."""
    rounds = {name: [] for name in cases}
    for fn in cases.values():
        fn()
    for _ in range(ROUNDS):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            for _ in range(N):
                fn()
            rounds[name].append((time.perf_counter() - t0) / N)
    return {name: statistics.median(r) for name, r in rounds.items()}


def main():
    import logging

    import salt.loader
    import salt.minion
    import salt.template

    logging.getLogger("eos.reactor").setLevel(logging.ERROR)  # a warning per dropped event
    work = tempfile.mkdtemp(prefix="eos-bench-reactor-")
    try:
        opts = master_opts(work)
        minion = minion_key(work, opts)
        rend = salt.loader.render(opts, salt.minion.MasterMinion(opts).functions)
        old = os.path.join(work, "storage_threshold_jinja.sls")
        with open(old, "w") as f:
            f.write(subprocess.run(["git", "-C", REPO, "show", f"{JINJA_COMMIT}:salt/reactor/storage_threshold.sls"],
                                   capture_output=True, text=True, check=True).stdout)

        def render(path, data):
            return salt.template.compile_template(
                path, rend, opts["renderer"], opts["renderer_blacklist"], opts["renderer_whitelist"],
                tag=TAG, data=data)

        load = os.getloadavg()[0]
        cases, normal = {}, None
        for name, (data, reactions) in events_to_render(minion).items():
            got = render(REACTOR, data)
            assert len(got) == reactions, (name, got)
            cases[name] = lambda d=data: render(REACTOR, d)
            normal = normal or data
        assert len(render(old, normal)) == 2
        cases["jinja"] = lambda: render(old, normal)
        ms = {name: t * 1e3 for name, t in medians_per_render(cases).items()}
        jinja_ms = ms.pop("jinja")
        normal_ms = next(iter(ms.values()))
        rows = [f"| {name} | {t:.3f} ms | {t / normal_ms:.2f} |" for name, t in ms.items()]
        print("\n".join(rows), f"\njinja reactor {jinja_ms:.3f} ms")
        write_section(HEADING, "\n".join([
            HEADING, "",
            f"`python bench/bench_reactor.py`: `salt/reactor/storage_threshold.sls` (`#!py`) rendered "
            f"through Salt's renderer pipeline (`salt.template.compile_template`, the master's "
            f"renderers, as the Reactor does) for a `{TAG}` event; median of {ROUNDS} rounds of {N} "
            f"renders each, one process. {os.cpu_count()} CPUs, load average at the start "
            f"{load:.1f} (other work shares this machine).", "",
            "| event | per render | ratio to the normal event |", "|---|---|---|", *rows, "",
            f"The previous Jinja reactor (commit {JINJA_COMMIT}: no type checks, no signature, "
            f"glob targeting) renders the same normal event in {jinja_ms:.3f} ms: the `#!py` "
            f"reactor, checks and signature verification included, takes **{normal_ms / jinja_ms:.2f}x** "
            f"its time ({jinja_ms / normal_ms:.1f} times faster; Salt's Jinja and YAML pass is what "
            "it saves). A hostile event is dropped before the signature is checked when its id, "
            "shape or sizes are wrong; a forged envelope costs one RSA verification. The costliest "
            f"hostile event here takes {max(list(ms.values())[1:]) / normal_ms:.2f}x a normal one.",
        ]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
