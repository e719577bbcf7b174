"""The GUI thread keeps answering while a download runs: a QTimer probe ticks throughout, the GUI thread's own work
between two ticks never adds up to a visible freeze (``FREEZE_MS``, in its CPU time: what the scheduler of a busy
machine adds is not Hearth's), and the download's progress reaches the GUI thinned (a few updates a second, not one
per chunk). The worst lateness and busy stretch are reported in the test's properties (``-rA`` or the JUnit XML show
them) and printed; the benchmark holds the one-frame target.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Slot
from pytestqt.qtbot import QtBot

from tests.fixtures.hub_fixtures import BIG
from tests.fixtures.hub_server import HubServer
from tests.ui.lateness import FREEZE_MS, LatenessProbe
from tests.ui.models_support import build_page, fill_models_dir, no_probe


class Changes(QObject):
    """The download's ``changed`` notifications, as the GUI thread receives them."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    @Slot()
    def on_changed(self) -> None:
        self.seen += 1


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
        changes = Changes()
        task.changed.connect(changes.on_changed)
        probe.start()
        qtbot.waitUntil(lambda: task.state == "ready", timeout=60_000)
        probe.stop()
        updates = task.progress
    finally:
        probe.stop()
        h.close(qtbot)
    assert updates is not None and probe.ticks > 100, "the probe sampled the whole download"
    worst, p99, busy = probe.worst_ms, probe.percentile_ms(0.99), probe.worst_busy_ms
    record_property("download_gui_worst_stall_ms", round(worst, 1))
    record_property("download_gui_p99_stall_ms", round(p99, 1))
    record_property("download_gui_worst_busy_ms", round(busy, 1))
    record_property("download_gui_ticks", probe.ticks)
    print(f"GUI thread during a download: worst lateness {worst:.1f} ms, p99 {p99:.1f} ms, worst busy {busy:.1f} ms, "
          f"{probe.ticks} ticks, {changes.seen} progress updates")
    assert busy < FREEZE_MS, f"the GUI thread worked {busy:.0f} ms without turning its event loop during a download"
    seconds = max(probe.ticks * probe.interval_s, 1.0)
    assert changes.seen <= 40 * seconds, "the download's progress reached the GUI thinned"
