"""eos.top_consumers through the binding on trees built in tmp_path, compared with du."""
import errno
import json
import os
import shutil
import tempfile

import pytest

import eos
from tests.support.du import du, sizes, write


@pytest.fixture
def tree(tmp_path):
    """A tree with distinct sizes at every level, a hard link, a symlink loop and a sparse file."""
    root = tmp_path / "tree"
    for d in ["a/a1/a11", "a/a2", "b/b1", "c", "empty"]:
        (root / d).mkdir(parents=True)
    for rel, size in [("a/a1/a11/f", 70000), ("a/a1/g", 33000), ("a/a2/h", 12000), ("b/b1/i", 250000),
                      ("b/j", 9000), ("c/k", 130000), ("top", 1000)]:
        write(root / rel, size)
    os.link(root / "b/b1/i", root / "b/b1/i.link")          # same directory: attribution is fixed
    os.symlink("..", root / "a/loop")
    os.symlink(str(tmp_path), root / "c/outside")
    with open(root / "c/sparse", "wb") as f:
        f.truncate(1 << 30)
        f.write(b"y" * 4096)
    return str(root)


@pytest.mark.parametrize("depth", [0, 1, 2, 3, 10])
def test_matches_du_per_directory(tree, depth):
    r = eos.top_consumers(tree, depth, 1000)
    assert sizes(r) == du(tree, depth)
    assert sizes(r, field="apparent_bytes") == du(tree, depth, apparent=True)
    assert r["bytes"] == du(tree)[tree]
    assert r["apparent_bytes"] == du(tree, apparent=True)[tree]
    assert r["errors"] == [] and r["errors_total"] == 0
    assert all(d["depth"] <= depth for d in r["top_dirs"])


def test_totals_sorted_and_limited(tree):
    r = eos.top_consumers(tree, 3, 3)
    assert r["path"] == tree
    assert r["dirs"] == 9                       # the root and 8 directories below it
    assert r["files"] == 10                     # the hard link once, symlinks are files
    assert len(r["top_dirs"]) == 3 and len(r["top_files"]) == 3
    all_dirs = du(tree, 3)
    assert [d["bytes"] for d in r["top_dirs"]] == sorted(all_dirs.values(), reverse=True)[:3]
    assert [f["bytes"] for f in r["top_files"]] == sorted((f["bytes"] for f in r["top_files"]), reverse=True)
    assert r["top_files"][0]["path"] in (os.path.join(tree, "b/b1/i"), os.path.join(tree, "b/b1/i.link"))
    assert r["top_files"][0]["bytes"] == os.lstat(os.path.join(tree, "b/b1/i")).st_blocks * 512
    assert r["top_dirs"][0] == {"path": tree, "bytes": r["bytes"], "apparent_bytes": r["apparent_bytes"],
                                "files": 10, "depth": 0}
    empty = eos.top_consumers(tree, 3, 0)
    assert empty["top_dirs"] == [] and empty["top_files"] == [] and empty["bytes"] == r["bytes"]


def test_hard_links_counted_once_across_directories(tmp_path):
    root = tmp_path / "hl"
    (root / "x").mkdir(parents=True)
    (root / "y").mkdir()
    write(root / "x/data", 200000)
    for i in range(5):
        os.link(root / "x/data", root / f"y/link{i}")
    r = eos.top_consumers(str(root), 1, 10)
    blocks = os.lstat(root / "x/data").st_blocks * 512
    assert r["bytes"] == du(str(root))[str(root)]
    assert r["files"] == 1
    assert len(r["top_files"]) == 1 and r["top_files"][0]["bytes"] == blocks
    # Exactly one of x and y carries the inode (du also gives it to the first it meets).
    per_dir = sizes(r)
    own = {d: os.lstat(root / d).st_blocks * 512 for d in ("x", "y")}
    assert sorted(per_dir[str(root / d)] - own[d] for d in ("x", "y")) == [0, blocks]


def test_symlinks_never_followed(tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    write(big / "payload", 500000)
    root = tmp_path / "w"
    root.mkdir()
    os.symlink(str(big), root / "to-big")
    os.symlink(str(root), root / "self")
    os.symlink("loop-b", root / "loop-a")
    os.symlink("loop-a", root / "loop-b")
    os.symlink("/nonexistent/target", root / "dangling")
    r = eos.top_consumers(str(root), 2, 10)
    assert r["bytes"] == du(str(root))[str(root)]
    assert r["bytes"] < 500000
    assert r["files"] == 5 and r["dirs"] == 1 and r["errors"] == []


def test_sparse_file_counts_blocks(tmp_path):
    root = tmp_path / "sp"
    root.mkdir()
    with open(root / "sparse", "wb") as f:
        f.truncate(10 << 30)
        f.seek(5 << 30)
        f.write(b"z" * 8192)
    r = eos.top_consumers(str(root), 0, 5)
    st = os.lstat(root / "sparse")
    f = r["top_files"][0]
    assert f["bytes"] == st.st_blocks * 512 and f["apparent_bytes"] == 10 << 30
    assert r["bytes"] == du(str(root))[str(root)]


def test_threads_agree(tree):
    one = eos.top_consumers(tree, 3, 100, threads=1)
    two = eos.top_consumers(tree, 3, 100, threads=2)
    many = eos.top_consumers(tree, 3, 100, threads=8)
    assert one == two == many


def test_odd_names_round_trip(tmp_path):
    root = tmp_path / "odd"
    root.mkdir()
    names = [b"with space", b"new\nline", b"bad-\xff\xfe-utf8", b"tab\there", b"-dash", b"\xe2\x82\xac-euro"]
    broot = os.fsencode(root)
    for i, n in enumerate(names):
        d = os.path.join(broot, n)
        os.mkdir(d)
        write(os.path.join(d, n + b".file"), 1000 * (i + 1) + 5000)
    r = eos.top_consumers(str(root), 1, 100)
    assert sizes(r) == du(str(root), 1)
    for entry in r["top_dirs"] + r["top_files"]:
        assert os.path.lexists(entry["path"]), entry
    got = {os.fsencode(f["path"]) for f in r["top_files"]}
    assert got == {os.path.join(broot, n, n + b".file") for n in names}
    # bytes and PathLike arguments work as well
    assert eos.top_consumers(broot, 1, 100)["bytes"] == eos.top_consumers(root, 1, 100)["bytes"]


def test_deep_tree_beyond_path_max(tmp_path):
    root = tmp_path / "deep"
    root.mkdir()
    name = "d" * 100
    fd = os.open(root, os.O_RDONLY)
    try:
        for level in range(60):                      # about 6 KB of path: longer than PATH_MAX
            os.mkdir(name, dir_fd=fd)
            nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        wfd = os.open("leaf", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(wfd, b"q" * 40000)
        os.close(wfd)
    finally:
        os.close(fd)
    r = eos.top_consumers(str(root), 100, 100)
    assert r["dirs"] == 61 and r["files"] == 1 and r["errors"] == []
    assert r["bytes"] == du(str(root))[str(root)]
    leaf = r["top_files"][0]
    assert leaf["depth"] == 61 and len(leaf["path"]) > 6000 and leaf["path"].endswith("/leaf")
    assert [d["depth"] for d in r["top_dirs"]] == list(range(61))   # each contains the next
    assert r["top_dirs"][-1]["files"] == 1 and len(r["top_dirs"][-1]["path"]) > 6000


def test_trailing_slash_and_root_path(tree):
    r = eos.top_consumers(tree + "///", 1, 5)
    assert r["path"] == tree and r["top_dirs"][0]["path"] == tree
    assert all(d["path"].startswith(tree + "/") for d in r["top_dirs"][1:])


def test_missing_path(tmp_path):
    p = str(tmp_path / "no such dir")
    with pytest.raises(FileNotFoundError) as exc:
        eos.top_consumers(p)
    assert exc.value.filename == p and p in str(exc.value)


def test_not_a_directory(tmp_path):
    p = tmp_path / "file"
    write(p, 10)
    with pytest.raises(NotADirectoryError) as exc:
        eos.top_consumers(str(p))
    assert exc.value.filename == str(p) and "not a directory" in str(exc.value)


def test_symlink_root_refused(tmp_path):
    (tmp_path / "real").mkdir()
    link = tmp_path / "link"
    os.symlink("real", link)
    with pytest.raises(OSError) as exc:
        eos.top_consumers(str(link))
    assert exc.value.errno == errno.ELOOP and exc.value.filename == str(link)
    assert "symbolic link" in str(exc.value)


@pytest.mark.parametrize("kw,word", [({"depth": -1}, "depth"), ({"limit": -5}, "limit")])
def test_negative_arguments(tmp_path, kw, word):
    with pytest.raises(OSError) as exc:
        eos.top_consumers(str(tmp_path), **kw)
    assert exc.value.errno == errno.EINVAL and word in str(exc.value)
    assert str(list(kw.values())[0]) in str(exc.value)


def test_empty_path():
    with pytest.raises(OSError) as exc:
        eos.top_consumers("")
    assert exc.value.errno == errno.EINVAL


def _walk_as_nobody(path, **kw):
    """Run top_consumers in a forked child with uid/gid 65534 (root reads everything). A fork,
    not a new interpreter: this Python lives under /root, which uid 65534 cannot enter."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(rfd)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            data = json.dumps(eos.top_consumers(path, **kw)).encode()
            os.write(wfd, data)
        finally:
            os._exit(0)
    os.close(wfd)
    chunks = []
    while True:
        b = os.read(rfd, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(rfd)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    return json.loads(b"".join(chunks))


def test_unreadable_subtrees_reported_and_skipped():
    # Not in tmp_path: pytest's base directory is 0700, which nobody cannot enter.
    base = tempfile.mkdtemp(prefix="eos-walk-unreadable-")
    try:
        os.chmod(base, 0o755)
        for d in ["ok/sub", "locked0/inner", "locked1", "locked2", "locked3"]:
            os.makedirs(os.path.join(base, d))
        write(os.path.join(base, "ok/sub/seen"), 60000)
        write(os.path.join(base, "locked0/inner/hidden"), 900000)
        for root, dirs, files in os.walk(base):
            for n in dirs + files:
                os.chmod(os.path.join(root, n), 0o755 if n in dirs else 0o644)
        locked = [os.path.join(base, f"locked{i}") for i in range(4)]
        for p in locked:
            os.chmod(p, 0o700)
        full = eos.top_consumers(base, 1, 10)
        hidden = du(locked[0])[locked[0]] - os.lstat(locked[0]).st_blocks * 512
        if os.geteuid() == 0:
            r = _walk_as_nobody(base, depth=1, limit=10, max_errors=2)
        else:
            r = eos.top_consumers(base, 1, 10, max_errors=2)
        assert r["errors_total"] == 4 and len(r["errors"]) == 2
        for e in r["errors"]:
            assert e["path"] in locked and e["errno"] == errno.EACCES
            assert e["error"] == "openat: " + os.strerror(errno.EACCES)
        # Like du: the unreadable directories' own blocks count, their contents cannot.
        assert r["bytes"] == full["bytes"] - hidden
        assert r["dirs"] == full["dirs"] - 1 and r["files"] == full["files"] - 1
        assert any(f["path"].endswith("/ok/sub/seen") for f in r["top_files"])
        assert {d["path"] for d in r["top_dirs"]} == {d["path"] for d in full["top_dirs"]}
    finally:
        shutil.rmtree(base)


def test_fd_cap_deep_comb(tmp_path):
    """A chain 400 deep with a sibling directory at every level: with few fds allowed, the
    walker reopens parents from the root instead of running out of descriptors."""
    import resource

    root = tmp_path / "comb"
    root.mkdir()
    fd = os.open(root, os.O_RDONLY)
    try:
        for level in range(400):
            for name in ("side", "next"):
                os.mkdir(name, dir_fd=fd)
            wfd = os.open("side/f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
            os.write(wfd, b"s" * (level * 10 + 1))
            os.close(wfd)
            nfd = os.open("next", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
    finally:
        os.close(fd)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))   # the walker keeps <= 64
    try:
        capped = [eos.top_consumers(str(root), 2, 10, threads=t) for t in (1, 4)]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    free = eos.top_consumers(str(root), 2, 10)
    ref = du(str(root))[str(root)]
    for r in capped + [free]:
        assert r["errors"] == [] and r["bytes"] == ref
        assert r["dirs"] == 801 and r["files"] == 400
        assert sizes(r) == {p: b for p, b in du(str(root), 2).items() if p in sizes(r)}
    assert capped[0] == capped[1] == free


def _random_tree(root, ops):
    """Build a tree from hypothesis-drawn operations: directories, files of any size, hard
    links within a directory, symlinks, sparse files."""
    dirs = [root]
    files = []
    for kind, pick, size, name in ops:
        parent = dirs[pick % len(dirs)]
        path = os.path.join(parent, name)
        if os.path.lexists(path):
            continue
        if kind == "dir":
            os.mkdir(path)
            dirs.append(path)
        elif kind == "file":
            write(path, size)
            files.append(path)
        elif kind == "sparse":
            with open(path, "wb") as f:
                f.truncate(size * 4096)
                f.write(b"h" * (size % 5000))
            files.append(path)
        elif kind == "link" and files:
            src = files[pick % len(files)]
            dst = os.path.join(os.path.dirname(src), name + ".ln")
            if not os.path.lexists(dst):
                os.link(src, dst)
        elif kind == "symlink":
            os.symlink(dirs[size % len(dirs)], path)


def test_random_trees_match_du(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    names = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0"),
                    min_size=1, max_size=12).filter(lambda n: n not in (".", ".."))
    op = st.tuples(st.sampled_from(["dir", "dir", "file", "file", "file", "sparse", "link", "symlink"]),
                   st.integers(0, 1000), st.integers(0, 70000), names)
    counter = iter(range(10 ** 6))

    @settings(max_examples=int(os.environ.get("EOS_WALK_EXAMPLES", "30")), deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(op, max_size=60), st.integers(0, 4), st.integers(1, 8))
    def check(ops, depth, threads):
        root = str(tmp_path / f"r{next(counter)}")
        os.mkdir(root)
        _random_tree(root, ops)
        r = eos.top_consumers(root, depth, 10 ** 6, threads=threads)
        ref = du(root, depth)
        # Hard links to files in one directory only: attribution is the same as du's.
        assert sizes(r) == ref
        assert sizes(r, field="apparent_bytes") == du(root, depth, apparent=True)
        assert r["errors"] == []
        shutil.rmtree(root)

    check()
