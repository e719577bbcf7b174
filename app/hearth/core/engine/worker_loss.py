"""When the engine host ends while a model is spread over workers: was it a worker, and which one?

llama.cpp aborts the process that uses a worker when the worker goes away ("Remote RPC server crashed or returned
malformed response"), and waits forever for one that stops answering without closing the connection (the app's
watchdog then stops the host). Either way the host is gone, so the workers it held are free again: probing them
tells the dead or hung ones (refused, timed out, silent) from the healthy ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from hearth.core.engine.workers import WorkerState, WorkerStatus, probe_worker
from hearth.core.errors import HostCrashedError, WorkerLostError

_DURING = {
    "load": "while the model was loading",
    "prompt": "while your message was being read",
    "generate": "while the answer was being written",
}

_RPC_WORDS = ("remote rpc server", "rpc server", "failed to connect to", "rpc handshake")


def mentions_rpc(log_tail: Sequence[str]) -> bool:
    return any(word in line.lower() for line in log_tail for word in _RPC_WORDS)


def worker_loss(workers: Sequence[str], crash: HostCrashedError, *, stalled_s: float | None = None,
                timeout: float = 3.0) -> tuple[WorkerLostError, tuple[str, ...]] | None:
    """A ``WorkerLostError`` naming the workers that no longer answer, and their endpoints; None if the workers are
    not to blame.

    Args:
        workers: the endpoints the model was loaded with.
        crash: how the host ended.
        stalled_s: the host was stopped by the watchdog after this many seconds without progress.
        timeout: seconds to wait for each worker's answer.
    """
    if not workers:
        return None
    statuses = [probe_worker(w, timeout=timeout) for w in workers]
    lost = [s for s in statuses if not s.ready]
    during = _DURING.get(crash.during, "while the model was in use")
    if not lost and stalled_s is None:
        if not mentions_rpc(crash.log_tail):
            return None  # the workers are fine: a crash of llama.cpp itself, reported as such
        return _error(statuses, during, crash, ())  # a network hiccup: the workers answer again
    if not lost:
        names = ", ".join(str(s.endpoint) for s in statuses)
        message = (f"The model stopped making progress for {stalled_s:.0f} seconds {during}, waiting for the "
                   f"worker{'s' if len(statuses) > 1 else ''} {names}; Hearth stopped the engine. The answer so far "
                   f"is kept.")
        return WorkerLostError(message, hint="Check the worker computers and the network, then send the message "
                                              "again.", details=crash.details, endpoint=names), ()
    return _error(lost, during, crash, tuple(str(s.endpoint) for s in lost), stalled_s)


def _error(lost: Sequence[WorkerStatus], during: str, crash: HostCrashedError, gone: tuple[str, ...],
           stalled_s: float | None = None) -> tuple[WorkerLostError, tuple[str, ...]]:
    names = ", ".join(str(s.endpoint) for s in lost)
    plural = len(lost) > 1
    how = "stopped answering"
    if all(s.state is WorkerState.UNREACHABLE for s in lost):
        how = "stopped answering (it no longer accepts connections: it was closed, crashed, or the network dropped)"
    elif all(s.state is WorkerState.BUSY for s in lost):
        how = "stopped answering (it accepts connections but does not reply: it hangs)"
    if stalled_s is not None:
        how += f"; nothing came back for {stalled_s:.0f} seconds"
    message = f"The worker{'s' if plural else ''} {names} {how}, {during}. The answer so far is kept."
    hint = ("The next message loads the model again without it, on the remaining devices; start the worker again "
            "and reload the model to use it.") if gone else "Check the worker computers, then send the message again."
    return WorkerLostError(message, hint=hint, details=crash.details, endpoint=names), gone
