"""A catalogue of hostile input across Eos's public functions (issue 10): sizes, targets, file
names, provisioning, btrfs and ceph arguments through Salt's real loader; cleanup rules and
their exception list through `salt-call --local` with a real pillar; role inventories through
the eos_roles runner. Each case checks a clear error that quotes the input and that nothing
changed: a before/after snapshot of the devices, files or pillar involved."""
import hashlib
import json
import os

import pytest
from salt.exceptions import CommandExecutionError

from tests.functional.test_roles_glue import runner  # noqa: F401  (the runner fixture)
from tests.support import blockdev

MiB = 1 << 20
GIB = 1 << 30
OLD = 1_000_000_000  # 2001: older than any age a rule gives


def quotes(message, value):
    """The message quotes the input: as given, or as Python or C would write it."""
    text = str(value)
    return text in message or repr(value) in message or repr(text)[1:-1] in message


def tree_snapshot(*roots):
    """Every entry below roots: type, size, mtime and, for files, a hash of the content."""
    snap = {}
    for root in roots:
        for d, dirs, files in os.walk(root):
            for n in dirs + files:
                p = os.path.join(d, n)
                st = os.lstat(p)
                digest = None
                if os.path.isfile(p) and not os.path.islink(p):
                    fd = os.open(p, os.O_RDONLY | os.O_NOATIME)
                    with os.fdopen(fd, "rb") as f:
                        digest = hashlib.sha256(f.read()).hexdigest()
                snap[p] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return snap


def device_snapshot(loop):
    """Size of the device and of its backing file; for a mounted filesystem its size, else a
    hash of the first MiB (where a mkfs or a partition table would write; a mounted one's
    superblock changes on its own as the kernel writes it back)."""
    name = os.path.basename(loop.device)
    with open(f"/sys/class/block/{name}/size") as f:
        sectors = int(f.read())
    if loop.mountpoint:
        st = os.statvfs(loop.mountpoint)
        return sectors, os.path.getsize(loop.image), st.f_blocks * st.f_frsize
    with open(loop.device, "rb") as f:
        head = hashlib.sha256(f.read(MiB)).hexdigest()
    return sectors, os.path.getsize(loop.image), head


@pytest.fixture(scope="module")
def disk(tmp_path_factory, request):
    """A mounted ext4 on a loop device with a few files, and a blank loop device; both shared
    by the cases, which must leave them exactly as they were."""
    reason = blockdev.loop_skip_reason() or request.config._eos_ns_reason
    if reason:
        pytest.skip(reason)
    work = str(tmp_path_factory.mktemp("hostile"))
    factory = blockdev.LoopFactory(work)
    mounted = factory.create(64 * MiB, "ext4")
    mnt = factory.mount(mounted)
    os.makedirs(os.path.join(mnt, "dir"))
    for name in ("a.log", "dir/b.tmp"):
        with open(os.path.join(mnt, name), "wb") as f:
            f.write(os.urandom(4096))
        os.utime(os.path.join(mnt, name), (OLD, OLD))
    blank = factory.create(64 * MiB)
    fstab = os.path.join(work, "fstab")
    with open(fstab, "w") as f:
        f.write("UUID=0000 /srv/other xfs defaults 0 2\n")

    def snapshot():
        return (device_snapshot(mounted), device_snapshot(blank), tree_snapshot(mnt),
                open(fstab, "rb").read())

    yield {"mnt": mnt, "loop": mounted, "blank": blank.device, "fstab": fstab, "snapshot": snapshot}
    assert not factory.cleanup()


@pytest.fixture
def mod(loaders, disk):
    """The execution modules through Salt's loader, provisioning pointed at the test's fstab."""
    saved = loaders.opts.get("eos")  # the session's: later tests need it back
    loaders.opts["eos"] = {"storage": {"fstab": disk["fstab"], "state_dir": disk["fstab"] + ".state"}}
    yield loaders.modules
    loaders.opts["eos"] = saved


def refused(disk, fn, *args, quoted, **kw):
    before = disk["snapshot"]()
    with pytest.raises(CommandExecutionError) as exc:
        fn(*args, **kw)
    message = str(exc.value)
    assert quotes(message, quoted), message
    assert disk["snapshot"]() == before, "a refused call changed something"
    return message


# --- sizes: eos_storage.expand on the mounted ext4 ------------------------------------------------

SIZES = ["", "-5G", "0", "+0", "5X", "100%", "200%FREE", "0%FREE", "18446744073709551616",
         "+99999999999999999999G", "1.5.5G", "G", "max\n", "5G; rm -rf /", "$(reboot)", "５G",
         "16E", "+-1G", "5G\x00", "nan", "inf", "0x10G", "1.5"]


@pytest.mark.parametrize("size", SIZES, ids=[repr(s) for s in SIZES])
def test_expand_refuses_hostile_sizes(mod, disk, size):
    refused(disk, mod.eos_storage.expand, disk["mnt"], size, quoted=size)


@pytest.mark.parametrize("size", [[1], {"a": 1}, -5, 1.5], ids=repr)
def test_expand_refuses_sizes_of_the_wrong_type(mod, disk, size):
    refused(disk, mod.eos_storage.expand, disk["mnt"], size, quoted=size)


# --- targets and file names -------------------------------------------------------------------

TARGETS = ["relative/dir", "/nonexistent/eos/x", "/tmp\x00/x", "/tmp/" + "a" * 5000, "*", ""]


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: repr(t)[:40])
def test_expand_refuses_hostile_targets(mod, disk, target):
    refused(disk, mod.eos_storage.expand, target, "+1M", quoted=target[:200])


@pytest.mark.parametrize("fun,args,kw,quoted", [
    ("usage", ["x\x00y"], {}, "x\x00y"),
    ("usage", [12], {}, 12),
    ("usage", ["/nonexistent/eos"], {}, "/nonexistent/eos"),
    ("top_consumers", ["/nonexistent/eos"], {}, "/nonexistent/eos"),
    ("top_consumers", ["{mnt}"], {"depth": -1}, -1),
    ("top_consumers", ["{mnt}"], {"depth": "deep"}, "deep"),
    ("top_consumers", ["{mnt}"], {"limit": "all"}, "all"),
    ("top_consumers", ["{mnt}\n/etc"], {}, "\n/etc"),
    ("analyze", [], {"path": "/nonexistent/eos"}, "/nonexistent/eos"),
    ("analyze", ["{mnt}"], {"window": "forever"}, "forever"),
    ("recommend", ["db\nrm -rf"], {}, "db\nrm -rf"),
    ("cleanup_rules", ["critical\n"], {}, "critical\n"),
    ("cleanup", ["apocalypse"], {}, "apocalypse"),
], ids=lambda v: repr(v)[:30])
def test_storage_functions_refuse_hostile_arguments(mod, disk, fun, args, kw, quoted):
    args = [a.format(mnt=disk["mnt"]) if isinstance(a, str) else a for a in args]
    refused(disk, getattr(mod.eos_storage, fun), *args, quoted=quoted, **kw)


# --- provisioning and conversion ------------------------------------------------------------------

@pytest.mark.parametrize("kw,quoted", [
    ({"device": "relative/dev", "workload": "general"}, "relative/dev"),
    ({"device": "/dev/null", "workload": "general"}, "/dev/null"),
    ({"device": "{blank}", "workload": "general\nrm"}, "general\nrm"),
    ({"device": "{blank}", "workload": "general", "mountpoint": "relative/mnt"}, "relative/mnt"),
    ({"device": "{blank}", "workload": "general", "mountpoint": "/mnt/a\x00b"}, "/mnt/a\x00b"),
    ({"device": "{blank}", "workload": "general", "label": "x" * 300}, "x" * 300),
    ({"device": "{blank}", "workload": "general", "label": "a\x00b"}, "a\x00b"),
    ({"device": "{loop}", "workload": "general"}, "{loop}"),
    ({"device": "{blank}", "workload": "boot", "lvm": True, "vg": "vg; rm"}, "vg; rm"),
    ({"device": "{blank}", "workload": "boot", "lvm": True, "lv": "snapshot0"}, "snapshot0"),
    ({"device": "{blank}", "workload": "boot", "lvm": "yes"}, "yes"),
], ids=lambda v: repr(v)[:40])
def test_provision_refuses_hostile_arguments(mod, disk, kw, quoted):
    names = {"blank": disk["blank"], "loop": disk["loop"].device}
    kw = {k: v.format(**names) if isinstance(v, str) else v for k, v in kw.items()}
    refused(disk, mod.eos_storage.provision, test=False, quoted=quoted.format(**names), **kw)


@pytest.mark.parametrize("kw,quoted", [
    ({"path": "/"}, "convert /"),
    ({"path": "{mnt}", "fstype": "ntfs"}, "ntfs"),
    ({"path": "{mnt}", "compression": "zstd:99"}, "zstd:99"),
    ({"path": "{mnt}", "compression": "zstd\n-o"}, "zstd\n-o"),
    ({"path": "{mnt}/dir\x00x"}, "dir\x00x"),
    ({"path": "{mnt}", "target": "{mnt}/a.log"}, "{mnt}/a.log"),
], ids=lambda v: repr(v)[:40])
def test_convert_refuses_hostile_arguments(mod, disk, kw, quoted):
    names = {"mnt": disk["mnt"], "blank": disk["blank"]}
    kw = {"target": "{blank}", **kw}
    kw = {k: v.format(**names) for k, v in kw.items()}
    refused(disk, mod.eos_storage.convert, test=False, quoted=quoted.format(**names), **kw)


# --- btrfs and ceph arguments -------------------------------------------------------------------

@pytest.mark.parametrize("fun,args,quoted", [
    ("usage", ["/nonexistent/eos"], "/nonexistent/eos"),
    ("subvolume_create", ["relative/sub"], "relative/sub"),
    ("subvolume_create", ["{mnt}/sub"], "{mnt}/sub"),
    ("subvolume_delete", ["{mnt}/dir"], "{mnt}/dir"),
    ("subvolume_list", ["{mnt}\x00"], "\x00"),
    ("snapshot", ["/nonexistent/eos", "{mnt}/snap"], "/nonexistent/eos"),
    ("compression", ["{mnt}/a.log", "lzo:99"], "lzo:99"),
    ("compression", ["{mnt}/a.log", "gzip"], "gzip"),
    ("compression", ["{mnt}/a.log", "zstd\n"], "zstd\n"),
], ids=lambda v: repr(v)[:30])
def test_btrfs_functions_refuse_hostile_arguments(mod, disk, fun, args, quoted):
    args = [a.format(mnt=disk["mnt"]) for a in args]
    refused(disk, getattr(mod.eos_btrfs, fun), *args, quoted=quoted.format(mnt=disk["mnt"]))


@pytest.mark.parametrize("kw,quoted", [
    ({"timeout": "soon"}, "soon"),
    ({"timeout": -1}, -1),
    ({"conf": "/nonexistent/eos/ceph.conf", "timeout": 2}, "/nonexistent/eos/ceph.conf"),
    ({"mon_host": "127.0.0.1:1\nkey = x", "timeout": 2}, "127.0.0.1:1\nkey = x"),
], ids=lambda v: repr(v)[:40])
def test_ceph_status_refuses_hostile_arguments(mod, disk, kw, quoted):
    refused(disk, mod.eos_ceph.status, quoted=quoted, **kw)


# --- cleanup rules and their exception list: pillar through salt-call ----------------------------

@pytest.fixture
def scratch(tmp_path):
    """A directory of old files that a valid rule would clean, beside each hostile rule."""
    d = tmp_path / "scratch"
    (d / "sub").mkdir(parents=True)
    for name in ("old.tmp", "sub/old.log"):
        (d / name).write_bytes(os.urandom(1024))
        os.utime(d / name, (OLD, OLD))
    link = tmp_path / "to-etc"
    link.symlink_to("/etc")
    return {"dir": str(d), "link": str(link)}


HOSTILE_RULES = [
    ({"path": "/usr/lib", "match": "*"}, "'/usr/lib'"),
    ({"path": "/home/alice", "match": "*", "older_than_days": 0}, "'/home/alice'"),
    ({"path": "/tmp/../etc", "match": "*"}, "'/tmp/../etc'"),
    ({"path": "//etc//", "older_than_days": 1}, "'//etc//'"),
    ({"path": "/var/lib/dpkg", "older_than_days": 1}, "'/var/lib/dpkg'"),
    ({"path": "/boot/", "older_than_days": 1}, "'/boot/'"),
    ({"path": "/lib64", "older_than_days": 1}, "'/lib64'"),
    ({"path": "/srv/data", "older_than_days": 1}, "'/srv/data'"),
    ({"path": "{link}", "match": "*"}, "{link}"),
    ({"path": "{link}/ssh", "match": "*"}, "{link}/ssh"),
    ({"path": "/", "match": "*"}, "'/'"),
    ({"path": "{dir}", "match": "*", "older_than_days": "0"}, "'0'"),
    ({"path": "{dir}", "older_than_days": -1}, "-1"),
    ({"path": "{dir}", "older_than_days": 10 ** 9}, "1000000000"),
    ({"path": "{dir}", "older_than_days": 1, "recursive": "yes"}, "'yes'"),
    ({"path": 123, "older_than_days": 1}, "123"),
    ({"path": "{dir}", "older_than_days": 1, "exec": "rm"}, "'exec'"),
    ({"path": "{dir}"}, "would empty it"),
]


@pytest.mark.parametrize("rule,quoted", HOSTILE_RULES, ids=lambda v: repr(v)[:40])
def test_cleanup_refuses_hostile_rules(salt_local, scratch, rule, quoted):
    rule = {k: v.format(**scratch) if isinstance(v, str) else v for k, v in rule.items()}
    # A valid rule first: the whole run is refused, so its old files stay too.
    rules = [{"path": scratch["dir"], "older_than_days": 7}, rule]
    salt_local.pillar({"eos": {"storage": {"cleanup": rules}}})
    before = tree_snapshot(scratch["dir"])
    r = salt_local.call("eos_storage.cleanup")
    assert r.returncode != 0, r
    assert quoted.format(**scratch) in r.stdout + r.stderr, r
    assert tree_snapshot(scratch["dir"]) == before


@pytest.mark.parametrize("pillar,quoted", [
    ({"cleanup": "/tmp"}, "'/tmp'"),
    ({"cleanup": {"path": "/tmp"}}, "'path'"),
    ({"cleanup": [{"path": "{dir}", "older_than_days": 7}], "cleanup_allow": "/srv"}, "'/srv'"),
    ({"cleanup": [{"path": "{dir}", "older_than_days": 7}], "cleanup_allow": [7]}, "7"),
    ({"cleanup": [{"path": "/srv/x/../data", "older_than_days": 7}], "cleanup_allow": ["/srv/x"]},
     "'/srv/x/../data'"),
    ({"cleanup": [{"path": "/", "match": "*"}], "cleanup_allow": ["/"]}, "'/'"),
], ids=lambda v: repr(v)[:40])
def test_cleanup_refuses_hostile_pillar(salt_local, scratch, pillar, quoted):
    pillar = json.loads(json.dumps(pillar).replace("{dir}", scratch["dir"]))
    salt_local.pillar({"eos": {"storage": pillar}})
    before = tree_snapshot(scratch["dir"])
    r = salt_local.call("eos_storage.cleanup")
    assert r.returncode != 0, r
    assert quoted in r.stdout + r.stderr, r
    assert tree_snapshot(scratch["dir"]) == before


# --- inventories: the eos_roles runner ----------------------------------------------------------

def _grains(cpus=4, mem_mib=8192, **extra):
    return {"num_cpus": cpus, "mem_total": mem_mib, "eos_storage": {"unused_bytes": 100 * GIB}, **extra}


@pytest.mark.parametrize("inventory,words", [
    ([{"id": "n1", "grains": {"mem_total": 8192}}], ["'n1'", "'num_cpus'"]),
    ([{"id": "n1", "grains": _grains(cpus=0)}], ["'n1'", "'cpus' is 0"]),
    ([{"id": "n1", "grains": _grains(cpus=10 ** 7)}], ["'n1'", "'cpus'", "10000000"]),
    ([{"id": "n1", "grains": _grains(mem_mib=0)}], ["'n1'", "'mem_bytes' is 0"]),
    ([{"id": "n1", "grains": _grains(mem_mib=10 ** 15)}], ["'n1'", "'mem_bytes'"]),
    ([{"id": "n1\u0000evil", "grains": _grains()}], ["NUL", "n1\\\\x00evil"]),
    ([{"id": "a\nb", "grains": _grains()}], ["a\\\\x0ab", "control character"]),
    ([{"id": "x" * 300, "grains": _grains()}], ["longer than 255 bytes"]),
    ([{"id": "n1", "grains": _grains()}, {"id": "n1", "grains": _grains()}], ["duplicate node id 'n1'"]),
    ([{"id": "n1", "grains": _grains(eos_zone=5)}], ["'eos_zone'", "5"]),
    ([{"id": "n1", "grains": _grains(eos_zone="z\u0000")}], ["'zone'", "NUL"]),
], ids=lambda v: repr(v)[:40])
def test_roles_runner_refuses_hostile_inventories(runner, tmp_path, inventory, words):  # noqa: F811
    inv = tmp_path / "inventory.json"
    inv.write_text(json.dumps(inventory))
    before = tree_snapshot(str(runner.pillar_dir))
    out = runner.run("eos_roles.apply", inventory=str(inv))
    assert not out["success"], out
    text = json.dumps(out["return"])
    for w in words:
        assert w in text, text
    assert tree_snapshot(str(runner.pillar_dir)) == before


# --- service names: pillar eos:storage:degraded through salt-call ----------------------------------

@pytest.mark.parametrize("name", ["web*", "ssh;reboot", "$(reboot)", "x\n", "-h", "..", "a" * 300,
                                  "a\u0000b", "[a-z]*"], ids=lambda v: repr(v)[:20])
def test_stop_noncritical_refuses_hostile_service_names(salt_local, name):
    salt_local.pillar({"eos": {"roles": {"eos-test-minion": ["app"]},
                               "storage": {"degraded": {"services": {"app": [name]}}}}})
    cache = os.path.join(os.path.dirname(salt_local.conf), "cache")
    before = tree_snapshot(cache)
    r = salt_local.call("eos_services.stop_noncritical")
    assert r.returncode != 0, r
    assert "invalid service name " + repr(name)[:60] in r.stdout + r.stderr, r
    after = tree_snapshot(cache)
    assert {p: v for p, v in after.items() if "/eos/" in p} == {p: v for p, v in before.items() if "/eos/" in p}
