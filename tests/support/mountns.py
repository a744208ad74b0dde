"""Put the test process into a private mount namespace, so that every mount a test makes
(and every Salt daemon a test starts) stays inside it and vanishes when pytest exits."""
import ctypes
import os

CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

_entered = False


def enter_private_mount_namespace():
    """Return None when done, or the reason it could not be done."""
    global _entered
    if _entered:
        return None
    if os.geteuid() != 0:
        return f"not root (uid {os.geteuid()}): no private mount namespace"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        err = ctypes.get_errno()
        return f"unshare(CLONE_NEWNS) failed: {os.strerror(err)}"
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        err = ctypes.get_errno()
        return f"mount --make-rprivate / failed: {os.strerror(err)}"
    _entered = True
    return None


def in_private_namespace():
    return _entered
