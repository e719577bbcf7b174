"""Schema versions: a fresh database, migration from every earlier version (built from frozen schemas), backups."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hearth.core.errors import StoreError, StoreTooNewError
from hearth.core.store import LATEST_VERSION, MessageStatus, Store, schema
from hearth.core.store.schema import Migration
from tests.unit.core.store.store_support import FakeClock

FROZEN = Path(__file__).parent / "store_schemas"


def frozen_versions() -> list[int]:
    return sorted(int(p.stem[1:]) for p in FROZEN.glob("v*.sql"))


def schema_of(path: Path) -> list[tuple[str, str, str, str]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master"))
    finally:
        conn.close()


def build_old_database(path: Path, version: int) -> None:
    """A database as Hearth at ``version`` left it: its frozen schema and some real-looking data."""
    conn = sqlite3.connect(path)
    conn.executescript((FROZEN / f"v{version}.sql").read_text(encoding="utf-8"))
    conn.executescript(
        """
        INSERT INTO conversations (id, uuid, title, title_source, created, updated, pinned, model, system_prompt,
                                   settings, selected_leaf_id)
            VALUES (1, 'c0ffee00-0000-4000-8000-000000000001', 'Old chat', 'auto', 1.0, 2.0, 1, 'old.gguf',
                    'Be nice.', '{"temperature":0.7}', NULL);
        INSERT INTO messages (id, conversation_id, parent_id, role, content, status, error, created, updated,
                              run_info)
            VALUES (1, 1, NULL, 'user', 'What is a quokka?', 'complete', '', 1.0, 1.0, NULL),
                   (2, 1, 1, 'assistant', 'A small marsupial from Rottnest Island.', 'complete', '', 1.5, 1.6,
                    '{"model_file":"old.gguf","tokens":9,"stop_reason":"stop"}'),
                   (3, 1, 1, 'assistant', 'A quokka is', 'streaming', '', 1.7, 1.8, NULL);
        UPDATE conversations SET selected_leaf_id = 2 WHERE id = 1;
        INSERT INTO files (sha256, size, mime, stored_path, extracted_text, reference, page_count, extractor,
                           created)
            VALUES ('aa', 3, 'text/plain', '', 'hey', '', NULL, 'txt', 1.0);
        INSERT INTO attachments (message_id, sha256, file_name, position) VALUES (1, 'aa', 'notes.txt', 0);
        """
    )
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


def test_every_earlier_version_has_a_frozen_schema() -> None:
    # Adding migration N+1 means freezing version N here first.
    assert frozen_versions() == list(range(1, LATEST_VERSION))
    assert [m.version for m in schema.MIGRATIONS] == list(range(1, LATEST_VERSION + 1))


def test_frozen_schemas_are_what_the_migrations_made() -> None:
    # A released migration must never change; the frozen copy is what it was.
    for version in frozen_versions():
        text = (FROZEN / f"v{version}.sql").read_text(encoding="utf-8")
        for migration in schema.MIGRATIONS[:version]:
            assert migration.sql.strip() in text, f"migration {migration.version} was edited after release"


def test_a_new_database_is_created_at_the_latest_version(tmp_path: Path) -> None:
    with Store.open(tmp_path / "hearth.db") as store:
        assert store.report.created and store.report.migrated_from is None and store.report.backup_path is None
        with store.db.read() as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert not (tmp_path / "backups").exists()


@pytest.mark.parametrize("version", frozen_versions())
def test_migrating_from_an_earlier_version(tmp_path: Path, version: int) -> None:
    fresh = tmp_path / "fresh" / "hearth.db"
    Store.open(fresh).close()
    path = tmp_path / "old" / "hearth.db"
    path.parent.mkdir()
    build_old_database(path, version)

    with Store.open(path, clock=FakeClock()) as store:
        report = store.report
        assert report.migrated_from == version and not report.created
        assert report.backup_path is not None and report.backup_path.parent == path.parent / "backups"
        # The old data is all there and works with today's API.
        conv = store.conversations.get(1)
        assert (conv.title, conv.pinned, conv.model, conv.settings, conv.ui_state) == (
            "Old chat", True, "old.gguf", {"temperature": 0.7}, {})
        branch = store.messages.active_branch(1)
        assert [m.content for m in branch] == ["What is a quokka?", "A small marsupial from Rottnest Island."]
        assert branch[1].run_info is not None and branch[1].run_info.tokens == 9
        assert store.messages.siblings(2) == (0, 2)
        assert store.recovered_message_ids == [3]
        assert store.messages.get(3).status is MessageStatus.INTERRUPTED
        assert store.attachments.for_message(1)[0].file.extracted_text == "hey"
        # Search covers messages written before search existed.
        assert [h.message_id for h in store.search.messages("marsupial")] == [2]
        assert store.integrity_check() == []
        with store.db.read() as conn:
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        # And new data goes in as usual.
        msg = store.messages.add_user_message(1, "Are they friendly?")
        assert msg.parent_id == 2

    # Migrated and fresh databases have the same schema, object for object.
    assert schema_of(path) == schema_of(fresh)

    # The backup is the untouched old database.
    backup = sqlite3.connect(report.backup_path)
    assert backup.execute("PRAGMA user_version").fetchone()[0] == version
    assert backup.execute("SELECT content FROM messages WHERE id = 3").fetchone()[0] == "A quokka is"
    assert backup.execute("SELECT status FROM messages WHERE id = 3").fetchone()[0] == "streaming"
    backup.close()

    # Opening again migrates nothing and backs up nothing.
    with Store.open(path) as store:
        assert store.report.migrated_from is None
    assert len(list((path.parent / "backups").iterdir())) == 1


def test_a_database_from_a_newer_hearth_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "hearth.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreTooNewError) as info:
        Store.open(path)
    assert "newer version of Hearth" in str(info.value)
    assert path.read_bytes() == before


def test_a_failing_migration_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "hearth.db"
    with Store.open(path) as store:
        conv = store.conversations.create(title="precious")
    broken = Migration(LATEST_VERSION + 1, "broken", "CREATE TABLE extra (x);\nINSERT INTO no_such_table VALUES (1);")
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    monkeypatch.setattr(schema, "LATEST_VERSION", LATEST_VERSION + 1)
    with pytest.raises(StoreError):
        Store.open(path)
    monkeypatch.undo()
    with Store.open(path) as store:
        with store.db.read() as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
            assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'extra'").fetchone()[0] == 0
        assert store.conversations.get(conv.id).title == "precious"
    # The backup taken before the attempt is there too.
    assert len(list((tmp_path / "backups").iterdir())) == 1


def test_backup_to_copies_a_live_database(tmp_path: Path) -> None:
    with Store.open(tmp_path / "hearth.db") as store:
        conv = store.conversations.create(title="copied")
        dest = store.backup_to(tmp_path / "copy.db")
        with pytest.raises(StoreError):
            store.backup_to(dest)  # never over an existing file
    with Store.open(dest) as copy:
        assert copy.conversations.get(conv.id).title == "copied"
