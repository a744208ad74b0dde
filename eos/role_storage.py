"""Which block devices a role's storage may use: the node's unused devices (the eos_storage
grain) narrowed by pillar. Pillar is written by others: every value is type-checked and
bounded here, and a bad one is a ValueError that quotes it (the role state then fails to
render and changes nothing).

Pillar (per role):
  eos:<role>:fs_device    the device that gets the role's own filesystem (one path)
  eos:data:devices        the devices (paths or fnmatch patterns such as /dev/sd[b-d]) the data
                          role may turn into OSDs; absent: every unused device
  eos:data:max_osds       at most this many OSDs on the node (default 16)
  eos:data:crush_weight   initial CRUSH weight of new OSDs (default: by size)
"""
import fnmatch
import re

MAX_PATTERNS = 64
MAX_OSDS = 64
_DEVICE = re.compile(r"^/dev/[A-Za-z0-9._+:/\[\]*?!-]{1,200}$")


def device_path(value, what):
    """A /dev path (fnmatch patterns allowed where ``what`` says so), never '..'."""
    if not isinstance(value, str) or not _DEVICE.fullmatch(value) or "/../" in value + "/":
        raise ValueError(f"{what}: {value!r} is not a device path under /dev "
                         "(letters, digits and ._+:-/ only, at most 200)")
    return value


def fs_device(role, settings):
    """The device pillar eos:<role>:fs_device names for the role's filesystem, or None."""
    value = (settings or {}).get("fs_device") if isinstance(settings, dict) else None
    if value is None:
        return None
    path = device_path(value, f"eos:{role}:fs_device")
    if any(c in path for c in "*?[]!"):
        raise ValueError(f"eos:{role}:fs_device: {value!r} must name one device, not a pattern")
    return path


def _bounded_int(value, what, low, high, default):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{what}: {value!r} is not a whole number from {low} to {high}")
    return value


def crush_weight(settings):
    value = settings.get("crush_weight")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1000:
        raise ValueError(f"eos:data:crush_weight: {value!r} is not a number from 0 to 1000")
    return float(value)


def osd_devices(settings, unused, local, exclude=()):
    """The devices the data role makes OSDs on, sorted: the unused ones (grain eos_storage:
    unused_devices, a list of {path}) plus those already backing this node's OSDs (``local``
    paths, so a rerun keeps them), that pillar eos:data:devices allows, without ``exclude``
    (the roles' filesystem devices), at most eos:data:max_osds of them."""
    if not isinstance(settings, dict):
        raise ValueError(f"eos:data: {settings!r} is not a mapping")
    patterns = settings.get("devices")
    if patterns is not None:
        if isinstance(patterns, str) or not isinstance(patterns, list) or len(patterns) > MAX_PATTERNS:
            raise ValueError(f"eos:data:devices: {patterns!r} is not a list of at most "
                             f"{MAX_PATTERNS} device paths")
        patterns = [device_path(p, "eos:data:devices") for p in patterns]
    limit = _bounded_int(settings.get("max_osds"), "eos:data:max_osds", 0, MAX_OSDS, 16)
    found = [d.get("path") for d in unused or [] if isinstance(d, dict)]
    found = {p for p in found + list(local or []) if isinstance(p, str) and _DEVICE.fullmatch(p)}
    allowed = [p for p in sorted(found - set(exclude))
               if patterns is None or any(fnmatch.fnmatchcase(p, pat) for pat in patterns)]
    # The ones that are OSDs already come first: the limit never drops a running OSD.
    allowed.sort(key=lambda p: p not in (local or []))
    return sorted(allowed[:limit])
