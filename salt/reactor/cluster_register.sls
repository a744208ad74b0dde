#!py
"""Registration through salt-api: ``POST /hook/eos/cluster/register`` with
``{"id": ..., "fingerprint": ...}`` (salt-api requires a session token for it; without one it
answers 401 and fires nothing). The request is recorded by ``eos_cluster.register``, bound to
the key fingerprint the node sent; it never accepts a key: an operator compares it with the
pending key (``eos_cluster.info``) and accepts with ``eos_roles.accept_key``.

The body is untrusted (any holder of a token can post anything): the id must be a plausible
minion id, the fingerprint hex pairs, both bounded; the reaction is built as data. Salt puts the
request's headers into the event; they are never copied anywhere.
"""
import logging

from eos import events

log = logging.getLogger("eos.reactor.cluster_register")


def run():
    try:
        post = data.get("post") if isinstance(data, dict) else None
        if not isinstance(post, dict):
            raise events.EventRejected(f"body {events.quote(post)} is not a JSON object")
        mid = events.minion_id(post.get("id"))
        finger = events.fingerprint_field(post, "fingerprint")
        headers = data.get("headers") if isinstance(data.get("headers"), dict) else {}
        source = headers.get("Remote-Addr")
        source = source if isinstance(source, str) and len(source) <= 64 else None
    except events.EventRejected as exc:
        log.warning("eos cluster_register reactor: dropped %s: %s", events.quote(tag), exc)
        return {}
    return {"eos-register": {"runner.eos_cluster.register": [{"args": [
        {"minion_id": mid}, {"fingerprint": finger}, {"source": source}]}]}}
