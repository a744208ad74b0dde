"""Summaries of `salt --out=json --static` (and `salt-run --out=json`) output for scripts/demo,
readable at a glance:
  demo_summary.py sync     < saltutil.sync_all output
  demo_summary.py analyze  < eos_storage.analyze output (one line per mount)
  demo_summary.py expand   < eos_storage.expand output (the plan, step by step)
  demo_summary.py roles    < salt-run eos_roles.calculate output
  demo_summary.py events   < salt-run state.event pretty=False lines (tag and key fields)"""
import json
import sys

MiB = 1 << 20


def sync(minion, ret):
    synced = sorted(x for kind in ret.values() for x in kind)
    print(f"{minion}: synced " + (", ".join(synced) or "nothing new (already in sync)"))


def analyze(minion, ret):
    t = ret.get("thresholds") or {}
    print(f"{minion}: tier {t.get('tier')} (node_count {t.get('node_count')}): warning at "
          f"{t.get('warning')}%, cleanup at {t.get('cleanup')}%, critical at {t.get('critical')}%")
    rows = [("TARGET", "FSTYPE", "USED%", "INODE%", "LEVEL", "ACTION", "WHY")]
    for m in ret["mounts"]:
        rec = m.get("recommendation") or {}
        rows.append((m["target"], m["fstype"], str(m.get("used_pct")), str(m.get("inodes_pct")),
                     str(m.get("level")), str(rec.get("action")), str(rec.get("reason"))))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[6])


def mib(n):
    return f"{(n or 0) / MiB:.0f} MiB"


def expand(minion, ret):
    verb = "would grow" if ret.get("test") else ("grew" if ret.get("changed") else "left")
    print(f"{minion}: {verb} {ret.get('target')} ({ret.get('fstype')}) from {mib(ret.get('before'))} "
          f"to {mib(ret.get('after'))}")
    for s in ret.get("plan") or []:
        print(f"  step {s['step']}: {s['kind']:<14} {s['object']}: {mib(s['before'])} -> {mib(s['after'])}"
              f"  [{s['status']}]" + (f"  ({s['note']})" if s.get("note") else ""))
    for note in ret.get("notes") or []:
        print(f"  note: {note}")


def roles(ret):
    for node, held in sorted((ret.get("assignment") or {}).items()):
        print(f"  {node}: {', '.join(held)}")
    for key in ("tier", "node_count"):
        if key in ret:
            print(f"  {key}: {ret[key]}")


FIELDS = ("id", "target", "level", "previous", "used_pct", "phase", "before", "after", "action")


def events(lines):
    for line in lines:
        tag, _, body = line.strip("\0 \n").partition("\t")
        if not tag.startswith("eos/"):
            continue
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            data = {}
        inner = data.get("data") if isinstance(data.get("data"), dict) else data
        shown = {k: inner[k] for k in FIELDS if k in inner}
        if "id" not in shown and "id" in data:
            shown = {"id": data["id"], **shown}
        for k in ("before", "after"):
            if isinstance(shown.get(k), int):
                shown[k] = mib(shown[k])
        print(f"  {tag}  " + " ".join(f"{k}={v}" for k, v in shown.items()))


def main():
    what = sys.argv[1]
    if what == "events":
        return events(sys.stdin)
    doc = json.load(sys.stdin)
    if what == "roles":
        return roles(doc)
    for minion, ret in sorted(doc.items()):
        if what == "sync" and isinstance(ret, dict):
            sync(minion, ret)
        elif what == "analyze" and isinstance(ret, dict) and "mounts" in ret:
            analyze(minion, ret)
        elif what == "expand" and isinstance(ret, dict) and "plan" in ret:
            expand(minion, ret)
        else:
            print(f"{minion}: {ret}")


if __name__ == "__main__":
    main()
