"""Run every bench/bench_*.py with this interpreter, one after the other, and print their
results (each prints its own section). Exit non-zero when any of them fails."""
import glob
import os
import subprocess
import sys


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    only = sys.argv[1:]
    failed = []
    for path in sorted(glob.glob(os.path.join(here, "bench_*.py"))):
        name = os.path.basename(path)[len("bench_"):-3]
        if only and name not in only:
            continue
        print(f"=== {name} ===", flush=True)
        rc = subprocess.run([sys.executable, path], cwd=os.path.dirname(here)).returncode
        if rc:
            failed.append(name)
            print(f"=== {name}: FAILED (exit {rc}) ===", flush=True)
        print(flush=True)
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
