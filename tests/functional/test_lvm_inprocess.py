"""eos.probe() reads LVM in-process (PV labels, metadata areas, text metadata) when PVs are
present and lvm runs with its default configuration; its PVs, VGs, LVs and segments are
compared field by field with `lvm fullreport --reportformat json` on the same loop devices."""
import json
import os
import re
import subprocess
import time
import uuid

import pytest

import eos
from tests.support import lvmenv


def config_reason():
    """Why lvm's view of the devices may differ from its default here (then probe runs lvm)."""
    if os.environ.get("LVM_SYSTEM_DIR"):
        return "LVM_SYSTEM_DIR is set in the test's environment"
    if os.path.exists("/etc/lvm/devices/system.devices"):
        return "/etc/lvm/devices/system.devices exists (lvm's devices file)"
    return None


def fullreport(env):
    """`lvm fullreport` in the private configuration, in eos's shape: pvs, vgs, lvs, segs."""
    out = lvmenv.lvm(env, "fullreport", "--reportformat", "json", "--units", "b", "--nosuffix")
    pvs, vgs, lvs, segs = [], [], [], []
    for ent in json.loads(out)["report"]:
        vg = (ent.get("vg") or [{}])[0].get("vg_name")
        for v in ent.get("vg", []):
            vgs.append({"name": v["vg_name"], "uuid": v["vg_uuid"], "attr": v["vg_attr"],
                        **{k: int(v["vg_" + k]) for k in ("size", "free", "extent_size", "extent_count",
                                                           "free_count")},
                        "pv_count": int(v["pv_count"]), "lv_count": int(v["lv_count"])})
        for p in ent.get("pv", []):
            pvs.append({"name": p["pv_name"], "uuid": p["pv_uuid"], "vg_name": vg, "fmt": p["pv_fmt"],
                        "attr": p["pv_attr"], "major": int(p["pv_major"]), "minor": int(p["pv_minor"]),
                        "size": int(p["pv_size"]), "free": int(p["pv_free"]), "used": int(p["pv_used"]),
                        "dev_size": int(p["dev_size"]), "pe_start": int(p["pe_start"]),
                        "pe_count": int(p["pv_pe_count"]), "pe_alloc_count": int(p["pv_pe_alloc_count"]),
                        "allocatable": p["pv_allocatable"] == "allocatable", "missing": p["pv_missing"] == "missing"})
        rows = ent.get("seg", [])
        for lv in ent.get("lv", []):
            mine = sorted((s for s in rows if s["lv_uuid"] == lv["lv_uuid"]), key=lambda s: int(s["seg_start"]))
            devices = []
            for s in mine:
                for d in s["devices"].split(","):
                    d = re.sub(r"\(\d+\)$", "", d)
                    if d not in devices:
                        devices.append(d)
                segs.append({"lv_uuid": s["lv_uuid"], "type": s["segtype"], "start": int(s["seg_start"]),
                             "size": int(s["seg_size"]), "start_pe": int(s["seg_start_pe"]),
                             "size_pe": int(s["seg_size_pe"]), "stripes": int(s["stripes"]),
                             "stripe_size": int(s["stripe_size"]), "devices": s["devices"]})
            attr = lv["lv_attr"]
            lvs.append({"name": lv["lv_name"], "vg_name": vg, "uuid": lv["lv_uuid"],
                        "full_name": lv["lv_full_name"], "path": lv["lv_path"], "dm_path": lv["lv_dm_path"],
                        "attr": attr, "layout": lv["lv_layout"], "size": int(lv["lv_size"]),
                        "active": {"a": True, "-": False}.get(attr[4]), "devices": devices})
    return pvs, vgs, lvs, segs


@pytest.fixture
def lvm_setup(loops, tmp_path):
    """Three PVs: two in a VG (one of them without a metadata area) with a linear LV of two
    segments, a striped LV and an LV whose name has a dash (device-mapper doubles it); the third
    an orphan with two metadata areas whose device grew after pvcreate (its label keeps the old
    size). Private lvm configuration for the tools only."""
    a, b, c = lvmenv.fresh_loops(loops, 3, 64 << 20)
    env = lvmenv.write_lvm_conf(str(tmp_path / "lvm"), [a.device, b.device, c.device])
    vg = "eosrd" + uuid.uuid4().hex[:6]
    # b without a metadata area (its VG is known from a's), c with two (one at its end).
    lvmenv.lvm(env, "pvcreate", "-q", a.device)
    lvmenv.lvm(env, "pvcreate", "-q", "--pvmetadatacopies", "0", b.device)
    lvmenv.lvm(env, "pvcreate", "-q", "--pvmetadatacopies", "2", c.device)
    lvmenv.lvm(env, "vgcreate", "-q", "-s", "4m", vg, a.device, b.device)
    lvmenv.lvm(env, "lvcreate", "-q", "-n", "lin", "-L", "12m", vg, a.device)
    lvmenv.lvm(env, "lvcreate", "-q", "-n", "str", "-i", "2", "-L", "16m", vg)
    lvmenv.lvm(env, "lvextend", "-q", "-L", "+8m", f"{vg}/lin", a.device)
    lvmenv.lvm(env, "lvcreate", "-q", "-n", "with-dash", "-L", "4m", vg, b.device)
    c.grow_backing(80 << 20)
    subprocess.run(["losetup", "-c", c.device], check=True)
    yield env, vg, [a.device, b.device, c.device]
    lvmenv.lvm(env, "vgremove", "-q", "-f", vg)
    lvmenv.lvm(env, "pvremove", "-q", a.device, b.device, c.device)


def test_probe_reads_lvm_in_process_as_lvm_reports_it(lvm_setup):
    reason = config_reason()
    if reason:
        pytest.skip(reason)
    env, vg, devices = lvm_setup
    want_pvs, want_vgs, want_lvs, want_segs = fullreport(env)
    assert [p["name"] for p in want_pvs] == devices and len(want_segs) == 4
    # Other tests' PVs come and go on this machine; one of them in a state the reader leaves to
    # lvm (a write half done) makes probe run the tool: try again.
    deadline = time.monotonic() + 30
    while True:
        got = eos.probe()["lvm"]
        if got["reader"] == "in-process" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert got["reader"] == "in-process" and got["ran"] is True and got["error"] is None
    assert [p for p in got["pvs"] if p["name"] in devices] == want_pvs
    assert [v for v in got["vgs"] if v["name"] == vg] == want_vgs
    assert [x for x in got["lvs"] if x["vg_name"] == vg] == want_lvs
    assert eos.lvm_segments(devices) == want_segs
    orphan = want_pvs[2]
    assert orphan["vg_name"] is None and orphan["size"] == 64 << 20 and orphan["dev_size"] == 80 << 20
    # What probe(lvm=True) gets from the tool itself is the same.
    tool = eos.probe(lvm=True)["lvm"]
    assert tool["reader"] == "lvm"
    assert [p for p in tool["pvs"] if p["name"] in devices] == want_pvs
    assert [x for x in tool["lvs"] if x["vg_name"] == vg] == want_lvs


def test_reader_leaves_what_it_does_not_model_to_lvm(lvm_setup):
    env, vg, devices = lvm_setup
    with pytest.raises(OSError) as err:
        eos.lvm_segments(devices[:1])  # the VG's second PV is not among them: missing
    assert "is missing" in str(err.value)


def test_lv_expansion_paths_read_lvm_in_process(lvm_setup, tmp_path, monkeypatch):
    reason = config_reason()
    if reason:
        pytest.skip(reason)
    env, vg, devices = lvm_setup
    accept = ", ".join(f'"a|^{d}$|"' for d in devices)
    cfg = f'devices {{ filter = [ {accept}, "r|.*|" ] use_devicesfile = 0 }} global {{ activation = 0 }}'
    by_tool = eos.lv_expansion_paths(vg, "with-dash", lvm_config=cfg)  # --config: the lvm tool
    assert by_tool and by_tool[0]["kind"] == "vg_free"
    # Without lvm on PATH only the in-process reader can answer; it answers the same.
    empty = tmp_path / "nobin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    # As above: another test's PV caught mid-write sends the reader to the (absent) tool.
    deadline = time.monotonic() + 30
    while True:
        try:
            assert eos.lv_expansion_paths(vg, "with-dash") == by_tool
            break
        except FileNotFoundError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
