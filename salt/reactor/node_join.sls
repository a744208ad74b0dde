#!py
"""Node join. Wire it in the master config (see salt/reactor/eos_reactor.conf):

  salt/minion/<id>/start, eos/cluster/join -> the node-addition orchestration for that minion
  salt/auth (a pending key)                -> eos_roles.accept_key: accepted only when pillar
                                              eos:cluster:auto_accept is true and the key's
                                              fingerprint is the one in eos:cluster:expected_keys

Joins are serialized and debounced in eos_roles.apply (lock + settle), so ten minions starting
together end in one consistent assignment.

The event is untrusted input (see salt/reactor/storage_threshold.sls): reactions are built as
data, the id must be a plausible minion id (no glob, bounded), a start event's envelope id must
be the id in its tag, and eos/cluster/join must carry the joining minion's own signature
(eos_cluster.join signs it). Anything else is dropped with one warning in the master's log.
"""
import logging

from eos import events

log = logging.getLogger("eos.reactor.node_join")


def _auth():
    """salt/auth is fired by the master itself; its id is what an unauthenticated client
    claimed, which is why accept_key checks the key's fingerprint, not the id."""
    if not isinstance(data, dict) or data.get("act") != "pend":
        return None
    return events.minion_id(data.get("id"), "pending key id")


def _joining():
    if tag == "eos/cluster/join":
        mid, payload = events.envelope(tag, data)
        events.verify(opts, tag, mid, payload)
        return mid
    parts = tag.split("/")
    if len(parts) != 4 or parts[:2] != ["salt", "minion"] or parts[3] != "start":
        raise events.EventRejected(f"tag {events.quote(tag)} is not salt/minion/<id>/start")
    if not isinstance(data, dict) or data.get("id") != parts[2]:
        raise events.EventRejected(f"envelope id {events.quote(data.get('id') if isinstance(data, dict) else data)} "
                                   f"is not the id in the tag {events.quote(parts[2])}")
    return events.minion_id(parts[2])


def run():
    try:
        if tag == "salt/auth":
            mid = _auth()
            if mid is None:
                return {}
            return {"eos-accept-key": {"runner.eos_roles.accept_key": [
                {"args": [{"minion_id": mid}]}]}}
        mid = _joining()
    except events.EventRejected as exc:
        log.warning("eos node_join reactor: dropped %s: %s", events.quote(tag), exc)
        return {}
    return {"eos-node-join": {"runner.state.orchestrate": [{"args": [
        {"mods": "orchestration.node_addition"},
        {"pillar": {"eos_join": {"id": mid, "trigger": tag}}},
    ]}]}}
