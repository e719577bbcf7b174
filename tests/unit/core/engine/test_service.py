"""The engine service's queue: round-robin between sources, a bound with a typed refusal, per-request cancel.

The queue is tested against ``GatedEngineClient``, a fake engine client (no llama.cpp) whose answers wait until the
test opens their gate, so the order in which requests reach the engine is observed exactly, without timing. The last
test runs the real engine host on the tiny Llama 4.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hearth.core.engine import EngineClient
from hearth.core.engine.events import AnswerStats, Finished, PromptProgress, TokenDelta
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.service import WINDOW, Activity, ChatRequest, EngineService, JobKind, TicketState
from hearth.core.errors import EngineBusyError, EngineNotReadyError, HearthError

WAIT = 30.0  # only a guard against a hang; nothing waits this long when the code is right


class GatedEngineClient:
    """A fake ``EngineClient``: each answer announces itself, then waits for its gate or a cancel."""

    def __init__(self) -> None:
        self.plan = object()
        self.started: queue.Queue[str] = queue.Queue()
        self.gates: dict[str, threading.Event] = {}
        self.cancels: list[str | None] = []
        self.current: str | None = None
        self._cancelled = threading.Event()
        self.closed = False
        self.hold_before_start: threading.Event | None = None
        self.holding: queue.Queue[str] = queue.Queue()

    def gate(self, name: str) -> threading.Event:
        return self.gates.setdefault(name, threading.Event())

    def chat(self, messages: Any, params: Any = None, **_kw: Any) -> Iterator[Any]:
        name = messages[0]["content"]
        if name == "explode":
            raise RuntimeError("a bug in the engine client")
        self._cancelled.clear()
        if self.hold_before_start is not None:
            self.holding.put(name)
            self.hold_before_start.wait(WAIT)
        self.current = name
        self.started.put(name)
        try:
            yield PromptProgress(1, 0, 1)
            gate = self.gate(name)
            while not gate.is_set() and not self._cancelled.is_set():
                gate.wait(0.01)  # polls the cancel flag like the host's token loop does
            reason = "cancelled" if self._cancelled.is_set() else "eos"
            if reason == "eos":
                yield TokenDelta(1, f"answer to {name}")
            yield Finished(1, AnswerStats(1, None, None, 1, reason))
        finally:
            self.current = None

    def cancel(self) -> bool:
        self.cancels.append(self.current)
        if self.current is not None:
            self._cancelled.set()
            return True
        return False

    def cancel_load(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _request(name: str) -> ChatRequest:
    return ChatRequest([{"role": "user", "content": name}], SamplingParams(max_tokens=8))


def _service(client: GatedEngineClient, **kwargs: Any) -> EngineService:
    return EngineService(client, **kwargs)  # type: ignore[arg-type]


def test_sources_take_turns() -> None:
    client = GatedEngineClient()
    service = _service(client, max_waiting=20)
    try:
        streams = [service.stream("a", _request("a1"))]
        assert client.started.get(timeout=WAIT) == "a1"  # a1 holds the engine while the others queue
        for source, name in (("a", "a2"), ("a", "a3"), ("b", "b1"), ("c", "c1"), ("b", "b2"), (WINDOW, "w1")):
            streams.append(service.stream(source, _request(name)))
        order = ["a1"]
        for _ in range(6):
            client.gate(order[-1]).set()
            order.append(client.started.get(timeout=WAIT))
        client.gate(order[-1]).set()
        assert order == ["a1", "a2", "b1", "c1", "w1", "a3", "b2"]
        for stream in streams:
            events = list(stream)
            assert isinstance(events[-1], Finished) and events[-1].stats.stop_reason == "eos"
    finally:
        for gate in client.gates.values():
            gate.set()
        service.close()


def test_a_full_queue_refuses_with_a_retry_time_but_never_the_window() -> None:
    client = GatedEngineClient()
    service = _service(client, max_waiting=3, max_waiting_per_source=2)
    try:
        service.stream("a", _request("running"))
        assert client.started.get(timeout=WAIT) == "running"
        service.stream("a", _request("a1"))
        service.stream("a", _request("a2"))
        with pytest.raises(EngineBusyError) as one_source:
            service.stream("a", _request("a3"))  # this source's share is taken
        assert one_source.value.retry_after_s >= 1
        service.stream("b", _request("b1"))  # another source still gets a place
        with pytest.raises(EngineBusyError):
            service.stream("c", _request("c1"))  # the whole queue is full
        window = service.stream(WINDOW, _request("w1"), bounded=False)
        assert service.activity == Activity("a", JobKind.CHAT, 4)
        for name in ("running", "a1", "b1", "w1", "a2"):
            client.gate(name).set()
        assert next(e for e in window if isinstance(e, TokenDelta)).text == "answer to w1"
    finally:
        for gate in client.gates.values():
            gate.set()
        service.close()


def test_cancelling_a_waiting_request_takes_it_out_of_the_queue() -> None:
    client = GatedEngineClient()
    service = _service(client)
    try:
        service.stream("a", _request("first"))
        assert client.started.get(timeout=WAIT) == "first"
        waiting = service.stream("b", _request("never"))
        waiting.cancel()
        assert waiting.ticket is not None and waiting.ticket.state is TicketState.CANCELLED
        events = list(waiting)
        assert len(events) == 1 and isinstance(events[0], Finished) and events[0].stats.stop_reason == "cancelled"
        after = service.stream("b", _request("after"))
        client.gate("first").set()
        assert client.started.get(timeout=WAIT) == "after"  # "never" never reached the engine
        client.gate("after").set()
        list(after)
        assert client.cancels == []  # nothing running was disturbed
    finally:
        for gate in client.gates.values():
            gate.set()
        service.close()


def test_cancelling_one_source_never_stops_another_sources_answer() -> None:
    client = GatedEngineClient()
    service = _service(client)
    try:
        running = service.stream("a", _request("a1"))
        assert client.started.get(timeout=WAIT) == "a1"
        later = service.stream("b", _request("b1"))
        assert running.ticket is not None and later.ticket is not None
        running.ticket.cancel()
        assert list(running)[-1].stats.stop_reason == "cancelled"  # type: ignore[union-attr]
        assert client.cancels == ["a1"]
        assert client.started.get(timeout=WAIT) == "b1"
        running.ticket.cancel()  # a late second cancel of a finished request does nothing to b1
        client.gate("b1").set()
        assert list(later)[-1].stats.stop_reason == "eos"  # type: ignore[union-attr]
        assert client.cancels == ["a1"]
    finally:
        for gate in client.gates.values():
            gate.set()
        service.close()


def test_a_cancel_that_arrives_before_the_engine_has_the_request_is_sent_again() -> None:
    client = GatedEngineClient()
    client.hold_before_start = threading.Event()
    service = _service(client)
    try:
        stream = service.stream("a", _request("a1"))
        assert client.holding.get(timeout=WAIT) == "a1"  # dequeued, but the host has no request id yet
        assert stream.ticket is not None and stream.ticket.state is TicketState.RUNNING
        stream.ticket.cancel()
        assert client.cancels == [None]  # that cancel found nothing to stop
        client.hold_before_start.set()
        events = list(stream)
        assert events[-1].stats.stop_reason == "cancelled"  # type: ignore[union-attr]
        assert client.cancels == [None, "a1"]
    finally:
        for gate in client.gates.values():
            gate.set()
        service.close()


def test_a_failing_job_is_reported_and_the_engine_goes_on() -> None:
    client = GatedEngineClient()
    service = _service(client)
    try:
        with pytest.raises(HearthError, match="failed unexpectedly"):
            list(service.stream("a", _request("explode")))
        client.gate("next").set()
        assert list(service.stream("a", _request("next")))[-1].stats.stop_reason == "eos"  # type: ignore[union-attr]
    finally:
        service.close()


def test_closing_drops_waiting_requests_with_a_reason() -> None:
    client = GatedEngineClient()
    service = _service(client)
    seen: list[Activity] = []
    service.add_activity_listener(seen.append)
    service.stream("a", _request("busy"))
    assert client.started.get(timeout=WAIT) == "busy"
    waiting = service.stream("b", _request("dropped"))
    service.close()
    with pytest.raises(EngineNotReadyError):
        list(waiting)
    assert client.closed
    assert Activity("a", JobKind.CHAT, 1) in seen
    with pytest.raises(EngineNotReadyError):
        service.stream("c", _request("late"))


def test_the_real_engine_answers_two_sources_in_turn(tiny_llama4: Path) -> None:
    client = EngineClient()
    service = EngineService(client)
    loaded: list[tuple[str, Any]] = []
    service.add_model_listener(lambda source, info, _plan: loaded.append((source, info)))
    try:
        done = threading.Event()
        result: list[Any] = []
        service.load("api", LoadPlan(str(tiny_llama4), n_ctx=512, n_threads=2),
                     on_done=lambda outcome: (result.append(outcome), done.set()))
        assert done.wait(120)
        assert not isinstance(result[0], HearthError), result[0]
        assert loaded and loaded[0][0] == "api"
        params = SamplingParams(temperature=0.0, max_tokens=24, ignore_eos=True, seed=1)
        first = service.stream(WINDOW, ChatRequest([{"role": "user", "content": "hello"}], params), bounded=False)
        second = service.stream("api", ChatRequest([{"role": "user", "content": "world"}], params))
        for stream in (first, second):
            finished = list(stream)[-1]
            assert isinstance(finished, Finished)
            assert (finished.stats.tokens, finished.stats.stop_reason) == (24, "length")
    finally:
        service.close()
