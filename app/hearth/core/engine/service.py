"""One engine shared by several sources of requests: the window and the clients of the local API.

There is one model in memory and one engine host, so requests take turns. ``EngineService`` owns the ``EngineApi`` (an
``EngineClient`` in the app) and runs every call that blocks (loading, answering, unloading) on its own worker thread,
one at a time. Waiting requests are kept per source (the window; each API client) and served round-robin, so a client
that sends twenty requests cannot starve the window or another client. The queue is bounded: a request that would wait
behind ``max_waiting`` others is refused at once with ``EngineBusyError`` (the API answers 429 with Retry-After) instead
of waiting without end. The window's requests are never refused (a person pressed a button; it sends one at a time).

Each request is a ``Ticket``; ``Ticket.cancel()`` takes a waiting request out of the queue, or stops a running answer
within a token (the client writes the cancel to the host's pipe at once, and llama.cpp's abort callback covers prompt
processing). Cancelling one source's request never touches another's.

Listeners hear what the engine is doing (``Activity``: which source it works for, how many wait) and when another
source changed the loaded model. Qt-free; the window relays both as signals.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hearth.core.engine.api import EngineApi
from hearth.core.engine.events import AnswerStats, EngineEvent, Finished, LoadProgress, ModelInfo, StopReason
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tools import ToolChoice, ToolSpec
from hearth.core.errors import EngineBusyError, EngineNotReadyError, HearthError, ModelLoadError

log = logging.getLogger(__name__)

WINDOW = "window"
DEFAULT_MAX_WAITING = 8


class JobKind(Enum):
    CHAT = "chat"
    LOAD = "load"
    UNLOAD = "unload"
    OTHER = "other"


class TicketState(Enum):
    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"  # taken out of the queue before it ran


@dataclass(frozen=True)
class Activity:
    """What the engine is doing.

    Attributes:
        source: whom the running job is for (None: idle).
        kind: what the running job is (None: idle).
        waiting: requests in the queue, all sources together.
    """

    source: str | None
    kind: JobKind | None
    waiting: int


@dataclass(frozen=True)
class ChatRequest:
    """One answer to write (see ``EngineClient.chat`` for the fields)."""

    messages: Sequence[dict[str, Any]]
    params: SamplingParams = field(default_factory=SamplingParams)
    continue_last: bool = False
    tools: Sequence[ToolSpec] = ()
    tool_choice: ToolChoice | None = None
    raw: bool = False


Work = Callable[[EngineApi, "Ticket"], None]
Dropped = Callable[[HearthError | None], None]
"""Told that a job will never run: None when its owner cancelled it while it waited, else the reason."""


class Ticket:
    """A request in the engine's queue.

    Attributes:
        source: who asked.
        kind: what it is.
        state: where it is.
    """

    def __init__(self, service: EngineService, source: str, kind: JobKind, work: Work,
                 on_dropped: Dropped | None) -> None:
        self._service = service
        self.source = source
        self.kind = kind
        self.state = TicketState.WAITING
        self._work = work
        self._on_dropped = on_dropped
        self._cancel = threading.Event()
        self._done = threading.Event()
        self.cancel_delivered = False  # the engine had this request when the cancel was sent

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Take the request out of the queue, or stop it within a token if it runs. Safe from any thread."""
        self._cancel.set()
        self._service._cancel(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the request ran or was dropped; False on timeout."""
        return self._done.wait(timeout)

    @property
    def finished(self) -> bool:
        return self._done.is_set()


class EngineService:
    """The one engine, shared fairly.

    Args:
        client: the engine client to own (its blocking calls run only on this service's thread from now on).
        max_waiting: the most requests that may wait, all refusable sources together.
        max_waiting_per_source: the most one source may have waiting (default: half of ``max_waiting``).
    """

    def __init__(self, client: EngineApi, *, max_waiting: int = DEFAULT_MAX_WAITING,
                 max_waiting_per_source: int | None = None) -> None:
        self.client = client
        self.max_waiting = max(1, max_waiting)
        self.max_waiting_per_source = max(1, max_waiting_per_source or (self.max_waiting + 1) // 2)
        self._lock = threading.Condition()
        self._queues: dict[str, collections.deque[Ticket]] = {}
        self._rotation: collections.deque[str] = collections.deque()
        self._running: Ticket | None = None
        self._closed = False
        self._activity_listeners: list[Callable[[Activity], None]] = []
        self._model_listeners: list[Callable[[str, ModelInfo | None, LoadPlan | None], None]] = []
        self._seconds_per_job = 2.0  # a running estimate, for Retry-After
        self._thread = threading.Thread(target=self._run, name="engine-service", daemon=True)
        self._thread.start()

    # --- listening -----------------------------------------------------------------------------------------------

    def add_activity_listener(self, listener: Callable[[Activity], None]) -> None:
        """``listener(activity)`` runs on the service's thread (or the submitting one) whenever activity changes."""
        self._activity_listeners.append(listener)

    def add_model_listener(self, listener: Callable[[str, ModelInfo | None, LoadPlan | None], None]) -> None:
        """``listener(source, info, plan)`` runs on the service's thread after a source loaded or unloaded a model."""
        self._model_listeners.append(listener)

    @property
    def activity(self) -> Activity:
        with self._lock:
            return self._activity_locked()

    def _activity_locked(self) -> Activity:
        running = self._running
        waiting = sum(len(queue) for queue in self._queues.values())
        return Activity(running.source if running else None, running.kind if running else None, waiting)

    def _tell_activity(self) -> None:
        activity = self.activity
        for listener in list(self._activity_listeners):
            try:
                listener(activity)
            except Exception:  # a listener's bug must not stop the engine
                log.exception("activity listener failed")

    # --- submitting ----------------------------------------------------------------------------------------------

    def submit(self, source: str, work: Work, *, kind: JobKind = JobKind.OTHER, bounded: bool = True,
               on_dropped: Dropped | None = None) -> Ticket:
        """Queue ``work(client, ticket)`` to run on the engine's thread in ``source``'s turn.

        Args:
            source: who asks (requests of one source run in order; sources take turns).
            work: the job; it owns the client while it runs and must not raise (failures are its to report).
            kind: what the job is, for ``Activity``.
            bounded: may be refused when the queue is full (False for the window).
            on_dropped: told when the job will never run (see ``Dropped``).

        Raises:
            EngineBusyError: the queue is full (only when ``bounded``).
            EngineNotReadyError: the service is closed.
        """
        ticket = Ticket(self, source, kind, work, on_dropped)
        with self._lock:
            if self._closed:
                raise EngineNotReadyError("The model engine is shutting down.")
            if bounded:
                self._check_room(source)
            queue = self._queues.get(source)
            if queue is None:
                queue = self._queues[source] = collections.deque()
            if not queue:
                self._rotation.append(source)
            queue.append(ticket)
            self._lock.notify_all()
        self._tell_activity()
        return ticket

    def _check_room(self, source: str) -> None:
        waiting = sum(len(q) for q in self._queues.values())
        mine = len(self._queues.get(source, ()))
        if waiting >= self.max_waiting or mine >= self.max_waiting_per_source:
            ahead = waiting + (1 if self._running else 0)
            retry = max(1, min(60, math.ceil(self._seconds_per_job * max(1, ahead) / 2)))
            raise EngineBusyError(
                f"The model is busy: {waiting} request{'s' if waiting != 1 else ''} already waiting.",
                hint=f"Try again in {retry} s.", retry_after_s=retry,
            )

    def chat(self, source: str, request: ChatRequest, sink: Callable[[EngineEvent | HearthError], object], *,
             bounded: bool = True) -> Ticket:
        """Queue an answer; its events (ending with ``Finished``) or its error go to ``sink`` on the engine's thread.

        A request cancelled while waiting ends with a ``Finished`` whose stop reason is "cancelled".
        """

        def on_dropped(error: HearthError | None) -> None:
            sink(error if error is not None else Finished(0, cancelled_stats()))

        return self.submit(source, lambda client, ticket: run_chat(client, ticket, request, sink),
                           kind=JobKind.CHAT, bounded=bounded, on_dropped=on_dropped)

    def stream(self, source: str, request: ChatRequest, *, bounded: bool = True) -> ChatStream:
        """Queue an answer and iterate over its events from the calling thread (blocking)."""
        stream = ChatStream()
        stream.ticket = self.chat(source, request, stream.put, bounded=bounded)
        return stream

    def load(self, source: str, plan: LoadPlan, on_progress: Callable[[float], None] | None = None,
             on_done: Callable[[ModelInfo | HearthError], object] | None = None, *, bounded: bool = False) -> Ticket:
        """Queue a model load; listeners hear of it when it succeeds."""

        def work(client: EngineApi, _ticket: Ticket) -> None:
            try:
                info = client.load(plan, on_progress=on_progress)
            except Exception as exc:
                if on_done is not None:
                    on_done(_as_error(exc))
                return
            if on_done is not None:
                on_done(info)
            self._tell_model(source, info, client.plan)

        def on_dropped(error: HearthError | None) -> None:
            if on_done is not None:
                on_done(error or ModelLoadError("Loading was cancelled."))

        return self.submit(source, work, kind=JobKind.LOAD, bounded=bounded, on_dropped=on_dropped)

    def unload(self, source: str, on_done: Callable[[], None] | None = None) -> Ticket:
        """Queue freeing the model's memory."""

        def work(client: EngineApi, _ticket: Ticket) -> None:
            client.unload()
            if on_done is not None:
                on_done()
            self._tell_model(source, None, None)

        return self.submit(source, work, kind=JobKind.UNLOAD, bounded=False)

    def _tell_model(self, source: str, info: ModelInfo | None, plan: LoadPlan | None) -> None:
        for listener in list(self._model_listeners):
            try:
                listener(source, info, plan)
            except Exception:
                log.exception("model listener failed")

    # --- cancelling ----------------------------------------------------------------------------------------------

    def _cancel(self, ticket: Ticket) -> None:
        dropped = False
        with self._lock:
            if ticket.state is TicketState.WAITING:
                queue = self._queues.get(ticket.source)
                if queue is not None and ticket in queue:
                    queue.remove(ticket)
                    if not queue:
                        self._forget_source(ticket.source)
                ticket.state = TicketState.CANCELLED
                dropped = True
            elif ticket.state is TicketState.RUNNING and self._running is ticket and ticket.kind is JobKind.CHAT:
                # Under the lock, the running request is this ticket's: the cancel cannot reach the next one.
                ticket.cancel_delivered = bool(self.client.cancel())
        if dropped:
            self._drop(ticket, None)
            self._tell_activity()

    def cancel_source(self, source: str) -> None:
        """Cancel everything ``source`` has queued or running."""
        with self._lock:
            tickets = list(self._queues.get(source, ()))
            running = self._running
        if running is not None and running.source == source:
            tickets.append(running)
        for ticket in tickets:
            ticket.cancel()

    def _forget_source(self, source: str) -> None:
        self._queues.pop(source, None)
        try:
            self._rotation.remove(source)
        except ValueError:
            pass

    @staticmethod
    def _drop(ticket: Ticket, error: HearthError | None) -> None:
        try:
            if ticket._on_dropped is not None:
                ticket._on_dropped(error)
        finally:
            ticket._done.set()

    # --- running -------------------------------------------------------------------------------------------------

    def _next_ticket(self) -> Ticket | None:
        """The next job in round-robin order (None when closed); waits for one."""
        with self._lock:
            while not self._rotation and not self._closed:
                self._lock.wait()
            if self._closed:
                return None
            source = self._rotation.popleft()
            queue = self._queues[source]
            ticket = queue.popleft()
            if queue:
                self._rotation.append(source)  # its next request waits for the others' turns
            else:
                self._queues.pop(source, None)
            ticket.state = TicketState.RUNNING
            self._running = ticket
            return ticket

    def _run(self) -> None:
        while True:
            ticket = self._next_ticket()
            if ticket is None:
                return
            self._tell_activity()
            started = time.monotonic()
            try:
                ticket._work(self.client, ticket)
            except Exception:  # a job must report its own failures; one that does not must not stop the engine
                log.exception("engine job for %s failed", ticket.source)
            finally:
                with self._lock:
                    ticket.state = TicketState.DONE
                    self._running = None
                    if ticket.kind is JobKind.CHAT:
                        elapsed = time.monotonic() - started
                        self._seconds_per_job = 0.8 * self._seconds_per_job + 0.2 * elapsed
                ticket._done.set()
            self._tell_activity()

    def close(self, timeout: float = 15.0) -> None:
        """Stop: drop what waits, stop what runs, end the worker thread and the engine host."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            waiting = [t for queue in self._queues.values() for t in queue]
            self._queues.clear()
            self._rotation.clear()
            running = self._running
            for ticket in waiting:
                ticket.state = TicketState.CANCELLED
            self._lock.notify_all()
        for ticket in waiting:
            self._drop(ticket, EngineNotReadyError("Hearth is closing."))
        if running is not None:
            self.client.cancel()
            self.client.cancel_load()
        self._thread.join(timeout)
        self.client.close()


def cancelled_stats() -> AnswerStats:
    """The statistics of an answer cancelled before it started."""
    return AnswerStats(0, None, None, 0, StopReason.CANCELLED)


def _as_error(exc: BaseException) -> HearthError:
    if isinstance(exc, HearthError):
        return exc
    return HearthError("The model engine failed unexpectedly.", details=f"{type(exc).__name__}: {exc}")


def run_chat(client: EngineApi, ticket: Ticket, request: ChatRequest,
             sink: Callable[[EngineEvent | HearthError], object]) -> None:
    """Answer ``request`` on the engine's thread, passing events to ``sink`` and honouring ``ticket.cancel()``.

    A cancel that arrives before the host has the request (the client has no request id yet) is sent again as soon
    as the first event shows the host has it.
    """
    if ticket.cancel_requested:
        sink(Finished(0, cancelled_stats()))
        return
    try:
        for event in client.chat(request.messages, request.params, continue_last=request.continue_last,
                                 tools=request.tools, tool_choice=request.tool_choice, raw=request.raw):
            if ticket.cancel_requested and not ticket.cancel_delivered and not isinstance(event, LoadProgress):
                ticket.cancel_delivered = bool(client.cancel())
            sink(event)
    except Exception as exc:
        sink(_as_error(exc))


class ChatStream:
    """An answer's events, read by a blocking iterator on another thread (tests, scripts, the CLI)."""

    _END = object()

    def __init__(self) -> None:
        self._queue: Any = collections.deque()
        self._ready = threading.Condition()
        self.ticket: Ticket | None = None

    def put(self, item: EngineEvent | HearthError) -> None:
        with self._ready:
            self._queue.append(item)
            self._ready.notify_all()

    def __iter__(self) -> Iterator[EngineEvent]:
        """Events up to and including ``Finished``; a failure is raised."""
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                item = self._queue.popleft()
            if isinstance(item, HearthError):
                raise item
            yield item
            if isinstance(item, Finished):
                return

    def cancel(self) -> None:
        if self.ticket is not None:
            self.ticket.cancel()
