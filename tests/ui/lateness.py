"""The one probe of the GUI thread's liveness: a QTimer that records how late each of its ticks comes, and how much
CPU time the GUI thread itself spent between two ticks.

While the probe runs, the worst lateness is the longest time the event loop could not turn (a repaint, a click,
a keystroke would have waited that long). On a machine shared with other work that figure is partly the scheduler's:
a thread that is ready to run may wait hundreds of milliseconds for a core (load average 15-20 on 2 cores does that).
The GUI thread's own CPU time between two ticks (``worst_busy_ms``, ``time.thread_time``) is what Hearth's code cost
it: the scheduler cannot add to it, so the tests judge by it, and report the lateness beside it. The benchmarks
measure the lateness itself, with the machine's load noted (tests/bench/bench_gui_blocks.py).
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, Qt, QTimer, Slot

# What the GUI tests hold the window to: no stretch of the GUI thread's own work a person would see as a freeze, the
# work they exercise (a 7 MB document, a 500-page PDF, a PDF bomb, a download, an answer) taking seconds if it ran on
# the GUI thread. The real target, one frame (16 ms), is the benchmarks' (tests/bench/bench_gui_blocks.py).
FREEZE_MS = 250.0


class LatenessProbe(QObject):
    """Start it, do the work, stop it; ``worst_ms`` is the longest delay of a tick beyond its interval, ``late_ms``
    every tick's (and, last, the wait from the last tick to ``stop``), ``ticks`` how many times the timer fired;
    ``worst_busy_ms`` the most CPU time the GUI thread spent between two ticks (``busy_ms`` each)."""

    def __init__(self, interval_ms: int = 10) -> None:
        super().__init__()
        self.interval_s = interval_ms / 1000
        self.timer = QTimer(self)
        self.timer.setObjectName("latenessProbe")
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.late_ms: list[float] = []
        self.busy_ms: list[float] = []
        self.ticks = 0
        self._last = 0.0
        self._last_cpu = 0.0

    @property
    def worst_ms(self) -> float:
        return max(self.late_ms, default=0.0)

    @property
    def worst_busy_ms(self) -> float:
        return max(self.busy_ms, default=0.0)

    def percentile_ms(self, share: float) -> float:
        """The lateness that ``share`` (0..1) of the ticks stayed within."""
        ordered = sorted(self.late_ms)
        return ordered[int(share * (len(ordered) - 1))] if ordered else 0.0

    def start(self) -> None:
        # Garbage that earlier tests left (windows, wrappers) is collected now, not in the middle of the measurement.
        gc.collect()
        self.late_ms = []
        self.busy_ms = []
        self.ticks = 0
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.timer.start()

    def stop(self) -> float:
        """Stop (the time since the last tick counts too); returns ``worst_ms``."""
        if self.timer.isActive():
            self.timer.stop()
            self._record()
        return self.worst_ms

    @Slot()
    def _on_timer_timeout(self) -> None:
        self.ticks += 1
        self._record()

    def _record(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.late_ms.append(max(0.0, (now - self._last - self.interval_s) * 1000))
        self.busy_ms.append((cpu - self._last_cpu) * 1000)
        self._last, self._last_cpu = now, cpu
