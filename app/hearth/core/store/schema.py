"""The database schema as a list of versioned migrations (``PRAGMA user_version``).

Rules, because users' conversations depend on them:

- A migration, once released, is never edited. Change the schema by appending a new one. The tests keep frozen
  copies of every earlier schema (``tests/unit/core/store/store_schemas/``), build old databases from them and migrate
  them; the result must equal a fresh database, so an edited old migration fails the test suite.
- A fresh database runs the same migrations from version 0, so there is one path to the current schema.
- Each migration runs in one transaction together with its ``user_version`` bump: it is applied entirely or not at
  all. The caller backs the file up before the first migration of an existing database (see ``db.py``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One step of the schema: from ``version - 1`` to ``version``."""

    version: int
    description: str
    sql: str


_V1_CORE = """
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    title_source TEXT NOT NULL DEFAULT 'none',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0,
    model TEXT NOT NULL DEFAULT '',
    system_prompt TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '{}',
    selected_leaf_id INTEGER REFERENCES messages(id) ON DELETE SET NULL
);
CREATE INDEX conversations_order ON conversations(pinned, updated);
CREATE INDEX conversations_leaf ON conversations(selected_leaf_id);

-- parent_id has no ON DELETE action on purpose: a cascade would recurse once per tree level and hit SQLite's
-- trigger depth limit on long conversations. Subtrees are deleted in one statement (see messages.py).
-- active_child_id is a hint (the branch last shown below this message), checked when used, so it has no
-- foreign key and costs no index.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES messages(id),
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'complete'
        CHECK (status IN ('streaming', 'complete', 'cancelled', 'interrupted', 'error')),
    error TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    run_info TEXT,
    active_child_id INTEGER
);
CREATE INDEX messages_conversation ON messages(conversation_id, parent_id);
CREATE INDEX messages_parent ON messages(parent_id);
CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming';

-- One row per distinct file (by content): the same PDF attached ten times is copied and read once.
CREATE TABLE files (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mime TEXT NOT NULL DEFAULT '',
    stored_path TEXT NOT NULL DEFAULT '',
    extracted_text TEXT,
    reference TEXT NOT NULL DEFAULT '',
    page_count INTEGER,
    extractor TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL REFERENCES files(sha256),
    file_name TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attachments_message ON attachments(message_id, position);
CREATE INDEX attachments_file ON attachments(sha256);
"""

# Streaming answers are left out of the index: they change every second and are indexed once they end (any
# status but 'streaming'), which also covers answers recovered as 'interrupted'. The prefix indexes make
# search-as-you-type fast: without them "an*" merges thousands of terms (0.5 s at 200,000 messages, 0.1 ms with).
_V2_SEARCH = """
CREATE VIRTUAL TABLE message_fts USING fts5(
    content,
    content='messages',
    content_rowid='id',
    tokenize='unicode61 remove_diacritics 2',
    prefix='2 3'
);
INSERT INTO message_fts(rowid, content) SELECT id, content FROM messages WHERE status != 'streaming';
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.status != 'streaming' BEGIN
    INSERT INTO message_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.status != 'streaming' BEGIN
    INSERT INTO message_fts(message_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, status ON messages BEGIN
    INSERT INTO message_fts(message_fts, rowid, content)
        SELECT 'delete', old.id, old.content WHERE old.status != 'streaming';
    INSERT INTO message_fts(rowid, content) SELECT new.id, new.content WHERE new.status != 'streaming';
END;
"""

_V3_UI_STATE = """
ALTER TABLE conversations ADD COLUMN ui_state TEXT NOT NULL DEFAULT '{}';
ALTER TABLE conversations ADD COLUMN deleted_at REAL;
CREATE TABLE app_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# A conversation remembers which preset its system prompt came from (shown in the chat header, exported); the
# user's own presets live here beside the conversations, so a backup of the database keeps them.
_V4_PRESETS = """
ALTER TABLE conversations ADD COLUMN preset TEXT NOT NULL DEFAULT '';
CREATE TABLE presets (
    name TEXT PRIMARY KEY,
    system_prompt TEXT NOT NULL,
    created REAL NOT NULL
);
"""

# The tool calls an answer made (tool, server, arguments, result as the model read it, status, time taken), in order,
# deleted with their message.
_V5_TOOL_CALLS = """
CREATE TABLE tool_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    call_id TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    server TEXT NOT NULL DEFAULT '',
    tool TEXT NOT NULL DEFAULT '',
    arguments TEXT NOT NULL DEFAULT '{}',
    result TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    round INTEGER NOT NULL DEFAULT 1,
    started REAL NOT NULL DEFAULT 0,
    duration_s REAL NOT NULL DEFAULT 0
);
CREATE INDEX tool_calls_message ON tool_calls(message_id, position);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "conversations, message tree, files and attachments", _V1_CORE),
    Migration(2, "full-text search over messages (FTS5)", _V2_SEARCH),
    Migration(3, "GUI state per conversation, delete with undo, app state", _V3_UI_STATE),
    Migration(4, "system prompt presets; the preset a conversation uses", _V4_PRESETS),
    Migration(5, "tool calls of answers", _V5_TOOL_CALLS),
)

LATEST_VERSION = MIGRATIONS[-1].version


def user_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the file (0 for a new, empty file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def pending(version: int) -> list[Migration]:
    """The migrations a database at ``version`` still needs, in order."""
    return [m for m in MIGRATIONS if m.version > version]


def apply(conn: sqlite3.Connection, migration: Migration) -> None:
    """Run one migration and record its version, atomically.

    The connection must be in autocommit mode (``isolation_level=None``); the script carries its own transaction so
    ``executescript`` cannot commit half of it.
    """
    script = f"BEGIN IMMEDIATE;\n{migration.sql}\nPRAGMA user_version = {int(migration.version)};\nCOMMIT;"
    try:
        conn.executescript(script)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
