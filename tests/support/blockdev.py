"""Real loop devices and filesystems for tests, always cleaned up."""
import os
import subprocess
import uuid

MKFS = {
    "xfs": ["mkfs.xfs", "-q", "-f"],
    "ext4": ["mkfs.ext4", "-q", "-F"],
    "btrfs": ["mkfs.btrfs", "-q", "-f"],
}
# Smallest images these mkfs accept (XFS needs 300 MB).
MIN_SIZE = {"xfs": 320 << 20, "ext4": 16 << 20, "btrfs": 128 << 20}


def run(argv, **kw):
    """Run a command (argv list, never a shell); raise with its stderr on failure."""
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{argv!r} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def loop_skip_reason():
    """Why loop devices cannot be used here, or None."""
    if os.geteuid() != 0:
        return f"loop devices need root; running as uid {os.geteuid()}"
    if not os.path.exists("/dev/loop-control"):
        return "no /dev/loop-control in this kernel/container"
    return None


class Loop:
    def __init__(self, image, device, fstype=None, label=None):
        self.image = image
        self.device = device
        self.fstype = fstype
        self.label = label
        self.mountpoint = None

    def grow_backing(self, new_size):
        os.truncate(self.image, new_size)

    def __repr__(self):
        return f"Loop({self.device} <- {self.image}, {self.fstype})"


class LoopFactory:
    """Creates sparse images, attaches them, makes filesystems, mounts them; cleanup()
    unmounts and detaches exactly what it created."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.loops = []
        self.mounts = []

    def create(self, size=None, fstype=None, label=None, mkfs_args=()):
        size = size or MIN_SIZE.get(fstype, 64 << 20)
        image = os.path.join(self.workdir, f"img-{uuid.uuid4().hex[:8]}.raw")
        with open(image, "wb") as f:
            f.truncate(size)
        device = run(["losetup", "-f", "--show", image]).strip()
        loop = Loop(image, device, fstype, label)
        self.loops.append(loop)
        # The kernel hands a loop device over with what its last user left: a read-only flag
        # (blockdev --setro) and partitions (losetup -P). Start from a writable, empty device.
        run(["blockdev", "--setrw", device])
        name = os.path.basename(device)
        if any(e.startswith(name + "p") for e in os.listdir(f"/sys/class/block/{name}")):
            run(["partx", "-d", device])
        if fstype:
            argv = list(MKFS[fstype])
            if label:
                argv += ["-L", label]
            argv += list(mkfs_args) + [device]
            run(argv)
        return loop

    def partitioned(self, size, label, parts, fstype=None):
        """A loop disk of size bytes with a `label` ("gpt" or "dos") table of parts (sizes in
        MiB, None for the rest of the disk), written by sfdisk and made known to the kernel with
        `partx -a` (there is no udev here). mkfs fstype on the last partition. Returns the disk
        and a Loop per partition (same image, device /dev/loopNpK)."""
        disk = self.create(size=size)
        script = f"label: {label}\n" + "".join(f",{p}M\n" if p else ",\n" for p in parts)
        run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", disk.device], input=script)
        run(["partx", "-a", disk.device])
        disk.partitions = [Loop(disk.image, f"{disk.device}p{i + 1}") for i in range(len(parts))]
        if fstype:
            run(list(MKFS[fstype]) + [disk.partitions[-1].device])
            disk.partitions[-1].fstype = fstype
        return disk, disk.partitions

    def mount(self, loop, mountpoint=None, options=None):
        mountpoint = mountpoint or os.path.join(self.workdir, f"mnt-{os.path.basename(loop.device)}")
        os.makedirs(mountpoint, exist_ok=True)
        argv = ["mount"]
        if options:
            argv += ["-o", options]
        run(argv + [loop.device, mountpoint])
        loop.mountpoint = mountpoint
        self.mounts.append(mountpoint)
        return mountpoint

    def umount(self, mountpoint):
        run(["umount", mountpoint])
        self.mounts.remove(mountpoint)

    def cleanup(self):
        errors = []
        for mp in reversed(self.mounts):
            p = subprocess.run(["umount", "-l", mp], capture_output=True, text=True)
            if p.returncode:
                errors.append(p.stderr.strip())
        self.mounts.clear()
        for loop in reversed(self.loops):
            if getattr(loop, "partitions", None):
                # Detaching keeps partitions added with partx: the next user would find them.
                subprocess.run(["partx", "-d", loop.device], capture_output=True)
            p = subprocess.run(["losetup", "-d", loop.device], capture_output=True, text=True)
            if p.returncode and "No such device" not in p.stderr:
                errors.append(p.stderr.strip())
        self.loops.clear()
        return errors
