"""Exercise the eos binding for scripts/valgrind-binding: every eos function, success and
error paths, a few rounds each, so that a leak grows into a definite one valgrind reports.

To cover a new function, add an entry to EXERCISES: name -> callable(workdir). Functions of
eos._eos with no entry are listed at the end (and fail the run with --strict)."""
import errno
import os
import shutil
import sys
import tempfile

import eos
import eos._eos


def expect_oserror(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except OSError:
        return
    raise AssertionError(f"{fn.__name__}{args!r} did not raise")


def attempt(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except OSError:
        pass


def ex_parse_size(work):
    for text in ("+50G", "200GiB", "100%FREE", "max", "auto"):
        eos.parse_size(text)
    for text in ("", "-5G", "12Q", "101%FREE"):
        expect_oserror(eos.parse_size, text)


def ex_run(work):
    status, out, err = eos.run(["echo", "hello"])
    assert status == 0 and out == b"hello\n"
    eos.run(["sh", "-c", "echo oops >&2; exit 3"])
    # Under valgrind a failed exec may show as status 127 rather than an error: both are fine.
    attempt(eos.run, ["eos-no-such-program"])
    expect_oserror(eos.run, ["sleep", "5"], timeout_ms=50)


def ex_top_consumers(work):
    root = os.path.join(work, "tree")
    for d in ("a/b", "c", b"odd-\xff name".decode(errors="surrogateescape")):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for i in range(60):
        with open(os.path.join(root, "a/b" if i % 2 else "c", f"f{i}"), "wb") as f:
            f.write(b"x" * (i * 100))
    os.link(os.path.join(root, "c/f0"), os.path.join(root, "c/link"))
    os.symlink("..", os.path.join(root, "a/loop"))
    locked = os.path.join(root, "locked")
    os.makedirs(locked, exist_ok=True)
    r = eos.top_consumers(root, 2, 5)
    assert r["files"] > 0
    eos.top_consumers(root, 0, 0, threads=1)
    eos.top_consumers(os.fsencode(root), 10, 100, threads=3, max_errors=1)
    expect_oserror(eos.top_consumers, os.path.join(root, "missing"))
    expect_oserror(eos.top_consumers, os.path.join(root, "c/f1"))
    expect_oserror(eos.top_consumers, os.path.join(root, "a/loop"))
    expect_oserror(eos.top_consumers, root, -1)
    if os.geteuid() != 0:            # root reads everything: the error list needs another uid
        os.chmod(locked, 0)
        r = eos.top_consumers(root, 2, 5)
        assert r["errors"] and r["errors"][0]["errno"] == errno.EACCES
        os.chmod(locked, 0o755)


EXERCISES = {
    "parse_size": ex_parse_size,
    "run": ex_run,
    "top_consumers": ex_top_consumers,
}


def main():
    strict = "--strict" in sys.argv
    rounds = 3
    work = tempfile.mkdtemp(prefix="eos-valgrind-")
    try:
        for name, fn in EXERCISES.items():
            if not hasattr(eos._eos, name):
                print(f"valgrind-binding: eos._eos.{name} does not exist (yet): skipped")
                continue
            for _ in range(rounds):
                fn(tempfile.mkdtemp(dir=work))
            print(f"valgrind-binding: exercised {name}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    missing = sorted(n for n in dir(eos._eos)
                     if not n.startswith("_") and callable(getattr(eos._eos, n)) and n not in EXERCISES)
    if missing:
        print("valgrind-binding: not exercised (add them to EXERCISES in scripts/valgrind_binding.py): "
              + ", ".join(missing))
        if strict:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
