"""The side list of conversations: grouped by date, pinned first, searchable, with rename, pin, export and delete.

A view only: it reads and changes conversations through ``ConversationsController`` and refreshes when that
announces a change.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QPainter,
    QPalette,
    QStandardItem,
    QStandardItemModel,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from hearth.core.errors import HearthError
from hearth.core.store import Conversation, SearchHit
from hearth.ui.chat.conversations import ChangeKind, ConversationsChange, ConversationsController, ExportFormat
from hearth.ui.tasks import BackgroundTask, TaskGroup

_KIND = Qt.ItemDataRole.UserRole + 1
_ID = Qt.ItemDataRole.UserRole + 2
_MESSAGE_ID = Qt.ItemDataRole.UserRole + 3
_RICH = Qt.ItemDataRole.UserRole + 4
_HEADER = "header"
_CONVERSATION = "conversation"
_HIT = "hit"


@dataclass(frozen=True)
class _Row:
    kind: str
    text: str
    conversation_id: int = 0
    message_id: int = 0
    rich: str = ""
    pinned: bool = False


def date_group(updated: float, now: float) -> str:
    """The heading a conversation goes under ("Today", "Yesterday", "Previous 7 days"...)."""
    today = datetime.fromtimestamp(now).date()
    day = datetime.fromtimestamp(updated).date()
    if day >= today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    if day > today - timedelta(days=7):
        return "Previous 7 days"
    if day > today - timedelta(days=30):
        return "Previous 30 days"
    if day.year == today.year:
        return day.strftime("%B")
    return str(day.year)


def grouped_rows(conversations: list[Conversation], now: float) -> list[_Row]:
    rows: list[_Row] = []
    last_group = None
    for conv in conversations:
        group = "Pinned" if conv.pinned else date_group(conv.updated, now)
        if group != last_group:
            rows.append(_Row(_HEADER, group))
            last_group = group
        rows.append(_Row(_CONVERSATION, conv.title or "New chat", conv.id, pinned=conv.pinned))
    return rows


def snippet_html(hit: SearchHit) -> str:
    parts = []
    for text, highlighted in hit.snippet_parts():
        escaped = html.escape(text).replace("\n", " ")
        parts.append(f"<b><u>{escaped}</u></b>" if highlighted else escaped)
    title = html.escape(hit.conversation_title or "New chat")
    return f"<div><b>{title}</b></div><div style='color:gray'>{''.join(parts)}</div>"


class ConversationListModel(QStandardItemModel):
    """Rows of the side list: date headings, conversations, or search hits.

    The rows live in Qt's own item model: the view asks for each row's data many times per layout (800 calls for a
    send with eight chats in the list), and an answer Python would give must first take the interpreter lock, which
    a worker reading a document holds most of the time.
    """

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[_Row] = []

    def set_rows(self, rows: list[_Row]) -> None:
        self._rows = rows
        items = []
        for row in rows:
            text = ("★ " if row.pinned else "") + row.text
            item = QStandardItem(text)
            item.setData(text, Qt.ItemDataRole.AccessibleTextRole)
            if row.kind == _CONVERSATION:
                item.setToolTip(row.text)
            item.setData(row.kind, _KIND)
            item.setData(row.conversation_id, _ID)
            item.setData(row.message_id, _MESSAGE_ID)
            item.setData(row.rich, _RICH)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled if row.kind == _HEADER
                          else Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            items.append(item)
        self.clear()
        self.invisibleRootItem().appendRows(items)

    @property
    def has_hits(self) -> bool:
        """Search hits are shown (three lines each; the other rows are one)."""
        return any(row.kind == _HIT for row in self._rows)

    def row_for_conversation(self, conversation_id: int) -> int:
        for i, row in enumerate(self._rows):
            if row.kind == _CONVERSATION and row.conversation_id == conversation_id:
                return i
        return -1


class _Delegate(QStyledItemDelegate):
    """Draws headings small and grey, and search hits as title + highlighted snippet."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        kind = index.data(_KIND)
        if kind == _HEADER:
            painter.save()
            font = option.font
            font.setPointSizeF(font.pointSizeF() * 0.85)
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(option.palette.color(QPalette.ColorRole.PlaceholderText))
            rect = option.rect.adjusted(10, 8, -6, 0)
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             str(index.data()).upper())
            painter.restore()
            return
        if kind == _HIT:
            self.initStyleOption(option, index)
            style = option.widget.style() if option.widget else None
            option.text = ""
            if style is not None:
                style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
            doc = QTextDocument()
            doc.setDefaultFont(option.font)
            doc.setHtml(str(index.data(_RICH)))
            doc.setTextWidth(option.rect.width() - 16)
            painter.save()
            painter.translate(option.rect.left() + 8, option.rect.top() + 4)
            ctx = QAbstractTextDocumentLayout.PaintContext()
            painter.setClipRect(QRectF(0, 0, option.rect.width() - 16, option.rect.height() - 4))
            doc.documentLayout().draw(painter, ctx)
            painter.restore()
            return
        super().paint(painter, option, index)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        base = super().sizeHint(option, index)
        if index.data(_KIND) == _HIT:
            return QSize(base.width(), base.height() * 3)
        # Headings and conversations are the same height: outside a search the view then asks for one row's size
        # instead of every row's (``setUniformItemSizes``).
        return QSize(base.width(), base.height() + 12)


class ConversationList(QWidget):
    """New chat, search, and the list of conversations.

    Args:
        conversations: reads and changes the conversations; the list refreshes on its ``changed``.

    Signals:
        conversation_selected(int): the user opened a conversation.
        new_chat_requested(): the "New chat" button.
        search_hit_activated(int, int): conversation id and message id of a search result.
        export_requested(int, ExportFormat): export a conversation (the main window asks where to).
    """

    conversation_selected = Signal(int)
    new_chat_requested = Signal()
    search_hit_activated = Signal(int, int)
    export_requested = Signal(int, ExportFormat)

    def __init__(self, conversations: ConversationsController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self._conversations = conversations
        self._current_id: int | None = None
        self._refreshing: BackgroundTask[tuple[str, int, list[_Row]], object] | None = None
        self._shown_generation = 0
        self._refresh_again = False
        self._tasks = TaskGroup()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 10, 8, 8)
        layout.setSpacing(8)
        top = QHBoxLayout()
        self.new_button = QPushButton("+  New chat")
        self.new_button.setObjectName("newChatButton")
        self.new_button.setAccessibleName("New chat")
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.new_button.clicked.connect(self.new_chat_requested)
        top.addWidget(self.new_button)
        layout.addLayout(top)

        self.search = QLineEdit()
        self.search.setObjectName("chatSearch")
        self.search.setPlaceholderText("Search chats  (Ctrl+K)")
        self.search.setAccessibleName("Search chats")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_text_changed)
        layout.addWidget(self.search)

        self._model = ConversationListModel()
        self.view = QListView()
        self.view.setObjectName("conversationList")
        self.view.setAccessibleName("Conversations")
        self.view.setModel(self._model)
        self.view.setItemDelegate(_Delegate(self.view))
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_view_context_menu_requested)
        self.view.activated.connect(self._on_view_activated)
        self.view.clicked.connect(self._on_view_activated)
        layout.addWidget(self.view, 1)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(150)
        self._search_timer.timeout.connect(self.refresh)
        conversations.changed.connect(self._on_conversations_changed)
        self.refresh()

    # --- public --------------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the list (or re-run the search)."""
        self._shown_generation += 1  # a background read begun before this is older: it is not shown
        self._show(self._rows_for(self.search.text().strip()))

    def refresh_in_background(self) -> None:
        """``refresh``, with the store read on a worker thread: for the refreshes an answer causes as it starts and
        ends, when the answer's own work (reading back big documents) may be holding the database."""
        if self._refreshing is not None:
            self._refresh_again = True
            return
        query, generation = self.search.text().strip(), self._shown_generation

        def work(_report: Callable[[object], None]) -> tuple[str, int, list[_Row]]:
            return query, generation, self._rows_for(query)

        self._refreshing = self._tasks.run(BackgroundTask(work, parent=self, name="conversation list")
                                           .success(self._on_refresh_finished).failure(self._on_refresh_failed))

    def _on_refresh_finished(self, result: tuple[str, int, list[_Row]]) -> None:
        self._refreshing = None
        query, generation, rows = result
        if query == self.search.text().strip() and generation == self._shown_generation:
            self._show(rows)
        if self._refresh_again:
            self._refresh_again = False
            self.refresh_in_background()

    def _on_refresh_failed(self, _error: HearthError) -> None:
        self._refreshing = None
        self._refresh_again = False

    def _rows_for(self, query: str) -> list[_Row]:
        """The rows to show for ``query`` (the search's, or every conversation); reads the store only."""
        if query:
            return self._search_rows(query)
        return grouped_rows(self._conversations.list_all(), time.time())

    def set_current(self, conversation_id: int | None) -> None:
        self._current_id = conversation_id
        self._select_current()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def rename_conversation(self, conversation_id: int) -> None:
        """Ask for a new title."""
        conv = self._conversations.get(conversation_id)
        title, ok = QInputDialog.getText(self, "Rename conversation", "Title:", text=conv.title)
        if ok:
            self._conversations.rename(conversation_id, title)

    def shutdown(self) -> None:
        """Wait for the list's background reads (at exit)."""
        self._tasks.close()

    # --- internals -----------------------------------------------------------------------------------------------

    def _search_rows(self, query: str) -> list[_Row]:
        rows: list[_Row] = []
        titled, hits = self._conversations.search(query)
        if titled:
            rows.append(_Row(_HEADER, "Titles"))
            rows += [_Row(_CONVERSATION, c.title or "New chat", c.id, pinned=c.pinned) for c in titled]
        if hits:
            rows.append(_Row(_HEADER, "Messages"))
            rows += [_Row(_HIT, h.conversation_title, h.conversation_id, h.message_id, snippet_html(h)) for h in hits]
        if not rows:
            rows.append(_Row(_HEADER, "No matches"))
        return rows

    def _show(self, rows: list[_Row]) -> None:
        self._model.set_rows(rows)
        self.view.setUniformItemSizes(not self._model.has_hits)
        self._select_current()

    def _select_current(self) -> None:
        if self._current_id is None:
            self.view.clearSelection()
            return
        row = self._model.row_for_conversation(self._current_id)
        if row >= 0:
            self.view.setCurrentIndex(self._model.index(row, 0))

    @Slot(ConversationsChange)
    def _on_conversations_changed(self, change: ConversationsChange) -> None:
        if change.kind in (ChangeKind.CREATED, ChangeKind.UPDATED):
            # An answer starting or ending: read on a worker thread (the answer's own work may be holding the
            # database; the window never waits for it).
            self.refresh_in_background()
        else:
            self.refresh()  # the user's own change, shown at once

    @Slot(str)
    def _on_search_text_changed(self, _text: str) -> None:
        self._search_timer.start()

    @Slot(QModelIndex)
    def _on_view_activated(self, index: QModelIndex) -> None:
        kind = index.data(_KIND)
        if kind == _CONVERSATION:
            self._current_id = int(index.data(_ID))
            self.conversation_selected.emit(self._current_id)
        elif kind == _HIT:
            self._current_id = int(index.data(_ID))
            self.search_hit_activated.emit(self._current_id, int(index.data(_MESSAGE_ID)))

    @Slot(QPoint)
    def _on_view_context_menu_requested(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if index.data(_KIND) not in (_CONVERSATION, _HIT):
            return
        menu = self.context_menu(int(index.data(_ID)))
        menu.exec(self.view.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def context_menu(self, conversation_id: int) -> QMenu:
        """A row's menu: Rename…, Pin (or Unpin), Export as Markdown…, Export as JSON…, Delete."""
        conv = self._conversations.get(conversation_id)
        menu = QMenu(self)
        menu.addAction("Rename…").triggered.connect(lambda: self.rename_conversation(conversation_id))
        menu.addAction("Unpin" if conv.pinned else "Pin").triggered.connect(
            lambda: self._conversations.set_pinned(conversation_id, not conv.pinned))
        menu.addAction("Export as Markdown…").triggered.connect(
            lambda: self.export_requested.emit(conversation_id, ExportFormat.MARKDOWN))
        menu.addAction("Export as Markdown with the model's thinking…").triggered.connect(
            lambda: self.export_requested.emit(conversation_id, ExportFormat.MARKDOWN_THINKING))
        menu.addAction("Export as JSON…").triggered.connect(
            lambda: self.export_requested.emit(conversation_id, ExportFormat.JSON))
        menu.addSeparator()
        menu.addAction("Delete").triggered.connect(lambda: self._conversations.delete(conversation_id))
        return menu
