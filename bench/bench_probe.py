"""eos.probe against Salt's built-in way to collect the same facts, in one run.

Salt side (its real modules, through the in-process minion loader, as a minion would run
them): disk.blkid + disk.usage + mount.active + lvm.pvdisplay (the set named in the issue), and
the same plus lvm.vgdisplay + lvm.lvdisplay (to also get the VGs and LVs eos.probe reports).
eos side: eos.probe(lvm=True), which always runs the lvm report, and eos.probe() (lvm="auto").
Also the eos_storage grain (eos.storage_facts), which must stay well under 50 ms.

As root the bench makes its own storage first (in a private mount namespace, with a private
LVM configuration): an XFS, an ext4 and a BTRFS on loop devices, and an LVM VG with an LV on
two more, so that every call has something to find. Prints the median of each and the ratios.
"""
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from bench.common import write_section  # noqa: E402
from tests.support import blockdev, lvmenv, mountns  # noqa: E402

ROUNDS = int(os.environ.get("EOS_BENCH_ROUNDS", "15"))
HERE = os.path.dirname(os.path.abspath(__file__))
HEADING = "## probe: eos.probe vs Salt's disk, mount and lvm modules"
LINES = []


def out(line=""):
    print(line, flush=True)
    LINES.append(line)


ABOUT = """`python bench/bench_probe.py` (as root it makes its own storage in a private mount namespace:
XFS, ext4 and BTRFS on loop devices, then an LVM VG with an LV on two more, with a private
`LVM_SYSTEM_DIR` that Salt's modules and eos both use). Salt's built-in way is its real modules
through the in-process minion loader: `disk.blkid` + `disk.usage` + `mount.active` +
`lvm.pvdisplay` (the issue's set), and the same plus `lvm.vgdisplay` + `lvm.lvdisplay` (the VGs
and LVs `eos.probe` also returns). eos: `eos.probe()` (`lvm='auto'`: LVM is read only when a
device carries an LVM2_member signature, is ambivalent or gives an I/O error; in-process when
lvm runs with its default configuration, else by the lvm tool) and `eos.probe(lvm=True)`
(always the lvm tool); the third table is the same storage with lvm's default configuration;
and the `eos_storage` grain (`eos.storage_facts()`). Wall time is the
median of the rounds; CPU is ours plus the tools' (getrusage self + children). The last run:
"""

WHY = """**With PVs present the LVM part is well past 10x; the whole probe is 6-7x, not 10x.** With lvm's
default configuration (as on a real minion) `eos.probe()` reads the PV labels and VG metadata
in-process (`csrc/lib/drivers/lvm/lvm_label.c`, `lvm_meta.c`, `lvm_vg.c`, `lvm_read.c`): a
fraction of a millisecond for a few PVs against 40-170 ms for one start of lvm on this shared,
loaded 2-CPU machine (the "LVM alone" line). What is left of `eos.probe()` is the rest of the
inventory, the same as with `lvm=False`: the sysfs attributes of every block device (56 here,
most of them other runs' unbound loop devices), libblkid on every device with a size, and
statvfs of the mounts. Profiled (perf, strace -c) before the last changes it was 80% kernel
time: libblkid's ZFS prober copying four zeroed 256 KiB labels per device (a quarter of the
CPU), some 33 sysfs calls per device, and cold reads (the kernel drops a block device's page
cache at its last close). Now: the ZFS prober is skipped only where none of its four labels
has an uberblock magic (its own not-found test, `zfs_possible`), holders/ and slaves/ take one
getdents64 each, every device is opened and its windows requested before any is probed, and the
devices stay open until the LVM reader has read them, so its reads hit the page cache.
lvm.conf (110 KB) is parsed once while it and lvmlocal.conf are unchanged, into the one view of
lvm's configuration (`lvm_view.c`) that probe's choice of reader and analyze's and expand's LVM
reads share (before, those two parsed it again on every call: 4 parses for 3 calls of
`eos.probe()` + `eos.lv_expansion_paths()`, now 1; probe's own cost is the same). CPU per probe went
from 18.4 ms to 11.7 ms (load 16.1 before, 9.7 after); the ratio against Salt's set from 4.2x
to 7.3x wall (3.6x to 4.8x CPU). Old and new builds alternating on the same devices at load 9.5:
15.8-18.0 ms CPU before, 11.9-12.4 after. The 10x would need the signature probing cheaper
still (libblkid's 80 probers read some 40 pieces per device; what is left is mostly kernel time
in opens, reads and page cache work for those).

- With a private lvm configuration (`LVM_SYSTEM_DIR`, `--config`, a devices file in use, a filter
  or a setting `lvm_view.c` does not model in `/etc/lvm/lvm.conf`) only lvm knows which PVs it shows: eos runs the tool,
  on a thread of its own overlapping the signature probing, as before (the second table). The
  same for what the reader does not model (RAID, thin, cache, snapshots, a missing or duplicate
  PV, two VGs of one name, metadata copies that disagree, LV state while device-mapper is
  loaded): it falls back to the tool, the authority, and `lvm.reader` says which one answered.
  On this shared machine other runs' PVs sometimes make that fallback happen.
- `eos.probe()` reads every device's signatures with libblkid exactly as `blkid -p` does (every
  prober but ZFS where it cannot match), from a cold page cache for unmounted devices; eos asks
  for the windows libblkid reads at once (`POSIX_FADV_WILLNEED`, all devices before the first
  is probed) and probes on up to 4 threads (CPU time is reported beside the wall time). Salt's
  `disk.blkid` runs plain `blkid`, which answers from its cache file without reading the devices
  (not the same facts).
- Numbers move by 2x between runs on this machine (load average beside them); the CPU column is
  steadier.
"""


def write_readme():
    section = (HEADING + "\n\n" + ABOUT + "\n```\n" + "\n".join(LINES).strip("\n") + "\n```\n\n" + WHY)
    write_section(HEADING, section)


CPU = {}  # function -> median CPU ms of the last median_ms run


def cpu_s():
    """CPU seconds of this process (all threads) and of its waited-for children (the tools)."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def median_ms(fn, rounds=ROUNDS):
    """Median wall time in ms; the median CPU time (ours + the tools') goes to CPU[fn]."""
    fn()  # warm up (imports, page cache)
    times, cpus = [], []
    for _ in range(rounds):
        c = cpu_s()
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
        cpus.append((cpu_s() - c) * 1000.0)
    CPU[fn] = statistics.median(cpus)
    return statistics.median(times)


def make_filesystems(workdir):
    """Loop-backed XFS, ext4 and BTRFS, mounted; returns (factory, [spare loops]) or
    (None, []) when not root."""
    if blockdev.loop_skip_reason():
        return None, []
    f = blockdev.LoopFactory(workdir)
    try:
        xfs, ext, btr, a, b = lvmenv.fresh_loops(f, 5, 320 << 20)
        for loop, fstype in ((xfs, "xfs"), (ext, "ext4"), (btr, "btrfs")):
            blockdev.run(blockdev.MKFS[fstype] + ["-L", f"bench{fstype}", loop.device])
            f.mount(loop)
    except Exception:
        f.cleanup()
        raise
    return f, [a, b]


def make_lvm(workdir, factory, spare):
    """A VG with an LV on the two spare loops, in a private LVM configuration that the Salt
    modules and eos both use (LVM_SYSTEM_DIR in the environment)."""
    a, b = spare
    env = lvmenv.write_lvm_conf(os.path.join(workdir, "lvm"), [a.device, b.device])
    lvmenv.lvm(env, "pvcreate", "-q", a.device, b.device)
    # A name of its own: another bench run on this machine has its VG too (two VGs of one name
    # are a case eos leaves to lvm).
    vg = f"benchvg{os.getpid()}"
    lvmenv.lvm(env, "vgcreate", "-q", vg, a.device, b.device)
    lvmenv.lvm(env, "lvcreate", "-q", "-n", "benchlv", "-L", "32m", vg)
    os.environ.update(env)
    return env


def lvm_alone(eos, mods, pvs):
    """The LVM part by itself: eos's in-process reader on our PVs (labels, metadata, segments)
    against Salt's lvm.pvdisplay, which starts lvm."""
    def reader():
        return eos.lvm_segments(pvs)

    def pvdisplay():
        return mods["lvm.pvdisplay"]()

    rd, pd = median_ms(reader), median_ms(pvdisplay)
    out(f"LVM alone: eos's in-process reader on the {len(pvs)} PVs {rd:.2f} ms ({CPU[reader]:.2f} CPU) vs "
        f"Salt's lvm.pvdisplay {pd:.1f} ms ({CPU[pvdisplay]:.1f} CPU): {pd / rd:.0f}x")


def salt_loader(workdir):
    import salt.config
    import salt.loader

    from tests.support import saltenv

    confdir = saltenv.minion_config(os.path.join(workdir, "salt"))
    opts = salt.config.minion_config(os.path.join(confdir, "minion"))
    opts["grains"] = salt.loader.grains(opts)
    return salt.loader.minion_mods(opts)


def main():
    ns = mountns.enter_private_mount_namespace()  # before any thread exists
    import eos

    workdir = tempfile.mkdtemp(prefix="eos-bench-probe-")
    factory = None
    try:
        factory, spare = make_filesystems(workdir) if ns is None else (None, [])
        mods = salt_loader(workdir)

        def salt_issue_set():
            return (mods["disk.blkid"](), mods["disk.usage"](), mods["mount.active"](),
                    mods["lvm.pvdisplay"]())

        def salt_with_vgs_lvs():
            return salt_issue_set() + (mods["lvm.vgdisplay"](), mods["lvm.lvdisplay"]())

        out(f"median of {ROUNDS} rounds; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        rows = []

        def scenario(title):
            p = eos.probe()
            out(f"\n### {title}: {len(p['devices'])} block devices, {len(p['mounts'])} mounts, "
                  f"{len(p['lvm']['pvs'])} PVs; eos.probe() read LVM: {p['lvm']['reader'] or 'no'}")
            def eos_auto():
                return eos.probe()

            def eos_always():
                return eos.probe(lvm=True)

            salt = median_ms(salt_issue_set)
            salt_all = median_ms(salt_with_vgs_lvs)
            auto = median_ms(eos_auto)
            always = median_ms(eos_always)
            cs, ca = CPU[salt_issue_set], CPU[salt_with_vgs_lvs]
            out("                                                        wall ms  (CPU ms)   ratios wall (CPU) vs the two Salt sets")
            out(f"salt disk.blkid+disk.usage+mount.active+lvm.pvdisplay  {salt:7.1f}  ({cs:6.1f})")
            out(f"salt  the same + lvm.vgdisplay + lvm.lvdisplay          {salt_all:7.1f}  ({ca:6.1f})")
            for name, fn, w in (("eos.probe()            (lvm='auto')", eos_auto, auto),
                                ("eos.probe(lvm=True)    (always runs lvm)", eos_always, always)):
                c = CPU[fn] or 0.01
                out(f"{name:<55}{w:7.1f}  ({c:6.1f})   {salt / w:4.1f}x ({cs / c:4.1f}x) / "
                      f"{salt_all / w:4.1f}x ({ca / c:4.1f}x)")
            return p

        scenario("filesystems, no LVM of ours" if factory else "this machine as it is (not root)")
        if factory:
            env = make_lvm(workdir, factory, spare)
            p = scenario("filesystems and an LVM VG with an LV, lvm filtered to them (eos runs lvm)")
            salt_pvs = mods["lvm.pvdisplay"]()
            assert sorted(salt_pvs) == sorted(x["name"] for x in p["lvm"]["pvs"]), (salt_pvs, p["lvm"])
            # lvm's default configuration, as on a real minion: eos reads the PVs in-process,
            # Salt's lvm.pvdisplay starts lvm; both see every PV of the machine.
            for k in env:
                os.environ.pop(k, None)
            p = scenario("the same with lvm's default configuration (eos reads LVM in-process)")
            assert p["lvm"]["reader"] == "in-process", p["lvm"]
            ours = {x.device for x in spare}
            assert ours <= set(mods["lvm.pvdisplay"]()) and ours <= {x["name"] for x in p["lvm"]["pvs"]}
            lvm_alone(eos, mods, sorted(ours))

        def eos_nolvm():
            return eos.probe(lvm=False)

        def salt_nolvm():
            return mods["disk.blkid"](), mods["disk.usage"](), mods["mount.active"]()

        n = median_ms(eos_nolvm)
        sn = median_ms(salt_nolvm)
        grain = median_ms(eos.storage_facts, rounds=max(ROUNDS, 50))
        out(f"\nwithout LVM on either side: salt disk.blkid+disk.usage+mount.active {sn:.1f} ms "
              f"({CPU[salt_nolvm]:.1f} CPU), eos.probe(lvm=False) {n:.1f} ms ({CPU[eos_nolvm]:.1f} CPU): "
              f"{sn / n:.1f}x ({CPU[salt_nolvm] / (CPU[eos_nolvm] or 0.01):.1f}x CPU)")
        out(f"eos_storage grain (eos.storage_facts): {grain:.2f} ms wall, {CPU[eos.storage_facts]:.2f} ms CPU")
    finally:
        if factory:
            factory.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    write_readme()


if __name__ == "__main__":
    main()
