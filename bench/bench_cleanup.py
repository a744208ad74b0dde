#!/usr/bin/env python3
"""eos_storage.cleanup's C planner and remover vs the command an administrator would run,
`find DIR -xdev -type f -atime +7 -mtime +7` (to list) and the same with `-delete`, on a
generated tree where every other file is old. One run each, in one go; eos in a fresh Python
process (its start-up included). Results go to bench/README.md under
"Cleanup: eos_storage.cleanup vs find".

EOS_BENCH_CLEANUP_FILES=N changes the number of files (default 200000)."""
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

from gen_tree import generate  # noqa: E402
from bench.common import write_section  # noqa: E402

NFILES = int(os.environ.get("EOS_BENCH_CLEANUP_FILES", "200000"))
HEADING = "## Cleanup: eos_storage.cleanup vs find"
OLD = time.time() - 30 * 86400
EOS_SNIPPET = ("import eos, json, sys, time\n"
               "rules = [{'path': sys.argv[1], 'older_than_days': 7}]\n"
               "t = time.perf_counter()\n"
               "plan = eos.cleanup_plan(rules)\n"
               "t_plan = time.perf_counter() - t\n"
               "out = {'plan_s': t_plan, 'files': len(plan['items']), 'bytes': plan['bytes']}\n"
               "if sys.argv[2] == 'apply':\n"
               "    t = time.perf_counter()\n"
               "    out['removed'] = eos.cleanup_apply(plan['items'])['removed']\n"
               "    out['apply_s'] = time.perf_counter() - t\n"
               "print(json.dumps(out))\n")


def age_half(root):
    """Make every other file (and the hard links' targets with them) old: atime and mtime."""
    n = 0
    for d, _, files in os.walk(root):
        for i, name in enumerate(sorted(files)):
            if i % 2 == 0:
                os.utime(os.path.join(d, name), (OLD, OLD))
                n += 1
    return n


def timed(argv, stdout):
    t0 = time.perf_counter()
    with open(stdout, "wb") as out:
        pid = os.posix_spawnp(argv[0], argv, os.environ,
                              file_actions=[(os.POSIX_SPAWN_DUP2, out.fileno(), 1)])
        _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if status:
        raise RuntimeError(f"{argv!r} failed with status {status}")
    return wall, ru.ru_utime + ru.ru_stime


def find_argv(root, delete=False):
    argv = ["find", root, "-xdev", "-type", "f", "-atime", "+7", "-mtime", "+7"]
    return argv + (["-delete"] if delete else ["-printf", "%s\n"])


def main():
    work = tempfile.mkdtemp(prefix="eos-bench-cleanup-")
    out = os.path.join(work, "out")
    try:
        root = os.path.join(work, "tree")
        t = time.perf_counter()
        nfiles, ndirs, _ = generate(root, NFILES)
        old = age_half(root)
        print(f"{nfiles} files in {ndirs} directories, {old} made old, in {time.perf_counter() - t:.0f} s")

        find_list = timed(find_argv(root), out)
        with open(out) as f:
            find_files = sum(1 for _ in f)
        eos_plan = timed([sys.executable, "-c", EOS_SNIPPET, root, "plan"], out)
        with open(out) as f:
            plan = json.load(f)
        assert plan["files"] == find_files, (plan, find_files)

        eos_apply = timed([sys.executable, "-c", EOS_SNIPPET, root, "apply"], out)
        with open(out) as f:
            applied = json.load(f)
        assert applied["removed"] == find_files, applied

        shutil.rmtree(root)
        generate(root, NFILES)
        age_half(root)
        before = sum(len(f) for _, _, f in os.walk(root))
        find_delete = timed(find_argv(root, delete=True), out)
        left = sum(len(f) for _, _, f in os.walk(root))
        assert left == before - find_files, (before, left, find_files)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    load = os.getloadavg()[0]
    rows = [
        ("list what would go (plan)", find_list, eos_plan),
        ("remove it", find_delete, eos_apply),
    ]
    lines = [
        HEADING, "",
        f"`python bench/bench_cleanup.py`: {nfiles:,} files in {ndirs:,} directories in a temporary "
        f"directory, every other file made 30 days old (atime and mtime); rule: older than 7 days. "
        f"find: `find DIR -xdev -type f -atime +7 -mtime +7` with `-printf '%s\\n'` to list, with "
        f"`-delete` to remove (on a fresh copy of the tree); eos: `eos.cleanup_plan` then "
        f"`eos.cleanup_apply` in a fresh Python process, start-up included (the remove row is "
        f"plan and removal together). One run each; {os.cpu_count()} CPUs, load average at the "
        f"start {load:.1f}.", "",
        f"Same selection: {find_files:,} files by both ({plan['bytes']:,} bytes planned).", "",
        "| step | find | eos | ratio (find / eos) | CPU time find / eos |",
        "|---|---|---|---|---|",
    ]
    for name, (fw, fc), (ew, ec) in rows:
        lines.append(f"| {name} | {fw:.2f} s | {ew:.2f} s | **{fw / ew:.2f}x** | {fc:.2f} s / {ec:.2f} s |")
    lines += ["", "eos does more than find for the same selection: every file's open-for-writing "
              "state (one pass over /proc/*/fdinfo), no symlink followed on the way (openat with "
              "O_NOFOLLOW from /), and at removal the device and inode checked again, so a file "
              "replaced since the plan is left alone. find -delete does none of that."]
    write_section(HEADING, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
