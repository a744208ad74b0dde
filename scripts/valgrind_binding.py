"""Exercise the eos binding for scripts/valgrind-binding: every eos function, success and
error paths, a few rounds each, so that a leak grows into a definite one valgrind reports.

To cover a new function, add an entry to EXERCISES: name -> callable(workdir). Functions of
eos._eos with no entry are listed at the end (and fail the run with --strict)."""
import errno
import os
import shutil
import sys
import tempfile

import eos
import eos._eos


def expect_oserror(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except OSError:
        return
    raise AssertionError(f"{fn.__name__}{args!r} did not raise")


def attempt(fn, *args, **kw):
    """Call for its error path: OSError, ValueError and TypeError are expected outcomes."""
    try:
        fn(*args, **kw)
    except (OSError, ValueError, TypeError):
        pass


def ex_parse_size(work):
    for text in ("+50G", "200GiB", "100%FREE", "max", "auto"):
        eos.parse_size(text)
    for text in ("", "-5G", "12Q", "101%FREE"):
        expect_oserror(eos.parse_size, text)


def ex_run(work):
    status, out, err = eos.run(["echo", "hello"])
    assert status == 0 and out == b"hello\n"
    eos.run(["sh", "-c", "echo oops >&2; exit 3"])
    # Under valgrind a failed exec may show as status 127 rather than an error: both are fine.
    attempt(eos.run, ["eos-no-such-program"])
    expect_oserror(eos.run, ["sleep", "5"], timeout_ms=50)


def ex_top_consumers(work):
    root = os.path.join(work, "tree")
    for d in ("a/b", "c", b"odd-\xff name".decode(errors="surrogateescape")):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for i in range(60):
        with open(os.path.join(root, "a/b" if i % 2 else "c", f"f{i}"), "wb") as f:
            f.write(b"x" * (i * 100))
    os.link(os.path.join(root, "c/f0"), os.path.join(root, "c/link"))
    os.symlink("..", os.path.join(root, "a/loop"))
    locked = os.path.join(root, "locked")
    os.makedirs(locked, exist_ok=True)
    r = eos.top_consumers(root, 2, 5)
    assert r["files"] > 0
    eos.top_consumers(root, 0, 0, threads=1)
    eos.top_consumers(os.fsencode(root), 10, 100, threads=3, max_errors=1)
    expect_oserror(eos.top_consumers, os.path.join(root, "missing"))
    expect_oserror(eos.top_consumers, os.path.join(root, "c/f1"))
    expect_oserror(eos.top_consumers, os.path.join(root, "a/loop"))
    expect_oserror(eos.top_consumers, root, -1)
    if os.geteuid() != 0:            # root reads everything: the error list needs another uid
        os.chmod(locked, 0)
        r = eos.top_consumers(root, 2, 5)
        assert r["errors"] and r["errors"][0]["errno"] == errno.EACCES
        os.chmod(locked, 0o755)


def ex_probe(work):
    r = eos.probe(lvm=False)
    assert "devices" in r and "mounts" in r
    attempt(eos.probe, lvm="bogus")
    attempt(eos.probe, mountinfo=os.path.join(work, "missing"))


def ex_lvm_segments(work):
    blank = os.path.join(work, "blank.img")
    with open(blank, "wb") as f:
        f.truncate(1 << 20)
    assert eos.lvm_segments([blank]) == []  # no LVM label: nothing
    assert eos.lvm_segments([os.path.join(work, "missing")]) == []  # lvm cannot open it either
    expect_oserror(eos.lvm_segments, [work])  # a directory: the read fails
    attempt(eos.lvm_segments, 5)
    attempt(eos.lvm_segments, [5])
    eos.probe()  # lvm="auto": the PVs of this machine, if any, read in-process


def ex_usage(work):
    eos.usage()
    eos.usage(work)
    attempt(eos.usage, os.path.join(work, "missing"))


def ex_storage_facts(work):
    assert "total_bytes" in eos.storage_facts()


def ex_thresholds(work):
    eos.thresholds(3)
    eos.thresholds(1, {"warning": 50})
    attempt(eos.thresholds, 1, {"warning": "lots"})
    attempt(eos.thresholds, 1, {"no-such-level": 1})


def ex_level(work):
    eos.level(72.5, 2)
    eos.level(88.0, 1, previous="critical", band=3)
    attempt(eos.level, 50.0, 1, previous="no-such-level")


def ex_growth(work):
    eos.growth([(1000, 100), (4600, 200), (8200, 400)], avail=10000)
    eos.growth([])
    attempt(eos.growth, [("x", 1)])


def ex_record_sample(work):
    for i in range(3):
        eos.record_sample(work, "/mnt/x", 100 * i, 1000, 1700000000 + 60 * i)
    attempt(eos.record_sample, os.path.join(work, "missing/deeper"), "/", 1, 2, 3)


def ex_analyze(work):
    eos.analyze(cachedir=work, record=True)
    eos.analyze(cachedir=work, path=work, node_count=4, thresholds={"warning": 55}, record=False)
    attempt(eos.analyze, cachedir=work, path=os.path.join(work, "missing"))


def ex_watch(work):
    levels = eos.watch()
    eos.watch(previous={m["target"]: m["level"] for m in levels}, node_count=2, band=2)
    attempt(eos.watch, thresholds={"warning": -1})


def ex_lv_expansion_paths(work):
    attempt(eos.lv_expansion_paths, "eos-no-such-vg", "lv")


def ex_cleanup(work):
    for i in range(5):
        path = os.path.join(work, "t", f"f{i}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("x")
        os.utime(path, (1.0, 1.0))
    rules = [{"path": os.path.join(work, "t"), "older_than_days": 1, "match": "f*", "recursive": True}]
    plan = eos.cleanup_plan(rules)
    eos.cleanup_apply(plan["items"])
    for bad in ([{"path": "/"}], [{"path": "/tmp"}], "x", [{"path": 5}], [{"path": "/tmp", "x": 1}],
                [{"path": "/usr/lib", "match": "*"}], [{"path": "/tmp\0x", "older_than_days": 1}]):
        expect_oserror(eos.cleanup_plan, bad)
    for allow in ("/srv", [5], ["/srv\0"]):
        expect_oserror(eos.cleanup_plan, rules, allow=allow)
    eos.cleanup_plan(rules, allow=[os.path.join(work, "t"), "/srv/x"])
    expect_oserror(eos.cleanup_apply, [{"path": "/x"}])
    for i in range(3):
        path = os.path.join(work, "t", f"log.{i}")
        with open(path, "w") as f:
            f.write("a line\n" * 100)
        os.utime(path, (1.0, 1.0))
    plan = eos.cleanup_plan([{"path": os.path.join(work, "t"), "match": "*.[0-9]", "older_than_days": 1}])
    eos.compress_apply(plan["items"])
    expect_oserror(eos.compress_apply, [{"path": "/x"}])
def ex_expand(work):
    state = os.path.join(work, "state")
    for target, size in (("/", "-5G"), ("/", "garbage"), ("vg0/lv1; rm -rf /", None),
                         ("vg0/lv;x", None), ("garbage", None), (work, None),
                         (os.path.join(work, "missing"), None), ("/proc", "max")):
        expect_oserror(eos.expand, target, size, state_dir=state)
    expect_oserror(eos.expand, os.fsencode(work), "+1G", True, state_dir=state)
    attempt(eos.expand, "/", "max", True, state_dir=state, on_event=lambda *a: None)
    try:
        eos.expand("/", state_dir=state, on_event=42)
    except TypeError:
        pass


def ex_expand_growers(work):
    expect_oserror(eos.xfs_geometry, work)
    expect_oserror(eos.xfs_grow, work, 1)
    expect_oserror(eos.loop_set_capacity, os.path.join(work, "missing"))
    eos.ext4_can_grow_online()
    eos.lvm_dm_available()


def ex_roles_calculate(work):
    gib = 1 << 30
    nodes = [{"id": f"n{i}", "cpus": 2 + i % 8, "mem_bytes": (4 + i) * gib, "disk_bytes": i * 100 * gib,
              "public": i == 3, "zone": "abc"[i % 3]} for i in range(12)]
    plan = eos.roles_calculate(nodes)
    eos.roles_calculate(nodes[2:], plan["assignment"])
    eos.roles_calculate([dict(n, cpus=1) for n in nodes[:3]])   # fallbacks with warnings
    for bad, cur in (([], None), (nodes + nodes[:1], None), ([{"cpus": 1}], None),
                     (nodes, {"n1": ["kernel"]}), (nodes, ["n1"]), ([dict(nodes[0], cpus="x")], None),
                     ([dict(nodes[0], id="a\0b")], None), ([dict(nodes[0], cpus=0)], None),
                     ([{"id": "n0", "mem_bytes": gib}], None), ([dict(nodes[0], zone="z\0")], None),
                     ([dict(nodes[0], cpu=1)], None), ([dict(nodes[0], public="no")], None),
                     (nodes, {"n1\0": ["core"]}), (nodes, {"n1": "core"}), ("n1", None)):
        expect_oserror(eos.roles_calculate, bad, cur)


def ex_roles_rules(work):
    for n in (0, 1, 7, 15):
        eos.roles_rules(n)
    expect_oserror(eos.roles_rules, -1)


def ex_health(work):
    eos.health_clock()
    eos.health_disk(work)
    expect_oserror(eos.health_disk, os.path.join(work, "missing"))


# --- btrfs, provision, copy, convert (issue 7) ----------------------------------------------------
# The success paths need loop devices and mounts: only as root, inside a private mount namespace
# (entered once, so that nothing is left mounted outside this process).

def _private_root():
    if os.geteuid() != 0 or not os.path.exists("/dev/loop-control"):
        return False
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from tests.support import mountns
    return mountns.enter_private_mount_namespace() is None


def _loop(work, size, mkfs=None):
    import subprocess
    img = os.path.join(work, f"img{len(os.listdir(work))}")
    with open(img, "wb") as f:
        f.truncate(size)
    dev = subprocess.run(["losetup", "-f", "--show", img], check=True, capture_output=True,
                         text=True).stdout.strip()
    if mkfs:
        subprocess.run(mkfs + [dev], check=True, capture_output=True)
    return dev


def _cleanup(mounts, devs):
    import subprocess
    for m in reversed(mounts):
        subprocess.run(["umount", "-l", m], capture_output=True)
    for d in devs:
        subprocess.run(["losetup", "-d", d], capture_output=True)


def ex_btrfs(work):
    for fn in (eos.btrfs_check, eos.btrfs_usage, eos.btrfs_subvolume_list, eos.btrfs_subvolume_show,
               eos.btrfs_compression_get, eos.btrfs_extent_stats):
        expect_oserror(fn, work)
    expect_oserror(eos.btrfs_subvolume_create, os.path.join(work, "sub"))
    expect_oserror(eos.btrfs_compression_check, "zstd:99")
    eos.btrfs_compression_check("zlib:3")
    if not PRIVATE_ROOT:
        return
    import subprocess
    dev = _loop(work, 256 << 20, ["mkfs.btrfs", "-q", "-f"])
    mnt = os.path.join(work, "mnt")
    os.mkdir(mnt)
    mounts = []
    try:
        subprocess.run(["mount", "-o", "compress=zstd", dev, mnt], check=True)
        mounts.append(mnt)
        sub = os.path.join(mnt, "sub")
        eos.btrfs_subvolume_create(sub)
        eos.btrfs_subvolume_create(os.path.join(sub, "child"))
        with open(os.path.join(sub, "f"), "wb") as f:
            f.write(b"compress me " * 100000)
        eos.btrfs_snapshot(sub, os.path.join(mnt, "snap"))
        eos.btrfs_snapshot(sub, os.path.join(mnt, "rw"), read_only=False)
        eos.btrfs_subvolume_set_read_only(os.path.join(mnt, "rw"), True)
        eos.btrfs_subvolume_show(os.path.join(mnt, "snap"))
        assert len(eos.btrfs_subvolume_list(mnt)) == 4
        eos.btrfs_compression_set(sub, "zstd:3")
        assert eos.btrfs_compression_get(sub) == "zstd:3"
        eos.btrfs_compression_set(sub, None)
        os.sync()
        eos.btrfs_usage(mnt)
        eos.btrfs_extent_stats(mnt)
        expect_oserror(eos.btrfs_subvolume_delete, sub)
        eos.btrfs_subvolume_delete(sub, recursive=True)
        eos.btrfs_subvolume_delete(os.path.join(mnt, "snap"))
        expect_oserror(eos.btrfs_subvolume_delete, mnt)
    finally:
        _cleanup(mounts, [dev])


def ex_provision(work):
    for w in ("database", "backup", "boot", "system", "shared", "general"):
        eos.provision_recommend(w)
    expect_oserror(eos.provision_recommend, "nosql")
    expect_oserror(eos.provision_check, os.path.join(work, "missing"))
    expect_oserror(eos.provision, "/proc/self/status", "general")
    fstab = os.path.join(work, "fstab")
    with open(fstab, "w") as f:
        f.write("# test\nUUID=a /srv/a xfs defaults 0 0\n")
    assert eos.fstab_add(fstab, "UUID=b", "/srv/b c", "btrfs", "compress=zstd")
    assert eos.fstab_find(fstab, "/srv/b c") == "UUID=b"
    expect_oserror(eos.fstab_add, fstab, "UUID=z", "/srv/a", "xfs")
    eos.fstab_add(fstab, "UUID=z", "/srv/a", "xfs", replace=True)
    if not PRIVATE_ROOT:
        return
    mounts, devs = [], []
    try:
        dev = _loop(work, 320 << 20)
        devs.append(dev)
        eos.provision_check(dev)
        eos.provision(dev, "backup", os.path.join(work, "bk"), label="bk", fstab=fstab, dry_run=True)
        eos.provision(dev, "backup", os.path.join(work, "bk"), label="bk", fstab=fstab)
        mounts.append(os.path.join(work, "bk"))
        expect_oserror(eos.provision, dev, "general", fstab=fstab)
        eos.provision(dev, "backup", os.path.join(work, "bk"), label="bk", fstab=fstab, keep_matching=True)
        eos.provision(dev, "general", os.path.join(work, "gen"), fstab=fstab, force=True, dry_run=True)
    finally:
        _cleanup(mounts, devs)


def ex_copy(work):
    src, dst = os.path.join(work, "src"), os.path.join(work, "dst")
    os.makedirs(os.path.join(src, "d"))
    os.mkdir(dst)
    with open(os.path.join(src, "d", "f"), "wb") as f:
        f.write(b"x" * 5000)
    os.link(os.path.join(src, "d", "f"), os.path.join(src, "hard"))
    os.symlink("d/f", os.path.join(src, "link"))
    with open(os.path.join(src, "sparse"), "wb") as f:
        f.truncate(1 << 20)
    eos.copy_tree(src, dst)
    eos.copy_verify(src, dst)
    expect_oserror(eos.copy_tree, src, dst)  # not empty
    with open(os.path.join(dst, "d", "f"), "ab") as f:
        f.write(b"y")
    expect_oserror(eos.copy_verify, src, dst)


def ex_convert(work):
    expect_oserror(eos.convert, work, "/proc/self/status", state_dir=work)
    expect_oserror(eos.convert_rollback, work, state_dir=work)
    expect_oserror(eos.convert_finalize, work, state_dir=work)
    if not PRIVATE_ROOT:
        return
    import subprocess
    mounts, devs = [], []
    try:
        src = _loop(work, 64 << 20, ["mkfs.ext4", "-q", "-F"])
        devs.append(src)
        dst = _loop(work, 384 << 20)
        devs.append(dst)
        path = os.path.join(work, "data")
        os.mkdir(path)
        subprocess.run(["mount", src, path], check=True)
        mounts.append(path)
        for i in range(20):
            with open(os.path.join(path, f"f{i}"), "wb") as f:
                f.write(b"data %d " % i * 1000)
        kw = {"fstab": os.path.join(work, "fstab"), "state_dir": os.path.join(work, "state")}
        eos.convert(path, dst, dry_run=True, **kw)
        attempt(eos.convert, path, dst, crash_after="copied", **kw)
        if eos.TEST_HOOKS:  # the default build refuses crash_after (ValueError) before anything
            eos.convert_rollback(path, **kw)
        r = eos.convert(path, dst, force=True, **kw)
        mounts.append(r["old_mounted_at"])
        eos.convert_finalize(path, **kw)
        mounts.pop()
    finally:
        _cleanup(mounts, devs)


def ex_lvm_create(work):
    """PV, VG and LV made on two loop devices that only a private LVM configuration sees."""
    expect_oserror(eos.lvm_lv_ensure, "bad name", "x", "1M")
    expect_oserror(eos.lvm_lv_ensure, "vg", "x", "12Q")
    expect_oserror(eos.lvm_vg_ensure, "vg", [])
    expect_oserror(eos.lvm_vg_ensure, "vg", "not a list")
    if not PRIVATE_ROOT:
        return
    from tests.support import lvmenv
    devs = []
    try:
        devs = [_loop(work, 64 << 20), _loop(work, 64 << 20)]
        os.environ.update(lvmenv.write_lvm_conf(os.path.join(work, "lvm"), devs))
        expect_oserror(eos.lvm_pv_ensure, "/proc/self/status")
        eos.lvm_pv_ensure(devs[0], dry_run=True)
        eos.lvm_pv_ensure(devs[0])
        eos.lvm_vg_ensure("eosvg", devs[:1], extent_size="4M")
        expect_oserror(eos.lvm_vg_ensure, "other", devs[:1])
        eos.lvm_vg_ensure("eosvg", devs)
        eos.lvm_lv_ensure("eosvg", "data", "8M", dry_run=True)
        eos.lvm_lv_ensure("eosvg", "data", "8M")
        eos.lvm_lv_ensure("eosvg", "data", "max")
        eos.lvm_lv_ensure("eosvg", "data", "4M", shrink=True)
        expect_oserror(eos.lvm_lv_ensure, "eosvg", "data", "1T")
        lvmenv.lvm(lvmenv.write_lvm_conf(os.path.join(work, "lvm"), devs), "vgremove", "-f", "eosvg")
    finally:
        _cleanup([], devs)


def _covered(work):
    """Exercised with the other functions of its group (ex_btrfs, ex_provision, ex_copy, ex_convert)."""


PRIVATE_ROOT = False


def ex_ceph(work):
    """Ceph without a cluster (the real one is tested by tests/functional/test_eos_ceph.py):
    every function's argument parsing and error path, and the local-only successes."""
    missing = {"conf": os.path.join(work, "no-ceph.conf"), "timeout": 1}
    for fn in (eos.ceph_status, eos.ceph_pools, eos.ceph_fs_status, eos.ceph_cluster_stat,
               eos.ceph_pool_list, eos.cephfs_statfs):
        expect_oserror(fn, **missing)
    expect_oserror(eos.ceph_mon_command, '{"prefix": "status"}', **missing)
    expect_oserror(eos.ceph_pool_create, "p", **missing)
    expect_oserror(eos.cephfs_write, "/f", b"data", **missing)
    expect_oserror(eos.cephfs_read, "/f", **missing)
    expect_oserror(eos.cephfs_unlink, "/f", **missing)
    attempt(eos.cephfs_read, "/f", max_bytes=-1, **missing)
    expect_oserror(eos.ceph_osd_add, os.path.join(work, "no-disk"), **missing)
    expect_oserror(eos.ceph_osd_add, work, **missing)
    expect_oserror(eos.ceph_mon_add, "bad id", public_addr="v2:127.0.0.1:1", **missing)
    expect_oserror(eos.ceph_mon_add, "m", public_addr="a,b", **missing)
    expect_oserror(eos.ceph_mds_add, "m", **missing)
    expect_oserror(eos.ceph_mgr_add, "m", **missing)
    expect_oserror(eos.ceph_fs_add, "fs", "m", "m", **missing)
    expect_oserror(eos.ceph_fs_add, "fs", "m", "d", **missing)
    conf, key = os.path.join(work, "etc", "ceph.conf"), os.path.join(work, "etc", "k")
    r = eos.ceph_bootstrap("n1", "v2:127.0.0.1:1", conf, key, mon_root=os.path.join(work, "mon"),
                           test=True)
    assert r["action"] == "create" and not os.path.exists(conf)
    expect_oserror(eos.ceph_bootstrap, "n1", "[bad]", conf, key)
    assert eos.ceph_write_client(conf, "[global]\n", key, "[client.admin]\n") is True
    assert eos.ceph_write_client(conf, "[global]\n", key, "[client.admin]\n") is False
    expect_oserror(eos.ceph_write_client, "relative", "", key, "")


EXERCISES = {
    "cleanup_plan": ex_cleanup,
    "cleanup_apply": ex_cleanup,
    "compress_apply": ex_cleanup,
    "thresholds": ex_thresholds,
    "level": ex_level,
    "growth": ex_growth,
    "record_sample": ex_record_sample,
    "analyze": ex_analyze,
    "watch": ex_watch,
    "lv_expansion_paths": ex_lv_expansion_paths,
    "parse_size": ex_parse_size,
    "run": ex_run,
    "top_consumers": ex_top_consumers,
    "probe": ex_probe,
    "lvm_segments": ex_lvm_segments,
    "usage": ex_usage,
    "storage_facts": ex_storage_facts,
    "expand": ex_expand,
    "xfs_geometry": ex_expand_growers,
    "xfs_grow": ex_expand_growers,
    "loop_set_capacity": ex_expand_growers,
    "ext4_can_grow_online": ex_expand_growers,
    "lvm_dm_available": ex_expand_growers,
    "roles_calculate": ex_roles_calculate,
    "roles_rules": ex_roles_rules,
    "health_clock": ex_health,
    "health_disk": ex_health,
    "btrfs_check": ex_btrfs,
    **{n: _covered for n in ("btrfs_subvolume_create", "btrfs_subvolume_delete", "btrfs_subvolume_show",
                             "btrfs_subvolume_list", "btrfs_subvolume_set_read_only", "btrfs_snapshot",
                             "btrfs_compression_check", "btrfs_compression_get", "btrfs_compression_set",
                             "btrfs_usage", "btrfs_extent_stats")},
    "provision_recommend": ex_provision,
    **{n: _covered for n in ("provision_check", "provision", "fstab_add", "fstab_find")},
    "lvm_pv_ensure": ex_lvm_create,
    **{n: _covered for n in ("lvm_vg_ensure", "lvm_lv_ensure")},
    "copy_tree": ex_copy,
    "copy_verify": _covered,
    "convert": ex_convert,
    **{n: _covered for n in ("convert_finalize", "convert_rollback")},
    **{name: ex_ceph for name in (
        "ceph_status", "ceph_pools", "ceph_fs_status", "ceph_mon_command", "ceph_cluster_stat",
        "ceph_pool_list", "ceph_pool_create", "cephfs_statfs", "cephfs_write", "cephfs_read",
        "cephfs_unlink", "ceph_osd_add", "ceph_mon_add", "ceph_mds_add", "ceph_mgr_add",
        "ceph_fs_add", "ceph_bootstrap", "ceph_write_client")},
}


def main():
    global PRIVATE_ROOT
    PRIVATE_ROOT = _private_root()
    strict = "--strict" in sys.argv
    rounds = 3
    work = tempfile.mkdtemp(prefix="eos-valgrind-")
    try:
        for name, fn in EXERCISES.items():
            if not hasattr(eos._eos, name):
                print(f"valgrind-binding: eos._eos.{name} does not exist (yet): skipped")
                continue
            for _ in range(rounds):
                fn(tempfile.mkdtemp(dir=work))
            print(f"valgrind-binding: exercised {name}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    missing = sorted(n for n in dir(eos._eos)
                     if not n.startswith("_") and callable(getattr(eos._eos, n)) and n not in EXERCISES
                     and not isinstance(getattr(eos._eos, n), type))  # eos.Error and its twins
    if missing:
        print("valgrind-binding: not exercised (add them to EXERCISES in scripts/valgrind_binding.py): "
              + ", ".join(missing))
        if strict:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
