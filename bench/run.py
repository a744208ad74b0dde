#!/usr/bin/env python3
"""Run the benchmarks (`make bench`): every bench/bench_*.py, or those named on the command
line, each in its own process. Each one writes its results into bench/README.md under its own
heading."""
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main(names):
    scripts = sorted(glob.glob(os.path.join(HERE, "bench_*.py")))
    if names:
        scripts = [s for s in scripts if os.path.basename(s)[6:-3] in names]
    failed = []
    for script in scripts:
        print(f"== {os.path.basename(script)}", flush=True)
        if subprocess.run([sys.executable, script]).returncode:
            failed.append(os.path.basename(script))
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main(sys.argv[1:])
