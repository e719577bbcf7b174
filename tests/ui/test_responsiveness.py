"""The window never freezes while a model loads and while an answer streams.

Structure, which holds on any machine: the load (reading the GGUF header, planning, the engine's load) runs on the
engine's thread; while the answer streams, the GUI thread never touches the store (the partial answer is saved on the
engine's thread); the only store work left to it is the answer's end, the same few calls for a long answer as for a
short one; each token crosses to the GUI as one small event. Liveness: a 5 ms probe timer keeps firing throughout,
and the GUI thread's own work between two of its ticks never adds up to a visible freeze (``FREEZE_MS``). The real
target, under one frame (16 ms), is held by the benchmark (tests/bench/bench_gui_blocks.py, ``load`` and
``stream``), where the machine's load is measured beside it.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Slot
from pytestqt.qtbot import QtBot

from hearth.core.engine.sampling import SamplingParams
from hearth.ui.app import GUI_SWITCH_INTERVAL_S
from hearth.ui.model_session import ModelState
from tests.ui.gui_thread import GuiThreadLog, watch_store
from tests.ui.lateness import FREEZE_MS, LatenessProbe
from tests.ui.window_support import build

TOKENS = 160


class TokenEvents(QObject):
    """The token events as the GUI thread receives them (queued from the engine's thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.threads: set[str] = set()

    @Slot(int, str)
    def on_token(self, _request_id: int, text: str) -> None:
        self.texts.append(text)
        self.threads.add(threading.current_thread().name)


def test_the_window_gets_the_interpreter_every_millisecond(qtbot: QtBot, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Workers run Python beside the GUI thread; the interpreter's lock changes hands every switch interval, and at
    # the default 5 ms a 500-page PDF being read held the window 126 ms at a time (38 ms at 1 ms: the benchmark).
    monkeypatch.setattr(sys, "setswitchinterval", lambda value: switched.append(value))
    switched: list[float] = []
    h = build(qtbot, tmp_path, None)
    try:
        assert switched == [GUI_SWITCH_INTERVAL_S] and GUI_SWITCH_INTERVAL_S <= 0.001
    finally:
        h.close()


def test_loading_and_streaming_leave_the_gui_thread_free(qtbot: QtBot, tmp_path: Path, gemma_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    log = GuiThreadLog()
    watch_store(monkeypatch, log)
    h = build(qtbot, tmp_path, None, n_threads=1)
    h.params[0] = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=TOKENS, seed=1)
    loaded_on: list[str] = []
    client_load = h.bridge.client.load

    def load(*args: object, **kwargs: object) -> object:
        loaded_on.append(threading.current_thread().name)
        return client_load(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(h.bridge.client, "load", load)
    tokens = TokenEvents()
    h.bridge.worker.token.connect(tokens.on_token)
    qtbot.waitExposed(h.window)
    probe = LatenessProbe(interval_ms=5)
    try:
        probe.start()
        h.session.load(gemma_path)
        qtbot.waitUntil(lambda: h.session.state is ModelState.READY, timeout=60_000)
        load_stall = probe.stop()
        load_ticks, load_busy = probe.ticks, probe.worst_busy_ms

        h.window.composer.set_text("Tell me a long story about the sea and the ships that sail it.")
        with log.record():
            probe.start()
            assert h.window.composer.submit()
            qtbot.waitUntil(lambda: bool(h.shown_answer()), timeout=120_000)
            first_token_calls = list(log.gui)
            h.wait_idle(qtbot)
            stream_stall = probe.stop()
        stream_ticks, stream_busy = probe.ticks, probe.worst_busy_ms
        answer = h.controller.branch()[-1]
    finally:
        h.close()
    assert answer.run_info is not None and answer.run_info.tokens == TOKENS
    print(f"worst event-loop lateness: loading {load_stall:.1f} ms, streaming {stream_stall:.1f} ms; "
          f"worst GUI-thread busy stretch: loading {load_busy:.1f} ms, streaming {stream_busy:.1f} ms")

    assert loaded_on and threading.main_thread().name not in loaded_on, "the model loaded off the GUI thread"
    assert first_token_calls == [], f"the GUI thread used the store before the answer streamed: {first_token_calls}"
    end_of_answer = log.store_calls_on_gui()
    assert len(end_of_answer) <= 8, f"the GUI thread's store work grew with the answer: {end_of_answer}"
    assert all(call.split(" by ")[1].startswith("controller.") for call in end_of_answer), end_of_answer
    assert len(tokens.texts) == TOKENS and all(len(text) < 64 for text in tokens.texts), "a token per small event"
    assert tokens.threads == {threading.main_thread().name}

    assert load_ticks > 0 and stream_ticks > 0, "the event loop turned while the model loaded and the answer streamed"
    assert load_busy < FREEZE_MS, f"the GUI thread worked {load_busy:.0f} ms without turning while the model loaded"
    assert stream_busy < FREEZE_MS, f"the GUI thread worked {stream_busy:.0f} ms without turning while streaming"
