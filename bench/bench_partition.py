#!/usr/bin/env python3
"""Benchmark: `eos_storage.expand` through a partition against `growpart` (cloud-guest-utils)
followed by `xfs_growfs`, what a user of a cloud image would otherwise run.

Each side has its own loop disk with a GPT and a mounted XFS on its one partition. A repetition
grows both backing files by 64 MiB (untimed), then times, alternating sides:
- eos: eos_storage.expand(mount): loop_capacity, part_grow (libfdisk + BLKPG), xfs_grow;
- the usual way: cmd.run `losetup -c`, cmd.run `growpart DISK 1`, cmd.run `xfs_growfs MNT`.
Both run in this process through Salt's loader. After each repetition the partitions and the
filesystems of both sides must be the same size (the same result). ROUNDS rounds of REPS
repetitions; each round's medians and load average are kept, the table gives the median of
the rounds' ratios. Results go to bench/README.md under HEADING."""
import os
import shutil
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

from bench.bench_expand import check, salt_modules, timed, xfs_bytes  # noqa: E402
from bench.common import loop_workspace, write_section  # noqa: E402

ROUNDS = int(os.environ.get("EOS_BENCH_PART_ROUNDS", "3"))
REPS = int(os.environ.get("EOS_BENCH_PART_REPS", "5"))
HEADING = "## partition: eos_storage.expand vs growpart + xfs_growfs"
MiB = 1 << 20
START = 324 * MiB


def part_size(part):
    with open(f"/sys/class/block/{os.path.basename(part.device)}/size") as f:
        return int(f.read()) * 512


def setup_side(loops):
    disk, (part,) = loops.partitioned(START, "gpt", [None], "xfs")
    return disk, part, loops.mount(part)


def one_round(mods, eos, loops):
    sides = {"eos": setup_side(loops), "growpart": setup_side(loops)}
    times = {side: [] for side in sides}
    for i in range(REPS):
        size = START + 64 * MiB * (i + 1)
        for side, (disk, part, mnt) in sides.items():
            disk.grow_backing(size)
            if side == "eos":
                t = timed(lambda: mods["eos_storage.expand"](mnt))
            else:
                def usual_way():
                    for argv in (["losetup", "-c", disk.device], ["growpart", disk.device, "1"],
                                 ["xfs_growfs", mnt]):
                        r = mods["cmd.run_all"](argv, python_shell=False)
                        check(r["retcode"] == 0, f"{argv} failed: {r}")
                t = timed(usual_way)
            times[side].append(t)
        sizes = {side: (part_size(part), xfs_bytes(eos, mnt)) for side, (_, part, mnt) in sides.items()}
        check(sizes["eos"] == sizes["growpart"], f"different results: {sizes}")
        check(sizes["eos"][0] > size - 2 * MiB, f"partition not grown to the disk: {sizes}")
    for disk, part, mnt in sides.values():
        loops.umount(mnt)
    return {side: statistics.median(t) for side, t in times.items()}


def write_readme(rounds):
    ms = lambda v: f"{v * 1000:.1f} ms"  # noqa: E731
    lines = [HEADING, "",
             f"`python bench/bench_partition.py`: {ROUNDS} rounds of {REPS} repetitions per side, "
             "alternating; each repetition grows a GPT loop disk by 64 MiB under a mounted XFS on "
             "its one partition, and both sides must end with the same partition and filesystem "
             "sizes. Both sides in-process through Salt's loader; 2 CPUs shared with other work.", "",
             "| round | load average | growpart + xfs_growfs (median) | eos_storage.expand (median) | ratio |",
             "|---|---|---|---|---|"]
    for i, (load, m) in enumerate(rounds, 1):
        lines.append(f"| {i} | {load:.1f} | {ms(m['growpart'])} | {ms(m['eos'])} | "
                     f"{m['growpart'] / m['eos']:.2f}x |")
    ratio = statistics.median(m["growpart"] / m["eos"] for _, m in rounds)
    lines += ["", f"Median of the rounds' ratios (usual way / eos): **{ratio:.2f}x**. The usual way "
              "is `cmd.run losetup -c; cmd.run growpart DISK 1; cmd.run xfs_growfs MNT` (growpart "
              "is a shell script that starts sfdisk, partx, flock and more); eos does the same in "
              "one process (LOOP_SET_CAPACITY, libfdisk, BLKPG_RESIZE_PARTITION, "
              "XFS_IOC_FSGROWFSDATA) and adds the plan, the lock and the journal.", ""]
    section = "\n".join(lines) + "\n"
    write_section(HEADING, section)
    print(section)


def main():
    with loop_workspace("bench_partition") as (root, loops):
        if not shutil.which("growpart"):
            raise SystemExit("bench_partition: growpart is missing (Debian cloud-guest-utils)")
        import eos

        mods = salt_modules(os.path.join(root, "salt"))
        check("eos_storage.expand" in mods, "salt module eos_storage missing")
        rounds = [(os.getloadavg()[0], one_round(mods, eos, loops)) for _ in range(ROUNDS)]
        write_readme(rounds)

if __name__ == "__main__":
    main()
