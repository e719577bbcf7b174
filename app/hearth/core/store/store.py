"""The conversation store: one object the app builds at start and passes to whatever needs conversations.

Typical start-up (the GUI's, in its wiring code)::

    paths = AppPaths.default().ensure()
    lock = InstanceLock(paths.data_dir)
    lock.acquire()                               # AlreadyRunningError: tell the user, show the other window
    try:
        store = Store.open(default_db_path(paths))
    except StoreCorruptError:
        # ask the user; then:
        moved = quarantine(default_db_path(paths))   # kept, never deleted
        store = Store.open(default_db_path(paths))

``Store.open`` also finishes the previous session's business: answers left streaming become INTERRUPTED and
conversations left in the undo window are purged. Only the instance holding the lock may do that, so pass
``recover=False`` from anything else that opens the file (a second tool, a test reading a live database).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hearth.core.paths import AppPaths
from hearth.core.store.attachments import Attachments
from hearth.core.store.conversations import Conversations
from hearth.core.store.db import Database, OpenReport
from hearth.core.store.messages import MessageTree
from hearth.core.store.presets import Presets
from hearth.core.store.records import dumps
from hearth.core.store.search import Search
from hearth.core.store.tool_calls import ToolCalls

DB_FILE_NAME = "hearth.db"
ATTACHMENTS_DIR_NAME = "attachments"


def default_db_path(paths: AppPaths) -> Path:
    """Where the app keeps its conversations: ``<data dir>/hearth.db``."""
    return paths.data_dir / DB_FILE_NAME


class Store:
    """Conversations, their message trees, attachments and search, over one SQLite database.

    Attributes:
        conversations: the conversation list and each conversation's fields.
        messages: message trees, branches and streaming answers.
        attachments: attached files (one copy per distinct content).
        search: full-text search.
        presets: the user's own system-prompt presets.
        tool_calls: the tool calls answers made.
        report: what happened while opening (created, migrated, backup path).
        recovered_message_ids: answers found streaming at open and marked INTERRUPTED.
        purged_conversation_ids: conversations left soft-deleted by an earlier session, now purged.

    All methods are safe to call from any thread (one lock, one connection); keep calls off the GUI thread when
    they may be slow (export, import, purge of big conversations).
    """

    def __init__(
        self, db: Database, attachments_dir: Path, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.attachments = Attachments(db, attachments_dir, clock)
        self.conversations = Conversations(db, self.attachments, clock)
        self.messages = MessageTree(db, self.attachments, clock)
        self.search = Search(db)
        self.presets = Presets(db, clock)
        self.tool_calls = ToolCalls(db)
        self.recovered_message_ids: list[int] = []
        self.purged_conversation_ids: list[int] = []

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        attachments_dir: Path | None = None,
        recover: bool = True,
        check: bool = True,
        busy_timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> Store:
        """Open the database at ``path`` (created or migrated as needed).

        Args:
            path: the database file.
            attachments_dir: where attachment copies live; default ``<folder of path>/attachments``.
            recover: mark answers left streaming as INTERRUPTED and purge conversations left soft-deleted.
            check: run SQLite's quick check on open (a damaged file raises now, not mid-conversation).
            busy_timeout_s: how long to wait for another process's write.
            clock: wall clock for timestamps (tests inject one).

        Raises:
            StoreCorruptError, StoreTooNewError, StoreBusyError, StoreError: see ``Database.open``.
        """
        path = Path(path)
        db = Database.open(path, busy_timeout_s=busy_timeout_s, check=check, clock=clock)
        store = cls(db, attachments_dir or path.parent / ATTACHMENTS_DIR_NAME, clock)
        if recover:
            try:
                store.recovered_message_ids = store.messages.recover_interrupted()
                store.purged_conversation_ids = store.conversations.purge_deleted()
            except BaseException:
                db.close()
                raise
        return store

    @property
    def path(self) -> Path:
        return self.db.path

    @property
    def report(self) -> OpenReport:
        return self.db.report

    def get_state(self, key: str, default: Any = None) -> Any:
        """An app-wide value the GUI saved (e.g. ``"last_conversation_id"``), or ``default``."""
        with self.db.read() as conn:
            row = conn.execute("SELECT value FROM app_state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_state(self, key: str, value: Any) -> None:
        """Remember an app-wide JSON-serialisable value (None forgets it)."""
        with self.db.write() as conn:
            if value is None:
                conn.execute("DELETE FROM app_state WHERE key = ?", (key,))
            else:
                conn.execute(
                    "INSERT INTO app_state (key, value) VALUES (?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, dumps(value)),
                )

    def integrity_check(self) -> list[str]:
        """SQLite's full integrity check ([] when sound). Slow on big databases: run it off the GUI thread."""
        return self.db.integrity_check()

    def backup_to(self, dest: Path) -> Path:
        """A consistent copy of the database at ``dest`` (which must not exist), taken while the app runs."""
        return self.db.backup_to(Path(dest))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
