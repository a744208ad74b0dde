"""eos_storage.top_consumers on real loop-backed XFS and ext4, with a nested mount below the
walked path that must not be counted, compared exactly with `du -x -B1`, through real Salt."""
import os
import pathlib

import pytest

import eos
from tests.support.du import du, sizes, write

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _populate(root, seed):
    """Directories at three levels with distinct sizes, hard links, a symlink loop, odd names."""
    for d in ["logs/2026/11", "logs/old", "data/set-a", "data/set-b/deep", "cache", "odd name\nx"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    files = [("logs/2026/11/app.log", 310000), ("logs/old/app.log.1", 120000), ("data/set-a/blob", 770000),
             ("data/set-b/deep/blob", 450000), ("data/set-b/small", 3000), ("cache/c0", 50000),
             ("odd name\nx/\u00e9t\u00e9", 21000), ("top-level", 9000)]
    for i, (rel, size) in enumerate(files):
        write(os.path.join(root, rel), size + seed * 7 + i, fill=bytes([65 + i]))
    os.link(os.path.join(root, "data/set-a/blob"), os.path.join(root, "data/set-a/blob.hardlink"))
    os.symlink("../..", os.path.join(root, "logs/old/loop"))
    with open(os.path.join(root, "cache/sparse"), "wb") as f:
        f.truncate(2 << 30)
        f.write(b"s" * 65536)
    many = os.path.join(root, "cache/many")
    os.mkdir(many)
    for i in range(300):
        write(os.path.join(many, f"f{i:04d}"), i * 13)


@pytest.fixture
def nested(loops):
    """XFS mounted at A with ext4 mounted at A/data/mnt; and ext4 at B with XFS at B/cache/mnt."""
    xfs = loops.create(fstype="xfs", label="eoswalkx")
    ext4 = loops.create(size=64 << 20, fstype="ext4", label="eoswalke")
    a = loops.mount(xfs)
    _populate(a, 1)
    os.makedirs(os.path.join(a, "data/mnt"))
    loops.mount(ext4, os.path.join(a, "data/mnt"))
    _populate(os.path.join(a, "data/mnt"), 2)
    return a


def test_nested_mount_not_counted_matches_du(nested):
    r = eos.top_consumers(nested, 2, 1000)
    assert r["errors"] == []
    ref = du(nested, 2)
    assert sizes(r) == ref
    assert sizes(r, field="apparent_bytes") == du(nested, 2, apparent=True)
    assert r["bytes"] == ref[nested]
    inner = os.path.join(nested, "data/mnt")
    assert inner not in sizes(r)
    assert not any(f["path"].startswith(inner + "/") for f in r["top_files"])
    # Walking the inner mount on its own matches du there too.
    r2 = eos.top_consumers(inner, 3, 1000)
    assert sizes(r2) == du(inner, 3) and r2["bytes"] == du(inner)[inner]


def test_ext4_with_nested_xfs(loops):
    ext4 = loops.create(size=64 << 20, fstype="ext4", label="eoswalkf")
    xfs = loops.create(fstype="xfs", label="eoswalky")
    b = loops.mount(ext4)
    _populate(b, 3)
    loops.mount(xfs, os.path.join(b, "cache/many"))            # hides the 300 files below it
    _populate(os.path.join(b, "cache/many"), 4)
    for depth in (1, 3):
        r = eos.top_consumers(b, depth, 1000)
        assert sizes(r) == du(b, depth)
    assert r["bytes"] == du(b)[b]
    assert not any("/cache/many" in d["path"] for d in r["top_dirs"])


def test_through_salt_call(nested, salt_local):
    res = salt_local.call("eos_storage.top_consumers", nested, 2, 10)
    assert res.returncode == 0, res
    data = res.data
    ref = du(nested, 2)
    assert data["bytes"] == ref[nested] and data["path"] == nested
    assert len(data["top_dirs"]) == 10 and len(data["top_files"]) == 10
    assert [d["bytes"] for d in data["top_dirs"]] == sorted(ref.values(), reverse=True)[:10]
    for d in data["top_dirs"]:
        assert ref[d["path"]] == d["bytes"]
    assert data["top_files"][0]["path"] in (os.path.join(nested, "data/set-a/blob"),
                                            os.path.join(nested, "data/set-a/blob.hardlink"))
    assert data["errors"] == []


@pytest.mark.parametrize("case", ["missing", "file", "symlink", "negative", "notanint"])
def test_bad_input_through_salt(tmp_path, salt_local, case):
    target = tmp_path / "target"
    args = [str(target)]
    if case == "file":
        write(target, 10)
    elif case == "symlink":
        (tmp_path / "real").mkdir()
        os.symlink("real", target)
    elif case == "negative":
        target.mkdir()
        args += ["depth=-3"]
    elif case == "notanint":
        target.mkdir()
        args += ["2", "ten"]
    res = salt_local.call("eos_storage.top_consumers", *args)
    assert res.returncode != 0, res
    text = f"{res.stdout}{res.stderr}"
    expected = {"missing": "No such file or directory", "file": "not a directory",
                "symlink": "symbolic link", "negative": "depth must be",
                "notanint": "limit must be an integer"}[case]
    assert expected in text, res
    assert {"negative": "-3", "notanint": "'ten'"}.get(case, str(target)) in text, res


def test_bind_mount_below_not_entered(nested):
    """du -x enters a bind mount of the same filesystem (same st_dev) and counts it twice;
    the walker stays on its own mount (mount id), so it is du minus the bind mount."""
    import subprocess

    src = os.path.join(nested, "data/set-a")
    dst = os.path.join(nested, "cache/bind")
    os.mkdir(dst)
    subprocess.run(["mount", "--bind", src, dst], check=True)
    try:
        r = eos.top_consumers(nested, 2, 1000)
        ref = du(nested, 2)
        assert r["bytes"] == ref[nested] - ref[dst]
        assert dst not in sizes(r)
        assert sizes(r)[os.path.join(nested, "data")] == ref[os.path.join(nested, "data")]
    finally:
        subprocess.run(["umount", dst], check=True)


# every glue module that imports the eos package
GLUE = sorted(str(p.relative_to(ROOT)) for d in ("_modules", "_runners", "_beacons", "_grains")
              for p in (ROOT / "salt" / d).glob("eos_*.py")
              if "\nimport eos" in p.read_text() or "from eos" in p.read_text())


@pytest.mark.parametrize("relpath", GLUE)
def test_glue_virtual_names_missing_eos(monkeypatch, relpath):
    """Without the eos package every glue module declines to load and says which one and why."""
    import importlib.util
    import sys

    # `import eos` and `from eos.x import y` raise ImportError, even when an earlier test in
    # this process imported eos.x (a submodule in sys.modules is found without its parent)
    for name in ["eos"] + [m for m in sys.modules if m.startswith("eos.")]:
        monkeypatch.setitem(sys.modules, name, None)
    spec = importlib.util.spec_from_file_location("glue_without_eos", ROOT / relpath)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ok, reason = mod.__virtual__()
    assert ok is False and reason.startswith(mod.__virtualname__) and "import" in reason


def test_loader_top_consumers(loaders, tmp_path):
    """The same function through Salt's in-process loader."""
    from salt.exceptions import CommandExecutionError

    (tmp_path / "d").mkdir()
    write(tmp_path / "d/f", 12345)
    r = loaders.modules.eos_storage.top_consumers(str(tmp_path), 1, 5)
    assert sizes(r) == du(str(tmp_path), 1)
    with pytest.raises(CommandExecutionError, match="No such file"):
        loaders.modules.eos_storage.top_consumers(str(tmp_path / "missing"))
