"""The GUI thread keeps answering while a download runs: a QTimer probe measures how late each tick fires.

A measured assertion about the event loop (is it ever blocked?), not about speed: the bound is generous for a shared
2-core machine (``STALL_LIMIT_S``), and the worst lateness is reported in the test's properties (``-rA`` or the
JUnit XML show it) and printed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QTimer, Slot
from pytestqt.qtbot import QtBot

from tests.fixtures.hub_fixtures import BIG
from tests.fixtures.hub_server import HubServer
from tests.ui.lateness import FREEZE_MS
from tests.ui.models_support import build_page, fill_models_dir, no_probe

TICK_MS = 10
STALL_LIMIT_S = FREEZE_MS / 1000  # the target is 50 ms (measured here: 3-19 ms); this catches real blocking


class LatenessProbe(QObject):
    """Ticks every ``TICK_MS`` on the GUI thread and records how much later than due each tick ran."""

    def __init__(self) -> None:
        super().__init__()
        self.timer = QTimer(self)
        self.timer.setObjectName("latenessProbe")
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.late: list[float] = []
        self._last = 0.0

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    @Slot()
    def _on_timer_timeout(self) -> None:
        now = time.perf_counter()
        self.late.append(max(0.0, now - self._last - TICK_MS / 1000))
        self._last = now


def test_the_gui_thread_never_stalls_during_a_download(qtbot: QtBot, hub: HubServer, tmp_path: Path,
                                                        tiny_llama4: Path, starter_model: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        record_property: pytest.RecordProperty) -> None:
    no_probe(monkeypatch)
    fill_models_dir(tmp_path / "models", tiny_llama4, starter_model)
    hub.faults.throttle_bps = 5_000_000  # the 16 MB file takes about 3 s: long enough to sample
    h = build_page(qtbot, tmp_path, tmp_path / "models", endpoint=hub.url)
    probe = LatenessProbe()
    try:
        h.page.start()
        h.wait_idle(qtbot)
        task = h.page.start_download(BIG, None)
        probe.start()
        qtbot.waitUntil(lambda: task.state == "ready", timeout=60_000)
        probe.stop()
        updates = task.progress
    finally:
        probe.stop()
        h.close(qtbot)
    assert updates is not None and len(probe.late) > 100, "the probe sampled the whole download"
    worst = max(probe.late)
    ordered = sorted(probe.late)
    p99 = ordered[int(0.99 * (len(ordered) - 1))]
    record_property("download_gui_worst_stall_ms", round(worst * 1000, 1))
    record_property("download_gui_p99_stall_ms", round(p99 * 1000, 1))
    record_property("download_gui_ticks", len(probe.late))
    print(f"GUI thread during a download: worst lateness {worst * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"{len(probe.late)} ticks")
    assert worst < STALL_LIMIT_S, f"the GUI thread was blocked for {worst * 1000:.0f} ms during a download"
