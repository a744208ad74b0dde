"""eos_storage.cleanup on a real filesystem: it removes what it planned and nothing else (every
other file checksummed before and after), never follows a symlink planted in a cleaned
directory, leaves alone a file swapped for a symlink between plan and action, stays on its
filesystem and skips files open for writing. Rules always point into the test's own mounts."""
import hashlib
import os
import time

import pytest

import eos
from tests.functional.test_beacon_storage import set_usage

MiB = 1 << 20
OLD = time.time() - 10 * 86400


def write(path, size, old=True):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(os.urandom(size))
    if old:
        os.utime(path, (OLD, OLD))


def checksums(*roots):
    sums = {}
    for root in roots:
        for d, dirs, files in os.walk(root):
            for n in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
                p = os.path.join(d, n)
                if os.path.islink(p):
                    sums[p] = "link:" + os.readlink(p)
                else:
                    # O_NOATIME: reading must not make an old file recently accessed.
                    fd = os.open(p, os.O_RDONLY | os.O_NOATIME)
                    with os.fdopen(fd, "rb") as f:
                        sums[p] = hashlib.sha256(f.read()).hexdigest()
    return sums


@pytest.fixture
def tree(loops, tmp_path):
    """A loop-backed ext4 with a cleanable tmp/ (old and new files, a symlink to a protected
    file and one to a protected directory, a file held open for writing, another filesystem
    mounted inside) and a keep/ outside the allowlist; a protected directory elsewhere."""
    loop = loops.create(64 * MiB, "ext4")
    mnt = loops.mount(loop)
    protected = str(tmp_path / "protected")
    write(os.path.join(protected, "secret"), 4096)
    write(os.path.join(protected, "dir", "old"), 4096)
    t = os.path.join(mnt, "tmp")
    write(os.path.join(t, "old1"), 2 * MiB)
    write(os.path.join(t, "sub", "old2"), 512 * 1024)
    write(os.path.join(t, "new"), 1 * MiB, old=False)
    write(os.path.join(t, "old-open"), 4096)
    write(os.path.join(mnt, "keep", "old"), 4096)
    os.symlink(os.path.join(protected, "secret"), os.path.join(t, "link"))
    os.symlink(os.path.join(protected, "dir"), os.path.join(t, "linkdir"))
    for p in ("link", "linkdir"):
        os.utime(os.path.join(t, p), (OLD, OLD), follow_symlinks=False)
    inner = loops.create(16 * MiB, "ext4")
    inner_mnt = loops.mount(inner, os.path.join(t, "othermount"))
    write(os.path.join(inner_mnt, "old"), 4096)
    held = open(os.path.join(t, "old-open"), "ab")
    os.utime(os.path.join(t, "old-open"), (OLD, OLD))
    yield {"mnt": mnt, "tmp": t, "protected": protected, "inner": inner_mnt,
           "rules": [{"path": t, "older_than_days": 7}]}
    held.close()


def test_plan_selects_only_old_files_and_skips_the_rest(tree):
    plan = eos.cleanup_plan(tree["rules"])
    t = tree["tmp"]
    assert [i["path"] for i in plan["items"]] == [os.path.join(t, "old1"), os.path.join(t, "sub", "old2")]
    assert plan["bytes"] == sum(os.stat(i["path"]).st_blocks * 512 for i in plan["items"])
    assert plan["skipped_open"] == 1
    assert plan["skipped_symlinks"] == 2
    assert plan["skipped_mounts"] == 1
    assert eos.cleanup_plan(tree["rules"]) == plan  # deterministic


def test_apply_removes_the_plan_and_nothing_else(tree):
    roots = (tree["mnt"], tree["protected"])
    before = checksums(*roots)
    plan = eos.cleanup_plan(tree["rules"])
    planned = {i["path"] for i in plan["items"]}
    done = eos.cleanup_apply(plan["items"])
    assert done == {"removed": 2, "removed_bytes": plan["bytes"], "changed": 0, "missing": 0, "open_now": 0}
    after = checksums(*roots)
    assert set(before) - set(after) == planned
    assert {p: before[p] for p in after} == after
    assert os.path.isdir(os.path.join(tree["tmp"], "sub"))  # directories stay


def test_file_swapped_for_symlink_after_plan_is_left_alone(tree):
    plan = eos.cleanup_plan(tree["rules"])
    t, secret = tree["tmp"], os.path.join(tree["protected"], "secret")
    # Between plan and action: old1 becomes a symlink to a protected file, and the directory
    # sub/ a symlink to a protected directory holding a file named like the planned one.
    os.unlink(os.path.join(t, "old1"))
    os.symlink(secret, os.path.join(t, "old1"))
    os.rename(os.path.join(t, "sub"), os.path.join(t, "sub.moved"))
    write(os.path.join(tree["protected"], "dir", "old2"), 4096)
    os.symlink(os.path.join(tree["protected"], "dir"), os.path.join(t, "sub"))
    before = checksums(tree["mnt"], tree["protected"])
    done = eos.cleanup_apply(plan["items"])
    assert done["removed"] == 0 and done["changed"] == 2, done
    assert checksums(tree["mnt"], tree["protected"]) == before


def test_file_opened_for_writing_after_plan_is_skipped(tree):
    plan = eos.cleanup_plan(tree["rules"])
    with open(plan["items"][0]["path"], "ab"):
        done = eos.cleanup_apply(plan["items"])
    assert done["open_now"] == 1 and done["removed"] == 1
    assert os.path.exists(plan["items"][0]["path"])


@pytest.mark.parametrize(
    "rules,quoted",
    [
        ([{"path": "/"}], "'/'"),
        ([{"path": "/etc", "older_than_days": 30}], "'/etc'"),
        ([{"path": "/tmp/../etc", "older_than_days": 1}], "'/tmp/../etc'"),
        ([{"path": "tmp", "older_than_days": 1}], "'tmp'"),
        ([{"path": "/tmp"}], "would empty it"),
        ([{"path": "/tmp", "older_than_days": -1}], "-1"),
        ([{"path": "/tmp", "older_than_days": "7"}], "'7'"),
        ([{"path": "/tmp", "older": 7}], "'older'"),
        ([{"match": "*.deb"}], "needs a path"),
        ("/tmp", "'/tmp'"),
    ],
)
def test_bad_rules_refused(rules, quoted):
    with pytest.raises(OSError) as exc:
        eos.cleanup_plan(rules)
    assert "eos:storage:cleanup" in str(exc.value) and quoted in str(exc.value)


def test_cleanup_through_salt(tree, salt_local):
    salt_local.pillar({"eos": {"storage": {"cleanup": tree["rules"]}}})
    before = checksums(tree["mnt"], tree["protected"])
    r = salt_local.call("eos_storage.cleanup", "test=True")
    assert r.returncode == 0, r
    t = tree["tmp"]
    assert [p["path"] for p in r.data["plan"]] == [os.path.join(t, "old1"), os.path.join(t, "sub", "old2")]
    assert r.data["planned_bytes"] > 2 * MiB and r.data["test"] is True
    assert checksums(tree["mnt"], tree["protected"]) == before  # test=True changed nothing

    r = salt_local.call("eos_storage.cleanup")
    assert r.returncode == 0, r
    assert r.data["removed"] == 2 and r.data["changed"] == 0
    freed = r.data["freed_bytes"][tree["mnt"]]
    assert freed > 0 and abs(freed - r.data["planned_bytes"]) <= 64 * 1024, r.data
    assert not os.path.exists(os.path.join(t, "old1"))


@pytest.mark.parametrize(
    "level,pillar,quoted",
    [
        ("cleanup", [{"path": "/"}], "'/'"),
        ("critical", None, "no automatic deletion at critical"),
        ("compress", None, "'compress'"),
    ],
)
def test_cleanup_refusals_through_salt_call(salt_local, level, pillar, quoted):
    salt_local.pillar({"eos": {"storage": {"cleanup": pillar}}} if pillar else {"eos": {}})
    r = salt_local.call("eos_storage.cleanup", level, "test=True")
    assert r.returncode != 0, r
    assert quoted in r.stdout + r.stderr


def test_emergency_without_expansion_path_cleans(tree, salt_local):
    # The emergency level takes the aggressive profile (eos:storage:cleanup_emergency), not
    # the normal allowlist.
    normal = [{"path": os.path.join(tree["mnt"], "keep"), "older_than_days": 7}]
    salt_local.pillar({"eos": {"storage": {"cleanup": normal, "cleanup_emergency": tree["rules"]}}})
    r = salt_local.call("eos_storage.emergency", tree["mnt"])
    assert r.returncode == 0, r
    assert r.data["action"] == "cleanup" and r.data["target"] == tree["mnt"]
    assert "expand_error" not in r.data
    res = r.data["result"]
    assert res["level"] == "emergency" and res["profile"] == "aggressive" and res["removed"] == 2
    assert os.path.exists(os.path.join(tree["mnt"], "keep", "old"))


def test_emergency_falls_back_to_the_aggressive_cleanup_when_expanding_fails(loops, salt_local):
    # A mounted ext4 whose loop file has room: an expansion path, but growing ext4 online
    # needs CAP_SYS_RESOURCE, which these machines lack, so the expansion is refused.
    can, why = eos.ext4_can_grow_online()
    if can:
        pytest.skip("this process has CAP_SYS_RESOURCE: expanding a mounted ext4 succeeds, "
                    "there is no failed expansion to fall back from")
    lp = loops.create(64 * MiB, "ext4")
    mnt = loops.mount(lp)
    lp.grow_backing(128 * MiB)
    scratch = os.path.join(mnt, "scratch")
    write(os.path.join(scratch, "old"), MiB)
    write(os.path.join(mnt, "keep"), MiB)
    set_usage(mnt, 87)  # the emergency level: analyze recommends the expansion
    salt_local.pillar({"eos": {"storage": {"cleanup_emergency": [{"path": scratch, "older_than_days": 7}]}}})
    r = salt_local.call("eos_storage.emergency", mnt)
    assert r.returncode == 0, r
    assert r.data["action"] == "cleanup" and "CAP_SYS_RESOURCE" in r.data.get("expand_error", ""), r.data
    assert r.data["result"]["profile"] == "aggressive" and r.data["result"]["removed"] == 1
    assert not os.path.exists(os.path.join(scratch, "old")) and os.path.exists(os.path.join(mnt, "keep"))
    assert os.path.getsize(os.path.join(mnt, "data")) > 0  # set_usage's file: not in the plan


def test_cleanup_rules_by_level(salt_local):
    salt_local.pillar({"eos": {}})
    r = salt_local.call("eos_storage.cleanup_rules")
    assert r.returncode == 0, r
    assert (r.data["level"], r.data["profile"], r.data["source"]) == ("cleanup", "normal", "default")
    assert {"path": "/var/log/journal", "match": "*@*.journal", "older_than_days": 7} in r.data["rules"]
    assert {"path": "/tmp", "older_than_days": 7} in r.data["rules"]
    assert salt_local.call("eos_storage.cleanup_rules", "degraded").data["rules"] == r.data["rules"]

    r = salt_local.call("eos_storage.cleanup_rules", "emergency")
    assert r.returncode == 0, r
    assert (r.data["profile"], r.data["source"]) == ("aggressive", "default")
    assert {"path": "/var/log/journal", "match": "*@*.journal"} in r.data["rules"]
    assert {"path": "/var/log", "match": "*.[0-9]", "older_than_days": 1} in r.data["rules"]
    assert {"path": "/tmp", "older_than_days": 1} in r.data["rules"]

    mine = [{"path": "/srv/scratch", "older_than_days": 2}]
    salt_local.pillar({"eos": {"storage": {"cleanup_emergency": mine}}})
    r = salt_local.call("eos_storage.cleanup_rules", "emergency")
    assert (r.data["source"], r.data["rules"]) == ("pillar", mine)
    assert salt_local.call("eos_storage.cleanup_rules").data["source"] == "default"

    r = salt_local.call("eos_storage.cleanup_rules", "critical")
    assert r.returncode != 0 and "no automatic deletion at critical" in r.stdout + r.stderr


MACHINE = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def varlog(loops):
    """A loop-backed ext4 mounted over /var/log inside the private mount namespace, holding
    what journald and logrotate leave there; the active journal, the live log and a log just
    rotated are held open for writing, as journald and a syslog daemon hold them."""
    mnt = loops.mount(loops.create(64 * MiB, "ext4"), "/var/log")
    j = os.path.join(mnt, "journal", MACHINE)
    f = {
        "active": os.path.join(j, "system.journal"),
        "user_active": os.path.join(j, "user-1000.journal"),
        "archived_old": os.path.join(j, "system@5f1c2a3b4c5d6e7f-0000000000000001-0005f1c2a3b4c5d6.journal"),
        "user_archived_old": os.path.join(j, "user-1000@9a8b7c6d-0000000000000042-0005f1c2a3b4c5d7.journal"),
        "archived_new": os.path.join(j, "system@5f1c2a3b4c5d6e7f-0000000000000101-0005f1c2a3b4c5e0.journal"),
        "dirty_old": os.path.join(j, "system@0005f1c2a3b4c5d8-1a2b3c4d5e6f7a8b.journal~"),
        "syslog": os.path.join(mnt, "syslog"),
        "syslog_1": os.path.join(mnt, "syslog.1"),
        "syslog_2_gz": os.path.join(mnt, "syslog.2.gz"),
        "app_3": os.path.join(mnt, "app", "app.log.3"),
        "dpkg_1_new": os.path.join(mnt, "dpkg.log.1"),
        # Rotated, but the daemon has not reopened its log yet: still written to.
        "messages_1_held": os.path.join(mnt, "messages.1"),
    }
    for key, path in f.items():
        write(path, 256 * 1024, old=not key.endswith("new"))
    held = [open(f[k], "ab") for k in ("active", "syslog", "messages_1_held")]
    for key in ("active", "syslog", "messages_1_held"):
        os.utime(f[key], (OLD, OLD))
    yield f
    for h in held:
        h.close()


def test_journal_vacuum_then_aggressive_profile(varlog, salt_local):
    f = varlog

    def under_var_log(plan):
        return sorted(i["path"] for i in plan if i["path"].startswith("/var/log/"))

    # The defaults, planned only (they also cover this machine's real /tmp): the journal
    # vacuum selects the old archived journals, never an active one.
    salt_local.pillar({"eos": {}})
    r = salt_local.call("eos_storage.cleanup", "test=True")
    assert r.returncode == 0, r
    assert under_var_log(r.data["plan"]) == sorted([f["archived_old"], f["user_archived_old"], f["dirty_old"]])
    r = salt_local.call("eos_storage.cleanup", "emergency", "test=True")
    assert r.returncode == 0, r
    assert r.data["profile"] == "aggressive"
    assert under_var_log(r.data["plan"]) == sorted([
        f["archived_old"], f["user_archived_old"], f["archived_new"], f["dirty_old"],
        f["syslog_1"], f["syslog_2_gz"], f["app_3"]])

    # Carried out with the default rules that concern /var/log (not the machine's /tmp).
    def var_log_rules(level):
        rules = salt_local.call("eos_storage.cleanup_rules", level).data["rules"]
        return [x for x in rules if x["path"].startswith("/var/log")]

    salt_local.pillar({"eos": {"storage": {"cleanup": var_log_rules("cleanup"),
                                           "cleanup_emergency": var_log_rules("emergency")}}})
    vacuumed = {f["archived_old"], f["user_archived_old"], f["dirty_old"]}
    before = checksums("/var/log")
    r = salt_local.call("eos_storage.cleanup")
    assert r.returncode == 0, r
    assert r.data["removed"] == 3 and r.data["freed_bytes"]["/var/log"] > 0
    assert checksums("/var/log") == {p: s for p, s in before.items() if p not in vacuumed}

    aggressive = {f["archived_new"], f["syslog_1"], f["syslog_2_gz"], f["app_3"]}
    r = salt_local.call("eos_storage.cleanup", "emergency")
    assert r.returncode == 0, r
    assert r.data["removed"] == 4 and r.data["skipped"]["open"] == 1
    after = checksums("/var/log")
    assert after == {p: s for p, s in before.items() if p not in vacuumed | aggressive}
    for key in ("active", "user_active", "syslog", "dpkg_1_new", "messages_1_held"):
        assert f[key] in after


@pytest.fixture
def logs(loops, tmp_path):
    loop = loops.create(64 * MiB, "ext4")
    mnt = loops.mount(loop)
    log = os.path.join(mnt, "log")
    write(os.path.join(log, "syslog.1"), 300 * 1024)
    os.makedirs(os.path.join(log, "app"))
    with open(os.path.join(log, "app", "app.log.2"), "wb") as f:
        f.write(b"line of a log file\n" * 20000)
    os.chmod(os.path.join(log, "app", "app.log.2"), 0o640)
    os.utime(os.path.join(log, "app", "app.log.2"), (OLD, OLD))
    write(os.path.join(log, "syslog.2.gz"), 4096)                     # already compressed
    write(os.path.join(log, "syslog"), 4096)                          # live, open for writing
    write(os.path.join(log, "recent.log.1"), 4096, old=False)         # rotated, but recent
    write(os.path.join(tmp_path, "prot", "protected.1"), 4096)
    os.symlink(os.path.join(tmp_path, "prot", "protected.1"), os.path.join(log, "evil.1"))
    held = open(os.path.join(log, "syslog"), "ab")
    yield {"mnt": mnt, "log": log, "rules": [{"path": log, "match": "*.[0-9]", "older_than_days": 2}]}
    held.close()


def test_compress_rotated_logs(logs, salt_local, tmp_path):
    import gzip

    log = logs["log"]
    originals = {}
    for p in (os.path.join(log, "syslog.1"), os.path.join(log, "app", "app.log.2")):
        with os.fdopen(os.open(p, os.O_RDONLY | os.O_NOATIME), "rb") as f:  # stays old
            originals[p] = (f.read(), os.stat(p))
    untouched = [os.path.join(log, n) for n in ("syslog.2.gz", "syslog", "recent.log.1")]
    before = checksums(logs["mnt"], str(tmp_path / "prot"))
    salt_local.pillar({"eos": {"storage": {"compress": logs["rules"]}}})
    r = salt_local.call("eos_storage.compress", "test=True")
    assert r.returncode == 0, r
    assert [p["path"] for p in r.data["plan"]] == sorted(originals)
    assert checksums(logs["mnt"], str(tmp_path / "prot")) == before

    r = salt_local.call("eos_storage.compress")
    assert r.returncode == 0, r
    assert r.data["compressed"] == 2 and r.data["changed"] == 0
    assert r.data["bytes_after"] < r.data["bytes_before"]
    for p, (data, st) in originals.items():
        assert not os.path.exists(p)
        gz = p + ".gz"
        with gzip.open(gz, "rb") as f:
            assert f.read() == data
        gst = os.stat(gz)
        assert (gst.st_mode, gst.st_uid, int(gst.st_mtime)) == (st.st_mode, st.st_uid, int(st.st_mtime))
    after = checksums(logs["mnt"], str(tmp_path / "prot"))
    for p in untouched + [os.path.join(log, "evil.1")]:
        assert after[p] == before[p]
    assert not [n for n in os.listdir(log) if ".eos-" in n]  # no temporary file left
