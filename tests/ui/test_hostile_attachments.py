"""Hostile and broken attachments sent through the real window: the reason in plain words (a notice; the message and
its attachment go back into the composer), nothing half-stored, and the file is read on a worker thread: from Send
until it is read (or refused) the GUI thread neither reads it nor touches the store (``GuiThreadLog``), and the
window's event loop keeps turning (a 10 ms timer keeps firing, and the GUI thread's own work between two ticks never
adds up to a visible freeze, ``FREEZE_MS``; the benchmark, tests/bench/bench_gui_blocks.py, holds each file to one
frame).

``HEARTH_HOSTILE_REPORT=path.json`` collects the worst lateness per file (README, "Reliability").
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

import hearth.ui.chat.controller as chat_controller
from hearth.core.engine.sampling import SamplingParams
from tests.fixtures.hostile_files import HOSTILE, text_near_the_limit
from tests.ui.gui_thread import GuiThreadLog, watch_store, watch_thread
from tests.ui.lateness import FREEZE_MS, LatenessProbe
from tests.ui.window_support import Harness, build

# name -> words the user is told (None: the file is read and the message sent)
TOLD = {
    "pdf-flate-bomb": "would unpack to more than a real document",
    "pdf-nested-flate-bomb": "would unpack to more than a real document",
    "pdf-nested-arrays": "is damaged",
    "pdf-nested-dictionaries": "is damaged",
    "pdf-deep-page-tree": "is damaged",
    "docx-zip-bomb": "would expand",
    "text-1gb-sparse": "reads documents up to 200 MB",
    "text-invalid-utf8": None,
    "png-decompression-bomb": "pixels",
    "text-over-the-limit": "up to 8 million characters",
    "text-near-the-limit": None,
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    folder = tmp_path_factory.mktemp("hostile")
    files = {name: maker(folder / file_name) for name, (maker, file_name) in HOSTILE.items()}
    files["text-near-the-limit"] = text_near_the_limit(folder / "big-log.txt")
    yield files
    for path in files.values():
        path.unlink(missing_ok=True)


def started(qtbot: QtBot, folder: Path, model: Path) -> Harness:
    folder.mkdir()
    h = build(qtbot, folder, model)
    h.params[0] = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=4, seed=1)
    return h


def closed(h: Harness) -> None:
    h.close()


def send_probed(qtbot: QtBot, h: Harness, path: Path, log: GuiThreadLog) -> LatenessProbe:
    """Send a message with ``path`` attached; the probe runs until the attachment has been read (or refused)."""
    composer = h.window.composer
    composer.set_text("What is in this file?")
    composer.add_files([path])
    probe = LatenessProbe()
    with log.record():
        probe.start()
        with qtbot.waitSignal(h.controller.busy_changed, timeout=60_000):
            assert composer.submit()
        # The file is read off the GUI thread; the event loop turns meanwhile (the probe's ticks prove it).
        qtbot.waitUntil(h.attachments_read, timeout=120_000)
        probe.stop()
    assert "prepare_attachments" in log.elsewhere and "prepare_attachments" not in log.gui
    assert log.store_calls_on_gui() == [], f"the GUI thread used the store while {path.name} was read: {log.gui}"
    return probe


def record(name: str, worst_ms: float, busy_ms: float) -> None:
    target = os.environ.get("HEARTH_HOSTILE_REPORT")
    if target:
        path = Path(target)
        figures = json.loads(path.read_text()) if path.is_file() else {}
        figures.setdefault(name, {})["gui_worst_lateness_ms"] = round(worst_ms, 1)
        figures[name]["gui_worst_busy_ms"] = round(busy_ms, 1)
        path.write_text(json.dumps(figures, indent=1, sort_keys=True))


@pytest.mark.parametrize("name", list(TOLD))
def test_hostile_attachment_in_the_window(qtbot: QtBot, tmp_path: Path, tiny_llama4: Path,
                                          hostile: dict[str, Path], name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    log = GuiThreadLog()
    watch_store(monkeypatch, log)
    watch_thread(monkeypatch, log, chat_controller, "prepare_attachments")
    path = hostile[name]
    h = started(qtbot, tmp_path / "first", tiny_llama4)
    try:
        probe = send_probed(qtbot, h, path, log)
        check_outcome(qtbot, h, path, TOLD[name])
    finally:
        closed(h)
    record(name, probe.worst_ms, probe.worst_busy_ms)
    assert probe.ticks > 0
    assert probe.worst_busy_ms < FREEZE_MS, f"the GUI thread worked {probe.worst_busy_ms:.0f} ms while {name} was read"


def check_outcome(qtbot: QtBot, h: Harness, path: Path, told: str | None) -> None:
    composer = h.window.composer
    messages = [m for c in h.store.conversations.list_all() for m in h.store.messages.all_messages(c.id)]
    if told is None:
        h.wait_idle(qtbot)
        user = h.controller.branch()[0]
        assert [a.file_name for a in h.store.attachments.for_message(user.id)] == [path.name]
        if path.name == "notes.txt":
            assert h.window.toast.isVisible() and "not valid UTF-8" in h.window.toast.label.text()
        return
    assert h.window.toast.isVisible(), "the reason is shown"
    shown = h.window.toast.label.text()
    assert told in shown and path.name in shown, shown
    assert composer.text() == "What is in this file?", "the message goes back into the composer"
    assert [a.name for a in composer.attachments] == [path.name]
    assert messages == [], "nothing was sent"
    assert not h.controller.busy
    folder = h.store.attachments.folder
    copies = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    assert copies == [], "nothing half-stored"
