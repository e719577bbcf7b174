"""Rescue what can still be read from a damaged database into a working store.

After ``quarantine`` moved a damaged file aside and a fresh store was opened, ``salvage`` reads the damaged copy
conversation by conversation and imports each one it can read. A conversation on a damaged page is skipped; a
message whose parent cannot be read becomes a first message of its own branch, so its text is kept. Attachment
copies are still in the attachments folder and are linked again by content hash.

It works on a temporary copy of the damaged file and its WAL, so the quarantined original is never modified.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hearth.core.errors import StoreError
from hearth.core.store.export import FORMAT, FORMAT_VERSION, import_conversation
from hearth.core.store.records import StoredFile, loads_object
from hearth.core.store.store import Store


@dataclass(frozen=True)
class SalvageReport:
    """What was rescued.

    Attributes:
        conversations: conversations imported into the store.
        messages: messages imported.
        lost_conversations: conversations that could not be read at all.
        error: why nothing could be read (e.g. not a database at all), else "".
    """

    conversations: int
    messages: int
    lost_conversations: int
    error: str = ""


def salvage(store: Store, damaged: Path) -> SalvageReport:
    """Import every readable conversation of the damaged database file ``damaged`` into ``store``.

    Conversations already in the store (same uuid) are skipped, so running it twice does no harm.
    """
    with tempfile.TemporaryDirectory(prefix="hearth-salvage-") as tmp:
        copy = Path(tmp) / "damaged.db"
        shutil.copyfile(damaged, copy)
        wal = Path(str(damaged) + "-wal")  # the newest commits; the shared-memory index is rebuilt from it
        if wal.exists():
            shutil.copyfile(wal, str(copy) + "-wal")
        try:
            conn = sqlite3.connect(copy)
        except sqlite3.Error as exc:
            return SalvageReport(0, 0, 0, error=str(exc))
        conn.row_factory = sqlite3.Row
        try:
            return _rescue(store, conn)
        finally:
            conn.close()


def _rescue(store: Store, conn: sqlite3.Connection) -> SalvageReport:
    try:
        ids = _conversation_ids(conn)
    except sqlite3.Error as exc:
        return SalvageReport(0, 0, 0, error=str(exc))
    saved = messages = lost = 0
    for conv_id in ids:
        try:
            data, files = _read_conversation(store, conn, conv_id)
            if data is None:
                continue
            imported = import_conversation(store, data, files=files)
        except (sqlite3.Error, StoreError, ValueError, KeyError, TypeError):
            # A damaged page, or a row that came back as nonsense: this conversation is lost, the rest go on.
            lost += 1
            continue
        if imported is not None:
            saved += 1
            messages += len(data["messages"])
    return SalvageReport(saved, messages, lost)


def _conversation_ids(conn: sqlite3.Connection) -> list[int]:
    """Every conversation id the file may hold, even if the table's own pages are damaged."""
    try:
        return [int(r[0]) for r in conn.execute("SELECT id FROM conversations ORDER BY id")]
    except sqlite3.Error:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'conversations'").fetchone()
        return list(range(1, int(row[0]) + 1)) if row else []


def _read_conversation(
    store: Store, conn: sqlite3.Connection, conv_id: int
) -> tuple[dict[str, Any] | None, dict[str, StoredFile]]:
    row = conn.execute("SELECT * FROM conversations WHERE id = ?", (conv_id,)).fetchone()
    if row is None:
        return None, {}
    conv = dict(row)
    rows = [dict(r) for r in conn.execute("SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conv_id,))]
    present = {r["id"] for r in rows}
    messages = []
    for r in rows:
        run_info = loads_object(r.get("run_info"))
        messages.append(
            {
                "id": r["id"],
                "parent": r["parent_id"] if r["parent_id"] in present else None,
                "role": r["role"],
                "content": r["content"],
                "status": r["status"],
                "error": r.get("error") or "",
                "created": r["created"],
                "updated": r["updated"],
                "run_info": run_info or None,
                "attachments": _attachments(conn, r["id"]),
            }
        )
    files = _files(store, conn, {a["sha256"] for m in messages for a in m["attachments"]})
    data = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "conversation": {
            "uuid": conv["uuid"],
            "title": conv["title"],
            "title_source": conv["title_source"],
            "created": conv["created"],
            "updated": conv["updated"],
            "pinned": bool(conv["pinned"]),
            "model": conv["model"],
            "system_prompt": conv["system_prompt"],
            "settings": loads_object(conv.get("settings")),
            "ui_state": loads_object(conv.get("ui_state")),
        },
        "selected_leaf": conv["selected_leaf_id"] if conv["selected_leaf_id"] in present else None,
        "messages": messages,
    }
    return data, files


def _attachments(conn: sqlite3.Connection, message_id: int) -> list[dict[str, Any]]:
    try:
        rows = conn.execute(
            "SELECT sha256, file_name FROM attachments WHERE message_id = ? ORDER BY position, id", (message_id,)
        ).fetchall()
    except sqlite3.Error:
        return []  # the text matters more than the list of files
    return [{"sha256": r["sha256"], "file_name": r["file_name"]} for r in rows]


def _files(store: Store, conn: sqlite3.Connection, hashes: set[str]) -> dict[str, StoredFile]:
    """File records for these hashes, pointing at the copies still in the attachments folder."""
    found: dict[str, StoredFile] = {}
    for sha in hashes:
        existing = store.attachments.get_file(sha)
        if existing is not None:
            found[sha] = existing
            continue
        try:
            row = conn.execute("SELECT * FROM files WHERE sha256 = ?", (sha,)).fetchone()
        except sqlite3.Error:
            row = None
        if row is None:
            continue
        record = StoredFile.from_row(row)
        if store.attachments.path_of(record) is None:
            record = replace(record, stored_path="")
        found[sha] = record
    return found
