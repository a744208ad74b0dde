"""`du -x -B1` as the reference for the walk tests, and a small file writer."""
import os
import subprocess


def du(path, depth=None, apparent=False):
    """{path: bytes} from `du -x -B1` (NUL-terminated lines, so any name parses)."""
    argv = ["du", "-x", "-B1", "-0"]
    if apparent:
        argv.append("--apparent-size")
    argv += [f"--max-depth={depth}" if depth is not None else "-s", os.fsencode(path)]
    p = subprocess.run(argv, capture_output=True)
    out = {}
    for rec in p.stdout.split(b"\0"):
        if rec:
            size, name = rec.split(b"\t", 1)
            out[os.fsdecode(name)] = int(size)
    return out


def write(path, size, fill=b"x"):
    with open(path, "wb") as f:
        f.write(fill * size)


def sizes(result, key="top_dirs", field="bytes"):
    return {d["path"]: d[field] for d in result[key]}
