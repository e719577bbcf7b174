"""The GUI thread keeps answering while a download runs: a QTimer probe measures how late each tick fires.

A measured assertion about the event loop (is it ever blocked?), not about speed: the bound is generous for a shared
2-core machine (``STALL_LIMIT_MS``), and the worst lateness is reported in the test's properties (``-rA`` or the
JUnit XML show it) and printed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.fixtures.hub_fixtures import BIG
from tests.fixtures.hub_server import HubServer
from tests.ui.lateness import FREEZE_MS, LatenessProbe
from tests.ui.models_support import build_page, fill_models_dir, no_probe

STALL_LIMIT_MS = FREEZE_MS  # the target is 50 ms (measured here: 3-19 ms); this catches real blocking


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
    assert updates is not None and probe.ticks > 100, "the probe sampled the whole download"
    worst, p99 = probe.worst_ms, probe.percentile_ms(0.99)
    record_property("download_gui_worst_stall_ms", round(worst, 1))
    record_property("download_gui_p99_stall_ms", round(p99, 1))
    record_property("download_gui_ticks", probe.ticks)
    print(f"GUI thread during a download: worst lateness {worst:.1f} ms, p99 {p99:.1f} ms, {probe.ticks} ticks")
    assert worst < STALL_LIMIT_MS, f"the GUI thread was blocked for {worst:.0f} ms during a download"
