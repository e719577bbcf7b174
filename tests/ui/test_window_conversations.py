"""The main window manages conversations only through the controllers: delete (with Undo on the toast), rename and
export from the side list, and the title and list follow the one "conversations changed" notification. The engine is
the scripted ``FakeEngineClient``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu
from pytestqt.qtbot import QtBot

from hearth.core.store import MessageStatus
from hearth.ui.chat.controller import ChatController
from tests.fixtures.fake_engine import FakeEngineClient, ScriptedAnswer
from tests.ui.window_support import Harness, build


class Window:
    """The app as ``build_app`` makes it, on the scripted engine."""

    def __init__(self, qtbot: QtBot, tmp_path: Path) -> None:
        self.engine = FakeEngineClient()
        self.harness: Harness = build(qtbot, tmp_path, tmp_path / "fake.gguf", engine=self.engine)
        self.window = self.harness.window
        self.store = self.harness.store

    @property
    def controller(self) -> ChatController:
        return self.window.controller

    def send(self, qtbot: QtBot, text: str) -> None:
        self.controller.send(text)
        qtbot.waitUntil(lambda: not self.controller.busy, timeout=10_000)

    def close(self) -> None:
        self.harness.close()


@pytest.fixture()
def win(qtbot: QtBot, tmp_path: Path) -> Iterator[Window]:
    built = Window(qtbot, tmp_path)
    yield built
    built.close()


def choose(menu: QMenu, text: str) -> None:
    next(a for a in menu.actions() if a.text() == text).trigger()


def test_deleting_the_open_conversation_stops_its_answer_and_undo_brings_it_back(qtbot: QtBot, win: Window) -> None:
    win.send(qtbot, "First question.")
    conversation = win.controller.conversation_id
    assert conversation is not None
    held = win.engine.script(ScriptedAnswer(tokens=("A", " long", " answer"), hold_after=1))
    win.controller.send("Second question.")
    qtbot.waitUntil(held.held.is_set, timeout=10_000)
    answer_id = win.controller.streaming_message_id
    assert answer_id is not None

    choose(win.window.sidebar.context_menu(conversation), "Delete")
    assert win.controller.conversation_id is None and win.window.title_label.text() == "New chat"
    assert win.window.toast.label.text() == "Conversation deleted."
    assert win.window.toast.button.text() == "Undo"
    qtbot.waitUntil(lambda: not win.controller.busy, timeout=10_000)
    assert win.store.messages.get(answer_id).status is MessageStatus.CANCELLED, "its answer was stopped"

    win.window.toast.action_clicked.emit("Undo")
    assert win.controller.conversation_id == conversation, "the restored conversation is opened"
    assert [m.content for m in win.controller.branch()] == ["First question.", "Hello there.", "Second question.",
                                                            "A"]
    assert win.window.title_label.text().startswith("First question")


def test_renaming_the_open_conversation_updates_the_title(qtbot: QtBot, win: Window,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    win.send(qtbot, "What is a tide?")
    conversation = win.controller.conversation_id
    assert conversation is not None and win.window.title_label.text().startswith("What is a tide")
    monkeypatch.setattr(QInputDialog, "getText", lambda *_args, **_kwargs: ("Tides", True))
    choose(win.window.sidebar.context_menu(conversation), "Rename…")
    assert win.window.title_label.text() == "Tides"
    assert win.store.conversations.get(conversation).title == "Tides"


def test_export_from_the_side_list(qtbot: QtBot, win: Window, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    win.send(qtbot, "Export me.")
    conversation = win.controller.conversation_id
    assert conversation is not None
    asked: list[str] = []
    target = [tmp_path / "out.md"]

    def save_as(_parent: object, _title: str, suggested: str, _filter: str) -> tuple[str, str]:
        asked.append(Path(suggested).name)
        return str(target[0]), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    choose(win.window.sidebar.context_menu(conversation), "Export as Markdown…")
    assert asked == ["Export me.md"]
    assert "Export me." in (tmp_path / "out.md").read_text(encoding="utf-8")
    assert win.window.toast.label.text() == "Exported to out.md."
    # A folder that is not there: said in words, nothing else happens.
    target[0] = tmp_path / "gone" / "out.json"
    choose(win.window.sidebar.context_menu(conversation), "Export as JSON…")
    assert not target[0].exists()
    assert win.window.toast.label.text() != "Exported to out.json."


def test_closing_makes_pending_deletes_final_and_remembers_the_conversation(qtbot: QtBot, tmp_path: Path) -> None:
    win = Window(qtbot, tmp_path)
    try:
        win.send(qtbot, "Keep me.")
        kept = win.controller.conversation_id
        win.controller.new_conversation()
        win.send(qtbot, "Delete me.")
        doomed = win.controller.conversation_id
        assert doomed is not None and kept is not None
        win.window.open_conversation(kept)
        choose(win.window.sidebar.context_menu(doomed), "Delete")
        win.window.close()
        assert win.store.conversations.deleted() == [] and win.store.conversations.count() == 1
        assert win.store.get_state("last_conversation_id") == kept
    finally:
        win.harness.app.shutdown()
