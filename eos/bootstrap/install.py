"""The venv that runs Salt and Eos: an existing one when it already has both (``--venv``),
otherwise a new one made with ``python3 -m venv`` and filled by pip with the versions pinned in
the checkout's requirements-test.txt (salt, CherryPy for salt-api) and Eos itself."""
import os
import sys

from eos.bootstrap.proc import BootstrapError, run

PINNED = ("salt", "cherrypy")
CHECK = "import salt.version, cherrypy, eos; print(salt.version.__version__)"


def pins(source):
    """The requirement lines for PINNED from source/requirements-test.txt."""
    path = os.path.join(source, "requirements-test.txt")
    try:
        with open(path, encoding="utf-8") as f:
            lines = [ln.split("#")[0].strip() for ln in f]
    except OSError as exc:
        raise BootstrapError(f"cannot read {path}: {exc.strerror}") from exc
    found = [ln for ln in lines if ln.split("==")[0].lower() in PINNED and "==" in ln]
    if len(found) != len(PINNED):
        raise BootstrapError(f"{path} pins {found}, expected a pin for each of {', '.join(PINNED)}")
    return found


def ready(venv):
    """The Salt version in venv when it can run Salt, salt-api and Eos, else None."""
    python = os.path.join(venv, "bin", "python")
    if not os.access(python, os.X_OK):
        return None
    proc = run([python, "-c", CHECK], timeout=120, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def ensure(venv, source, log):
    """Make venv ready; returns True when this call created it (rollback then removes it)."""
    version = ready(venv)
    if version:
        log(f"venv {venv}: Salt {version}, salt-api and Eos are there")
        return False
    created = not os.path.exists(venv)
    log(f"creating {venv} and installing Salt, CherryPy and Eos (pip; this takes minutes)")
    run([sys.executable, "-m", "venv", venv], timeout=300)
    pip = [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run(pip + pins(source) + [source], timeout=1800)
    if not ready(venv):
        raise BootstrapError(f"{venv}: pip finished but salt, cherrypy or eos cannot be imported")
    return created
