-- Frozen copy of the Hearth conversation database schema, version 4.
-- Never edit: tests build databases from it to prove that every old version migrates.

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
ALTER TABLE conversations ADD COLUMN ui_state TEXT NOT NULL DEFAULT '{}';
ALTER TABLE conversations ADD COLUMN deleted_at REAL;
CREATE TABLE app_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
ALTER TABLE conversations ADD COLUMN preset TEXT NOT NULL DEFAULT '';
CREATE TABLE presets (
    name TEXT PRIMARY KEY,
    system_prompt TEXT NOT NULL,
    created REAL NOT NULL
);
