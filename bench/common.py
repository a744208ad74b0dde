"""What the bench/bench_*.py scripts share: writing their own section of bench/README.md,
running a tool for its output, and a private workspace of loop devices."""
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(HERE, "README.md")
README_INTRO = (
    "# Benchmarks\n\n`make bench` runs every `bench/bench_*.py` (through `bench/run.py`; "
    "`bench/run.py walk` runs one).\nEach compares eos with what a user would otherwise use, "
    "measured in one run on this machine, and\nrewrites its own section below with the numbers "
    "it got.\n")


def write_section(heading, section, path=README):
    """Put ``section`` (which starts with ``heading``) in place of the part of ``path`` from
    ``heading`` to the next ``## `` heading (one blank line kept before that one), or append it
    when ``heading`` is not there yet."""
    text = open(path).read() if os.path.exists(path) else README_INTRO
    section = section.rstrip("\n") + "\n"
    start = text.find(heading)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + ("\n" + text[end + 1:] if end >= 0 else "")
    with open(path, "w") as f:
        f.write(text)


def run(argv):
    """The standard output of argv; RuntimeError with its stderr when it fails."""
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"{argv!r} failed: {p.stderr.strip()}")
    return p.stdout


@contextlib.contextmanager
def loop_workspace(name):
    """For a bench that makes its own storage: a private mount namespace (entered first, before
    any thread exists), a work directory and a tests.support LoopFactory in it, as (root,
    loops); at the end every loop device, mount and file is gone. SystemExit naming ``name``
    when loop devices or a private namespace are not to be had."""
    from tests.support import blockdev, mountns

    reason = blockdev.loop_skip_reason() or mountns.enter_private_mount_namespace()
    if reason:
        raise SystemExit(f"{name} needs loop devices and a private mount namespace: {reason}")
    root = tempfile.mkdtemp(prefix=f"eos-{name.replace('_', '-')}-")
    loops = blockdev.LoopFactory(root)
    try:
        yield root, loops
    finally:
        errors = loops.cleanup()
        shutil.rmtree(root, ignore_errors=True)
        if errors:
            print(f"cleanup: {errors}", file=sys.stderr)
