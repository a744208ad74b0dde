#!/usr/bin/env python3
"""convert's copy (eos.copy_tree) vs `cp -a` and `rsync -aHAX` on the same tree, from a
loop-backed XFS onto a loop-backed BTRFS mounted compress=zstd; plus the compression ratio.
Writes the section "Convert copy: eos.copy_tree vs cp -a and rsync -aHAX" of bench/README.md.
Needs root (loop devices, mounts in a private mount namespace)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import eos  # noqa: E402
from bench.common import write_section  # noqa: E402
from tests.support import mountns  # noqa: E402

MiB = 1 << 20
HEADING = "## Convert copy: eos.copy_tree vs cp -a and rsync -aHAX"


def sh(argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def make_tree(root):
    """20,000 small text files in 200 directories, 40 files of 1 MiB (half text, half random),
    2,000 hard links, 1,000 symlinks, 20 sparse files of 64 MiB with 1 MiB of data, xattrs."""
    counts = {"files": 0, "bytes": 0}
    for d in range(200):
        dp = os.path.join(root, f"dir{d:03d}")
        os.mkdir(dp)
        for f in range(100):
            data = (f"{d} {f} eos bench line of compressible text\n" * (20 + (f * 7) % 80)).encode()
            p = os.path.join(dp, f"file {f:03d}.txt")
            with open(p, "wb") as fh:
                fh.write(data)
            if f % 10 == 0:
                os.link(p, os.path.join(dp, f"hard {f:03d}"))
                os.setxattr(p, "user.eos.bench", b"x" * 32)
            if f % 20 == 0:
                os.symlink(f"file {f:03d}.txt", os.path.join(dp, f"link {f:03d}"))
            counts["files"] += 1
            counts["bytes"] += len(data)
    big = os.path.join(root, "big")
    os.mkdir(big)
    for i in range(40):
        with open(os.path.join(big, f"b{i:02d}"), "wb") as fh:
            fh.write(os.urandom(MiB) if i % 2 else (b"0123456789abcdef" * 65536))
        counts["bytes"] += MiB
    for i in range(20):
        with open(os.path.join(big, f"sparse{i:02d}"), "wb") as fh:
            fh.truncate(64 * MiB)
            fh.seek(32 * MiB)
            fh.write(os.urandom(MiB))
    return counts


def timed(argv_or_fn):
    t0 = time.monotonic()
    c0 = os.times()
    if callable(argv_or_fn):
        argv_or_fn()
    else:
        subprocess.run(argv_or_fn, check=True, capture_output=True)
    c1 = os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system) + (c1.children_user - c0.children_user) + \
        (c1.children_system - c0.children_system)
    return time.monotonic() - t0, cpu


def allocated(path):
    out = sh(["du", "-s", "-B1", path])
    return int(out.split()[0])


def main():
    if os.geteuid() != 0:
        print("bench_convert needs root (loop devices and mounts)")
        return 1
    for tool in ("rsync", "cp", "mkfs.xfs", "mkfs.btrfs"):
        if not shutil.which(tool):
            print(f"bench_convert needs {tool} (Debian package in scripts/debian-packages.txt)")
            return 1
    reason = mountns.enter_private_mount_namespace()
    if reason:
        print(f"bench_convert: {reason}")
        return 1
    work = tempfile.mkdtemp(prefix="eos-bench-convert-")
    loops = []
    try:
        src_img, dst_img = os.path.join(work, "src.img"), os.path.join(work, "dst.img")
        for img, size in ((src_img, 2048 * MiB), (dst_img, 2048 * MiB)):
            with open(img, "wb") as f:
                f.truncate(size)
            loops.append(sh(["losetup", "-f", "--show", img]).strip())
        src_dev, dst_dev = loops
        sh(["mkfs.xfs", "-q", "-f", src_dev])
        sh(["mkfs.btrfs", "-q", "-f", dst_dev])
        src, dst = os.path.join(work, "src"), os.path.join(work, "dst")
        os.mkdir(src)
        os.mkdir(dst)
        sh(["mount", src_dev, src])
        sh(["mount", "-o", "compress=zstd", dst_dev, dst])
        t = time.monotonic()
        counts = make_tree(src)
        gen = time.monotonic() - t
        os.sync()
        load = os.getloadavg()[0]

        def fresh(name):
            sub = os.path.join(dst, name)
            eos.btrfs_subvolume_create(sub)
            return sub

        # Warm the page cache for everyone alike: one untimed copy first.
        warm = fresh("warm")
        eos.copy_tree(src, warm)
        eos.btrfs_subvolume_delete(warm)

        results = {}
        stats = {}
        for name in ("eos", "cp", "rsync"):
            out = fresh(name)
            if name == "eos":
                wall, cpu = timed(lambda: stats.update(eos.copy_tree(src, out)))
            elif name == "cp":
                # cp -a copies the contents of src/. into out
                wall, cpu = timed(["cp", "-a", src + "/.", out])
            else:
                wall, cpu = timed(["rsync", "-aHAX", src + "/", out + "/"])
            os.sync()
            try:
                eos.copy_verify(src, out)
                exact = "yes"
            except OSError as exc:
                exact = re.sub(r"^\[Errno \d+\] ", "", str(exc)).split(": '")[0]
                exact = "no: " + exact.replace(out, "<copy>").replace(src, "<src>")
            results[name] = {"wall": wall, "cpu": cpu, "exact": exact, "allocated": allocated(out)}
            if name != "eos":
                eos.btrfs_subvolume_delete(out)
        os.sync()
        sh(["btrfs", "subvolume", "sync", dst])  # let the cleaner free the deleted copies
        usage = eos.btrfs_usage(dst)
        comp = None
        if shutil.which("compsize"):
            total = next(line.split() for line in sh(["compsize", "-b", os.path.join(dst, "eos")]).splitlines()
                         if line.startswith("TOTAL"))
            comp = {"disk": int(total[2]), "uncompressed": int(total[3])}
        apparent = int(sh(["du", "-s", "-B1", "--apparent-size", os.path.join(dst, "eos")]).split()[0])
        data_extents = stats["data_bytes"]
        sh(["umount", src])
        sh(["umount", dst])
    finally:
        for dev in loops:
            subprocess.run(["losetup", "-d", dev], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    e = results["eos"]
    lines = [
        HEADING,
        "",
        f"`python bench/bench_convert.py`: a tree of {counts['files']:,} small text files in 200 directories "
        "(2,000 hard links, 1,000 symlinks, xattrs on 2,000 files), 40 files of 1 MiB (half text, half "
        "random) and 20 sparse files of 64 MiB with 1 MiB of data each, on a loop-backed XFS; copied "
        "onto a loop-backed BTRFS mounted `compress=zstd` (each copy into a fresh subvolume). Generated "
        f"in {gen:.0f} s. One untimed copy first so that every tool reads from a warm page cache; then "
        f"one run each, 2 CPUs, load average {load:.1f} at the start (other work shares this machine). "
        "Exact: `eos.copy_verify` against the source (contents byte for byte, owners, modes, ns mtimes, "
        "xattrs, hard links).",
        "",
        "| tool | wall | CPU | ratio (tool / eos, wall) | exact copy | allocated (du) |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in (("eos", "eos.copy_tree"), ("cp", "cp -a"), ("rsync", "rsync -aHAX")):
        r = results[name]
        ratio = r["wall"] / e["wall"] if e["wall"] else 0
        lines.append(f"| {label} | {r['wall']:.2f} s | {r['cpu']:.2f} s | **{ratio:.2f}x** | {r['exact']} | "
                     f"{r['allocated'] / MiB:.0f} MiB |")
    lines += [
        "",
        f"Compression (zstd), the eos copy: {data_extents / MiB:.0f} MiB of data extents "
        f"({apparent / MiB:.0f} MiB apparent, sparse holes included); "
        + (f"compsize: {comp['uncompressed'] / MiB:.0f} MiB uncompressed (inline small files included) "
           f"take {comp['disk'] / MiB:.0f} MiB on disk, ratio **{comp['uncompressed'] / max(comp['disk'], 1):.2f}x**; "
           if comp else "")
        + f"BTRFS SPACE_INFO: {usage['data_used'] / MiB:.0f} MiB data used, "
        f"{usage['metadata_used'] / MiB:.0f} MiB metadata (where small files are stored inline). "
        "The random MiB files do not compress; the text does. `allocated` is du's view (BTRFS reports extents before compression): rsync "
        "without -S writes the holes of sparse files as data.",
        "",
    ]
    section = "\n".join(lines)
    write_section(HEADING, section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
