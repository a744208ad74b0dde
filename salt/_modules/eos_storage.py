"""Eos storage execution module: the work is done in C by the eos package (eos._eos)."""
import logging
import os

from salt.exceptions import CommandExecutionError

try:
    import eos
    from eos.glue import call as _call, config as _config, pillar as _glue_pillar, text as _text
    from eos.glue import text_returns as _text_returns
except ImportError as exc:  # pragma: no cover - depends on the minion's environment
    _UNLOADABLE = f"eos_storage: the eos package cannot be imported: {exc}"
else:
    _UNLOADABLE = ""

log = logging.getLogger(__name__)

__virtualname__ = "eos_storage"


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


def probe(lvm="auto"):
    """
    One in-process inventory of this minion's storage, collected in C:

    ``devices``
        every block device from sysfs (name, path, major:minor, size in bytes, rotational,
        read_only, removable, kind, partition number and parent, loop backing file, holders,
        slaves) with its signature read through libblkid as ``blkid -p`` does (``type``,
        ``uuid``, ``label``, ``partuuid``, ``pttype``, ``usage``, ``btrfs_devid`` and every tag
        under ``blkid``), its mount points and whether it is ``unused``;
    ``mounts``
        every mount from /proc/self/mountinfo with statvfs usage in bytes and inodes
        (names that are not UTF-8 show their other bytes as ``\\xNN``);
    ``btrfs``
        mounted BTRFS filesystems and their member devices (/sys/fs/btrfs);
    ``lvm``
        PVs, VGs and LVs as ``lvm fullreport`` shows them, read in-process from the PVs' labels
        and metadata when lvm runs with its default configuration, otherwise (and for what the
        reader leaves to lvm: RAID, thin, a missing PV ...) from the lvm tool's JSON report;
        ``reader`` says which (``in-process`` or ``lvm``); ``{"available": false}`` when lvm
        is not installed and nothing was read.

    lvm
        ``auto`` (default): read LVM only when some device carries an LVM2_member signature, is
        ambivalent or could not be read for a reason lvm would not share (an I/O error; not a
        permission error); ``True``: always, through the lvm tool; ``False``: never. The lvm
        tool runs on its own thread while the devices are probed.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.probe
        salt '*' eos_storage.probe lvm=True
    """
    if isinstance(lvm, str) and lvm.lower() in ("true", "false"):
        lvm = lvm.lower() == "true"
    if lvm not in (True, False, "auto"):
        raise CommandExecutionError(f"lvm must be True, False or 'auto', not {lvm!r}")
    return _call(eos.probe, lvm=lvm)


def usage(path=None):
    """
    Usage of the filesystem holding ``path`` (statvfs: bytes and inodes, with the mount it
    belongs to), or of every mounted filesystem with storage when no path is given. Cheap:
    no device is opened and no tool is run.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.usage
        salt '*' eos_storage.usage /var
    """
    if path is not None and not isinstance(path, (str, bytes)):
        path = str(path)
    if path == "":
        raise CommandExecutionError("usage: empty path")
    return _call(eos.usage, path)


def _nonneg_int(name, value):
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise CommandExecutionError(f"{name} must be an integer >= 0, got {value!r}") from None
    if isinstance(value, bool) or n < 0 or (isinstance(value, float) and value != n):
        raise CommandExecutionError(f"{name} must be an integer >= 0, got {value!r}")
    return n


def _arg(name, value):
    """A text argument for the C library: the C side would see a NUL byte as its end (or the
    binding refuse it without naming it), so it is refused here, quoted."""
    value = str(value)
    if "\x00" in value:
        raise CommandExecutionError(f"{name} {value!r} holds a NUL byte")
    return value


def top_consumers(path, depth=2, limit=20):
    """
    The largest directories (down to ``depth`` levels below ``path``, cumulative) and the
    largest files under ``path``, by disk usage in bytes, exactly like ``du -x -B1``: the
    walk stays on the filesystem of ``path``, never follows symlinks and counts hard-linked
    files once. Returns the totals (``bytes``, ``apparent_bytes``, ``files``, ``dirs``),
    ``top_dirs`` and ``top_files`` (``limit`` of each, largest first) and the ``errors`` met
    in unreadable subtrees, which are skipped (like du, an unreadable directory's own blocks
    still count). A hard-linked file counts once, in the first directory the walk meets it in.
    Mounts below ``path`` (other filesystems, and bind mounts) are not entered.

    path
        The directory to walk (not a symlink to one).

    depth
        How many levels below ``path`` directories are listed (0: only ``path`` itself).

    limit
        How many directories and how many files to list.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.top_consumers /var
        salt '*' eos_storage.top_consumers /srv/data 3 10
    """
    depth = _nonneg_int("depth", depth)
    limit = _nonneg_int("limit", limit)
    return _call(eos.top_consumers, str(path), depth, limit)


def _pillar(key, default):
    return _glue_pillar(__salt__, key, default)


def analyze(path=None, record=True, window=None):
    """
    Analyse the mounted filesystems (or only the one holding ``path``): usage and inode
    percentages, the threshold level for this node's scale tier, growth from the samples kept
    in the minion's cache, the expansion paths that exist and a recommendation (``expand``,
    ``cleanup`` or ``none``).

    Thresholds come from the tier for pillar ``eos:cluster:node_count`` (default 1), with
    pillar ``eos:storage:thresholds`` overriding single levels (a bad value is refused).

    path
        Only the mount containing this path.
    record
        Append a usage sample for each mount before computing growth (default True).
    window
        Growth window in seconds (default 24 hours).

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.analyze
        salt '*' eos_storage.analyze /var record=False
    """
    return _call(
        eos.analyze,
        __opts__["cachedir"],
        node_count=_pillar("eos:cluster:node_count", 1),
        thresholds=_pillar("eos:storage:thresholds", None),
        record=bool(record),
        path=path,
        window=_window(window),
    )


def _window(window):
    """analyze's window: seconds of samples, a finite number >= 0 (0 or None: all kept)."""
    try:
        w = float(window or 0)
    except (TypeError, ValueError):
        raise CommandExecutionError(f"window must be a number of seconds >= 0, got {window!r}") from None
    if isinstance(window, bool) or not 0 <= w < float("inf"):
        raise CommandExecutionError(f"window must be a number of seconds >= 0, got {window!r}")
    return w


def _legacy_expand_dir():
    """Where expand kept its journals before the one state root: one left there is moved."""
    return os.path.join(__opts__["cachedir"], "eos", "expand")


def _expand_warn_pct(size, warn_pct):
    """The warning level "auto" aims under: given, or the scale tier's from eos.thresholds."""
    if warn_pct is not None:
        return int(warn_pct)
    if str(size).lower() != "auto":
        return 60  # unused: only "auto" reads it
    nodes = _pillar("eos:cluster:node_count", 1)
    overrides = _pillar("eos:storage:thresholds", None)
    return int(_call(eos.thresholds, node_count=nodes, thresholds=overrides)["warning"])


def _masterless():
    return bool(
        __opts__.get("local")
        or __opts__.get("file_client") == "local"
        or __opts__.get("master_type") == "disable"
    )


def _expand_events(phase, data):
    """Put each phase of an expansion on the master's event bus: eos/storage/expand/<phase>."""
    try:
        __salt__["event.send"](f"eos/storage/expand/{phase}", _text(data))
    except Exception as exc:  # pylint: disable=broad-except
        log.warning("eos_storage.expand: event %s not sent: %s", phase, exc)


def _on_cephfs(target):
    """True when target is a path on a CephFS mount (kernel client or ceph-fuse)."""
    if not os.path.isabs(str(target)) or not os.path.exists(str(target)):
        return False
    try:
        return eos.usage(str(target))["fstype"] in ("ceph", "fuse.ceph-fuse", "fuse.ceph")
    except OSError:
        return False


def expand(target, size="max", test=False, warn_pct=None, margin_pct=5, lock_timeout=600,
           device=None):
    """
    Grow a volume and the filesystem on it, in one call, without ever shrinking.

    ``target`` is a mount point, a block device or ``vg/lv``. Eos finds the chain under it
    (loop backing file -> loop device -> PV -> LV -> filesystem), plans each step with the bytes
    before and after, and carries it out under a per-target lock with a journal in the minion's
    cache dir (a rerun after a crash finishes the interrupted plan). Returns the plan, what was
    done, sizes before and after and the time each step took. Events
    ``eos/storage/expand/started|step|done|failed`` go to the master (not sent when masterless).

    size
        ``+50G`` (grow by), ``200G`` (grow to), ``100%FREE`` (all of the free space below),
        ``max`` (default) or ``auto`` (enough to bring usage back under the scale tier's warning
        level minus ``margin_pct`` points). K/M/G/T, with or without ``iB``.
    test
        Only plan: change nothing.
    warn_pct
        The warning level for ``auto`` (default: the tier for pillar ``eos:cluster:node_count``).
    lock_timeout
        Seconds to wait for another expansion of the same target.
    device
        Only for a path on CephFS, which grows by OSD capacity: the unused device (or file)
        to add an OSD on, through ``eos_ceph.expand``.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.expand /srv/data
        salt '*' eos_storage.expand /mnt/cephfs device=/dev/sdc
        salt '*' eos_storage.expand /srv/data +50G test=True
        salt '*' eos_storage.expand vg0/data 100%FREE
    """
    if _on_cephfs(target):
        if not device:
            raise CommandExecutionError(
                f"{target!r} is on CephFS, which grows by adding OSD capacity: "
                "give device=<an unused device or file> for the new OSD")
        if "eos_ceph.expand" not in __salt__:
            raise CommandExecutionError("expanding CephFS needs the eos_ceph module")
        return __salt__["eos_ceph.expand"](str(target), str(device), test=bool(test))
    size = "max" if size is None else _arg("size", size)
    if not size.strip():
        # The library reads an empty size as its default, max: never from a blank argument.
        raise CommandExecutionError(f"invalid size {size!r}: empty (expected e.g. +50G, 200GiB, "
                                    "100%FREE, max or auto)")
    return _call(
        eos.expand,
        _arg("target", target),
        size,
        test=bool(test),
        state_dir=_state_dir(),
        legacy_dir=_legacy_expand_dir(),
        warn_pct=_expand_warn_pct(size, warn_pct),
        margin_pct=int(margin_pct),
        lock_timeout=float(lock_timeout),
        # Events are for a master following a fleet; masterless there is no one to tell.
        on_event=None if test or _masterless() else _expand_events,
    )


# What eos_storage.cleanup removes when pillar eos:storage:cleanup says nothing: temporary
# files neither read nor written for 7 days, downloaded package files, and the journal vacuum:
# archived journal files (system@...journal, user-1000@...journal) and the ones journald
# renamed aside (*.journal~), which are never written again; the active system.journal
# matches neither pattern.
JOURNAL = "/var/log/journal"
DEFAULT_CLEANUP = [
    {"path": "/tmp", "older_than_days": 7},
    {"path": "/var/tmp", "older_than_days": 7},
    {"path": "/var/cache/apt/archives", "match": "*.deb"},
    {"path": JOURNAL, "match": "*@*.journal", "older_than_days": 7},
    {"path": JOURNAL, "match": "*.journal~", "older_than_days": 7},
]
# The aggressive profile, for the emergency level when no expansion path exists (pillar
# eos:storage:cleanup_emergency replaces it): shorter ages, every archived journal, and
# rotated logs. Still never a live log, a home directory or a file open for writing.
DEFAULT_EMERGENCY_CLEANUP = [
    {"path": "/tmp", "older_than_days": 1},
    {"path": "/var/tmp", "older_than_days": 1},
    {"path": "/var/cache/apt/archives", "match": "*.deb"},
    {"path": JOURNAL, "match": "*@*.journal"},
    {"path": JOURNAL, "match": "*.journal~"},
    {"path": "/var/log", "match": "*.[0-9].gz", "older_than_days": 1},
    {"path": "/var/log", "match": "*.[0-9][0-9].gz", "older_than_days": 1},
    {"path": "/var/log", "match": "*.[0-9]", "older_than_days": 1},
    {"path": "/var/log", "match": "*.[0-9][0-9]", "older_than_days": 1},
]
CLEANUP_LEVELS = ("cleanup", "degraded", "emergency")


def cleanup_rules(level="cleanup"):
    """
    The allowlist ``eos_storage.cleanup`` applies at LEVEL: pillar ``eos:storage:cleanup``
    (default: files in /tmp and /var/tmp untouched for 7 days, ``*.deb`` in
    /var/cache/apt/archives, archived systemd journal files untouched for 7 days) for
    ``cleanup`` and ``degraded``; the aggressive profile, pillar
    ``eos:storage:cleanup_emergency``, for ``emergency`` (default: /tmp and /var/tmp after
    1 day, every archived journal file, rotated logs under /var/log untouched for a day).

    Returns ``{"level", "profile": "normal"|"aggressive", "source": "pillar"|"default",
    "rules", "allow"}`` (``allow``: pillar ``eos:storage:cleanup_allow``).

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.cleanup_rules
        salt '*' eos_storage.cleanup_rules emergency
    """
    if level not in CLEANUP_LEVELS:
        raise CommandExecutionError(
            f"cleanup level must be one of {', '.join(CLEANUP_LEVELS)}, not {level!r}"
            + (" (no automatic deletion at critical)" if level == "critical" else "")
        )
    aggressive = level == "emergency"
    key = "eos:storage:cleanup_emergency" if aggressive else "eos:storage:cleanup"
    rules = _pillar(key, None)
    return {"level": level, "profile": "aggressive" if aggressive else "normal",
            "source": "default" if rules is None else "pillar",
            "rules": (DEFAULT_EMERGENCY_CLEANUP if aggressive else DEFAULT_CLEANUP)
            if rules is None else rules,
            "allow": _cleanup_allow()}


def _cleanup_allow():
    """Pillar ``eos:storage:cleanup_allow``: exact directories below system trees that cleanup
    rules may name nonetheless (the C guard checks its type and each path)."""
    return _pillar("eos:storage:cleanup_allow", None)


def cleanup(level="cleanup", test=False):
    """
    Remove what the cleanup allowlist selects, after building a deterministic plan: every file
    it would remove and its bytes. ``test=True`` returns the plan and changes nothing.

    The allowlist is a list of ``{path, match, older_than_days, recursive}`` rules, chosen by
    level (``eos_storage.cleanup_rules LEVEL`` shows it): pillar ``eos:storage:cleanup`` for
    ``cleanup`` and ``degraded`` (default: files in /tmp and /var/tmp not accessed or modified
    for 7 days, ``*.deb`` in /var/cache/apt/archives, and the journal vacuum: archived systemd
    journal files untouched for 7 days); the aggressive profile, pillar
    ``eos:storage:cleanup_emergency``, for ``emergency`` (default: /tmp and /var/tmp after a
    day, every archived journal file, rotated logs under /var/log untouched for a day).
    Symlinks are never followed (nor removed), other filesystems never entered, directories
    never removed, files open for writing skipped (live logs, the active journal), and a file
    replaced between plan and removal is left alone, and a file with more than one hard link
    is skipped. Rule paths are normalised and resolved first; refused are a path through a
    symlink, ``/``, and system trees and everything below them (/bin, /boot, /dev, /etc,
    /home, /lib*, /opt, /proc, /root, /sbin, /srv, /sys, /usr, /var/lib), unless pillar
    ``eos:storage:cleanup_allow`` names that exact directory.

    level
        ``cleanup`` (default), ``degraded`` or ``emergency``: the levels whose action is this
        cleanup. ``critical`` is refused (no automatic deletion at critical), and the
        ``compress`` level's action is ``eos_storage.compress``.

    Returns the plan (``plan``, ``planned_bytes``) and, unless test, what was ``removed``
    and the bytes actually freed per filesystem (``freed_bytes``: statvfs before and after).

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.cleanup test=True
        salt '*' eos_storage.cleanup emergency
    """
    profile = cleanup_rules(level)
    rules = profile["rules"]
    plan = _call(eos.cleanup_plan, rules, allow=profile["allow"])
    ret = {
        "level": level,
        "profile": profile["profile"],
        "test": bool(test),
        "plan": [{"path": i["path"], "bytes": i["bytes"], "rule": rules[i["rule"]]["path"]}
                 for i in plan["items"]],
        "planned_bytes": plan["bytes"],
        "skipped": {k[len("skipped_"):]: plan[k] for k in plan if k.startswith("skipped_")},
    }
    if test:
        return ret
    mounts = {}
    for rule in rules:
        try:
            u = eos.usage(rule["path"])
        except OSError:
            continue  # a rule whose directory does not exist
        mounts.setdefault(u["target"], (rule["path"], u["avail"]))
    done = _call(eos.cleanup_apply, plan["items"])
    ret.update(done)
    ret["freed_bytes"] = {}
    for target, (path, before) in mounts.items():
        ret["freed_bytes"][target] = _call(eos.usage, path)["avail"] - before
    return ret


def emergency(target):
    """
    The ``emergency`` threshold level's action for the mount at ``target``: expand when an
    expansion path exists (``eos_storage.analyze`` recommends ``expand``; size ``auto``: back
    under the warning level), otherwise the cleanup at level ``emergency`` (the aggressive
    profile, see ``eos_storage.cleanup_rules emergency``). When the expansion itself fails,
    the aggressive cleanup still runs and ``expand_error`` says why the expansion did not.
    Run by the storage_threshold reactor; returns which action ran and its result.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.emergency /srv/data
    """
    report = analyze(path=target, record=False)
    (mount,) = report["mounts"]
    ret = {"action": "cleanup", "target": mount["target"]}
    if mount["recommendation"]["action"] == "expand":
        try:
            return {"action": "expand", "target": mount["target"],
                    "path": mount["recommendation"]["path"],
                    "result": expand(mount["target"], "auto")}
        except CommandExecutionError as exc:
            log.error("eos_storage.emergency: expanding %s failed, cleaning up instead: %s",
                      mount["target"], exc)
            ret["expand_error"] = str(exc)
    ret["result"] = cleanup("emergency")
    return ret


# What eos_storage.compress compresses when pillar eos:storage:compress says nothing: rotated
# logs (name ending in .<digits>, not yet compressed) under /var/log, untouched for 2 days.
DEFAULT_COMPRESS = [
    {"path": "/var/log", "match": "*.[0-9]", "older_than_days": 2},
    {"path": "/var/log", "match": "*.[0-9][0-9]", "older_than_days": 2},
]


def compress(test=False):
    """
    The ``compress`` threshold level's action: gzip rotated logs (each file F becomes F.gz with
    the same mode, owner and times, written beside it and renamed into place; F is removed
    after). The plan comes from pillar ``eos:storage:compress`` (same form as
    ``eos:storage:cleanup``), by default files named ``*.<digits>`` under /var/log not read or
    written for 2 days. Live logs are never touched: files open for writing are skipped, and
    so are symlinks, other filesystems, and files changed since the plan.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.compress test=True
    """
    rules = _pillar("eos:storage:compress", None)
    if rules is None:
        rules = DEFAULT_COMPRESS
    plan = _call(eos.cleanup_plan, rules, allow=_cleanup_allow())
    ret = {
        "test": bool(test),
        "plan": [{"path": i["path"], "bytes": i["bytes"]} for i in plan["items"]],
        "planned_bytes": plan["bytes"],
        "skipped": {k[len("skipped_"):]: plan[k] for k in plan if k.startswith("skipped_")},
    }
    if not test:
        ret.update(_call(eos.compress_apply, plan["items"]))
    return ret


# --- provisioning and conversion (issue 7) ---

def _fstab():
    """The fstab provisioning writes: minion config or pillar ``eos:storage:fstab``."""
    return _config(__salt__, "eos:storage:fstab", "/etc/fstab")


def _handover_comment(rec, device=None):
    where = f"; nothing was done on {device}" if device else ""
    return (f"'{rec['workload']}' workloads go to {rec['fstype'].upper()}, which is handled by "
            f"{rec['handover']}{where}")


def recommend(workload):
    """
    The filesystem eos recommends for a workload and why, without touching anything:
    ``database`` (XFS; on LVM where device-mapper is available, otherwise the reason the LVM
    layer is skipped), ``backup`` (BTRFS, zstd compression), ``boot`` / ``system`` (ext4),
    ``shared`` (CephFS: handed over to the Ceph work), ``general`` (XFS).

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.recommend database
    """
    rec = _call(eos.provision_recommend, str(workload))
    if rec["handover"]:
        rec["comment"] = _handover_comment(rec)
    return rec


def provision(device, workload, mountpoint=None, label=None, force=False, test=False,
              keep_matching=False, lvm=None, vg=None, lv=None):
    """
    Make the recommended filesystem for ``workload`` on ``device``; with ``mountpoint``, mount
    it and add an fstab entry by UUID (written atomically, other entries kept). The fstab is
    ``/etc/fstab`` unless ``eos:storage:fstab`` is set in the minion config or pillar.

    A device that holds a filesystem, a partition table or an LVM signature, or is mounted or
    in use, is refused (libblkid, mountinfo, sysfs holders, exclusive open) unless
    ``force=True``; the answer then lists what is destroyed. ``test=True`` returns the plan
    (steps, the mkfs command, the fstab line, what would be destroyed) and changes nothing.
    The ``shared`` workload is handed over to the Ceph work and nothing is done here.
    With ``keep_matching=True`` a device that already holds the recommended filesystem (and
    label) is kept: only the missing mount and fstab steps run (the
    ``eos_storage.provisioned`` state).

    With ``lvm=True`` the filesystem goes on LVM: the device becomes a PV of a new VG ``vg``
    (default ``eos_<device name>``) with one LV ``lv`` (default: the workload) over all of it,
    activated, and the filesystem is made on the LV. ``lvm=None`` (the default) does so where
    the recommendation asks for LVM (``database``) and device-mapper can activate the LV;
    ``lvm=False`` never. Where the kernel has no device-mapper, ``lvm=True`` fails before
    anything changes, naming the reason (``test=True`` still shows the plan).

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.provision /dev/sdb backup /srv/backup test=True
        salt '*' eos_storage.provision /dev/sdb database /var/lib/postgresql label=pgdata
        salt '*' eos_storage.provision /dev/sdc general force=True
        salt '*' eos_storage.provision /dev/sdd database /srv/pg lvm=True vg=vgpg lv=data
    """
    test = bool(test) or bool(__opts__.get("test"))
    if lvm is not None and not isinstance(lvm, bool):
        raise CommandExecutionError(f"lvm must be True, False or None (as recommended), got {lvm!r}")
    res = _call(eos.provision, _arg("device", device), _arg("workload", workload),
                mountpoint=_arg("mountpoint", mountpoint) if mountpoint else None,
                label=_arg("label", label) if label is not None else None,
                fstab=_fstab(), force=bool(force), dry_run=test,
                keep_matching=bool(keep_matching), lvm=lvm,
                vg=_arg("vg", vg) if vg is not None else None,
                lv=_arg("lv", lv) if lv is not None else None)
    rec = res["recommendation"]
    if rec["handover"]:
        res["comment"] = _handover_comment(rec, device)
        return res
    verb = "would be" if test else "was"
    res["comment"] = f"{device} {verb} provisioned with {rec['fstype']} for {rec['workload']}"
    if res["lvm"]:
        res["comment"] += f" on the LVM logical volume {res['lvm']['vg']}/{res['lvm']['lv']}"
        dm, why = eos.lvm_dm_available()
        if test and not dm:
            res["comment"] += f"; but it cannot run here: {why}"
    if mountpoint:
        res["comment"] += f", mounted at {mountpoint} and added to {_fstab()} by UUID"
    if res["destroys"]:
        res["comment"] += "; destroying: " + "; ".join(res["destroys"])
    return res


def _state_dir():
    """The state root of every multi-step operation (``eos:storage:state_dir``): expand and
    convert keep their locks and journals in <root>/expand and <root>/convert."""
    return _config(__salt__, "eos:storage:state_dir", "/var/lib/eos")


def convert(path, fstype="btrfs", compression="zstd", target=None, force=False, test=False):
    """
    Move the mounted filesystem at ``path`` onto a new BTRFS on the free device ``target``,
    with ``compression`` (zstd[:1-15], zlib[:1-9], lzo or none), and make it appear at
    ``path``: mkfs → copy (owners, modes, ns times, ACLs and other xattrs, hard links, sparse
    files, symlinks, device nodes, fifos, any name) → verify every file byte for byte with its
    metadata → switch (the old filesystem stays mounted read-only, see ``old_mounted_at``) →
    fstab (the old entry kept as a comment). The source is never modified: run
    ``convert_finalize`` to release it or ``convert_rollback`` to go back.

    Each step is journaled under ``eos:storage:state_dir`` (default /var/lib/eos) with a lock:
    after a crash, running convert again continues where it stopped. The switch refuses while
    files under ``path`` are open (listed in ``open_files``) unless ``force=True``.
    Reports ``bytes_before`` (data copied), ``bytes_after`` (BTRFS data allocated) and
    ``compression_ratio``. ``test=True`` returns the plan and changes nothing.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.convert /srv/data btrfs target=/dev/sdc test=True
        salt '*' eos_storage.convert /srv/data btrfs compression=zstd:6 target=/dev/sdc
    """
    if str(fstype) != "btrfs":
        raise CommandExecutionError(f"cannot convert to '{fstype}': only btrfs is supported")
    if not target:
        raise CommandExecutionError("no target given: convert needs a free device for the new "
                                    "BTRFS (target=/dev/...)")
    test = bool(test) or bool(__opts__.get("test"))
    res = _call(eos.convert, _arg("path", path), _arg("target", target),
                compression=_arg("compression", compression),
                fstab=_fstab(), state_dir=_state_dir(), force=bool(force), dry_run=test)
    if test:
        res["comment"] = (f"{path} ({res['old_fstype']} on {res['old_source']}) would be moved onto "
                          f"a new btrfs on {res['target']} mounted with {res['mount_options']}")
    else:
        res["comment"] = (f"{path} is now btrfs on {res['target']}; the old {res['old_fstype']} stays "
                          f"read-only at {res['old_mounted_at']} until eos_storage.convert_finalize")
    if res["open_files"]:
        res["comment"] += f"; {len(res['open_files'])} open file(s) under {path}"
    return res


def convert_finalize(path):
    """
    Finish a conversion made by ``eos_storage.convert``: unmount the old filesystem from its
    holding directory and drop the journal. The old device is left as it is, now unused.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.convert_finalize /srv/data
    """
    res = _call(eos.convert_finalize, str(path), state_dir=_state_dir())
    res["comment"] = f"{res['old_source']} ({res['old_fstype']}) released; {path} stays on btrfs"
    return res


def convert_rollback(path):
    """
    Return ``path`` to the filesystem it had before ``eos_storage.convert``, from whatever step
    the conversion reached: the new BTRFS is unmounted (and left on its device), the old
    filesystem goes back read-write at ``path`` and fstab is restored.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.convert_rollback /srv/data
    """
    res = _call(eos.convert_rollback, str(path), fstab=_fstab(), state_dir=_state_dir())
    res["comment"] = f"{path} is back on {res['old_source']} ({res['old_fstype']})"
    return res


def export_metrics(directory=None):
    """
    Write this node's storage figures per mount (threshold level, used and inode %, growth,
    time to full; from ``analyze``) as ``eos_storage.prom`` in the node exporter's textfile
    collector directory: ``directory``, else config/pillar ``eos:node_exporter:textfile_dir``,
    else /var/lib/prometheus/node-exporter. The observe role's schedule runs it every minute.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.export_metrics
    """
    from eos import metrics

    directory = str(directory or __salt__["config.get"]("eos:node_exporter:textfile_dir")
                    or "/var/lib/prometheus/node-exporter")
    mounts = analyze()["mounts"]
    text = metrics.render(mounts)
    try:
        metrics.write(directory, "eos_storage.prom", text)
    except OSError as exc:
        raise CommandExecutionError(f"cannot write {directory}/eos_storage.prom: {exc.strerror}") from exc
    return {"file": os.path.join(directory, "eos_storage.prom"),
            "mounts": len([m for m in mounts if not m.get("error")])}


# --- LVM creation (issue 15) ---

def _test(test):
    return bool(test) or bool(__opts__.get("test"))


def _devices(devices):
    """A list of device paths from a list or a comma-separated string, each a plain string."""
    if isinstance(devices, str):
        devices = [d.strip() for d in devices.split(",") if d.strip()]
    if not isinstance(devices, (list, tuple)) or not devices or len(devices) > 16:
        raise CommandExecutionError(f"devices must list 1 to 16 block devices, got {devices!r}")
    for d in devices:
        if not isinstance(d, str):
            raise CommandExecutionError(f"a device must be a path string, got {d!r}")
    return [_arg("device", d) for d in devices]


def pv_ensure(device, test=False):
    """
    Make ``device`` an LVM physical volume; nothing when it is one already. A device that
    is not a block device, or holds a filesystem, a partition table or another signature, or
    is mounted or in use, is refused and nothing changes. ``test=True`` returns the plan only.
    Returns ``steps`` (done or, with test, planned), ``changed``, ``before``/``after`` (PV
    size in bytes) and ``note``.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.pv_ensure /dev/sdb test=True
    """
    return _call(eos.lvm_pv_ensure, _arg("device", device), dry_run=_test(test))


def vg_ensure(name, devices, extent_size=None, test=False):
    """
    Make volume group ``name`` exist and hold every device of ``devices`` (a list, or
    comma-separated): devices that are no PV yet become PVs (refused when they are not free),
    then the VG is created (``vgcreate``) or extended (``vgextend``). PVs of the VG that are
    not listed stay in it; a device in another VG is refused. ``extent_size`` (``4M``) applies
    at creation only. ``test=True`` returns the plan only.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.vg_ensure vgdata /dev/sdb,/dev/sdc
        salt '*' eos_storage.vg_ensure vgdata '["/dev/sdb"]' extent_size=8M test=True
    """
    return _call(eos.lvm_vg_ensure, _arg("name", name), _devices(devices),
                 extent_size=_arg("extent_size", extent_size) if extent_size is not None else None,
                 dry_run=_test(test))


def lv_ensure(name, vg, size, shrink=False, test=False):
    """
    Make logical volume ``name`` exist in volume group ``vg`` with ``size``: an absolute size
    (``40G``, rounded up to whole extents), ``N%FREE`` (of the VG's free space, at creation)
    or ``max`` (everything the VG has free). A smaller LV is grown (``lvextend``); a larger one
    is left as it is unless ``shrink=True``, which reduces it only while it is inactive
    (nothing can be mounted on it). Sizes like ``+10G`` that never settle are refused.
    ``test=True`` returns the plan only.

    CLI Example:

    .. code-block:: bash

        salt '*' eos_storage.lv_ensure data vgdata 100G
        salt '*' eos_storage.lv_ensure data vgdata max test=True
    """
    if not isinstance(shrink, bool):
        raise CommandExecutionError(f"shrink must be True or False, got {shrink!r}")
    return _call(eos.lvm_lv_ensure, _arg("vg", vg), _arg("name", name), _arg("size", size),
                 shrink=shrink, dry_run=_test(test))


if not _UNLOADABLE:  # every public function's return is valid UTF-8 on the bus
    _text_returns(globals())
