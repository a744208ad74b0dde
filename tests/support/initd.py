"""Real services for tests on machines without systemd: LSB init scripts that run a real
daemon (start-stop-daemon, a pid file), in a private copy of /etc/init.d bind-mounted over the
real one inside the test's private mount namespace. Salt's debian_service provider (chosen in
the minion config with ``providers: {service: debian_service}``) drives them through
service(8), as it would on a sysvinit host. Nothing outside the namespace sees them."""
import os
import shutil
import signal
import subprocess
import time

SALT_PROVIDERS = {"providers": {"service": "debian_service"},
                  # systemctl is installed but systemd is not PID 1: systemd_service would load
                  # in "offline" mode, and its service.offline makes Salt's service states no-ops.
                  "disable_modules": ["systemd_service"]}

SCRIPT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          {name}
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Eos test service {name}
### END INIT INFO
PIDFILE={pidfile}
case "$1" in
  start)  exec start-stop-daemon --start --quiet --oknodo --background --make-pidfile \\
                --pidfile "$PIDFILE" --exec /usr/bin/sleep -- 86400 ;;
  stop)   {stop} ;;
  status) exec start-stop-daemon --status --pidfile "$PIDFILE" ;;
  restart) "$0" stop && exec "$0" start ;;
  *)      echo "Usage: $0 {{start|stop|status|restart}}" >&2; exit 3 ;;
esac
"""
STOP = 'exec start-stop-daemon --stop --quiet --oknodo --retry 5 --remove-pidfile --pidfile "$PIDFILE"'
# A service whose stop fails and leaves it running (a hung daemon, a broken script).
STUCK = 'echo "refusing to stop" >&2; exit 1'


class InitD:
    """A private /etc/init.d; install() adds a service, running or not."""

    def __init__(self, base):
        self.dir = os.path.join(base, "init.d")
        self.run_dir = os.path.join(base, "run")
        os.makedirs(self.run_dir)
        shutil.copytree("/etc/init.d", self.dir, symlinks=True)
        subprocess.run(["mount", "--bind", self.dir, "/etc/init.d"], check=True,
                       capture_output=True, text=True)
        self.names = []

    def pidfile(self, name):
        return os.path.join(self.run_dir, f"{name}.pid")

    def install(self, name, running=True, stuck=False):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(SCRIPT.format(name=name, pidfile=self.pidfile(name), stop=STUCK if stuck else STOP))
        os.chmod(path, 0o755)
        self.names.append(name)
        if running:
            self.start(name)
        return name

    def start(self, name, timeout=10):
        """Start through the script; start-stop-daemon --background may return before the
        daemon has written its pid file, so wait for it."""
        self.script(name, "start")
        deadline = time.monotonic() + timeout
        while not self.running(name):
            assert time.monotonic() < deadline, f"{name} did not start"
            time.sleep(0.05)

    def script(self, name, action):
        return subprocess.run([os.path.join("/etc/init.d", name), action], capture_output=True,
                              text=True, timeout=30)

    def pid(self, name):
        """The daemon's pid when it is running, else None."""
        try:
            with open(self.pidfile(name)) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return pid if f.read().startswith(b"/usr/bin/sleep\0") else None
        except OSError:
            return None

    def running(self, name):
        return self.pid(name) is not None

    def close(self):
        """Kill the daemons these scripts started (by their pid files) and unmount."""
        for name in self.names:
            pid = self.pid(name)
            if pid:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10
                while self.pid(name) == pid and time.monotonic() < deadline:
                    time.sleep(0.05)
        subprocess.run(["umount", "/etc/init.d"], check=True, capture_output=True, text=True)
