#!/usr/bin/env python3
"""`make bench`: run every bench/bench_*.py in turn (each writes its own section of
bench/README.md) and fail when any of them fails. Arguments: names to run only some
(e.g. `bench/run.py expand`)."""
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main(names):
    failed = []
    for script in sorted(glob.glob(os.path.join(HERE, "bench_*.py"))):
        name = os.path.basename(script)[len("bench_"):-3]
        if names and name not in names:
            continue
        print(f"== {name}", flush=True)
        if subprocess.run([sys.executable, script], cwd=os.path.dirname(HERE)).returncode:
            failed.append(name)
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main(sys.argv[1:])
