#!/usr/bin/env python3
"""`make bench`: run every bench/bench_*.py in turn (each writes its own section of
bench/README.md) and fail when any of them fails. Arguments: names to run only some
(e.g. `bench/run.py walk`)."""
import glob
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    scripts = sorted(glob.glob(os.path.join(HERE, "bench_*.py")))
    if argv:
        scripts = [s for s in scripts if os.path.basename(s)[len("bench_"):-len(".py")] in argv]
    failed = []
    for script in scripts:
        name = os.path.basename(script)
        print(f"== {name}", flush=True)
        t = time.monotonic()
        rc = subprocess.call([sys.executable, script], cwd=os.path.dirname(HERE))
        print(f"== {name}: {'ok' if rc == 0 else f'FAILED ({rc})'} in {time.monotonic() - t:.0f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
