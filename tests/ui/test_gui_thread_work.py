"""Starting an answer leaves the GUI thread only widgets to build: reading the attachments, writing the message and
its answer to the store, reading back the conversation's documents and building the prompt all run on other threads
(``GuiThreadLog`` notes the thread of every store read and write, and of the watched functions). This holds on any
machine, however busy: the window's timing is the benchmarks' business (tests/bench/bench_gui_blocks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

import hearth.ui.app as app_module
import hearth.ui.chat.controller as chat_controller
from hearth.core.engine.sampling import SamplingParams
from hearth.core.store import MessageStatus
from tests.fixtures.documents import make_pdf, report_pages
from tests.ui.gui_thread import GuiThreadLog, watch_store, watch_thread
from tests.ui.window_support import Harness, build


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> GuiThreadLog:
    log = GuiThreadLog()
    watch_store(monkeypatch, log)
    for name in ("prepare_attachments", "engine_messages"):
        watch_thread(monkeypatch, log, chat_controller, name)
    watch_thread(monkeypatch, log, app_module, "bench_prompt_speed")  # reads hearth bench's result file
    return log


def started(qtbot: QtBot, h: Harness) -> None:
    """Until the answer's first words are on screen."""
    qtbot.waitUntil(lambda: bool(h.shown_answer()), timeout=120_000)


def test_answer_start_runs_off_the_gui_thread(qtbot: QtBot, tmp_path: Path, gemma_path: Path,
                                               log: GuiThreadLog) -> None:
    pdf = tmp_path / "annual-report.pdf"
    make_pdf(report_pages(30), pdf)
    h = build(qtbot, tmp_path, gemma_path)
    h.params[0] = SamplingParams(temperature=0.0, max_tokens=6, seed=1)
    try:
        composer = h.window.composer
        composer.set_text("What did the Zanzibar reactor produce?")
        composer.add_files([pdf])
        with log.record():
            assert composer.submit()
            started(qtbot, h)
        h.wait_idle(qtbot)
        assert log.store_calls_on_gui() == [], f"the GUI thread used the store at answer start: {log.gui}"
        assert "prepare_attachments" in log.elsewhere and "engine_messages" in log.elsewhere
        assert "prepare_attachments" not in log.gui and "engine_messages" not in log.gui
        assert "bench_prompt_speed" in log.elsewhere and "bench_prompt_speed" not in log.gui
        assert any(call.startswith("store write") for call in log.elsewhere), "the message was written"
        user, answer = h.controller.branch()
        assert h.store.attachments.for_message(user.id)[0].file.page_count == 30
        assert answer.status is MessageStatus.COMPLETE

        # A follow-up reads the conversation's document back and ranks its passages again: off the GUI thread too.
        with log.record():
            h.send(qtbot, "And in which year?")
            started(qtbot, h)
        h.wait_idle(qtbot)
        assert log.store_calls_on_gui() == []
        assert "engine_messages" in log.elsewhere and "engine_messages" not in log.gui

        # Regenerate, edit and continue start answers the same way.
        last = h.controller.branch()[-1]
        with log.record():
            h.controller.regenerate(last.id)
            started(qtbot, h)
        h.wait_idle(qtbot)
        assert log.store_calls_on_gui() == []
        first_question = h.controller.branch()[0]
        with log.record():
            h.controller.edit_and_resend(first_question.id, "What did the reactor produce, in megawatts?")
            started(qtbot, h)
        h.wait_idle(qtbot)
        assert log.store_calls_on_gui() == []
        # Continue a stopped answer.
        h.params[0] = SamplingParams(temperature=0.0, max_tokens=300, seed=1)
        h.controller.regenerate(h.controller.branch()[-1].id)
        started(qtbot, h)
        h.controller.stop()
        h.wait_idle(qtbot)
        stopped = h.controller.branch()[-1]
        assert stopped.status is MessageStatus.CANCELLED
        h.params[0] = SamplingParams(temperature=0.0, max_tokens=4, seed=1)
        with log.record():
            h.controller.continue_answer(stopped.id)
            qtbot.waitUntil(lambda: len(h.shown_answer()) > len(stopped.content), timeout=120_000)
        h.wait_idle(qtbot)
        assert log.store_calls_on_gui() == []
        branch = h.controller.branch()
        assert branch[0].content == "What did the reactor produce, in megawatts?"
        assert branch[-1].content.startswith(stopped.content) and len(branch[-1].content) > len(stopped.content)
    finally:
        h.close()
