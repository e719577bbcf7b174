"""Messages as a tree: every message has a parent; edits and regenerations are siblings (same parent).

The conversation remembers the message at the end of the branch on screen (``selected_leaf_id``); each message
remembers which of its children was shown last (``active_child_id``), so switching back to an earlier sibling
returns to the branch below it that the user saw. ``active_branch`` is the path from the first message to the
selected leaf: what the chat view shows and what the model is sent.

An answer's life: ``start_assistant_message`` (status STREAMING, empty) → ``update_partial`` while it streams (the
``StreamingSaver`` calls it at most once a second) → ``finish_message`` with COMPLETE, CANCELLED or ERROR. Answers
left STREAMING by a crash become INTERRUPTED when the store opens; ``resume_message`` continues one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from hearth.core.errors import StoreError, StoreNotFoundError
from hearth.core.store.attachments import Attachments
from hearth.core.store.db import Database
from hearth.core.store.records import (
    Message,
    MessageStatus,
    NewAttachment,
    Role,
    RunInfo,
    TitleSource,
    dumps,
)
from hearth.core.store.titles import auto_title

_COLUMNS = "id, conversation_id, parent_id, role, content, status, error, created, updated, run_info"
_FINAL = (MessageStatus.COMPLETE, MessageStatus.CANCELLED, MessageStatus.INTERRUPTED, MessageStatus.ERROR)


class _Leaf:
    """Marker: "after the conversation's selected leaf"."""


LEAF = _Leaf()


class MessageTree:
    """Reads and changes the message trees of all conversations."""

    def __init__(self, db: Database, attachments: Attachments, clock: Callable[[], float]) -> None:
        self._db = db
        self._attachments = attachments
        self._clock = clock

    # ----- reading -------------------------------------------------------------------------------------------

    def get(self, message_id: int) -> Message:
        """One message. Raises ``StoreNotFoundError`` if it is gone."""
        with self._db.read() as conn:
            return _get(conn, message_id)

    def active_branch(self, conv_id: int) -> list[Message]:
        """The messages on screen, first to last: the path from the first message to the selected leaf."""
        with self._db.read() as conn:
            leaf = _selected_leaf(conn, conv_id)
            return _path_to(conn, leaf) if leaf is not None else []

    def all_messages(self, conv_id: int) -> list[Message]:
        """Every message of a conversation, all branches, oldest first (parents before children)."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY id", (conv_id,)
            ).fetchall()
        return [Message.from_row(r) for r in rows]

    def children(self, message_id: int) -> list[Message]:
        """A message's direct replies (the alternatives below it), oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE parent_id = ? ORDER BY id", (message_id,)
            ).fetchall()
        return [Message.from_row(r) for r in rows]

    def sibling_ids(self, message_id: int) -> list[int]:
        """The ids of a message and its siblings (same parent), oldest first."""
        with self._db.read() as conn:
            return _sibling_ids(conn, _get(conn, message_id))

    def siblings(self, message_id: int) -> tuple[int, int]:
        """Where the message sits among its alternatives: ``(index, count)``, index from 0 ("2/3" is (1, 3))."""
        ids = self.sibling_ids(message_id)
        return ids.index(message_id), len(ids)

    def streaming_ids(self) -> list[int]:
        """Messages currently marked STREAMING (in this or, before recovery, a crashed session)."""
        with self._db.read() as conn:
            return [int(r[0]) for r in conn.execute("SELECT id FROM messages WHERE status = 'streaming'")]

    # ----- choosing the branch -------------------------------------------------------------------------------

    def select_sibling(self, message_id: int, offset: int) -> list[Message]:
        """Show the sibling ``offset`` steps away (-1: previous, +1: next; clamped at the ends).

        The branch below it is the one shown last under that sibling. Returns the new active branch.
        """
        with self._db.write() as conn:
            msg = _get(conn, message_id)
            ids = _sibling_ids(conn, msg)
            index = max(0, min(len(ids) - 1, ids.index(message_id) + offset))
            leaf = _descend(conn, ids[index])
            select_leaf(conn, msg.conversation_id, leaf)
            return _path_to(conn, leaf)

    def select(self, message_id: int) -> list[Message]:
        """Make the branch through this message the active one (e.g. jumping to a search hit)."""
        with self._db.write() as conn:
            msg = _get(conn, message_id)
            leaf = _descend(conn, message_id)
            select_leaf(conn, msg.conversation_id, leaf)
            return _path_to(conn, leaf)

    # ----- adding --------------------------------------------------------------------------------------------

    def add_user_message(
        self,
        conv_id: int,
        text: str,
        *,
        parent_id: int | _Leaf | None = LEAF,
        attachments: Sequence[NewAttachment] = (),
    ) -> Message:
        """Save what the user sent, before anything else happens, and select it.

        Args:
            conv_id: the conversation.
            text: the message.
            parent_id: the message it follows; by default the selected leaf (None: a new first message).
            attachments: stored files to attach (see ``Attachments.store_file``).

        The first user message of an untitled conversation also gives it its automatic title.
        """
        return self._add(conv_id, Role.USER, text, parent_id=parent_id, attachments=attachments)

    def add_message(
        self,
        conv_id: int,
        role: Role,
        text: str,
        *,
        parent_id: int | _Leaf | None = LEAF,
        status: MessageStatus = MessageStatus.COMPLETE,
        error: str = "",
        run_info: RunInfo | None = None,
        attachments: Sequence[NewAttachment] = (),
    ) -> Message:
        """Add any finished message (e.g. a note, or an answer written elsewhere) and select it."""
        return self._add(
            conv_id, role, text, parent_id=parent_id, status=status, error=error, run_info=run_info,
            attachments=attachments,
        )

    def start_assistant_message(self, parent_id: int) -> int:
        """Create an empty answer to ``parent_id`` with status STREAMING, select it, and return its id.

        If ``parent_id`` already has answers, the new one is their sibling (a regeneration).
        """
        with self._db.read() as conn:
            parent = _get(conn, parent_id)
        msg = self._add(
            parent.conversation_id, Role.ASSISTANT, "", parent_id=parent_id, status=MessageStatus.STREAMING
        )
        return msg.id

    def regenerate(self, message_id: int) -> int:
        """Start a new answer beside an existing one (same parent), selected; returns its id (STREAMING)."""
        msg = self.get(message_id)
        if msg.role is not Role.ASSISTANT or msg.parent_id is None:
            raise StoreError("Only an answer can be regenerated.", details=f"message {message_id} is {msg.role}")
        return self.start_assistant_message(msg.parent_id)

    def edit_and_resend(
        self, message_id: int, text: str, *, attachments: Sequence[NewAttachment] | None = None
    ) -> Message:
        """Save an edited user message as a sibling of the original (which is kept), and select it.

        Args:
            message_id: the user message being edited.
            text: the new text.
            attachments: the new message's attachments; None keeps the original's.

        The GUI then calls ``start_assistant_message(new.id)`` for the answer.
        """
        original = self.get(message_id)
        if original.role is not Role.USER:
            raise StoreError("Only your own messages can be edited.", details=f"message {message_id}")
        if attachments is None:
            attachments = [
                NewAttachment(a.file.sha256, a.file_name) for a in self._attachments.for_message(message_id)
            ]
        return self._add(
            original.conversation_id, Role.USER, text, parent_id=original.parent_id, attachments=attachments
        )

    # ----- streaming -----------------------------------------------------------------------------------------

    def update_partial(self, message_id: int, text: str) -> bool:
        """Save the text of a STREAMING answer so far. Returns False if it is no longer streaming."""
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE messages SET content = ?, updated = ? WHERE id = ? AND status = 'streaming'",
                (text, self._clock(), message_id),
            )
        return cur.rowcount > 0

    def finish_message(
        self,
        message_id: int,
        text: str,
        status: MessageStatus = MessageStatus.COMPLETE,
        run_info: RunInfo | None = None,
        error: str = "",
    ) -> Message:
        """Save an answer's final text and how it ended.

        Args:
            message_id: the answer.
            text: its whole text.
            status: COMPLETE, CANCELLED (Stop: the text so far is kept), INTERRUPTED or ERROR.
            run_info: how it was made (model, speed, stop reason).
            error: for ERROR, what went wrong in plain words (shown on the message).
        """
        if status not in _FINAL:
            raise ValueError(f"finish_message needs a final status, not {status}")
        now = self._clock()
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE messages SET content = ?, status = ?, error = ?, run_info = ?, updated = ? WHERE id = ?",
                (text, status.value, error, dumps(run_info.to_dict()) if run_info else None, now, message_id),
            )
            if cur.rowcount == 0:
                raise StoreNotFoundError("That message no longer exists.", details=f"message {message_id}")
            msg = _get(conn, message_id)
            conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, msg.conversation_id))
        return msg

    def resume_message(self, message_id: int) -> Message:
        """Mark an unfinished answer as STREAMING again, to continue it ("Continue").

        Unfinished: INTERRUPTED, CANCELLED or ERROR, or COMPLETE but cut off (its run info's stop reason is
        "length", "context_full" or "repetition": it ended before the model finished it). Returns the message with
        the text saved so far; feed it to ``StreamingSaver(initial_text=...)``.
        """
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE messages SET status = 'streaming', error = '', updated = ?"
                " WHERE id = ? AND role = 'assistant' AND (status IN ('interrupted', 'cancelled', 'error')"
                " OR (status = 'complete' AND json_valid(run_info)"
                " AND json_extract(run_info, '$.stop_reason') IN ('length', 'context_full', 'repetition')))",
                (self._clock(), message_id),
            )
            msg = _get(conn, message_id)
            if cur.rowcount == 0 and msg.status is not MessageStatus.STREAMING:
                raise StoreError("Only an unfinished answer can be continued.", details=f"message {message_id}")
            select_leaf(conn, msg.conversation_id, _descend(conn, message_id))
        return msg

    def recover_interrupted(self) -> list[int]:
        """Mark answers left STREAMING (the app was killed or crashed) as INTERRUPTED; returns their ids.

        ``Store.open`` calls this. Only the process holding the instance lock may: another live instance's
        answer would be marked too.
        """
        if not self.streaming_ids():
            return []  # the usual case: no write, so opening needs no write lock
        with self._db.write() as conn:
            ids = [int(r[0]) for r in conn.execute("SELECT id FROM messages WHERE status = 'streaming'")]
            conn.execute(
                "UPDATE messages SET status = 'interrupted', updated = ? WHERE status = 'streaming'",
                (self._clock(),),
            )
        return ids

    # ----- deleting ------------------------------------------------------------------------------------------

    def delete_branch(self, message_id: int) -> list[Message]:
        """Delete a message and everything below it (for real); returns the new active branch.

        If the branch on screen went through it, a sibling's branch is shown instead, else its parent's.
        """
        with self._db.write() as conn:
            msg = _get(conn, message_id)
            subtree = [
                int(r[0])
                for r in conn.execute(
                    "WITH RECURSIVE sub(id) AS (SELECT ? UNION ALL"
                    " SELECT m.id FROM messages m JOIN sub ON m.parent_id = sub.id) SELECT id FROM sub",
                    (message_id,),
                )
            ]
            leaf = _selected_leaf(conn, msg.conversation_id)
            new_leaf = leaf
            if leaf is None or leaf in subtree:
                others = [i for i in _sibling_ids(conn, msg) if i != message_id]
                before = [i for i in others if i < message_id]
                new_leaf = _descend(conn, before[-1] if before else others[0]) if others else msg.parent_id
            marks = ", ".join("?" for _ in subtree)
            hashes = [
                r[0]
                for r in conn.execute(
                    f"SELECT DISTINCT sha256 FROM attachments WHERE message_id IN ({marks})", subtree
                )
            ]
            conn.execute(f"DELETE FROM messages WHERE id IN ({marks})", subtree)
            removed = self._attachments.drop_unreferenced(conn, hashes)
            select_leaf(conn, msg.conversation_id, new_leaf)
            branch = _path_to(conn, new_leaf) if new_leaf is not None else []
        self._attachments.remove_copies(removed)
        return branch

    # ----- internals -----------------------------------------------------------------------------------------

    def _add(
        self,
        conv_id: int,
        role: Role,
        text: str,
        *,
        parent_id: int | _Leaf | None,
        status: MessageStatus = MessageStatus.COMPLETE,
        error: str = "",
        run_info: RunInfo | None = None,
        attachments: Sequence[NewAttachment] = (),
    ) -> Message:
        now = self._clock()
        with self._db.write() as conn:
            conv = conn.execute(
                "SELECT title_source, selected_leaf_id FROM conversations WHERE id = ? AND deleted_at IS NULL",
                (conv_id,),
            ).fetchone()
            if conv is None:
                raise StoreNotFoundError("That conversation no longer exists.", details=f"conversation {conv_id}")
            current_leaf = _selected_leaf(conn, conv_id)
            parent = current_leaf if isinstance(parent_id, _Leaf) else parent_id
            if parent is not None:
                owner = conn.execute("SELECT conversation_id FROM messages WHERE id = ?", (parent,)).fetchone()
                if owner is None or owner[0] != conv_id:
                    raise StoreNotFoundError(
                        "The message this one answers no longer exists.", details=f"parent {parent}"
                    )
            cur = conn.execute(
                "INSERT INTO messages (conversation_id, parent_id, role, content, status, error, created, updated,"
                " run_info) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conv_id,
                    parent,
                    role.value,
                    text,
                    status.value,
                    error,
                    now,
                    now,
                    dumps(run_info.to_dict()) if run_info else None,
                ),
            )
            message_id = int(cur.lastrowid or 0)
            self._attachments.link(conn, message_id, attachments)
            if parent is not None and parent == conv["selected_leaf_id"]:
                # The path above is already the selected one; only the parent learns its new child.
                conn.execute("UPDATE messages SET active_child_id = ? WHERE id = ?", (message_id, parent))
                conn.execute("UPDATE conversations SET selected_leaf_id = ? WHERE id = ?", (message_id, conv_id))
            else:
                select_leaf(conn, conv_id, message_id)
            conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conv_id))
            if role is Role.USER and conv["title_source"] == TitleSource.NONE.value:
                title = auto_title(text) or (attachments[0].file_name if attachments else "")
                if title:
                    conn.execute(
                        "UPDATE conversations SET title = ?, title_source = ? WHERE id = ?",
                        (title, TitleSource.AUTO.value, conv_id),
                    )
            return _get(conn, message_id)


def _get(conn: sqlite3.Connection, message_id: int) -> Message:
    row = conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        raise StoreNotFoundError("That message no longer exists.", details=f"message {message_id}")
    return Message.from_row(row)


def _sibling_ids(conn: sqlite3.Connection, msg: Message) -> list[int]:
    rows = conn.execute(
        "SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS ? ORDER BY id",
        (msg.conversation_id, msg.parent_id),
    )
    return [int(r[0]) for r in rows]


def _selected_leaf(conn: sqlite3.Connection, conv_id: int) -> int | None:
    """The conversation's selected leaf; if unset but it has messages, the newest first message's branch."""
    row = conn.execute("SELECT selected_leaf_id FROM conversations WHERE id = ?", (conv_id,)).fetchone()
    if row is None:
        raise StoreNotFoundError("That conversation no longer exists.", details=f"conversation {conv_id}")
    if row[0] is not None:
        return int(row[0])
    root = conn.execute(
        "SELECT max(id) FROM messages WHERE conversation_id = ? AND parent_id IS NULL", (conv_id,)
    ).fetchone()[0]
    return _descend(conn, int(root)) if root is not None else None


def _descend(conn: sqlite3.Connection, message_id: int) -> int:
    """The leaf reached from a message by following the child shown last (else the newest child)."""
    current = message_id
    while True:
        hint = conn.execute("SELECT active_child_id FROM messages WHERE id = ?", (current,)).fetchone()
        child = None
        if hint is not None and hint[0] is not None:
            child = conn.execute(
                "SELECT id FROM messages WHERE id = ? AND parent_id = ?", (hint[0], current)
            ).fetchone()
        if child is None:
            child = conn.execute("SELECT max(id) FROM messages WHERE parent_id = ?", (current,)).fetchone()
            if child is None or child[0] is None:
                return current
        current = int(child[0])


def _path_to(conn: sqlite3.Connection, leaf: int) -> list[Message]:
    rows = conn.execute(
        "WITH RECURSIVE chain(id, depth) AS (SELECT ?, 0 UNION ALL"
        " SELECT m.parent_id, c.depth + 1 FROM messages m JOIN chain c ON m.id = c.id"
        " WHERE m.parent_id IS NOT NULL)"
        f" SELECT {', '.join('m.' + c for c in _COLUMNS.split(', '))}"
        " FROM chain c JOIN messages m ON m.id = c.id ORDER BY c.depth DESC",
        (leaf,),
    ).fetchall()
    return [Message.from_row(r) for r in rows]


def select_leaf(conn: sqlite3.Connection, conv_id: int, leaf: int | None) -> None:
    """Select ``leaf`` and make every ancestor remember the child on its path (inside a write transaction)."""
    conn.execute("UPDATE conversations SET selected_leaf_id = ? WHERE id = ?", (leaf, conv_id))
    if leaf is None:
        return
    conn.execute(
        "WITH RECURSIVE chain(id, parent) AS ("
        " SELECT id, parent_id FROM messages WHERE id = ?"
        " UNION ALL SELECT m.id, m.parent_id FROM messages m JOIN chain c ON m.id = c.parent)"
        " UPDATE messages SET active_child_id = (SELECT c.id FROM chain c WHERE c.parent = messages.id)"
        " WHERE id IN (SELECT parent FROM chain WHERE parent IS NOT NULL)",
        (leaf,),
    )

