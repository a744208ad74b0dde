"""Why tests/support/fleet.py runs the syndic <-> master-of-masters link on the tcp transport
(fleet.SYNDIC_TRANSPORT, README "A larger fleet").

salt-syndic sends every request to its master of masters (its start event, the forwarded events
and returns) through a sync ReqChannel called from inside its running event loop
(salt.minion.Syndic._send_req_sync). Salt wraps such a call in SyncWrapper, which runs it in a
thread and afterwards cancels the asyncio tasks it created and takes for orphans. On Salt 3008.3
with zeromq that includes the RequestClient's _send_recv task: the first request is answered,
every later one waits out its timeout (60 s x 3 tries in the syndic, its loop blocked). This
test does what the syndic does, against a plain zeromq REP socket, so it needs no daemon; when a
Salt release answers every call, it fails and says so (then zeromq can come back)."""
import asyncio
import threading

import pytest

zmq = pytest.importorskip("zmq")

import salt.config  # noqa: E402
import salt.payload  # noqa: E402
import salt.transport.zeromq  # noqa: E402
import salt.utils.asynchronous  # noqa: E402
import salt.version  # noqa: E402


def _echo_server():
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    rep.setsockopt(zmq.LINGER, 0)
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            if rep.poll(100):
                rep.send(salt.payload.dumps({"echo": salt.payload.loads(rep.recv())}))
        rep.close()
        ctx.term()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return port, stop, t


def test_zeromq_sync_request_channel_inside_a_running_loop_answers_once():
    port, stop, thread = _echo_server()
    opts = dict(salt.config.DEFAULT_MINION_OPTS, master_uri=f"tcp://127.0.0.1:{port}")
    client = salt.utils.asynchronous.SyncWrapper(salt.transport.zeromq.RequestClient, (opts,),
                                                 loop_kwarg="io_loop", async_methods=["send"])
    answers = []

    async def syndic_like():
        for n in range(2):
            try:
                answers.append(client.send({"n": n}, timeout=3))
            except Exception as exc:  # pylint: disable=broad-except
                answers.append(exc)

    try:
        asyncio.run(syndic_like())
    finally:
        # The client's zmq context must go now: left to the garbage collector, its finalizer
        # blocks in zmq_ctx_term at interpreter exit.
        context = client.obj.context
        client.obj.close()
        client.close()
        if context is not None and not context.closed:
            context.destroy(linger=0)
        stop.set()
        thread.join(5)
    assert answers[0] == {"echo": {"n": 0}}, answers
    assert type(answers[1]).__name__ == "SaltReqTimeoutError", (
        f"Salt {salt.version.__version__} answered the second sync zeromq request too ({answers!r}): "
        "the syndic may run on zeromq again (tests/support/fleet.py SYNDIC_TRANSPORT, README)")
