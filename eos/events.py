"""Events from minions are untrusted input: the helpers Eos's minion glue uses to sign the events
it sends, and its reactors use to check them (id, shape, signature) before acting.

Why a signature: Salt authenticates the envelope of an event a minion sends with
``event.fire_master``/``event.send`` (``data['id']`` is the id whose session key decrypted the
request), but the master also accepts a batch of events from a minion (the form beacons use),
and fires each one's own data as it is: a minion can fire ``{"id": "<another minion>", ...}``
that looks exactly like an envelope. So an event that makes the master act on a minion carries
``_sig``: that minion's RSA signature (its Salt key) over tag, id, a timestamp and the payload.
The master checks it with the minion's accepted public key, so only the minion itself can ask
for work on itself.

Rejections raise ``EventRejected`` with a short reason that quotes the offending value (cut to
80 characters): the reactor logs it and renders nothing.
"""
import base64
import json
import os
import re
import time

SIG_KEY = "_sig"
TS_KEY = "_ts"
MAX_AGE = 300           # seconds an event is accepted after it was signed (clock skew included)
MAX_ID = 128
MAX_PATH = 4096
MAX_SIG = 2048          # base64 of a 4096-bit RSA signature is 684 characters
# A plausible minion id: what hostnames and FQDNs use; never a glob (* ? [ ]), a list
# separator (,), a path (/), white space or a control character.
_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]*\Z")
_FINGER = re.compile(r"([0-9a-f]{2}:){15,63}[0-9a-f]{2}\Z")  # md5 to sha512, as salt-key -f prints
LEVELS = ("ok", "warning", "compress", "cleanup", "degraded", "emergency", "critical")


class EventRejected(ValueError):
    """An event that Eos does not act on; str() is the reason, for the log."""


def quote(value, limit=80):
    """repr() of an untrusted value, cut: a 1 MB string must not become a 1 MB log line."""
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters of repr)"


def minion_id(value, what="minion id"):
    """value when it is a plausible minion id, else EventRejected."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID or not _ID.match(value):
        raise EventRejected(f"{what} {quote(value)} is not a plausible minion id "
                            f"(letters, digits, _ . @ -; at most {MAX_ID})")
    return value


def text_field(payload, key, limit, required=True):
    value = payload.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= limit or "\0" in value:
        raise EventRejected(f"field {key!r}: {quote(value)} is not a string of 1 to {limit} "
                            "characters without NUL")
    return value


def number_field(payload, key, low, high, required=True):
    value = payload.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise EventRejected(f"field {key!r}: {quote(value)} is not a number from {low} to {high}")
    return value


def fingerprint_field(payload, key):
    """A key fingerprint as Salt prints it (hex pairs joined by ':'), lower-cased."""
    value = payload.get(key)
    if not isinstance(value, str) or len(value) > 200 or not _FINGER.match(value.strip().lower()):
        raise EventRejected(f"field {key!r}: {quote(value)} is not a key fingerprint (aa:bb:...)")
    return value.strip().lower()


def level_field(payload, key, required=True):
    value = payload.get(key)
    if value is None and not required:
        return None
    if value not in LEVELS:
        raise EventRejected(f"field {key!r}: {quote(value)} is not a level ({', '.join(LEVELS)})")
    return value


def _message(tag, mid, payload):
    body = {k: v for k, v in payload.items() if k != SIG_KEY}
    return json.dumps({"tag": tag, "id": mid, "data": body}, sort_keys=True,
                      separators=(",", ":")).encode()


def sign(opts, tag, payload, now=None):
    """payload plus _ts and _sig (this minion's signature), ready for event.send."""
    import salt.crypt

    signed = dict(payload, **{TS_KEY: time.time() if now is None else now})
    key = os.path.join(opts["pki_dir"], "minion.pem")
    sig = salt.crypt.sign_message(key, _message(tag, opts["id"], signed))
    signed[SIG_KEY] = base64.b64encode(sig).decode()
    return signed


def envelope(tag, data):
    """(minion id, payload) of an event a minion sent with event.send/fire_master: the id from
    the envelope, the payload a dict. EventRejected otherwise."""
    if not isinstance(data, dict):
        raise EventRejected(f"event data {quote(data)} is not a mapping")
    mid = minion_id(data.get("id"), "envelope id")
    payload = data.get("data")
    if not isinstance(payload, dict):
        raise EventRejected(f"payload {quote(payload)} of {mid} is not a mapping")
    if data.get("tag", tag) != tag:
        raise EventRejected(f"envelope tag {quote(data.get('tag'))} is not the event's tag {tag!r}")
    return mid, payload


def verify(opts, tag, mid, payload, now=None):
    """Check payload's signature with the accepted key of mid (the master's pki_dir); raise
    EventRejected when it is missing, stale or wrong."""
    import salt.crypt
    import salt.utils.verify

    sig = text_field(payload, SIG_KEY, MAX_SIG)
    ts = number_field(payload, TS_KEY, 0, 1e11)
    now = time.time() if now is None else now
    if abs(now - ts) > MAX_AGE:
        raise EventRejected(f"signature of {mid} is {now - ts:.0f} s old (at most {MAX_AGE})")
    pki = opts.get("cluster_pki_dir") if opts.get("cluster_id") else opts["pki_dir"]
    path = salt.utils.verify.clean_join(pki, "minions", mid)
    try:
        raw = base64.b64decode(sig, validate=True)
        good = salt.crypt.verify_signature(path, _message(tag, mid, payload), raw)
    except (ValueError, OSError) as exc:
        raise EventRejected(f"signature of {mid} cannot be checked: {exc}") from exc
    if not good:
        raise EventRejected(f"signature of {mid} does not verify with its accepted key")
