"""LVM creation through real Salt on real loop devices: the states eos_storage.pv_present,
vg_present and lv_present (applied twice, test=True, a VG extended by a new PV, an LV grown and
never shrunk), hostile input refused with nothing changed, and eos_storage.provision with LVM.

This kernel may have no device-mapper: the LVM metadata is then real (lvm runs with activation
disabled, tests/support/lvmenv.py) and the filesystem-on-LV part skips with the probed reason."""
import json
import uuid

import pytest

import eos
from tests.support import lvmenv, saltenv

MiB = 1 << 20


@pytest.fixture
def lvm_env(loops, tmp_path, monkeypatch):
    """Three fresh loop devices (64 MiB) that only this test's private LVM configuration sees,
    a unique VG name, and everything LVM made removed afterwards."""
    devs = lvmenv.fresh_loops(loops, 3, 64 * MiB)
    env = lvmenv.write_lvm_conf(str(tmp_path / "lvm"), [d.device for d in devs])
    for k, v in env.items():
        monkeypatch.setenv(k, v)  # the in-process loaders' lvm runs inherit it
    vg = f"eosc{uuid.uuid4().hex[:8]}"
    yield env, vg, [d.device for d in devs]
    for args in [("vgremove", "-f", vg)] + [("pvremove", "-f", "-y", d.device) for d in devs]:
        try:
            lvmenv.lvm(env, *args)
        except RuntimeError:
            pass  # nothing of that kind was made


def snapshot(env):
    """Every PV, VG and LV LVM sees here, with sizes: what must not change."""
    return (lvmenv.report(env, "pvs", ["pv_name", "vg_name", "pv_size"]),
            lvmenv.report(env, "vgs", ["vg_name", "vg_size", "pv_count"]),
            lvmenv.report(env, "lvs", ["vg_name", "lv_name", "lv_size"]))


def lv_size(env, vg, lv):
    return int(next(r["lv_size"] for r in lvmenv.report(env, "lvs", ["vg_name", "lv_name", "lv_size"])
                    if r["vg_name"] == vg and r["lv_name"] == lv))


@pytest.fixture
def sls_call(tmp_path):
    """salt-call --local state.apply of SLS text written into a private file root (beside this
    tree's salt/, which holds the states): apply(text, test=False) -> (returncode, {id: result})."""
    root = tmp_path / "sls"
    root.mkdir()
    confdir = saltenv.minion_config(str(tmp_path / "salt-sls"),
                                    extra={"file_roots": {"base": [saltenv.SALT_TREE, str(root)]}})

    def apply(env, text, test=False):
        (root / "lvmtest.sls").write_text(text)
        ret = saltenv.salt_call(confdir, "state.apply", "lvmtest", *(["test=True"] if test else []), env=env)
        assert isinstance(ret.data, dict), ret
        return ret.returncode, {v["__id__"]: v for v in ret.data.values()}

    return apply


def sls(vg, devices, size, pv=None):
    text = f"{pv}:\n  eos_storage.pv_present\n" if pv else ""
    return text + (f"{vg}:\n  eos_storage.vg_present:\n    - devices: {json.dumps(devices)}\n"
                   f"    - extent_size: 4M\n"
                   f"data:\n  eos_storage.lv_present:\n    - vg: {vg}\n    - size: {size}\n"
                   f"    - require:\n      - eos_storage: {vg}\n")


def test_states_twice_test_mode_extend_grow(lvm_env, sls_call):
    env, vg, (a, b, c) = lvm_env
    before = snapshot(env)
    rc, res = sls_call(env, sls(vg, [a], "40M", pv=c), test=True)
    assert rc == 0 and all(r["result"] is None for r in res.values()), res
    assert res[vg]["changes"]["steps"] == [f"pvcreate {a}", f"vgcreate {vg} {a}"]
    assert res[c]["changes"]["steps"] == [f"pvcreate {c}"]
    assert "does not exist yet" in res["data"]["comment"]
    assert snapshot(env) == before  # test=True changed nothing

    rc, res = sls_call(env, sls(vg, [a], "40M", pv=c))
    assert rc == 0 and all(r["result"] is True and r["changes"] for r in res.values()), res
    assert res["data"]["changes"]["after"] == 40 * MiB == lv_size(env, vg, "data")
    rc, res = sls_call(env, sls(vg, [a], "40M", pv=c))
    assert rc == 0 and all(r["result"] is True and not r["changes"] for r in res.values()), res

    # A new PV joins the VG and the LV grows past what one PV holds (60 MiB of extents).
    rc, res = sls_call(env, sls(vg, [a, b], "100M"))
    assert rc == 0 and all(r["result"] is True for r in res.values()), res
    assert res[vg]["changes"]["steps"] == [f"pvcreate {b}", f"vgextend {vg} {b}"]
    assert res["data"]["changes"] == {"steps": [f"lvextend {vg}/data from 40.0 MiB to 100.0 MiB"],
                                      "before": 40 * MiB, "after": 100 * MiB}
    pvs = {r["pv_name"]: r["vg_name"] for r in lvmenv.report(env, "pvs", ["pv_name", "vg_name"])}
    assert pvs == {a: vg, b: vg, c: ""}
    assert lv_size(env, vg, "data") == 100 * MiB


def test_states_never_shrink_and_refuse_busy(lvm_env, loaders, loops):
    """The same states in-process (Salt's loaders): a smaller size settles, a busy device fails."""
    env, vg, (a, _, _) = lvm_env
    states = loaders.states.eos_storage
    assert states.vg_present(name=vg, devices=[a]).result is True
    assert states.lv_present(name="data", vg=vg, size="40M").changes["after"] == 40 * MiB
    ret = states.lv_present(name="data", vg=vg, size="20M")
    assert ret.result is True and not ret.changes and "not shrunk" in ret.comment, ret
    assert lv_size(env, vg, "data") == 40 * MiB
    busy = loops.create(size=64 * MiB, fstype="ext4")
    ret = states.pv_present(name=busy.device)
    assert ret.result is False and not ret.changes, ret
    assert "refusing to make" in ret.comment and "ext4" in ret.comment
    assert [s["type"] for s in eos.provision_check(busy.device)["signatures"]] == ["ext4"]


HOSTILE = [
    ("vg_ensure", ("bad name", "{a}"), {}, "'bad name'"),
    ("vg_ensure", ("-ff", "{a}"), {}, "'-ff'"),
    ("vg_ensure", ("vg/../x", "{a}"), {}, "'vg/../x'"),
    ("vg_ensure", ("x" * 200, "{a}"), {}, "'" + "x" * 200 + "'"),
    ("vg_ensure", ("{vg}", "/etc/passwd"), {}, "'/etc/passwd' is not a block device"),
    ("vg_ensure", ("{vg}", "/dev/null"), {}, "'/dev/null' is not a block device"),
    ("vg_ensure", ("{vg}", "{a},{a}"), {}, "listed twice"),
    ("vg_ensure", ("{vg}", "{a}"), {"extent_size": "3M"}, "'3M'"),
    ("vg_ensure", ("{vg}", 7), {}, "7"),
    ("pv_ensure", ("/nonexistent/dev",), {}, "'/nonexistent/dev'"),
    ("lv_ensure", ("data;rm", "{vg}", "40M"), {}, "'data;rm'"),
    ("lv_ensure", ("snapshot0", "{vg}", "40M"), {}, "'snapshot0'"),
    ("lv_ensure", ("x_tmeta", "{vg}", "40M"), {}, "'x_tmeta'"),
    ("lv_ensure", ("data", "{vg}", "12Q"), {}, "'12Q'"),
    ("lv_ensure", ("data", "{vg}", "-5M"), {}, "'-5M'"),
    ("lv_ensure", ("data", "{vg}", "+5M"), {}, "'+5M'"),
    ("lv_ensure", ("data", "{vg}", "1T"), {}, "'1T'"),
    ("lv_ensure", ("data", "{vg}", "40M"), {"shrink": "yes"}, "'yes'"),
    ("lv_ensure", ("data", "nosuchvg", "40M"), {}, "'nosuchvg'"),
]


def test_hostile_input_refused(lvm_env, loaders):
    from salt.exceptions import CommandExecutionError

    env, vg, (a, b, _) = lvm_env
    mod = loaders.modules.eos_storage
    mod.vg_ensure(vg, [b])  # a VG to aim the LV cases at
    before = snapshot(env)
    for fn, args, kw, quoted in HOSTILE:
        args = [x.format(a=a, vg=vg) if isinstance(x, str) else x for x in args]
        with pytest.raises(CommandExecutionError) as exc:
            getattr(mod, fn)(*args, **kw)
        assert quoted in str(exc.value), (fn, args, str(exc.value))
        assert snapshot(env) == before, (fn, args)


def test_provision_lvm(lvm_env, loaders, salt_local, tmp_path):
    """provision lvm=True: the plan everywhere; where device-mapper is missing the run is
    refused with the probed reason before anything changes."""
    from salt.exceptions import CommandExecutionError

    env, vg, (a, _, _) = lvm_env
    mod = loaders.modules.eos_storage
    plan = mod.provision(a, "boot", lvm=True, vg=vg, lv="bk", test=True)
    assert [s["action"] for s in plan["steps"]] == ["pvcreate", "vgcreate", "lvcreate", "activate", "mkfs"]
    assert plan["lvm"] == {"vg": vg, "lv": "bk"} and plan["mkfs"][-1] == f"/dev/{vg}/bk"
    before = snapshot(env)
    dm, why = eos.lvm_dm_available()
    if dm:  # pragma: no cover - needs a kernel with device-mapper
        pytest.skip("device-mapper is present: test_filesystem_on_lv covers the run")
    with pytest.raises(CommandExecutionError) as exc:
        mod.provision(a, "boot", lvm=True, vg=vg, lv="bk")
    assert why in str(exc.value) and "nothing was changed" in str(exc.value)
    assert snapshot(env) == before and eos.provision_check(a)["signatures"] == []
    ret = salt_local.call("eos_storage.provision", a, "boot", "lvm=True", f"vg={vg}", env=env)
    assert ret.returncode != 0 and "device-mapper" in ret.stderr, ret


def test_filesystem_on_lv(lvm_env, loaders):
    dm, why = eos.lvm_dm_available()
    if not dm:
        pytest.skip(why)
    env, vg, (a, _, _) = lvm_env  # pragma: no cover - needs a kernel with device-mapper
    res = loaders.modules.eos_storage.provision(a, "boot", lvm=True, vg=vg, lv="bk", label="eosbk")
    assert res["filesystem_device"] == f"/dev/{vg}/bk" and all(s["done"] for s in res["steps"])
    sigs = eos.provision_check(f"/dev/{vg}/bk")["signatures"]
    assert [(s["type"], s["label"]) for s in sigs] == [("ext4", "eosbk")] and sigs[0]["uuid"] == res["uuid"]
    assert lv_size(env, vg, "bk") == 60 * MiB  # the whole VG: 64 MiB less metadata, 4 MiB extents
