"""Programs and daemons for the bootstrap: argv vectors only (never a shell), every wait
bounded, a daemon identified by its pid and its command line (so a recycled pid is never
signalled)."""
import os
import signal
import socket
import subprocess
import time


class BootstrapError(Exception):
    """A step failed; str() says which and why."""


def run(argv, timeout, check=True, env=None):
    """Run argv; BootstrapError (quoting argv and the end of its output) when it fails or times
    out and check is true."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise BootstrapError(f"{' '.join(argv[:4])} ... did not finish within {timeout} s") from exc
    except OSError as exc:
        raise BootstrapError(f"cannot run {argv[0]}: {exc.strerror}") from exc
    if check and proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip())[-1500:]
        raise BootstrapError(f"{' '.join(argv[:6])} exited {proc.returncode}: {tail}")
    return proc


def run_watched(argv, timeout, watch, every=2.0):
    """run() without check, but watch() is called every `every` seconds while argv runs; when it
    raises (the master went away), argv is killed and the error goes on. A salt-call whose master
    vanished otherwise sits out its whole timeout before it says so."""
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise BootstrapError(f"cannot run {argv[0]}: {exc.strerror}") from exc
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                out, err = proc.communicate(timeout=min(every, max(0.1, deadline - time.monotonic())))
                return subprocess.CompletedProcess(argv, proc.returncode, out, err)
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    raise BootstrapError(f"{' '.join(argv[:4])} ... did not finish within {timeout} s") from None
                watch()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def alive(pid, marker):
    """True when pid runs and its command line contains marker (our config directory)."""
    try:
        with open(f"/proc/{int(pid)}/cmdline", "rb") as f:
            return marker.encode() in f.read()
    except (OSError, ValueError, TypeError):
        return False


def read_pid(pidfile):
    try:
        with open(pidfile, encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def start_daemon(argv, pidfile, marker, timeout):
    """Start a Salt daemon that daemonizes itself (-d) and writes pidfile; returns its pid."""
    pid = read_pid(pidfile)
    if pid and alive(pid, marker):
        return pid
    run(argv + ["-d", f"--pid-file={pidfile}"], timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = read_pid(pidfile)
        if pid and alive(pid, marker):
            return pid
        time.sleep(0.1)
    raise BootstrapError(f"{os.path.basename(argv[0])} wrote no live pid to {pidfile} within {timeout} s")


def _children(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            kids.append(int(entry))
            kids.extend(_children(int(entry)))
    return kids


def stop(pid, marker, timeout=10):
    """SIGTERM pid (only if it is still ours), then SIGKILL it and its leftover children."""
    if not alive(pid, marker):
        return False
    kids = _children(pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive(pid, marker):
        time.sleep(0.1)
    for p in [pid] + kids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return True


def reachable(host, port, timeout):
    """None when a TCP connection to host:port opens within timeout, else the reason."""
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def wait_port(host, port, timeout, what):
    deadline = time.monotonic() + timeout
    why = "not tried"
    while time.monotonic() < deadline:
        why = reachable(host, port, 1)
        if why is None:
            return
        time.sleep(0.2)
    raise BootstrapError(f"{what} does not accept connections on {host}:{port} after {timeout} s: {why}")
