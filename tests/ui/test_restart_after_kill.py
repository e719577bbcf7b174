"""What the window finds after Hearth was killed: the conversation that was on screen, and a message whose
attachments were still being read put back into the composer (``tests/e2e/test_app_kill.py`` kills the real app;
these are the same two paths, step by step)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

import hearth.ui.chat.controller as chat_controller
from hearth.core.store import Store
from hearth.ui.chat.controller import UNSENT_KEY
from tests.fixtures.documents import make_pdf, report_pages
from tests.ui.window_support import build


def test_the_conversation_on_screen_is_remembered_before_any_close(qtbot: QtBot, tmp_path: Path,
                                                                   tiny_llama4: Path) -> None:
    h = build(qtbot, tmp_path, tiny_llama4)
    try:
        h.send(qtbot, "Remember where I was.")
        h.wait_idle(qtbot)
        conversation = h.controller.conversation_id
        assert conversation is not None
        # A kill now skips closeEvent; the next start must still know which conversation to open.
        assert h.store.get_state("last_conversation_id") == conversation
    finally:
        h.close()


def test_a_message_cut_off_while_its_attachments_were_read_comes_back(qtbot: QtBot, tmp_path: Path,
                                                                     tiny_llama4: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = tmp_path / "minutes.pdf"
    make_pdf(report_pages(3), pdf)
    store = Store.open(tmp_path / "hearth.db")
    conv = store.conversations.create()
    store.messages.add_user_message(conv.id, "An earlier message.")
    # What ChatController.send records before it starts reading the attachments, left by a killed app.
    store.set_state(UNSENT_KEY, {"conversation_id": conv.id, "text": "What do the minutes say?",
                                 "files": [str(pdf), str(tmp_path / "deleted-since.pdf")]})
    h = build(qtbot, tmp_path, tiny_llama4, store=store)
    try:
        assert h.window.composer.text() == "What do the minutes say?"
        assert [a.name for a in h.window.composer.attachments] == ["minutes.pdf"]
        assert h.controller.conversation_id == conv.id
        assert "back in the message box" in h.window.toast.label.text()
        assert store.get_state(UNSENT_KEY) is None, "restored once, not at every start"
        # The order of what the send does (on its worker thread), not a moment to look at: the message is kept
        # before its attachments are read, and forgotten only once it is in the conversation.
        steps: list[str] = []
        set_state, read, add = store.set_state, chat_controller.prepare_attachments, store.messages.add_user_message

        def noted_set_state(key: str, value: Any) -> None:
            if key == UNSENT_KEY:
                steps.append("kept" if value is not None else "forgotten")
            set_state(key, value)

        def noted_read(*args: Any, **kwargs: Any) -> Any:
            steps.append("read")
            return read(*args, **kwargs)

        def noted_add(*args: Any, **kwargs: Any) -> Any:
            steps.append("written")
            return add(*args, **kwargs)

        monkeypatch.setattr(store, "set_state", noted_set_state)
        monkeypatch.setattr(chat_controller, "prepare_attachments", noted_read)
        monkeypatch.setattr(store.messages, "add_user_message", noted_add)
        assert h.window.composer.submit()
        h.wait_idle(qtbot)
        assert steps == ["kept", "read", "written", "forgotten"], steps
        user = h.controller.branch()[-2]
        assert user.content == "What do the minutes say?"
        assert [a.file_name for a in store.attachments.for_message(user.id)] == ["minutes.pdf"]
        assert store.get_state(UNSENT_KEY) is None, "forgotten once the message is in the conversation"
    finally:
        h.close()
