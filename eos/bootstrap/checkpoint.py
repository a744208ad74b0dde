"""The bootstrap's state file: one checkpoint per finished step, the pids of the daemons it
started and the paths it created, so that a rerun resumes and ``rollback`` undoes exactly what
this bootstrap did. Written atomically (eos.glue.save_json) after every change."""
import os
import shutil
import time

from eos.glue import load_json_dict, save_json


class Checkpoints:
    def __init__(self, path, kind):
        self.path = path
        self.state = load_json_dict(path)
        if self.state.get("kind", kind) != kind:
            raise SystemExit(f"eos-bootstrap: {path} records a '{self.state['kind']}' bootstrap, "
                             f"not '{kind}': run 'eos-bootstrap rollback' first")
        self.state.setdefault("kind", kind)
        for key in ("steps", "pids", "created"):
            self.state.setdefault(key, {} if key != "created" else [])

    def save(self):
        save_json(self.path, self.state)

    def done(self, step):
        return step in self.state["steps"]

    def mark(self, step, **info):
        self.state["steps"][step] = {"at": time.time(), **info}
        self.save()

    def forget(self, step):
        if self.state["steps"].pop(step, None) is not None:
            self.save()

    def created(self, path):
        """Record path as made by this bootstrap (only when it did not exist before)."""
        path = os.path.abspath(path)
        if path not in self.state["created"]:
            self.state["created"].append(path)
            self.save()

    def started(self, name, pid):
        self.state["pids"][name] = pid
        self.save()

    def info(self, step):
        return self.state["steps"].get(step, {})


def load(path):
    """The recorded state, {} when no bootstrap ran here."""
    return load_json_dict(path)


def undo(cp, marker, log):
    """Stop the daemons cp recorded (by pid, only while their command line still names
    marker, our config directory), remove what it created, newest first, the state file last."""
    from eos.bootstrap.proc import stop

    for name, pid in sorted(cp.state["pids"].items()):
        if stop(pid, marker):
            log(f"stopped {name} (pid {pid})")
    for path in reversed(cp.state["created"]):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.unlink(path)
        else:
            continue
        log(f"removed {path}")
    if os.path.exists(cp.path):
        os.unlink(cp.path)
