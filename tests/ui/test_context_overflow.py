"""A conversation that outgrows the model's context, on the real engine (Gemma 3 270M, 512-token context): the oldest
messages are dimmed under a banner that says how many the model no longer sees, and "Continue in a new chat with a
summary" starts a new chat from the model's own summary, with the old conversation attached."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hearth.core.store import Role
from tests.ui.test_main_window import build

_LONG = "Tell me more about the history of the lighthouse on the northern cape and its keepers. " * 6


def test_overflow_is_shown_and_a_summary_chat_continues_it(qtbot: QtBot, tmp_path: Path, gemma_path: Path) -> None:
    h = build(qtbot, tmp_path, gemma_path, n_ctx=512)
    try:
        view = h.window.chat_view
        for turn in range(6):
            h.send(qtbot, f"({turn}) {_LONG}")
            h.wait_idle(qtbot)
            if view.forgotten_count():
                break
        forgotten = view.forgotten_count()
        assert forgotten >= 2, "the oldest turn (a question and its answer) left the model's memory"
        banner = view.memory_banner
        assert banner.isVisible()
        assert f"The oldest {forgotten} messages are no longer in the model's memory." in banner.text.text()
        branch = h.controller.branch()
        dimmed = [view.message_widget(m.id) for m in branch]
        assert [w.forgotten for w in dimmed if w is not None] == [i < forgotten for i in range(len(branch))]
        h.window.grab().save(str(tmp_path / "overflow.png"))

        old_conversation = h.controller.conversation_id
        qtbot.mouseClick(banner.button, Qt.MouseButton.LeftButton)
        h.wait_idle(qtbot)
        qtbot.waitUntil(lambda: len(h.controller.branch()) == 2, timeout=120_000)
        h.wait_idle(qtbot)
        new_branch = h.controller.branch()
        assert h.controller.conversation_id not in (None, old_conversation)
        assert [m.role for m in new_branch] == [Role.USER, Role.ASSISTANT]
        assert "Summarise it so that we can continue here" in new_branch[0].content
        attached = h.store.attachments.for_message(new_branch[0].id, contents=False)
        assert [a.file_name for a in attached] == ["Earlier conversation.md"]
        assert new_branch[1].content.strip(), "the model wrote the summary the new chat starts from"
        assert not view.memory_banner.isVisible() or view.forgotten_count() > 0
    finally:
        h.window.close()
        h.bridge.stop()
        h.store.close()
