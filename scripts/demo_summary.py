"""Summaries of `salt --out=json --static` output for scripts/demo, readable at a glance:
  demo_summary.py sync     < saltutil.sync_all output
  demo_summary.py analyze  < eos_storage.analyze output (one line per mount)"""
import json
import sys


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


def main():
    what = sys.argv[1]
    for minion, ret in sorted(json.load(sys.stdin).items()):
        if what == "sync" and isinstance(ret, dict):
            sync(minion, ret)
        elif what == "analyze" and isinstance(ret, dict) and "mounts" in ret:
            analyze(minion, ret)
        else:
            print(f"{minion}: {ret}")


if __name__ == "__main__":
    main()
