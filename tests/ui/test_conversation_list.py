"""The side list and the conversations controller behind it: date groups, pinned first, search with snippets; rename,
pin, export and delete with undo go through ``ConversationsController``, and the list refreshes on its one
``changed`` notification."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QInputDialog, QMenu
from pytestqt.qtbot import QtBot

from hearth.core.store import Store
from hearth.ui.chat.conversation_list import ConversationList, date_group
from hearth.ui.chat.conversations import ChangeKind, ConversationsChange, ConversationsController, ExportFormat


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "hearth.db") as opened:
        yield opened


@pytest.fixture()
def conversations(store: Store) -> Iterator[ConversationsController]:
    controller = ConversationsController(store)
    yield controller
    controller.purge_pending()


def texts(widget: ConversationList) -> list[str]:
    model = widget.view.model()
    return [str(model.index(i, 0).data()) for i in range(model.rowCount())]


def action(menu: QMenu, text: str) -> None:
    chosen = [a for a in menu.actions() if a.text() == text]
    assert chosen, f"no {text!r} in {[a.text() for a in menu.actions()]}"
    chosen[0].trigger()


def test_date_groups() -> None:
    now = time.mktime((2026, 11, 23, 12, 0, 0, 0, 0, -1))
    day = 86400
    assert date_group(now - 60, now) == "Today"
    assert date_group(now - day, now) == "Yesterday"
    assert date_group(now - 3 * day, now) == "Previous 7 days"
    assert date_group(now - 20 * day, now) == "Previous 30 days"
    assert date_group(now - 100 * day, now) == "August"
    assert date_group(now - 400 * day, now) == "2025"


def test_pinned_first_then_groups(qtbot: QtBot, store: Store, conversations: ConversationsController) -> None:
    a = store.conversations.create(title="Trip to Lisbon")
    store.conversations.create(title="Tax questions")
    store.conversations.set_pinned(a.id, True)
    widget = ConversationList(conversations)
    qtbot.addWidget(widget)
    assert texts(widget) == ["Pinned", "★ Trip to Lisbon", "Today", "Tax questions"]


def test_selecting_emits_the_id(qtbot: QtBot, store: Store, conversations: ConversationsController) -> None:
    conv = store.conversations.create(title="Hello")
    widget = ConversationList(conversations)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.conversation_selected) as chosen:
        widget.view.clicked.emit(widget.view.model().index(1, 0))
    assert chosen.args == [conv.id]


def test_search_finds_titles_and_message_text(qtbot: QtBot, store: Store,
                                              conversations: ConversationsController) -> None:
    conv = store.conversations.create(title="Garden")
    message = store.messages.add_user_message(conv.id, "How deep should I plant tulip bulbs?")
    other = store.conversations.create(title="Tulip festival")
    widget = ConversationList(conversations)
    qtbot.addWidget(widget)
    widget.search.setText("tulip")
    qtbot.waitUntil(lambda: "Messages" in texts(widget))
    rows = texts(widget)
    assert rows[:2] == ["Titles", "Tulip festival"]
    model = widget.view.model()
    hit_row = rows.index("Messages") + 1
    with qtbot.waitSignal(widget.search_hit_activated) as hit:
        widget.view.clicked.emit(model.index(hit_row, 0))
    assert hit.args == [conv.id, message.id]
    widget.search.setText("zzzz")
    qtbot.waitUntil(lambda: texts(widget) == ["No matches"])
    widget.search.clear()
    qtbot.waitUntil(lambda: "Tulip festival" in texts(widget))
    assert other.id


def test_the_menu_renames_pins_and_deletes_through_the_controller(
        qtbot: QtBot, store: Store, conversations: ConversationsController, monkeypatch: pytest.MonkeyPatch) -> None:
    conv = store.conversations.create(title="Notes")
    store.conversations.create(title="Other")
    widget = ConversationList(conversations)
    qtbot.addWidget(widget)
    changes: list[ConversationsChange] = []
    conversations.changed.connect(changes.append)

    monkeypatch.setattr(QInputDialog, "getText", lambda *_args, **_kwargs: ("Garden plans", True))
    action(widget.context_menu(conv.id), "Rename…")
    assert store.conversations.get(conv.id).title == "Garden plans"
    assert "Garden plans" in texts(widget), "the list refreshed on the change"

    action(widget.context_menu(conv.id), "Pin")
    assert store.conversations.get(conv.id).pinned
    assert texts(widget)[:2] == ["Pinned", "★ Garden plans"]
    action(widget.context_menu(conv.id), "Unpin")
    assert not store.conversations.get(conv.id).pinned

    with qtbot.waitSignal(widget.export_requested) as export:
        action(widget.context_menu(conv.id), "Export as JSON…")
    assert export.args == [conv.id, ExportFormat.JSON]

    action(widget.context_menu(conv.id), "Delete")
    assert "Garden plans" not in texts(widget)
    assert [(c.kind, c.conversation_id) for c in changes] == [
        (ChangeKind.RENAMED, conv.id), (ChangeKind.PINNED, conv.id), (ChangeKind.PINNED, conv.id),
        (ChangeKind.DELETED, conv.id)]


def test_delete_then_undo_then_purge(qtbot: QtBot, store: Store, conversations: ConversationsController) -> None:
    conv = store.conversations.create(title="Private")
    widget = ConversationList(conversations)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(conversations.changed) as deleted:
        conversations.delete(conv.id)
    assert deleted.args == [ConversationsChange(ChangeKind.DELETED, conv.id)]
    assert "Private" not in texts(widget) and conversations.can_undo
    with qtbot.waitSignal(conversations.changed) as restored:
        assert conversations.undo_delete() == conv.id
    assert restored.args == [ConversationsChange(ChangeKind.RESTORED, conv.id)]
    assert "Private" in texts(widget) and not conversations.can_undo
    assert conversations.undo_delete() is None, "nothing left to undo"
    conversations.delete(conv.id)
    conversations.purge_pending()
    assert store.conversations.count() == 0
    assert store.conversations.deleted() == []


def test_delete_for_good_when_the_undo_window_closes(qtbot: QtBot, store: Store) -> None:
    conversations = ConversationsController(store, undo_seconds=0.05)
    conv = store.conversations.create(title="Old")
    conversations.delete(conv.id)
    qtbot.waitUntil(lambda: store.conversations.deleted() == [], timeout=5000)
    assert conversations.undo_delete() is None
    assert store.conversations.count() == 0


def test_export_writes_markdown_and_json(tmp_path: Path, store: Store,
                                         conversations: ConversationsController) -> None:
    conv = store.conversations.create(title="Tides: why/how?")
    store.messages.add_user_message(conv.id, "Why are there two tides a day?")
    assert conversations.export_file_name(conv.id, ExportFormat.MARKDOWN) == "Tides whyhow.md"
    markdown = tmp_path / "tides.md"
    conversations.export(conv.id, ExportFormat.MARKDOWN, markdown)
    assert "Why are there two tides a day?" in markdown.read_text(encoding="utf-8")
    as_json = tmp_path / "tides.json"
    conversations.export(conv.id, ExportFormat.JSON, as_json)
    assert "Why are there two tides a day?" in json.dumps(json.loads(as_json.read_text(encoding="utf-8")))
    with pytest.raises(OSError):
        conversations.export(conv.id, ExportFormat.JSON, tmp_path / "missing-folder" / "x.json")


def test_a_long_list_refreshes_without_asking_python_for_every_row(
        qtbot: QtBot, store: Store, conversations: ConversationsController, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every call from Qt into Python waits for the interpreter lock, which a worker reading a document holds: the
    rows live in Qt's model, and outside a search the view asks for one row's size, not each of 60."""
    from hearth.ui.chat import conversation_list

    for i in range(60):
        store.conversations.create(title=f"Chat {i}")
    conv = store.conversations.create(title="Garden")
    store.messages.add_user_message(conv.id, "How deep should I plant tulip bulbs?")
    sized: list[str] = []
    size_hint = conversation_list._Delegate.sizeHint

    def counted(self: object, option: object, index: object) -> object:
        sized.append(str(index.data()))  # type: ignore[attr-defined]
        return size_hint(self, option, index)  # type: ignore[arg-type]

    monkeypatch.setattr(conversation_list._Delegate, "sizeHint", counted)
    widget = ConversationList(conversations)
    qtbot.addWidget(widget)
    widget.resize(280, 600)
    widget.show()
    qtbot.waitExposed(widget)
    model = widget.view.model()
    assert "data" not in type(model).__dict__ and "rowCount" not in type(model).__dict__  # answered by Qt
    sized.clear()
    widget.refresh()
    widget.view.doItemsLayout()
    assert model.rowCount() == 62 and 1 <= len(sized) <= 3, sized

    widget.search.setText("tulip")
    qtbot.waitUntil(lambda: "Messages" in texts(widget))
    assert not widget.view.uniformItemSizes()  # a hit is three lines high, a heading one
    rows = texts(widget)
    hit = widget.view.visualRect(model.index(rows.index("Messages") + 1, 0))
    heading = widget.view.visualRect(model.index(rows.index("Messages"), 0))
    assert hit.height() > heading.height()
    widget.search.clear()
    qtbot.waitUntil(lambda: len(texts(widget)) == 62)
    assert widget.view.uniformItemSizes()
