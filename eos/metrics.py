"""Eos's storage figures in the Prometheus text exposition format, for the node exporter's
textfile collector (which reads ``*.prom`` files from one directory on every scrape)."""
import os

from eos.glue import save_text

LEVELS = ("ok", "warning", "compress", "cleanup", "degraded", "emergency", "critical")

# name, help, the figure from an eos.analyze mount (None: not exported for that mount)
_GAUGES = (
    ("eos_storage_level", "Threshold level index (0 ok .. 6 critical) for the node's scale tier",
     lambda m: LEVELS.index(m["level"]) if m.get("level") in LEVELS else None),
    ("eos_storage_used_pct", "Bytes used, percent", lambda m: m.get("used_pct")),
    ("eos_storage_inodes_used_pct", "Inodes used, percent", lambda m: m.get("inodes_pct")),
    ("eos_storage_growth_bytes_per_hour", "Growth over the sample window",
     lambda m: (m.get("growth") or {}).get("bytes_per_hour")),
    ("eos_storage_seconds_to_full", "Time to full at the current growth",
     lambda m: (m.get("growth") or {}).get("seconds_to_full")),
)


def _label(value):
    """A label value escaped as the exposition format requires (backslash, quote, newline)."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(mounts):
    """The text of an exposition for eos.analyze's ``mounts`` (mounts with an error are left
    out); one sample per mount and gauge, labelled mount, fstype and level."""
    lines = []
    ok = [m for m in mounts if not m.get("error")]
    for name, help_text, figure in _GAUGES:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for m in ok:
            value = figure(m)
            if value is None:
                continue
            labels = f'mount="{_label(m["target"])}",fstype="{_label(m.get("fstype", ""))}"'
            lines.append(f"{name}{{{labels}}} {float(value):g}")
    return "\n".join(lines) + "\n"


def write(directory, name, text):
    """Replace directory/name atomically (0644: the exporter may run as another user); the
    collector never reads half a file."""
    os.makedirs(directory, mode=0o755, exist_ok=True)
    save_text(os.path.join(directory, name), text, 0o644)
