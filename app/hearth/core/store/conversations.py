"""Conversations: create, list, rename, pin, per-conversation settings and GUI state, delete with undo.

Delete with undo is a soft delete: ``delete()`` stamps ``deleted_at`` and the conversation disappears from lists and
search at once; ``restore()`` brings it back; ``purge()`` deletes it for real (rows, search index entries, and
attachment copies nothing else uses). The GUI purges when its undo window closes; ``Store.open`` purges whatever
a previous session left soft-deleted (e.g. the app quit during the undo window), so deleted means deleted.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Callable
from typing import Any

from hearth.core.errors import StoreNotFoundError
from hearth.core.store.attachments import Attachments
from hearth.core.store.db import Database
from hearth.core.store.records import WHOLE_DOCUMENTS_KEY, Conversation, TitleSource, dumps, loads_object
from hearth.core.store.titles import clean_title

_COLUMNS = (
    "id, uuid, title, title_source, created, updated, pinned, model, system_prompt, settings, "
    "selected_leaf_id, ui_state, deleted_at, preset"
)


class Conversations:
    """The conversation list and each conversation's own fields. Messages live in ``MessageTree``."""

    def __init__(self, db: Database, attachments: Attachments, clock: Callable[[], float]) -> None:
        self._db = db
        self._attachments = attachments
        self._clock = clock

    def create(
        self,
        *,
        title: str = "",
        model: str = "",
        system_prompt: str = "",
        settings: dict[str, Any] | None = None,
        preset: str = "",
    ) -> Conversation:
        """A new, empty conversation. Without a title, the first user message will give it one.

        Args:
            preset: the name of the preset ``system_prompt`` came from ("" for none or the user's own words).
        """
        now = self._clock()
        source = TitleSource.USER if title.strip() else TitleSource.NONE
        with self._db.write() as conn:
            cur = conn.execute(
                "INSERT INTO conversations (uuid, title, title_source, created, updated, model, system_prompt,"
                " settings, preset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    str(uuid_module.uuid4()),
                    clean_title(title),
                    source.value,
                    now,
                    now,
                    model,
                    system_prompt,
                    dumps(settings or {}),
                    preset,
                ),
            )
            conv_id = int(cur.lastrowid or 0)
        return self.get(conv_id)

    def get(self, conv_id: int, *, include_deleted: bool = False) -> Conversation:
        """One conversation.

        Raises:
            StoreNotFoundError: it does not exist (or is soft-deleted and ``include_deleted`` is False).
        """
        with self._db.read() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM conversations WHERE id = ?", (conv_id,)).fetchone()
        if row is None or (row["deleted_at"] is not None and not include_deleted):
            raise StoreNotFoundError("That conversation no longer exists.", details=f"conversation {conv_id}")
        return Conversation.from_row(row)

    def find_by_uuid(self, uuid: str) -> Conversation | None:
        """The conversation with this global id (soft-deleted ones included), or None."""
        with self._db.read() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM conversations WHERE uuid = ?", (uuid,)).fetchone()
        return Conversation.from_row(row) if row else None

    def list_all(
        self, *, title_filter: str = "", limit: int | None = None, offset: int = 0
    ) -> list[Conversation]:
        """Conversations for the side list: pinned first, then most recently updated.

        Args:
            title_filter: keep those whose title contains this text (case-insensitive for ASCII); for message
                text use ``Search``.
            limit, offset: a page of the list (None: all).
        """
        sql = f"SELECT {_COLUMNS} FROM conversations WHERE deleted_at IS NULL"
        params: list[Any] = []
        if title_filter.strip():
            sql += " AND title LIKE ? ESCAPE '\\'"
            params.append("%" + _escape_like(title_filter.strip()) + "%")
        sql += " ORDER BY pinned DESC, updated DESC, id DESC LIMIT ? OFFSET ?"
        params += [-1 if limit is None else limit, offset]
        with self._db.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [Conversation.from_row(r) for r in rows]

    def count(self) -> int:
        """How many conversations the list shows."""
        with self._db.read() as conn:
            return int(conn.execute("SELECT count(*) FROM conversations WHERE deleted_at IS NULL").fetchone()[0])

    def rename(self, conv_id: int, title: str) -> Conversation:
        """The user's own title; automatic and model-written titles never replace it."""
        title = clean_title(title)
        source = TitleSource.USER if title else TitleSource.NONE
        self._set(conv_id, "title = ?, title_source = ?", (title, source.value))
        return self.get(conv_id)

    def set_auto_title(self, conv_id: int, title: str) -> bool:
        """Set a title made from the first message, unless the conversation already has one. True if set."""
        return self._set_title_if(conv_id, clean_title(title), TitleSource.AUTO, (TitleSource.NONE,))

    def set_model_title(self, conv_id: int, title: str) -> bool:
        """Replace an automatic title with a short model-written one (opt-in in the GUI).

        A title the user typed is kept. Returns True if the title changed.
        """
        return self._set_title_if(
            conv_id, clean_title(title), TitleSource.MODEL, (TitleSource.NONE, TitleSource.AUTO)
        )

    def set_pinned(self, conv_id: int, pinned: bool) -> None:
        self._set(conv_id, "pinned = ?", (int(pinned),))

    def set_model(self, conv_id: int, model: str) -> None:
        """Remember the model the conversation uses now."""
        self._set(conv_id, "model = ?", (model,))

    def set_system_prompt(self, conv_id: int, system_prompt: str, preset: str = "") -> None:
        """Change the conversation's system prompt (used from its next answer on) and the preset it came from."""
        self._set(conv_id, "system_prompt = ?, preset = ?", (system_prompt, preset))

    def set_settings(self, conv_id: int, settings: dict[str, Any]) -> None:
        """Replace the conversation's settings snapshot (JSON-serialisable)."""
        self._set(conv_id, "settings = ?", (dumps(settings),))

    def set_whole_document(self, conv_id: int, sha256: str, whole: bool) -> Conversation:
        """Pin a document of the conversation to go into the prompt whole (or unpin it); kept in its settings.

        Raises:
            StoreNotFoundError: the conversation does not exist.
        """
        with self._db.write() as conn:
            row = conn.execute("SELECT settings FROM conversations WHERE id = ?", (conv_id,)).fetchone()
            if row is None:
                raise StoreNotFoundError("That conversation no longer exists.", details=f"conversation {conv_id}")
            settings = loads_object(row["settings"])
            pinned = [v for v in settings.get(WHOLE_DOCUMENTS_KEY, []) if isinstance(v, str) and v != sha256]
            if whole:
                pinned.append(sha256)
            settings[WHOLE_DOCUMENTS_KEY] = pinned
            conn.execute("UPDATE conversations SET settings = ? WHERE id = ?", (dumps(settings), conv_id))
        return self.get(conv_id)

    def set_ui_state(self, conv_id: int, ui_state: dict[str, Any]) -> None:
        """Remember GUI state to restore on restart (scroll position, ...). Does not move it in the list."""
        self._set(conv_id, "ui_state = ?", (dumps(ui_state),))

    def touch(self, conv_id: int) -> None:
        """Mark as just updated (moves it to the top of the list)."""
        self._set(conv_id, "updated = ?", (self._clock(),))

    def delete(self, conv_id: int) -> None:
        """Hide the conversation at once, for the GUI's undo window; ``purge`` deletes it for real."""
        self._set(conv_id, "deleted_at = ?", (self._clock(),))

    def restore(self, conv_id: int) -> Conversation:
        """Undo ``delete``."""
        with self._db.write() as conn:
            cur = conn.execute("UPDATE conversations SET deleted_at = NULL WHERE id = ?", (conv_id,))
        if cur.rowcount == 0:
            raise StoreNotFoundError("That conversation no longer exists.", details=f"conversation {conv_id}")
        return self.get(conv_id)

    def deleted(self) -> list[Conversation]:
        """Soft-deleted conversations still waiting for ``purge``."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM conversations WHERE deleted_at IS NOT NULL ORDER BY deleted_at"
            ).fetchall()
        return [Conversation.from_row(r) for r in rows]

    def purge(self, conv_id: int) -> bool:
        """Delete the conversation for real: its rows, search entries and unused attachment copies.

        Returns False if it did not exist.
        """
        with self._db.write() as conn:
            hashes = [
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT a.sha256 FROM attachments a JOIN messages m ON m.id = a.message_id"
                    " WHERE m.conversation_id = ?",
                    (conv_id,),
                )
            ]
            # Messages first in one statement (see the schema note on parent_id), then the conversation.
            conn.execute("UPDATE conversations SET selected_leaf_id = NULL WHERE id = ?", (conv_id,))
            conn.execute("DELETE FROM messages WHERE conversation_id = ?", (conv_id,))
            cur = conn.execute("DELETE FROM conversations WHERE id = ?", (conv_id,))
            removed_files = self._attachments.drop_unreferenced(conn, hashes)
        self._attachments.remove_copies(removed_files)
        return cur.rowcount > 0

    def purge_deleted(self, *, older_than_s: float | None = None) -> list[int]:
        """Purge soft-deleted conversations (all, or those deleted at least ``older_than_s`` ago); returns ids."""
        cutoff = float("inf") if older_than_s is None else self._clock() - older_than_s
        with self._db.read() as conn:
            ids = [
                int(r[0])
                for r in conn.execute(
                    "SELECT id FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ? ORDER BY id",
                    (cutoff,),
                )
            ]
        for conv_id in ids:
            self.purge(conv_id)
        return ids

    def _set(self, conv_id: int, assignments: str, params: tuple[Any, ...]) -> None:
        with self._db.write() as conn:
            cur = conn.execute(f"UPDATE conversations SET {assignments} WHERE id = ?", (*params, conv_id))
        if cur.rowcount == 0:
            raise StoreNotFoundError("That conversation no longer exists.", details=f"conversation {conv_id}")

    def _set_title_if(
        self, conv_id: int, title: str, source: TitleSource, replaceable: tuple[TitleSource, ...]
    ) -> bool:
        if not title:
            return False
        marks = ", ".join("?" for _ in replaceable)
        with self._db.write() as conn:
            cur = conn.execute(
                f"UPDATE conversations SET title = ?, title_source = ? WHERE id = ? AND title_source IN ({marks})",
                (title, source.value, conv_id, *(s.value for s in replaceable)),
            )
        return cur.rowcount > 0


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
