"""Expansion paths of an LVM logical volume, on real PVs/VG/LV made on loop devices.

This kernel has no device-mapper, so the LV cannot be activated or mounted: the test creates
it with activation disabled and asks for its paths by name (eos.lv_expansion_paths, the same
code analyze runs for a mounted LV once it has found the LV behind a dm device)."""
import os
import shutil
import uuid

import pytest

import eos
from tests.support.blockdev import run

MiB = 1 << 20


@pytest.fixture
def vg(loops, tmp_path, monkeypatch):
    if not shutil.which("lvm"):
        pytest.skip("the lvm tool is not installed (Debian package lvm2)")
    a = loops.create(64 * MiB)
    b = loops.create(64 * MiB)
    confdir = tmp_path / "lvm"
    confdir.mkdir()
    (confdir / "lvm.conf").write_text(
        "devices {\n"
        f'  filter = [ "a|^{a.device}$|", "a|^{b.device}$|", "r|.*|" ]\n'
        "  use_devicesfile = 0\n"
        "}\n"
        "backup {\n  backup = 0\n  archive = 0\n}\n"
        "global {\n  activation = 0\n}\n"
    )
    # Private LVM configuration for every lvm run, ours and the library's (environ is inherited).
    monkeypatch.setenv("LVM_SYSTEM_DIR", str(confdir))
    name = f"eosan{uuid.uuid4().hex[:8]}"
    run(["lvm", "pvcreate", "-q", a.device, b.device])
    run(["lvm", "vgcreate", "-q", "-s", "4M", name, a.device, b.device])
    run(["lvm", "lvcreate", "-q", "-n", "data", "-L", "32M", name])
    yield name, a, b
    run(["lvm", "vgremove", "-q", "-f", name])


def test_vg_free_extents(vg, tmp_path, monkeypatch):
    name, a, b = vg
    paths = eos.lv_expansion_paths(name, "data")
    # Two 64 MiB PVs with 1 MiB of metadata each: 15 extents of 4 MiB each, 8 used by the LV.
    assert paths == [{"kind": "vg_free", "device": f"/dev/{name}/data", "target": name,
                      "available": 22 * 4 * MiB}]
    # The private lvm.conf's filter is applied in-process: without lvm on PATH, the same answer.
    conf = os.path.join(os.environ["LVM_SYSTEM_DIR"], "lvm.conf")
    with open(conf) as f:
        text = f.read()
    with monkeypatch.context() as m:
        m.setenv("PATH", str(tmp_path / "nobin"))
        assert eos.lv_expansion_paths(name, "data") == paths
        # A setting eos does not model leaves the answer to lvm, which is not there now.
        with open(conf, "a") as f:
            f.write("devices {\n  scan_lvs = 1\n}\n")
        try:
            with pytest.raises(FileNotFoundError) as exc:
                eos.lv_expansion_paths(name, "data")
        finally:
            with open(conf, "w") as f:
                f.write(text)
    assert "lvm tool is not installed" in str(exc.value)


def test_pv_on_grown_loop(vg):
    name, a, b = vg
    a.grow_backing(128 * MiB)
    paths = eos.lv_expansion_paths(name, "data")
    assert {"kind": "loop_backing", "device": a.device, "target": a.image, "available": 64 * MiB} in paths
    run(["losetup", "-c", a.device])
    paths = eos.lv_expansion_paths(name, "data")
    # pvresize would fit (128 - 1) / 4 = 31 extents where there are 15.
    assert {"kind": "pv_resize", "device": a.device, "target": name, "available": 16 * 4 * MiB} in paths
    assert not [p for p in paths if p["kind"] == "loop_backing"]
    run(["lvm", "pvresize", "-q", a.device])
    paths = eos.lv_expansion_paths(name, "data")
    assert paths == [{"kind": "vg_free", "device": f"/dev/{name}/data", "target": name,
                      "available": (22 + 16) * 4 * MiB}]


def test_missing_lv_named(vg):
    name, _, _ = vg
    with pytest.raises(FileNotFoundError) as exc:
        eos.lv_expansion_paths(name, "nope")
    assert f"'{name}/nope'" in str(exc.value)
