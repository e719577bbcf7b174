"""The one probe of the GUI thread's liveness: a QTimer that records how late each of its ticks comes.

While the probe runs, the worst lateness is the longest time the event loop could not turn (a repaint, a click,
a keystroke would have waited that long). Work on other threads must not add to it.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, Qt, QTimer, Slot

# What the GUI tests of hostile files, big documents and downloads hold the window to: no pause a person sees as a
# freeze, the work they exercise (a 7 MB document, a 500-page PDF, a PDF bomb, a download) taking seconds if it ran
# on the GUI thread. Their measured figures (3-50 ms here) are reported; on a 2-core CI machine busy with parsing
# threads a single late tick says more about the scheduler than about Hearth. Streaming and model load keep the 50 ms
# target (test_responsiveness.py, one engine thread), and the benchmarks hold streaming to 16 ms (tests/bench).
FREEZE_MS = 250.0


class LatenessProbe(QObject):
    """Start it, do the work, stop it; ``worst_ms`` is the longest delay of a tick beyond its interval, ``late_ms``
    every tick's (and, last, the wait from the last tick to ``stop``), ``ticks`` how many times the timer fired."""

    def __init__(self, interval_ms: int = 10) -> None:
        super().__init__()
        self.interval_s = interval_ms / 1000
        self.timer = QTimer(self)
        self.timer.setObjectName("latenessProbe")
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.late_ms: list[float] = []
        self.ticks = 0
        self._last = 0.0

    @property
    def worst_ms(self) -> float:
        return max(self.late_ms, default=0.0)

    def percentile_ms(self, share: float) -> float:
        """The lateness that ``share`` (0..1) of the ticks stayed within."""
        ordered = sorted(self.late_ms)
        return ordered[int(share * (len(ordered) - 1))] if ordered else 0.0

    def start(self) -> None:
        # Garbage that earlier tests left (windows, wrappers) is collected now, not in the middle of the measurement.
        gc.collect()
        self.late_ms = []
        self.ticks = 0
        self._last = time.perf_counter()
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
        now = time.perf_counter()
        self.late_ms.append(max(0.0, (now - self._last - self.interval_s) * 1000))
        self._last = now
