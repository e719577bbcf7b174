"""The side list: date groups, pinned first, search with snippets, rename, delete with undo."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from hearth.core.store import Store
from hearth.ui.chat.conversation_list import ConversationList, date_group


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "hearth.db") as opened:
        yield opened


def texts(widget: ConversationList) -> list[str]:
    model = widget.view.model()
    return [str(model.index(i, 0).data()) for i in range(model.rowCount())]


def test_date_groups() -> None:
    now = time.mktime((2026, 11, 23, 12, 0, 0, 0, 0, -1))
    day = 86400
    assert date_group(now - 60, now) == "Today"
    assert date_group(now - day, now) == "Yesterday"
    assert date_group(now - 3 * day, now) == "Previous 7 days"
    assert date_group(now - 20 * day, now) == "Previous 30 days"
    assert date_group(now - 100 * day, now) == "August"
    assert date_group(now - 400 * day, now) == "2025"


def test_pinned_first_then_groups(qtbot: QtBot, store: Store) -> None:
    a = store.conversations.create(title="Trip to Lisbon")
    store.conversations.create(title="Tax questions")
    store.conversations.set_pinned(a.id, True)
    widget = ConversationList(store)
    qtbot.addWidget(widget)
    assert texts(widget) == ["Pinned", "★ Trip to Lisbon", "Today", "Tax questions"]


def test_selecting_emits_the_id(qtbot: QtBot, store: Store) -> None:
    conv = store.conversations.create(title="Hello")
    widget = ConversationList(store)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.conversation_selected) as chosen:
        widget.view.clicked.emit(widget.view.model().index(1, 0))
    assert chosen.args == [conv.id]


def test_search_finds_titles_and_message_text(qtbot: QtBot, store: Store) -> None:
    conv = store.conversations.create(title="Garden")
    message = store.messages.add_user_message(conv.id, "How deep should I plant tulip bulbs?")
    other = store.conversations.create(title="Tulip festival")
    widget = ConversationList(store)
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


def test_delete_then_undo_then_purge(qtbot: QtBot, store: Store) -> None:
    conv = store.conversations.create(title="Private")
    widget = ConversationList(store)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.toast) as toast:
        widget.delete_conversation(conv.id)
    assert toast.args == ["Conversation deleted.", "Undo"]
    assert "Private" not in texts(widget)
    widget.undo_delete()
    assert "Private" in texts(widget)
    widget.delete_conversation(conv.id)
    widget.purge_pending()
    assert store.conversations.count() == 0
    assert store.conversations.deleted() == []


def test_delete_for_good_when_the_undo_window_closes(qtbot: QtBot, store: Store,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ConversationList, "UNDO_SECONDS", 0.05)
    conv = store.conversations.create(title="Old")
    widget = ConversationList(store)
    qtbot.addWidget(widget)
    widget.delete_conversation(conv.id)
    qtbot.waitUntil(lambda: store.conversations.deleted() == [], timeout=5000)
    widget.undo_delete()
    assert store.conversations.count() == 0
