#!/usr/bin/env python3
"""top_consumers vs `du -x` on a generated tree of 1,000,000 files (loop-backed XFS when root,
a temporary directory otherwise): time with cold filesystem caches (the filesystem freshly
mounted) and warm, as medians of rounds that alternate the tools (a single warm run swings by
a quarter from one minute to the next on this shared machine), peak memory, and syscalls per
entry from `strace -c -f`. Results go to bench/README.md under "Tree walk: top_consumers vs du -x".

EOS_BENCH_WALK_FILES=N changes the number of files (default 1000000);
EOS_BENCH_WALK_ROUNDS (default 5) and EOS_BENCH_WALK_COLD_ROUNDS (default 3) the rounds."""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

from gen_tree import generate  # noqa: E402
from bench.common import run, write_section  # noqa: E402
from tests.support import mountns  # noqa: E402

NFILES = int(os.environ.get("EOS_BENCH_WALK_FILES", "1000000"))
ROUNDS = int(os.environ.get("EOS_BENCH_WALK_ROUNDS", "5"))
COLD_ROUNDS = int(os.environ.get("EOS_BENCH_WALK_COLD_ROUNDS", "3"))
HEADING = "## Tree walk: top_consumers vs du -x"
EOS_SNIPPET = ("import eos, json, resource, sys, time\n"
               "rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
               "t = time.perf_counter()\n"
               "r = eos.top_consumers(sys.argv[1], 2, 20, threads=int(sys.argv[2]))\n"
               "print(json.dumps({'seconds': time.perf_counter() - t, 'bytes': r['bytes'],"
               " 'files': r['files'], 'dirs': r['dirs'], 'errors': r['errors_total'],"
               " 'rss0': rss0, 'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))\n")


def timed(argv):
    """(wall, CPU, the walk's own wall) of one run; the last is None for du (no start-up to
    tell apart), and for eos the time inside top_consumers, without Python's start-up."""
    t0 = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ,
                          file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null" if argv[0] == "du" else
                                         OUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)])
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if status:
        raise RuntimeError(f"{argv!r} failed with status {status}")
    walk = None
    if argv[0] != "du":
        with open(OUT) as f:
            walk = json.load(f)["seconds"]
    return wall, ru.ru_utime + ru.ru_stime, walk


def medians(runs):
    """The median of each of (wall, CPU, walk) over runs."""
    return tuple(None if r[0] is None else statistics.median(r) for r in zip(*runs))


def strace_counts(argv):
    """{syscall: calls} and total from `strace -c -f`."""
    out = os.path.join(WORK, "strace.txt")
    run(["strace", "-c", "-f", "-o", out, *argv])
    calls, total = {}, 0
    with open(out) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
            if m and m.group(2) != "total":
                calls[m.group(2)] = int(m.group(1))
            m = re.match(r"\s*100\.00\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?total", line)
            if m:
                total = int(m.group(1))
    return calls, total


class Target:
    """A fresh XFS on a loop device (root), or a temporary directory."""

    def __init__(self):
        self.loop = self.mnt = None
        self.kind = "temporary directory on the root filesystem"
        if os.geteuid() == 0 and mountns.enter_private_mount_namespace() is None and shutil.which("mkfs.xfs"):
            self.image = os.path.join(WORK, "walk.img")
            with open(self.image, "wb") as f:
                f.truncate(max(2 << 30, NFILES * 6000))
            self.loop = run(["losetup", "-f", "--show", self.image]).strip()
            run(["mkfs.xfs", "-q", "-f", self.loop])
            self.mnt = os.path.join(WORK, "mnt")
            os.mkdir(self.mnt)
            self.mount()
            self.kind = "loop-backed XFS (image in the page cache of the host filesystem)"
            self.root = os.path.join(self.mnt, "tree")
        else:
            self.root = os.path.join(WORK, "tree")

    def mount(self):
        run(["mount", self.loop, self.mnt])

    def drop_caches(self):
        """Unmount and mount again: the filesystem's dentries and inodes are gone."""
        if self.loop:
            run(["umount", self.mnt])
            self.mount()
            return True
        return False

    def cleanup(self):
        if self.loop:
            subprocess.run(["umount", self.mnt], capture_output=True)
            subprocess.run(["losetup", "-d", self.loop], capture_output=True)


def write_readme(section):
    write_section(HEADING, section)


def main():
    global WORK, OUT
    WORK = tempfile.mkdtemp(prefix="eos-bench-walk-")
    OUT = os.path.join(WORK, "eos.json")
    target = Target()
    try:
        t = time.perf_counter()
        nfiles, ndirs, nlinks = generate(target.root, NFILES)
        gen_s = time.perf_counter() - t
        print(f"generated {nfiles} files in {ndirs} directories on {target.kind} in {gen_s:.1f} s")
        eos_argv = [sys.executable, "-c", EOS_SNIPPET, target.root, "0"]   # default threads
        eos1_argv = [sys.executable, "-c", EOS_SNIPPET, target.root, "1"]
        du_argv = ["du", "-x", "-B1", "-s", target.root]

        load0 = os.getloadavg()[0]
        cold = {}
        runs = {"du": [], "eos": []}
        for _ in range(COLD_ROUNDS if target.loop else 0):
            target.drop_caches()
            runs["du"].append(timed(du_argv))
            target.drop_caches()
            runs["eos"].append(timed(eos_argv))   # leaves the caches warm for what follows
        if runs["du"]:
            cold = {k: medians(v) for k, v in runs.items()}
        runs = {"du": [], "eos1": [], "eos": []}
        for _ in range(ROUNDS):          # eos last: its default run's result stays in OUT
            runs["du"].append(timed(du_argv))
            runs["eos1"].append(timed(eos1_argv))
            runs["eos"].append(timed(eos_argv))
        med = {k: medians(v) for k, v in runs.items()}
        warm = {"du": med["du"], "eos": med["eos"]}
        single = {"du": med["du"], "eos": med["eos1"]}
        load1 = os.getloadavg()[0]
        with open(OUT) as f:
            res = json.load(f)
        du_bytes = int(run(du_argv).split()[0])
        exact = res["bytes"] == du_bytes and res["errors"] == 0
        eos_calls, eos_total = strace_counts(eos_argv)
        du_calls, du_total = strace_counts(du_argv)
        py_calls, py_total = strace_counts([sys.executable, "-c", "import eos"])
        entries = res["files"] + nlinks + res["dirs"]   # every name statx'ed, hard links included

        def per(n):
            return n / entries

        walk_total = eos_total - py_total
        rows = []
        for name in sorted(set(eos_calls) | set(du_calls), key=lambda k: -max(eos_calls.get(k, 0), du_calls.get(k, 0))):
            e = eos_calls.get(name, 0) - py_calls.get(name, 0)
            d = du_calls.get(name, 0)
            if max(e, d) >= entries // 1000:
                rows.append(f"| {name} | {max(e, 0)} | {d} |")
        lines = [HEADING, "",
                 f"`python bench/bench_walk.py`: {nfiles:,} files in {ndirs:,} directories "
                 f"(plus {nlinks:,} hard links), generated on a {target.kind} in {gen_s:.0f} s. "
                 f"Medians of {ROUNDS} warm rounds and {COLD_ROUNDS if cold else 0} cold ones, each "
                 f"round running du then eos; {os.cpu_count()} CPUs, load average "
                 f"{load0:.1f} at the start and {load1:.1f} at the end of the timed runs (other work "
                 f"shares this machine). eos: `eos.top_consumers(root, 2, 20)` in a fresh Python "
                 f"process (its start-up included; the walk's own time in brackets); "
                 f"du: `du -x -B1 -s root`.",
                 "",
                 f"Exact: eos {res['bytes']:,} bytes, du {du_bytes:,} bytes: "
                 f"{'identical' if exact else 'DIFFERENT'}.",
                 "",
                 "| run | du -x | eos top_consumers | ratio (du / eos) | CPU time du / eos |",
                 "|---|---|---|---|---|"]
        for label, m in (("cold (fs just mounted)", cold), ("warm", warm),
                         ("warm, eos with 1 thread", single)):
            if m:
                lines.append(f"| {label} | {m['du'][0]:.2f} s | {m['eos'][0]:.2f} s ({m['eos'][2]:.2f} s) | "
                             f"**{m['du'][0] / m['eos'][0]:.2f}x** | {m['du'][1]:.2f} s / {m['eos'][1]:.2f} s |")
        lines += ["",
                  f"Memory: the eos process peaked at {res['rss'] / 1024:.0f} MiB RSS, Python included "
                  f"({res['rss0'] / 1024:.0f} MiB before the walk): the walker keeps only the "
                  f"directories in flight, the top lists and the hard-linked inodes, not the tree. "
                  f"eos walks with its default thread count ({min(16, 4 * os.cpu_count())} threads: 4 per "
                  f"CPU, since the walk waits on metadata reads); du is single-threaded. Warm runs are "
                  f"CPU-bound and spent almost all in the kernel: both tools make one stat call per "
                  f"entry (eos statx, du fstatat, which cost the kernel the same), so eos's CPU time "
                  f"can only undercut du's by du's own user-space share, and its wall-time gain comes "
                  f"from the second CPU, when that one is free (see the load average); the cold run "
                  f"waits on metadata reads, where parallel directory walks help most.",
                  "",
                  f"Syscalls per entry (`strace -c -f`, {entries:,} entries = files, extra hard links and directories; "
                  f"the minimum is 1, one statx each): **eos {per(walk_total):.3f}**, du {per(du_total):.3f} "
                  f"(eos's count has Python's own start-up, {py_total} calls, taken off).",
                  "",
                  "| syscall | eos | du |", "|---|---|---|", *rows, ""]
        section = "\n".join(lines) + "\n"
        print(section)
        write_readme(section)
        return 0 if exact else 1
    finally:
        target.cleanup()
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
