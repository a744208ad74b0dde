"""`python -m tests.support.fleet_minion DEVICE MOUNTPOINT SALT-MINION-ARGV...`: a minion of
the fleet in a mount namespace of its own, with its own filesystem (DEVICE) at MOUNTPOINT, the
same path on every minion, as on separate machines. The process execs the minion, so its pid is
the minion's; the mount vanishes with it."""
import os
import sys

from tests.support.blockdev import run
from tests.support.mountns import enter_private_mount_namespace


def main(argv):
    device, mountpoint, cmd = argv[0], argv[1], argv[2:]
    reason = enter_private_mount_namespace()
    if reason:
        sys.exit(f"fleet minion: {reason}")
    run(["mount", device, mountpoint])
    os.makedirs(os.path.join(mountpoint, "scratch"), exist_ok=True)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
