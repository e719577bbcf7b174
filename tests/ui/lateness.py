"""A probe of the GUI thread's liveness: a 10 ms QTimer that records how late each of its ticks comes.

While the probe runs, the worst lateness is the longest time the event loop could not turn (a repaint, a click,
a keystroke would have waited that long). Work on other threads must not add to it.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, Qt, QTimer, Slot

# What the GUI tests of hostile files, big documents and downloads hold the window to: no pause a person sees as a
# freeze, the work they exercise (a 7 MB document, a PDF bomb, a download) taking seconds if it ran on the GUI thread.
# Their measured figures (3-25 ms here) are reported; on a 2-core CI machine busy with parsing threads a single late
# tick says more about the scheduler than about Hearth. Streaming and model load keep the 50 ms
# (test_responsiveness.py), and the benchmarks hold streaming to 16 ms (tests/bench).
FREEZE_MS = 250.0


class LatenessProbe(QObject):
    """Start it, do the work, stop it; ``worst_ms`` is the longest delay of a tick beyond its interval."""

    def __init__(self, interval_ms: int = 10) -> None:
        super().__init__()
        self.interval_s = interval_ms / 1000
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.worst_ms = 0.0
        self.ticks = 0
        self._last = 0.0

    def start(self) -> None:
        # Garbage that earlier tests left (windows, wrappers) is collected now, not in the middle of the measurement.
        gc.collect()
        self.worst_ms = 0.0
        self.ticks = 0
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        self._on_timer_timeout()  # the time since the last tick counts too
        return self.worst_ms

    @Slot()
    def _on_timer_timeout(self) -> None:
        now = time.perf_counter()
        late = (now - self._last - self.interval_s) * 1000
        self.worst_ms = max(self.worst_ms, late)
        self._last = now
        self.ticks += 1
