"""eos-bootstrap: from a bare machine to an Eos master (``eos-bootstrap master``) or to a
cluster member (``eos-bootstrap join``), one checkpointed step at a time.

One file per concern: ``cli`` (arguments), ``layout`` (where everything lives),
``checkpoint`` (the state file, pids and paths for rollback), ``proc`` (programs and daemons,
argv only, every wait bounded), ``install`` (the venv), ``tls`` (the salt-api certificate),
``configs`` (the Salt configuration Eos writes), ``master`` and ``join`` (the two sequences).
"""
