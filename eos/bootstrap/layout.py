"""Where a bootstrapped node keeps everything: a root directory (``/`` on a real machine) with
the usual Salt paths below it, so a test or a sandbox can hold a whole node in one directory."""
import os


class Layout:
    def __init__(self, root, venv):
        self.root = os.path.abspath(root)
        self.venv = os.path.abspath(venv)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    @property
    def conf_dir(self):
        return self.path("etc", "salt")

    @property
    def eos_dir(self):
        return self.path("etc", "eos")

    @property
    def state_file(self):
        return os.path.join(self.eos_dir, "bootstrap.json")

    @property
    def pillar_dir(self):
        return self.path("srv", "eos", "pillar")

    def pki(self, role):
        return os.path.join(self.conf_dir, "pki", role)

    def cache(self, role):
        return self.path("var", "cache", "salt", role)

    def sock(self, role):
        return self.path("var", "run", "salt", role)

    def log(self, name):
        return self.path("var", "log", "salt", name)

    def pidfile(self, name):
        return self.path("var", "run", f"{name}.pid")

    def bin(self, name):
        return os.path.join(self.venv, "bin", name)


def default_salt_tree():
    """The salt/ tree next to the eos package (a checkout or an editable install), or None."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    tree = os.path.join(here, "salt")
    return tree if os.path.isdir(os.path.join(tree, "_modules")) else None
