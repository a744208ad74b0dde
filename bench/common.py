"""What the bench/bench_*.py scripts share: writing their own section of bench/README.md and
running a tool for its output."""
import os
import subprocess

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
