"""A recorder of the GUI thread's blocks for the benchmarks: how long the event loop could not turn, and which code
ran meanwhile.

Two measurements, taken together while some work runs:

- A heartbeat: a ``PreciseTimer`` on the GUI thread ticks every ``interval_ms``; the lateness of a tick is how long
  a click or a repaint would have waited (``worst_ms``, the figure the "one frame" target is about).
- A watchdog thread samples the GUI thread's Python stack every millisecond while the heartbeat is late. For each
  block it keeps the code seen most often: the innermost frame of Hearth's own code (``app/hearth``), or else the
  innermost frame of any code; a block whose samples show only the event loop itself was spent in Qt's C++ (layout,
  painting), waiting for the interpreter lock held by a worker thread, or not scheduled at all (a busy machine).

``TimedApplication`` adds, when the benchmark makes its ``QApplication`` with it, the duration of every event the GUI
thread handled (wall and thread CPU time) with its kind and receiver: the CPU time of the longest event says what the
GUI thread itself cost, apart from the machine's other load.
"""

from __future__ import annotations

import collections
import gc
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication

APP_DIR = str(Path(__file__).resolve().parents[2] / "app" / "hearth")
_EVENT_NAMES = {value.value: name for name, value in QEvent.Type.__members__.items()}


@dataclass
class Block:
    """One stretch of time the heartbeat was late."""

    late_ms: float
    at_s: float
    samples: int = 0
    code: collections.Counter[str] = field(default_factory=collections.Counter)

    def culprit(self) -> str:
        if not self.code:
            return "(no sample: shorter than the watchdog's step)"
        where, _count = self.code.most_common(1)[0]
        return where

    def to_dict(self) -> dict[str, Any]:
        return {"late_ms": round(self.late_ms, 1), "at_s": round(self.at_s, 2), "samples": self.samples,
                "code": dict(self.code.most_common(4))}


@dataclass
class EventCost:
    """One event the GUI thread handled (outermost only: nested events are part of it)."""

    wall_ms: float
    cpu_ms: float
    kind: str
    receiver: str

    def to_dict(self) -> dict[str, Any]:
        return {"wall_ms": round(self.wall_ms, 2), "cpu_ms": round(self.cpu_ms, 2), "event": self.kind,
                "receiver": self.receiver}


class TimedApplication(QApplication):
    """A ``QApplication`` that times the events of its own thread while ``recording`` (outermost events only)."""

    def __init__(self, argv: list[str]) -> None:
        super().__init__(argv)
        self.recording = False
        self.events: list[EventCost] = []
        self._depth = 0
        self._gui_ident = threading.get_ident()

    def notify(self, receiver: QObject, event: QEvent) -> bool:
        if not self.recording or threading.get_ident() != self._gui_ident or self._depth:
            self._depth += threading.get_ident() == self._gui_ident
            try:
                return super().notify(receiver, event)
            finally:
                self._depth -= threading.get_ident() == self._gui_ident
        kind = event.type()
        wall, cpu = time.perf_counter(), time.thread_time()
        self._depth = 1
        try:
            return super().notify(receiver, event)
        finally:
            self._depth = 0
            wall_ms = (time.perf_counter() - wall) * 1000
            if wall_ms >= 1.0:
                cpu_ms = (time.thread_time() - cpu) * 1000
                self.events.append(EventCost(wall_ms, cpu_ms, _EVENT_NAMES.get(kind.value, str(kind.value)),
                                             type(receiver).__name__))


class BlockRecorder(QObject):
    """Start it, run the work, stop it: ``worst_ms``, ``blocks`` (the late stretches with their code) and, with a
    ``TimedApplication``, ``events`` (the slowest events)."""

    def __init__(self, interval_ms: int = 2, threshold_ms: float = 4.0) -> None:
        super().__init__()
        self.interval_s = interval_ms / 1000
        self.threshold_s = threshold_ms / 1000
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.blocks: list[Block] = []
        self.events: list[EventCost] = []
        self.ticks = 0
        self._beat = 0.0
        self._started = 0.0
        self._current: Block | None = None
        self._lock = threading.Lock()
        self._running = False
        self._watchdog: threading.Thread | None = None
        self._gui_ident = threading.get_ident()
        self.collections: list[tuple[float, int, str]] = []  # (ms, generation, thread) of collections >= 1 ms
        self._gc_started = 0.0

    # --- running -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        gc.collect()
        self.blocks, self.events, self.ticks, self.collections = [], [], 0, []
        gc.callbacks.append(self._on_gc)
        self._started = self._beat = time.perf_counter()
        self._current = None
        self._running = True
        self._watchdog = threading.Thread(target=self._watch, name="block watchdog", daemon=True)
        self._watchdog.start()
        app = QApplication.instance()
        if isinstance(app, TimedApplication):
            app.events = []
            app.recording = True
        self.timer.start()

    def stop(self) -> float:
        if self.timer.isActive():
            self.timer.stop()
            self._beat_now()
        self._running = False
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._watchdog is not None:
            self._watchdog.join()
        app = QApplication.instance()
        if isinstance(app, TimedApplication):
            app.recording = False
            self.events = app.events
            app.events = []
        return self.worst_ms

    # --- results -------------------------------------------------------------------------------------------------

    @property
    def worst_ms(self) -> float:
        return max((b.late_ms for b in self.blocks), default=0.0)

    def worst(self, count: int = 5) -> list[Block]:
        return sorted(self.blocks, key=lambda b: -b.late_ms)[:count]

    def slowest_events(self, count: int = 5, by: str = "wall_ms") -> list[EventCost]:
        return sorted(self.events, key=lambda e: -getattr(e, by))[:count]

    def report(self, count: int = 5) -> dict[str, Any]:
        """The figures a benchmark prints: worst lateness, the worst blocks with their code, the slowest events."""
        return {
            "worst_block_ms": round(self.worst_ms, 1),
            "blocks_over_16_ms": sum(b.late_ms >= 16 for b in self.blocks),
            "ticks": self.ticks,
            "worst_blocks": [b.to_dict() for b in self.worst(count)],
            "worst_gc_ms": round(max((ms for ms, _g, _t in self.collections), default=0.0), 1),
            "gc_over_5_ms": [(round(ms, 1), gen, thread) for ms, gen, thread in self.collections if ms >= 5],
            "worst_event_wall_ms": round(max((e.wall_ms for e in self.events), default=0.0), 2),
            "worst_event_cpu_ms": round(max((e.cpu_ms for e in self.events), default=0.0), 2),
            "slowest_events_by_cpu": [e.to_dict() for e in self.slowest_events(count, by="cpu_ms")],
        }

    # --- the garbage collector (whichever thread triggers it holds the interpreter for the whole collection) --

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        ms = (time.perf_counter() - self._gc_started) * 1000
        if ms >= 1.0:
            thread = "GUI" if threading.get_ident() == self._gui_ident else threading.current_thread().name
            self.collections.append((ms, info.get("generation", -1), thread))

    # --- the heartbeat (GUI thread) ------------------------------------------------------------------------------

    @Slot()
    def _on_timer_timeout(self) -> None:
        self.ticks += 1
        self._beat_now()

    def _beat_now(self) -> None:
        now = time.perf_counter()
        with self._lock:
            late = (now - self._beat - self.interval_s) * 1000
            block = self._current
            self._current = None
            self._beat = now
        if late >= self.threshold_s * 1000:
            if block is None:
                block = Block(late, now - self._started)
            block.late_ms = late
            self.blocks.append(block)

    # --- the watchdog (its own thread) ---------------------------------------------------------------------------

    def _watch(self) -> None:
        while self._running:
            time.sleep(0.001)
            with self._lock:
                now = time.perf_counter()
                if now - self._beat - self.interval_s < self.threshold_s:
                    continue
                if self._current is None:
                    self._current = Block(0.0, self._beat - self._started)
                block = self._current
            frame = sys._current_frames().get(self._gui_ident)
            block.samples += 1
            block.code[_where(frame)] += 1


def _where(frame: FrameType | None) -> str:
    """The innermost frame of Hearth's code on ``frame``'s stack, else the innermost frame, as "file:line function"
    (the event loop alone: "event loop (Qt C++, the interpreter lock, or the scheduler)")."""
    innermost = frame
    depth = 0
    while frame is not None:
        if frame.f_code.co_filename.startswith(APP_DIR):
            return _describe(frame)
        frame = frame.f_back
        depth += 1
    if innermost is None:
        return "?"
    if innermost.f_code.co_name in ("exec", "_exec", "waitUntil", "wait") or depth <= 2:
        return f"event loop (Qt C++, the interpreter lock, or the scheduler) in {_describe(innermost)}"
    return _describe(innermost)


def _describe(frame: FrameType) -> str:
    name = frame.f_code.co_filename
    short = name[len(APP_DIR) - len("hearth"):] if name.startswith(APP_DIR) else Path(name).name
    return f"{short}:{frame.f_lineno} {frame.f_code.co_name}"
