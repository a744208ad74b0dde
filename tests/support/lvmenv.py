"""A private LVM configuration for tests: LVM_SYSTEM_DIR with an lvm.conf whose device filter
accepts only the test's own loop devices, no backups or archives, no devices file, and
activation disabled (no device-mapper in this kernel)."""
import json
import os
import re
import subprocess


def write_lvm_conf(directory, devices):
    os.makedirs(directory, exist_ok=True)
    accept = ", ".join(f'"a|^{re.escape(d)}$|"' for d in devices)
    with open(os.path.join(directory, "lvm.conf"), "w") as f:
        f.write(
            f'devices {{ filter = [ {accept}, "r|.*|" ] global_filter = [ {accept}, "r|.*|" ]'
            " use_devicesfile = 0 obtain_device_list_from_udev = 0 }\n"
            "backup { backup = 0 archive = 0 }\n"
            "global { activation = 0 }\n"
            "activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }\n"
        )
    return {"LVM_SYSTEM_DIR": directory, "LVM_SUPPRESS_FD_WARNINGS": "1"}


def lvm(env, *args):
    """Run an lvm command in the private configuration; raise with stderr on failure."""
    p = subprocess.run(["lvm", *args], capture_output=True, text=True, env={**os.environ, **env})
    if p.returncode != 0:
        raise RuntimeError(f"lvm {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def report(env, kind, fields):
    """Rows of `lvm <pvs|vgs|lvs> --reportformat json --units b --nosuffix -o fields`."""
    out = lvm(env, kind, "--reportformat", "json", "--units", "b", "--nosuffix", "-o", ",".join(fields))
    return json.loads(out)["report"][0][kind[:-1]]


def fresh_loops(factory, count, size):
    """count writable loop devices from factory (tests.support.blockdev.LoopFactory) that the
    kernel lists without partitions. The kernel keeps a loop device's read-only flag
    (`blockdev --setro`) and partitions found by `losetup -P` after it is detached, and hands
    them to the next user; such a device is kept attached (so it is not handed out again) and
    detached at cleanup."""
    good = []
    for _ in range(count + 16):
        loop = factory.create(size=size)
        name = os.path.basename(loop.device)
        with open(f"/sys/class/block/{name}/ro") as f:
            ro = f.read().strip() != "0"
        if not ro and not any(e.startswith(name + "p") for e in os.listdir(f"/sys/class/block/{name}")):
            good.append(loop)
            if len(good) == count:
                return good
    raise RuntimeError(f"no {count} loop devices without stale partitions")
