"""The list of conversations as the user manages it: rename, pin, export, delete with undo, and one notification.

``ConversationsController`` is the one place outside the chat itself that changes conversations in the store; the
side list (``ConversationList``) and the main window ask it, and never write the store. Every change, including
the chat's own (a conversation created by its first message, a new answer that moves it to the top and may title
it), is announced once on ``changed`` with a ``ConversationsChange`` saying what changed, and every view refreshes
from that one signal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from hearth.core.store import (
    Conversation,
    SearchHit,
    Store,
    conversation_to_json,
    conversation_to_markdown,
)

UNDO_SECONDS = 8.0
SEARCH_TITLES = 50
SEARCH_HITS = 200


class ChangeKind(Enum):
    CREATED = "created"  # a new conversation (its first message was sent)
    UPDATED = "updated"  # new messages: its order in the list, and perhaps its title, changed
    RENAMED = "renamed"
    PINNED = "pinned"  # pinned or unpinned
    DELETED = "deleted"  # gone from the list; ``undo_delete`` can bring it back for a while
    RESTORED = "restored"  # brought back by an undo


@dataclass(frozen=True)
class ConversationsChange:
    """What changed, and in which conversation."""

    kind: ChangeKind
    conversation_id: int


class ExportFormat(Enum):
    MARKDOWN = "markdown"  # the branch on screen, to read
    MARKDOWN_THINKING = "markdown-thinking"  # the same with a reasoning model's thoughts
    JSON = "json"  # every branch, in Hearth's format (can be imported again)

    @property
    def is_markdown(self) -> bool:
        return self is not ExportFormat.JSON

    @property
    def suffix(self) -> str:
        return ".md" if self.is_markdown else ".json"

    @property
    def file_filter(self) -> str:
        """The save dialog's filter."""
        return "Markdown (*.md)" if self.is_markdown else "JSON (*.json)"


class ConversationsController(QObject):
    """Reads and changes the list of conversations for the views.

    A delete takes effect at once (the conversation leaves the list) and becomes final when its undo window closes,
    or at exit (``purge_pending``); a deleted conversation not yet purged when the app ends is purged at the next
    start by the store.

    Args:
        store: the conversations' store.
        undo_seconds: how long a delete can be undone.

    Signals:
        changed(ConversationsChange): a conversation was created, updated, renamed, pinned, deleted or restored.
    """

    changed = Signal(ConversationsChange)

    def __init__(self, store: Store, *, undo_seconds: float = UNDO_SECONDS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._undo_ms = int(undo_seconds * 1000)
        self._pending: list[tuple[int, QTimer]] = []

    # --- reading -------------------------------------------------------------------------------------------------

    def list_all(self) -> list[Conversation]:
        """Pinned first, then the most recently updated."""
        return self._store.conversations.list_all()

    def get(self, conversation_id: int) -> Conversation:
        """Raises ``StoreError`` when it does not exist (or is deleted)."""
        return self._store.conversations.get(conversation_id)

    def search(self, query: str) -> tuple[list[Conversation], list[SearchHit]]:
        """Conversations whose title matches, and messages whose text does."""
        titled = self._store.conversations.list_all(title_filter=query, limit=SEARCH_TITLES)
        return titled, self._store.search.messages(query, limit=SEARCH_HITS)

    @property
    def can_undo(self) -> bool:
        return bool(self._pending)

    # --- changing ------------------------------------------------------------------------------------------------

    def rename(self, conversation_id: int, title: str) -> None:
        self._store.conversations.rename(conversation_id, title)
        self.changed.emit(ConversationsChange(ChangeKind.RENAMED, conversation_id))

    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        self._store.conversations.set_pinned(conversation_id, pinned)
        self.changed.emit(ConversationsChange(ChangeKind.PINNED, conversation_id))

    def delete(self, conversation_id: int) -> None:
        """Delete now, with an undo window; the rows go for good when it closes (or at the next start)."""
        self._store.conversations.delete(conversation_id)
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(self._undo_ms)
        timer.timeout.connect(self._on_undo_timer_timeout)
        timer.start()
        self._pending.append((conversation_id, timer))
        self.changed.emit(ConversationsChange(ChangeKind.DELETED, conversation_id))

    def undo_delete(self) -> int | None:
        """Bring back the most recently deleted conversation if its undo window is still open; returns its id."""
        if not self._pending:
            return None
        conversation_id, timer = self._pending.pop()
        timer.stop()
        timer.deleteLater()
        self._store.conversations.restore(conversation_id)
        self.changed.emit(ConversationsChange(ChangeKind.RESTORED, conversation_id))
        return conversation_id

    def purge_pending(self) -> None:
        """Make pending deletes final now (at exit)."""
        for conversation_id, timer in self._pending:
            timer.stop()
            timer.deleteLater()
            self._store.conversations.purge(conversation_id)
        self._pending.clear()

    def export_file_name(self, conversation_id: int, export_format: ExportFormat) -> str:
        """A file name for the export, from the conversation's title."""
        title = self.get(conversation_id).title or "conversation"
        safe = "".join(ch for ch in title if ch.isalnum() or ch in " -_").strip() or "conversation"
        return safe + export_format.suffix

    def export(self, conversation_id: int, export_format: ExportFormat, target: Path) -> None:
        """Write the conversation to ``target``.

        Raises:
            OSError: the file could not be written.
        """
        if export_format.is_markdown:
            thinking = export_format is ExportFormat.MARKDOWN_THINKING
            text = conversation_to_markdown(self._store, conversation_id, thinking=thinking)
        else:
            text = json.dumps(conversation_to_json(self._store, conversation_id, all_branches=True), indent=2,
                              ensure_ascii=False)
        Path(target).write_text(text, encoding="utf-8")

    # --- the chat's own changes ----------------------------------------------------------------------------------

    def created(self, conversation_id: int) -> None:
        """The chat created a conversation (announced here so that every view hears of it once)."""
        self.changed.emit(ConversationsChange(ChangeKind.CREATED, conversation_id))

    def updated(self, conversation_id: int) -> None:
        """The chat added to a conversation (its place in the list, and perhaps its title, changed)."""
        self.changed.emit(ConversationsChange(ChangeKind.UPDATED, conversation_id))

    @Slot()
    def _on_undo_timer_timeout(self) -> None:
        due = [(cid, timer) for cid, timer in self._pending if not timer.isActive()]
        for conversation_id, timer in due:
            self._pending.remove((conversation_id, timer))
            timer.deleteLater()
            self._store.conversations.purge(conversation_id)
