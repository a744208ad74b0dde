"""Cluster roles: which node does what (the calculation is C: eos.roles_calculate).

The runner is glue: it gathers the inventory (live grains of the accepted minions, or a file),
reads the current assignment from pillar, and writes the new one into the pillar file
``eos_roles.sls`` under the master's pillar_roots (temp file + rename, the previous version kept
as ``eos_roles.sls.prev``), then refreshes pillar and applies ``salt://roles/<role>.sls`` on the
minions whose roles changed.

Pillar written::

    eos:
      roles: {<minion id>: [<role>, ...], ...}
      cluster: {node_count: <int>, roles_generation: <int>}

Master options (all optional): ``eos_roles_pillar_root`` (default: the first base
pillar_roots directory), ``eos_roles_grains_timeout`` (seconds, default 10).
"""
import contextlib
import errno
import fcntl
import ipaddress
import json
import logging
import os
import threading
import time

import salt.client
import salt.config
import salt.exceptions
import salt.key
import salt.pillar
import salt.utils.event
import salt.utils.yaml
import salt.version
from salt.exceptions import CommandExecutionError

try:
    import eos
    from eos import events as eos_events
    from eos.glue import include_in_top as _include_in_top
    from eos.glue import load_json_dict as _load_json_dict
    from eos.glue import read_pillar_file as _read_pillar_file
    from eos.glue import failed_answers as _failed_answers
    from eos.glue import write_atomic as _atomic_write
    from eos.glue import pending_finger as _pending_finger
except ImportError as exc:  # pragma: no cover - depends on the installation
    _UNLOADABLE = f"eos_roles: the eos C extension cannot be imported: {exc}"
else:
    _UNLOADABLE = ""

log = logging.getLogger(__name__)

__virtualname__ = "eos_roles"

PILLAR_SLS = "eos_roles"
GRAINS = ["num_cpus", "mem_total", "eos_storage", "eos_zone", "eos_public", "ipv4", "ipv6"]


def __virtual__():
    return (False, _UNLOADABLE) if _UNLOADABLE else __virtualname__


# --- inventory --------------------------------------------------------------------------------

def _int_field(mid, grains, key, required=True):
    value = grains.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CommandExecutionError(
            f"node {mid!r}: grain {key!r} must be a non-negative integer, got {value!r}")
    return value


def _is_public(grains):
    if "eos_public" in grains and grains["eos_public"] is not None:
        return bool(grains["eos_public"])
    for addr in list(grains.get("ipv4") or []) + list(grains.get("ipv6") or []):
        try:
            if ipaddress.ip_address(str(addr).split("%")[0]).is_global:
                return True
        except ValueError:
            continue
    return False


def _node(mid, grains, warnings):
    """One node for eos.roles_calculate from a minion's grains (mem_total is MiB, as Salt gives it)."""
    if not isinstance(grains, dict):
        raise CommandExecutionError(f"node {mid!r}: grains must be a mapping, got {grains!r}")
    storage = grains.get("eos_storage")
    if storage is None or storage == "":  # grains.item answers "" for a grain not synced yet
        warnings.append(f"{mid}: no eos_storage grain (modules not synced?): unused disk counted as 0")
        unused = 0
    elif not isinstance(storage, dict):
        raise CommandExecutionError(f"node {mid!r}: grain 'eos_storage' must be a mapping, got {storage!r}")
    else:
        unused = _int_field(mid, storage, "unused_bytes")
    zone = grains.get("eos_zone")
    if zone is not None and not isinstance(zone, str):
        raise CommandExecutionError(f"node {mid!r}: grain 'eos_zone' must be a string, got {zone!r}")
    return {
        "id": str(mid),
        "cpus": _int_field(mid, grains, "num_cpus"),
        "mem_bytes": _int_field(mid, grains, "mem_total") * 1024 * 1024,
        "disk_bytes": unused,
        "public": _is_public(grains),
        "zone": zone or None,
    }


def _load_file(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise CommandExecutionError(f"{what} file {path!r}: {exc.strerror}") from exc
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return salt.utils.yaml.safe_load(text)
    except Exception as exc:  # yaml raises several types
        raise CommandExecutionError(f"{what} file {path!r} is neither JSON nor YAML: {exc}") from exc


def _inventory_from_file(path, warnings):
    """A list of {id, grains} (or {id: grains}) from a JSON or YAML file."""
    data = _load_file(path, "inventory")
    if isinstance(data, dict):
        data = [{"id": k, "grains": v} for k, v in data.items()]
    if not isinstance(data, list) or not data:
        raise CommandExecutionError(
            f"inventory file {path!r} must be a non-empty list of nodes with 'id' and 'grains', got {data!r}")
    nodes = []
    for entry in data:
        if not isinstance(entry, dict) or "id" not in entry:
            raise CommandExecutionError(f"inventory file {path!r}: a node needs an 'id': {entry!r}")
        grains = entry.get("grains", {k: v for k, v in entry.items() if k != "id"})
        nodes.append(_node(entry["id"], grains, warnings))
    return nodes


def _current_from_data(data, source):
    if data is None:
        return {}
    if isinstance(data, dict) and "eos" in data:
        data = (data.get("eos") or {}).get("roles") or {}
    if not isinstance(data, dict) or not all(
            isinstance(v, list) and all(isinstance(r, str) for r in v) for v in data.values()):
        raise CommandExecutionError(
            f"current assignment from {source} must be {{node id: [role, ...]}}, got {data!r}")
    return {str(k): v for k, v in data.items()}


def _accepted_minions():
    return sorted(salt.key.get_key(__opts__).list_status("accepted").get("minions", []))


def _local():
    return salt.client.get_local_client(__opts__["conf_file"])


def _plausible_id(mid):
    try:
        return bool(eos_events.minion_id(mid))
    except eos_events.EventRejected:
        return False


def _live_inventory(timeout, warnings, unresponsive):
    if __opts__.get("order_masters"):
        # A master of masters holds only its syndics' keys: the nodes are the minions that
        # answer through the syndics (a read; every action still targets exact ids). The
        # syndics never answer a publish themselves: with them in the target Salt waits for
        # them until the timeout and lists them as missing, so they are left out of it.
        syndics = _accepted_minions()
        plain = [k for k in syndics if _plausible_id(k)]
        tgt = "* and not L@" + ",".join(plain) if plain else "*"
        ret = _local().cmd(tgt, "grains.item", GRAINS, tgt_type="compound", timeout=timeout)
        minions = sorted(m for m in ret if m not in syndics)
        if not minions:
            raise CommandExecutionError(
                f"no minion answered through the syndics within {timeout} s: nothing to assign roles to")
    else:
        minions = _accepted_minions()
        if not minions:
            raise CommandExecutionError("no accepted minions: nothing to assign roles to")
        ret = _local().cmd(minions, "grains.item", GRAINS, tgt_type="list", timeout=timeout)
    nodes = []
    for mid in minions:
        grains = ret.get(mid)
        if not isinstance(grains, dict):
            unresponsive.append(mid)
            warnings.append(f"{mid}: no answer within {timeout} s: left out of the calculation")
            continue
        nodes.append(_node(mid, grains, warnings))
    if not nodes:
        raise CommandExecutionError(
            f"none of the accepted minions answered within {timeout} s: {', '.join(minions)}")
    return nodes


# --- pillar file --------------------------------------------------------------------------------

def _pillar_root():
    root = __opts__.get("eos_roles_pillar_root")
    if not root:
        roots = (__opts__.get("pillar_roots") or {}).get("base") or []
        if not roots:
            raise CommandExecutionError("the master has no base pillar_roots: set eos_roles_pillar_root")
        root = roots[0]
    return root


def _pillar_path():
    return os.path.join(_pillar_root(), PILLAR_SLS + ".sls")


def _ensure_top(root):
    """The pillar top file must include eos_roles for every minion; add it when missing."""
    return _include_in_top(root, PILLAR_SLS)


def _pillar_text(assignment, generation, header):
    data = {"eos": {"roles": assignment,
                    "cluster": {"node_count": len(assignment), "roles_generation": generation}}}
    # "#!yaml": plain YAML, never rendered by Jinja: minion ids are not the master's to run.
    return "#!yaml\n" + header + salt.utils.yaml.safe_dump(data, default_flow_style=False)


# --- state of this runner (debounce) and lock ----------------------------------------------------

def _state_dir():
    path = os.path.join(__opts__["cachedir"], "eos_roles")
    os.makedirs(path, exist_ok=True)
    return path


def _load_state():
    try:
        with open(os.path.join(_state_dir(), "state.json"), encoding="utf-8") as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return {}


def _save_state(state):
    _atomic_write(os.path.join(_state_dir(), "state.json"), json.dumps(state, indent=1, sort_keys=True),
                  keep_previous=False)


@contextlib.contextmanager
def _lock(timeout):
    path = os.path.join(_state_dir(), "apply.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise CommandExecutionError(
                        f"another eos_roles.apply held {path} for more than {timeout} s") from exc
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)


def _note_request():
    """Record the time of this join's request (the latest one wins), read by _settle."""
    _atomic_write(os.path.join(_state_dir(), "requested"), repr(time.time()), keep_previous=False)


@contextlib.contextmanager
def _joining_lock():
    """Short critical sections on joining.json (never held across a wait)."""
    fd = os.open(os.path.join(_state_dir(), "joining.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _preparing(change=None):
    """{minion id: epoch} of the joins whose orchestration is preparing the minion (ping, sync,
    grains) and has not reached eos_roles.apply; ``change(data)`` edits it under the lock.
    Entries older than ``eos_roles_join_prepare_max`` (master option, 180 s) are dropped: an
    orchestration that died says nothing."""
    path = os.path.join(_state_dir(), "joining.json")
    horizon = time.time() - float(__opts__.get("eos_roles_join_prepare_max", 180))
    with _joining_lock():
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (FileNotFoundError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        data = {k: v for k, v in data.items() if isinstance(v, (int, float)) and v >= horizon}
        if change:
            change(data)
            _atomic_write(path, json.dumps(data, sort_keys=True), keep_previous=False)
    return data


def _marker_path():
    return os.path.join(_state_dir(), "settling.json")


def _read_marker():
    """The settling run's marker {"pid", "handed": {id: trigger}, "prepare": {id: {trigger,
    attempts}}}, or None (read under _joining_lock)."""
    try:
        marker = _load_json_dict(_marker_path())
    except (OSError, ValueError):
        return None
    if not marker:
        return None
    for key in ("handed", "prepare"):
        if not isinstance(marker.get(key), dict):
            marker[key] = {}
    return marker


def _pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def _hand_over(joining, trigger, attempts=None):
    """Hand this join to the eos_roles.apply that holds the lock and is still settling: it
    calculates after this request, so it covers it, and it announces the join when its role
    states are applied (or fires eos/cluster/join/failed). With ``attempts`` the join has not
    been prepared: that run prepares it first (_prepare_joins). Returns the marker's pid, or
    None when no apply is settling (then this run waits for the lock, or leads).

    A join waiting for the lock holds one of the reactor's worker threads (10 by default) for
    the whole of the other run: at 30 minions the joins went through in waves of ten, each wave
    calculating again after the one before. Handing over frees the thread at once."""
    with _joining_lock():
        marker = _read_marker()
        if marker is None or not _pid_alive(marker.get("pid")) or not _apply_running():
            return None   # none, or a leader that died left its marker: this run leads
        if joining is not None and attempts is not None:
            marker["prepare"][joining] = {"trigger": trigger, "attempts": attempts}
        elif joining is not None:
            marker["handed"][joining] = trigger
        _atomic_write(_marker_path(), json.dumps(marker, sort_keys=True), keep_previous=False)
        return marker.get("pid")


@contextlib.contextmanager
def _settling_marker():
    """Say, while this run settles, that a join may hand itself over (see _hand_over); the
    joins handed over are read when the settle ends, under the same lock the joins write it:
    ``handed`` {id: trigger} (prepared by their orchestration) and ``prepare`` {id: {trigger,
    attempts}} (handed before their preparation)."""
    taken = {"handed": {}, "prepare": {}}
    with _joining_lock():
        _atomic_write(_marker_path(), json.dumps({"pid": os.getpid(), "handed": {}, "prepare": {}}),
                      keep_previous=False)
    try:
        yield taken
    finally:
        with _joining_lock():
            marker = _read_marker() or {}
            for key in taken:
                taken[key].update(marker.get(key) or {})
            with contextlib.suppress(FileNotFoundError):
                os.unlink(_marker_path())


def _unprepared():
    """The joins handed to this settling run before their preparation, so far."""
    with _joining_lock():
        return dict((_read_marker() or {}).get("prepare") or {})


def _prepare_joins(joins):
    """The node-addition orchestration's preparation, for the joins handed over before it: one
    job per step for all of them (test.ping, tried up to each join's ``attempts`` times 5 s
    apart; saltutil.sync_all refresh=False; saltutil.refresh_grains, which reloads the modules,
    grains and pillar), not five orchestration steps per join on the reactor's threads. Returns
    {id: reason} for the joins whose preparation failed."""
    failures = {}
    pending = sorted(joins)
    tries = {m: max(1, int(joins[m].get("attempts") or 1)) for m in pending}
    attempt = 0
    while pending:
        if attempt:
            time.sleep(5)
        attempt += 1
        ret = _local().cmd(pending, "test.ping", tgt_type="list", timeout=10)
        pending = [m for m in pending if ret.get(m) is not True]
        for mid in [m for m in pending if tries[m] <= attempt]:
            failures[mid] = f"no answer to test.ping in {tries[mid]} tries"
            pending.remove(mid)
    ready = sorted(m for m in joins if m not in failures)
    for fun, kwarg, timeout in (("saltutil.sync_all", {"refresh": False}, 120),
                                ("saltutil.refresh_grains", {}, 60)):
        if not ready:
            break
        ret = _local().cmd(ready, fun, kwarg=kwarg, tgt_type="list", timeout=timeout, full_return=True)
        failures.update(_failed_answers(ret, ready, fun, timeout))
        ready = [m for m in ready if m not in failures]
    for mid, why in sorted(failures.items()):
        log.warning("eos_roles: the join of %s failed its preparation: %s", mid, why)
    return failures


class _Preparation:
    """Prepares each join handed over unprepared once, as they come (see _prepare_joins)."""

    def __init__(self):
        self.done = {}
        self.failures = {}

    def __call__(self, joins):
        todo = {m: v for m, v in joins.items() if m not in self.done and isinstance(v, dict)}
        if todo:
            self.done.update(todo)
            try:
                self.failures.update(_prepare_joins(todo))
            except salt.exceptions.SaltException as exc:  # fails these joins, not the run holding them
                self.failures.update({m: f"preparation failed: {exc}" for m in todo})

    def joined(self):
        """{id: trigger} of the joins prepared."""
        return {m: str(v.get("trigger") or "") for m, v in self.done.items() if m not in self.failures}


def _announce(joins, plan, own=None):
    """eos/cluster/roles/changed (joined: <id>) for each join whose roles this run applied, or
    eos/cluster/join/failed (id, reason) for each handed-over join it could not apply (the
    run's own join, ``own``, fails by raising: its orchestration fires the event)."""
    failures = plan.get("failures") or {}
    for mid, trigger in sorted(joins.items()):
        if mid in failures:
            if mid != own:
                _fire("eos/cluster/join/failed", {"id": mid, "reason": str(failures[mid])[:500]})
        else:
            _fire("eos/cluster/roles/changed", {"joined": mid, "trigger": trigger,
                                                "generation": plan.get("generation")})


def _settle(settle, settle_max, tick=None):
    """Wait until no join has been requested for ``settle`` seconds and no join is still being
    prepared (eos_roles.joining), at most ``settle_max``: a fleet starting over minutes gets one
    calculation after the last join, not one per ``settle`` window, and the joins of minions
    starting together end in one calculation even when preparing them (sync, grains) takes
    longer than ``settle`` on a busy master. ``tick()`` runs first in each round."""
    end_by = time.time() + settle_max
    while True:
        if tick:
            tick()
        try:
            with open(os.path.join(_state_dir(), "requested"), encoding="utf-8") as f:
                last = float(f.read())
        except (OSError, ValueError):
            last = 0.0
        now = time.time()
        if now >= end_by or (now >= last + settle and not _preparing()):
            return
        time.sleep(max(0.2, min(last + settle - now, 1.0)))


def _fire(tag, data):
    with salt.utils.event.get_master_event(__opts__, __opts__["sock_dir"], listen=False) as ev:
        ev.fire_event(data, tag)


# --- public functions ---------------------------------------------------------------------------

def _plan(inventory=None, current=None, timeout=None):
    warnings, unresponsive = [], []
    timeout = int(timeout or __opts__.get("eos_roles_grains_timeout", 10))
    if inventory:
        nodes = _inventory_from_file(inventory, warnings)
    else:
        nodes = _live_inventory(timeout, warnings, unresponsive)
    if current:
        cur = _current_from_data(_load_file(current, "current assignment"), f"file {current!r}")
    else:
        cur = _current_from_data(_read_pillar_file(_pillar_path()), f"pillar file {_pillar_path()}")
    try:
        plan = eos.roles_calculate(nodes, cur)
    except OSError as exc:
        raise CommandExecutionError(str(exc)) from exc
    plan["warnings"] = warnings + plan["warnings"]
    plan["unresponsive"] = unresponsive
    return plan


def calculate(inventory=None, current=None, timeout=None):
    """
    Calculate the role assignment (nothing is changed).

    Without arguments: the live grains of the accepted minions (minions that do not answer
    within ``timeout`` seconds are listed under ``unresponsive`` and left out) and the current
    assignment from the pillar file. ``inventory=FILE``: a JSON or YAML list of
    ``{id: ..., grains: {num_cpus, mem_total, eos_storage: {unused_bytes}, eos_zone, ...}}``;
    ``current=FILE``: ``{id: [roles]}`` (or a pillar file with ``eos:roles``), for what-if
    planning without a cluster.

    Returns assignment, reasons, changes, churn, warnings, counts, node_count, unresponsive.

    CLI Example:

    .. code-block:: bash

        salt-run eos_roles.calculate
        salt-run eos_roles.calculate inventory=/srv/plan/nodes.yaml current=/srv/plan/roles.json
    """
    return _plan(inventory, current, timeout)


def _apply_states(minions, assignment, timeout, fresh=()):
    """state.apply of each minion's roles (+ roles.absent); returns ({minion: mods}, {minion: error}).

    The minions in ``fresh`` hold the assignment in their pillar (refresh confirmed): they get it
    in one job, ``state.apply roles`` (salt/roles/init.sls applies the roles that pillar gives
    the node, then roles.absent). The others get their roles named, one job per distinct set.
    One job per set, each awaited before the next, took 30 s for the six sets of a 10-node
    fleet."""
    if not minions:
        return {}, {}
    mods_of = {mid: ",".join([f"roles.{r}" for r in assignment[mid]] + ["roles.absent"]) for mid in minions}
    groups = {}
    for mid in minions:
        groups.setdefault("roles" if mid in fresh else mods_of[mid], []).append(mid)
    failures, applied = {}, {}
    client = _local()
    for mods, targets in sorted(groups.items()):
        ret = client.cmd(targets, "state.apply", [mods], tgt_type="list", timeout=timeout,
                         full_return=True)
        failures.update(_failed_answers(ret, targets, f"state.apply {mods}", timeout))
        for mid in targets:
            if mid in failures:
                continue
            states = ret[mid].get("ret")
            if not isinstance(states, dict):
                failures[mid] = f"state.apply {mods} failed: {states!r}"[:2000]
                continue
            bad = [f"{v.get('__id__', k)}: {v.get('comment')}" for k, v in states.items()
                   if isinstance(v, dict) and v.get("result") is False]
            if bad:
                failures[mid] = f"state.apply {mods}: " + "; ".join(bad)
            else:
                applied[mid] = mods_of[mid]
    return applied, failures


def _refresh_pillar(minions, timeout):
    if not minions:
        return []
    ret = _local().cmd(minions, "saltutil.refresh_pillar", kwarg={"wait": True, "timeout": timeout},
                       tgt_type="list", timeout=timeout)
    return sorted(m for m in minions if ret.get(m) is not True)


def _write_and_apply(assignment, changed, reachable, generation, header, timeout, state_timeout):
    root = _pillar_root()
    top_added = _ensure_top(root)
    _atomic_write(_pillar_path(), _pillar_text(assignment, generation, header))
    not_refreshed = _refresh_pillar(reachable, timeout)
    targets = sorted(m for m in changed if m in reachable and m in assignment)
    applied, failures = _apply_states(targets, assignment, state_timeout,
                                      fresh=set(reachable) - set(not_refreshed))
    for m in not_refreshed:
        failures.setdefault(m, f"saltutil.refresh_pillar did not confirm within {timeout} s")
    return {"pillar_file": _pillar_path(), "top_updated": top_added, "applied": applied,
            "failures": failures}


def apply(inventory=None, current=None, timeout=None, state_timeout=300, settle=0,
          lock_timeout=600, test=False, fire=True, settle_max=None, joining=None, trigger=None):
    """
    Calculate the assignment and make it so: write it into the pillar file eos_roles.sls under
    the master's pillar_roots (atomically, the previous version kept as eos_roles.sls.prev),
    refresh pillar on the responsive minions and apply ``roles.<role>`` (+ ``roles.absent``)
    on the minions whose roles changed. Fires ``eos/cluster/roles/changed`` when the
    assignment changed.

    Runs are serialized by a lock; with ``settle=N`` (seconds, used by the node-join
    orchestration) a run waits until no join has been requested for N seconds (at most
    ``settle_max`` seconds, default master option ``eos_roles_settle_max`` or 300), and a run
    requested before another one started calculating returns that run's result: a hundred
    minions starting together give one consistent assignment, not one per join. When the
    assignment is unchanged, pillar is refreshed only on minions that had not seen it. ``test=True`` only calculates. ``fire=False``
    leaves out that event (the node-addition orchestration's runs: each join is announced on
    its own, see ``joining``).
    ``joining=ID``: this run is the join of ID, whose preparation (``eos_roles.joining``) has
    ended; a settling run also waits for the joins still being prepared. A join that finds
    another run settling hands itself to that run and returns at once (``handed_to``: its pid);
    whichever run applies a join's roles fires ``eos/cluster/roles/changed`` with
    ``joined: ID`` and ``trigger`` (or ``eos/cluster/join/failed`` with the reason).

    Raises when a minion whose roles changed did not apply its role states.

    CLI Example:

    .. code-block:: bash

        salt-run eos_roles.apply
        salt-run eos_roles.apply test=True
    """
    requested = time.time()
    settle = float(settle)
    trigger = str(trigger or "")[:200]  # the start event's tag, passed on in the announcement
    mid = None
    if joining is not None:  # requested when its preparation started (eos_roles.joining)
        mid = _join_id(joining)
        _preparing(lambda data: data.pop(mid, None))
    if settle and not test:
        # A join handed over counts as a request too: the run it joins waits `settle` seconds
        # after it for the next joins, whose orchestrations start as the reactor's threads free.
        _note_request()
        leader = _hand_over(mid, trigger)
        if leader is not None:
            return {"skipped": f"handed to the eos_roles.apply settling in process {leader}: it "
                               "calculates after this request and announces the join",
                    "handed_to": leader}
    joins = {mid: trigger} if mid is not None else {}
    with _lock(float(lock_timeout)):
        state = _load_state()
        if settle and state.get("calculated_at", 0) >= requested and "last" in state:
            last = dict(state["last"])
            last["skipped"] = (f"covered by generation {state.get('generation')}, calculated after "
                               "this request")
            _announce(joins, last, own=mid)
            if mid is not None and mid in (last.get("failures") or {}):
                raise CommandExecutionError(f"{mid}: {last['failures'][mid]}")
            return last
        prepared = _Preparation()
        if settle and not test:
            with _settling_marker() as taken:
                _settle(settle, float(settle_max or __opts__.get("eos_roles_settle_max", 300)),
                        tick=lambda: prepared(_unprepared()))
            prepared(taken["prepare"])  # handed over after the last round
            joins.update(taken["handed"])
            joins.update(prepared.joined())
            for failed, why in sorted(prepared.failures.items()):
                _fire("eos/cluster/join/failed", {"id": failed, "reason": why})
        calculated_at = time.time()
        plan = _plan(inventory, current, timeout)
        if test:
            plan["test"] = True
            return plan
        reachable = sorted(plan["assignment"]) if not inventory else []
        old = _current_from_data(_read_pillar_file(_pillar_path()), "the pillar file")
        same = old == plan["assignment"]
        generation = int(state.get("generation", 0)) + (0 if same else 1)
        header = (f"# Written by salt-run eos_roles.apply (generation {generation}); "
                  f"the previous version is {PILLAR_SLS}.sls.prev\n")
        if same and os.path.exists(_pillar_path()):
            # Nothing changed; minions that failed last time get their role states again, and
            # pillar is refreshed only where it was not before (at fleet size a refresh of
            # every minion per join is a pillar compile per minion per join).
            last = state.get("last") or {}
            retry = sorted(m for m in last.get("failures") or {} if m in reachable)
            seen = set(last.get("refreshed") or [])
            not_refreshed = _refresh_pillar([m for m in reachable if m not in seen or m in retry],
                                            int(timeout or 10))
            applied, failures = _apply_states(retry, plan["assignment"], int(state_timeout),
                                              fresh=set(reachable) - set(not_refreshed))
            failures.update({m: "saltutil.refresh_pillar did not confirm" for m in not_refreshed})
            result = {"pillar_file": _pillar_path(), "top_updated": _ensure_top(_pillar_root()),
                      "applied": applied, "failures": failures}
        else:
            result = _write_and_apply(plan["assignment"], plan["changes"], reachable, generation,
                                      header, int(timeout or 10), int(state_timeout))
        plan.update(result, generation=generation, changed=not same)
        summary = {k: plan[k] for k in ("assignment", "changes", "churn", "warnings", "counts",
                                        "node_count", "unresponsive", "generation", "changed",
                                        "applied", "failures", "pillar_file")}
        summary["refreshed"] = sorted(set(reachable) - set(plan["failures"]))
        _save_state({"generation": generation, "calculated_at": calculated_at, "last": summary})
    if not same and fire:
        _fire("eos/cluster/roles/changed", {"generation": generation, "changes": plan["changes"],
                                            "churn": plan["churn"], "node_count": plan["node_count"]})
    if joins:
        plan["joins"] = sorted(joins)
        _announce(joins, plan, own=mid)
    if prepared.failures:
        plan["join_failures"] = dict(prepared.failures)
    if plan["failures"]:
        raise CommandExecutionError(
            "roles written (generation {}) but not applied everywhere: {}".format(
                generation, "; ".join(f"{m}: {e}" for m, e in sorted(plan["failures"].items()))))
    return plan


def _join_id(minion_id):
    try:
        return eos_events.minion_id(minion_id)
    except eos_events.EventRejected as exc:
        raise CommandExecutionError(str(exc)) from exc


def join(minion_id, trigger=None, wait_attempts=6, test=False):
    """
    The node-addition orchestration's first call, made as it renders: when an
    ``eos_roles.apply`` is settling, hand the join of ``minion_id`` to it and return
    ``{"handed_to": <its pid>}``; the orchestration then does nothing more. That run prepares
    every join handed to it in one job per step (``test.ping``, tried up to ``wait_attempts``
    times; ``saltutil.sync_all``; ``saltutil.refresh_grains``), calculates after them and
    announces each (``eos/cluster/roles/changed`` with ``joined`` and ``trigger``, or
    ``eos/cluster/join/failed`` with the reason). Otherwise returns ``{"handed_to": None}``:
    the orchestration prepares the minion itself and calls ``eos_roles.apply``. ``test=True``
    hands nothing over.

    CLI Example:

    .. code-block:: bash

        salt-run eos_roles.join web-7
    """
    mid = _join_id(minion_id)
    try:
        attempts = int(wait_attempts)
    except (TypeError, ValueError):
        raise CommandExecutionError(f"wait_attempts must be a whole number, not {wait_attempts!r}") from None
    if not 1 <= attempts <= 100:
        raise CommandExecutionError(f"wait_attempts must be 1 to 100, not {attempts}")
    if test:
        return {"handed_to": None, "test": True}
    _note_request()  # counts as a request: the settling run waits `settle` seconds after it
    return {"handed_to": _hand_over(mid, str(trigger or "")[:200], attempts)}


def joining(minion_id, done=False):
    """
    Record that the join of ``minion_id`` is being prepared (the node-addition orchestration's
    first step: ping, sync, grains follow), or with ``done=True`` that it no longer is (its
    orchestration failed). A settling ``eos_roles.apply`` waits for every join recorded here to
    reach it (``apply joining=ID``) before it calculates, so minions starting together end in
    one calculation however long preparing each takes; a record older than
    ``eos_roles_join_prepare_max`` seconds (master option, 180) no longer holds it. Counts as a
    join request for the settle. Returns the ids being prepared.

    CLI Example:

    .. code-block:: bash

        salt-run eos_roles.joining web-7
        salt-run eos_roles.joining web-7 done=True
    """
    mid = _join_id(minion_id)
    if done:
        return sorted(_preparing(lambda data: data.pop(mid, None)))
    _note_request()
    return sorted(_preparing(lambda data: data.__setitem__(mid, time.time())))


def rollback(timeout=10, state_timeout=300, lock_timeout=600):
    """
    Return to the previous assignment (eos_roles.sls.prev): it becomes the pillar file again
    (the replaced one becomes the new .prev), pillar is refreshed and the role states applied on
    the minions whose roles differ.

    CLI Example:

    .. code-block:: bash

        salt-run eos_roles.rollback
    """
    path = _pillar_path()
    with _lock(float(lock_timeout)):
        if not os.path.exists(path + ".prev"):
            raise CommandExecutionError(f"no previous assignment to return to: {path}.prev does not exist")
        prev = _current_from_data(_read_pillar_file(path + ".prev"), f"{path}.prev")
        cur = _current_from_data(_read_pillar_file(path), path)
        changed = sorted(m for m in set(prev) | set(cur) if sorted(prev.get(m, [])) != sorted(cur.get(m, [])))
        state = _load_state()
        generation = int(state.get("generation", 0)) + 1
        header = (f"# Written by salt-run eos_roles.rollback (generation {generation}); "
                  f"the previous version is {PILLAR_SLS}.sls.prev\n")
        candidates = sorted(set(prev) & set(_accepted_minions()))
        pings = _local().cmd(candidates, "test.ping", tgt_type="list", timeout=int(timeout)) if candidates else {}
        reachable = sorted(m for m in candidates if pings.get(m) is True)
        unresponsive = sorted(set(candidates) - set(reachable))
        result = _write_and_apply(prev, changed, reachable, generation, header, int(timeout),
                                  int(state_timeout))
        _save_state({"generation": generation, "calculated_at": time.time(),
                     "last": {"assignment": prev, "generation": generation, "rollback": True}})
    _fire("eos/cluster/roles/changed", {"generation": generation, "rollback": True, "changed": changed})
    result.update(assignment=prev, changed=changed, generation=generation, unresponsive=unresponsive)
    if result["failures"]:
        raise CommandExecutionError(
            "rolled back (generation {}) but not applied everywhere: {}".format(
                generation, "; ".join(f"{m}: {e}" for m, e in sorted(result["failures"].items()))))
    return result


# Pillar of ids that ask for acceptance, compiled at most once per id per TTL: every salt/auth
# of a pending key reaches accept_key, and anyone who reaches the master's port can send those.
_PILLAR_CACHE = {}
_PILLAR_CACHE_LOCK = threading.Lock()
PILLAR_CACHE_MAX = 1024


def _join_pillar(minion_id):
    """eos:cluster of minion_id's pillar, compiled at most once per ``eos_accept_pillar_ttl``
    seconds (master option, default 60) and kept for at most PILLAR_CACHE_MAX ids."""
    ttl = float(__opts__.get("eos_accept_pillar_ttl", 60))
    now = time.monotonic()
    with _PILLAR_CACHE_LOCK:
        hit = _PILLAR_CACHE.get(minion_id)
        if hit and now - hit[0] < ttl:
            return hit[1]
        pillar = salt.pillar.Pillar(__opts__, {"id": minion_id}, minion_id, "base").compile_pillar()
        cluster = (pillar.get("eos") or {}).get("cluster") or {}
        for old in [k for k, (t, _) in _PILLAR_CACHE.items() if now - t >= ttl]:
            del _PILLAR_CACHE[old]
        while len(_PILLAR_CACHE) >= PILLAR_CACHE_MAX:
            del _PILLAR_CACHE[min(_PILLAR_CACHE, key=lambda k: _PILLAR_CACHE[k][0])]
        _PILLAR_CACHE[minion_id] = (now, cluster)
        return cluster


def _stays_pending(minion_id, comment):
    _fire("eos/cluster/join/pending", {"id": minion_id, "comment": comment})
    return {"id": minion_id, "accepted": False, "comment": comment}


def _accept(keys, minion_id, finger, comment):
    keys.accept(match_dict={"minions_pre": [minion_id]}, include_rejected=False, include_denied=False)
    return {"id": minion_id, "accepted": True, "fingerprint": finger, "comment": comment}


def accept_key(minion_id, fingerprint=None):
    """
    Accept the pending key of exactly this minion id when pillar ``eos:cluster:auto_accept`` is
    true for it and the key's fingerprint is the one registered in pillar
    ``eos:cluster:expected_keys: {<id>: <fingerprint>}`` (``salt-key -f <id>`` on the master
    or ``salt-call --local key.finger`` on the minion prints it). An id alone is not
    authentication: without a registered fingerprint, or with another one, the key stays
    pending and ``eos/cluster/join/pending`` is fired for an operator. The id is matched exactly,
    never as a glob. The pillar is compiled at most once per id per ``eos_accept_pillar_ttl``
    seconds (master option, default 60). Used by the node-join reactor on ``salt/auth``.

    ``fingerprint=FP``: an operator's acceptance (``salt-run``, or salt-api's ``/run`` for a user
    whose eauth allows this function): the key is accepted when its fingerprint is FP, whatever
    the pillar says; the reactor never passes it.

    CLI Example:

    .. code-block:: bash

        salt-run eos_roles.accept_key web-7
        salt-run eos_roles.accept_key web-7 fingerprint=3c:1f:...:9a
    """
    try:
        minion_id = eos_events.minion_id(minion_id)
    except eos_events.EventRejected as exc:
        raise CommandExecutionError(str(exc)) from exc
    keys = salt.key.get_key(__opts__)
    finger = _pending_finger(__opts__, keys, minion_id)
    if finger is None:
        return {"id": minion_id, "accepted": False, "comment": f"{minion_id} has no pending key"}
    if fingerprint is not None:
        if not isinstance(fingerprint, str) or fingerprint.strip().lower() != finger:
            return _stays_pending(minion_id, f"the pending key of {minion_id} has fingerprint {finger}, "
                                             f"not the given {eos_events.quote(fingerprint)}: it stays pending")
        return _accept(keys, minion_id, finger, "accepted by an operator with its fingerprint")
    cluster = _join_pillar(minion_id)
    if cluster.get("auto_accept", False) is not True:
        return _stays_pending(minion_id, f"eos:cluster:auto_accept is off: accept with salt-key -a {minion_id}")
    expected = (cluster.get("expected_keys") or {}).get(minion_id)
    if not isinstance(expected, str) or not expected:
        return _stays_pending(minion_id, f"no fingerprint for {minion_id} in eos:cluster:expected_keys: "
                                         f"the key ({finger}) stays pending")
    if expected.strip().lower() != finger:
        return _stays_pending(minion_id, f"the pending key of {minion_id} has fingerprint {finger}, "
                                         f"not the registered {expected[:120]!r}: it stays pending")
    return _accept(keys, minion_id, finger, "eos:cluster:auto_accept is on and the fingerprint is the registered one")


def master_info():
    """
    The master's clock (epoch seconds) and Salt version, for the pre-join health check of
    ``eos_cluster.join`` (allow it with ``peer_run: {'.*': [eos_roles.master_info]}``).

    CLI Example:

    .. code-block:: bash

        salt-run eos_roles.master_info
    """
    return {"time": time.time(), "salt_version": salt.version.__version__, "id": __opts__.get("id")}



def _apply_running():
    """Whether another eos_roles.apply holds its lock now (its state.json is saved only when it
    ends: until then a reconcile would see the minions it is assigning as unassigned)."""
    try:
        with _lock(0):
            return False
    except CommandExecutionError:
        return True


def _accepted_at(mid):
    """When the master accepted mid's key (the key file's mtime); now if it cannot tell."""
    try:
        return os.stat(os.path.join(__opts__["pki_dir"], "minions", mid)).st_mtime
    except OSError:
        return time.time()


def reconcile(settle=10, timeout=None, state_timeout=300):
    """
    Run ``eos_roles.apply`` when the accepted keys and the last assignment disagree:

    - a key accepted at least ``eos_roles_reconcile_after`` seconds ago (master option, default
      180) whose minion is not assigned: its join was lost or failed. A minion the last run
      found unresponsive is tried again once that run is as old;
    - an assigned minion whose key is gone;
    - a minion whose role states failed in the last run (or whose answer was lost), once that
      run is as old: the apply gives it its role states again.

    Otherwise it does nothing: no publish, no pillar compile. Meant for the master's schedule
    (``salt/reactor/eos_schedule.conf``). Salt's events are fire-and-forget: a master too busy
    to read its event bus drops the slow reader (the reactor among them) with every start event
    it had not read, so a fleet starting at once can lose joins. Younger keys are left to their
    join, which may still be under way. ``settle`` is passed to ``apply``.

    On a master of masters the accepted keys are the syndics', not the nodes': there it does
    nothing and says so.

    CLI Example:

    .. code-block:: bash

        salt-run eos_roles.reconcile
        salt-run eos_roles.reconcile settle=30
    """
    if __opts__.get("order_masters"):
        return {"reconciled": False, "comment": "a master of masters holds only its syndics' keys: "
                                                 "nothing to compare"}
    if _apply_running():
        return {"reconciled": False, "comment": "an eos_roles.apply is under way: it reads every accepted key"}
    after = float(__opts__.get("eos_roles_reconcile_after", 180))
    now = time.time()
    state = _load_state()
    last = state.get("last") or {}
    keys = set(_accepted_minions())
    assigned = set(last.get("assignment") or {})
    waiting = set(last.get("unresponsive") or []) if now - state.get("calculated_at", 0) < after else set()
    unassigned = sorted(m for m in keys - assigned - waiting if now - _accepted_at(m) >= after)
    gone = sorted(assigned - keys)
    failures = last.get("failures") if isinstance(last.get("failures"), dict) else {}
    failed = sorted(m for m in failures if m in keys) if now - state.get("calculated_at", 0) >= after else []
    if not unassigned and not gone and not failed:
        return {"reconciled": False, "comment": "the last assignment covers every accepted key "
                                                 f"older than {after:g} s"}
    log.info("eos_roles.reconcile: not assigned %s, keys gone %s, failed %s: applying",
             unassigned, gone, failed)
    if unassigned:
        # What the node-addition orchestration would have done before its apply: the minion's
        # Eos modules and grains (eos_storage, eos_zone) are there only after a sync. One that
        # fails it is left to the apply, which reports it unresponsive or failed.
        try:
            _prepare_joins({m: {"attempts": 1} for m in unassigned})
        except salt.exceptions.SaltClientError as exc:  # N=100 here: the master's workers starved
            raise CommandExecutionError(f"the master did not take the sync of {', '.join(unassigned)}: "
                                        f"{exc}; the next scheduled reconcile tries again") from exc
    plan = apply(timeout=timeout, state_timeout=state_timeout, settle=settle)
    return {"reconciled": True, "unassigned": unassigned, "gone": gone, "failed": failed,
            "generation": plan.get("generation"), "changed": plan.get("changed"),
            "skipped": plan.get("skipped")}
