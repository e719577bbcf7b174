"""Everything in one file: a zip of every conversation (all branches, as our JSON) and every attachment copy.

Layout (``"format": "hearth.archive"``, ``"version": 1``)::

    manifest.json                 format, version, counts
    conversations/<uuid>.json     one per conversation (see export.py)
    files.json                    stored files: hash, size, type, extracted text, pages, and the member holding the copy
    files/<sha256><suffix>        the copies

The archive is written to ``<dest>.partial`` and renamed at the end, so a full disk or a crash never leaves a
half archive under the chosen name. Import reads members by the names our manifest gives, verifies each file's
hash, and never writes a member's path to disk.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from hearth.core.errors import StoreError
from hearth.core.store.export import IfExists, conversation_to_json, import_conversation
from hearth.core.store.records import StoredFile, dumps
from hearth.core.store.store import Store

ARCHIVE_FORMAT = "hearth.archive"
ARCHIVE_VERSION = 1

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ArchiveSummary:
    """What an export or import handled.

    Attributes:
        conversations: conversations written or imported.
        skipped: conversations not imported because they were already here.
        files: attachment copies written or restored.
        missing_files: attachments whose copy was missing (or, on import, damaged) and so not included.
        conversation_ids: on import, the new conversations' ids.
    """

    conversations: int
    skipped: int
    files: int
    missing_files: int
    conversation_ids: tuple[int, ...] = ()


def export_archive(store: Store, dest: Path, *, progress: Progress | None = None) -> ArchiveSummary:
    """Write every conversation (not those waiting in the undo window) and attachment to a zip at ``dest``.

    Args:
        store: the store.
        dest: the archive to write (replaced if it exists: the user chose it in a save dialog).
        progress: called with ``(done, total)`` conversations.
    """
    dest = Path(dest)
    partial = dest.with_name(dest.name + ".partial")
    conversations = store.conversations.list_all()
    with store.db.read() as conn:
        file_rows = [
            StoredFile.from_row(r)
            for r in conn.execute(
                "SELECT sha256, size, mime, stored_path, extracted_text, reference, page_count, extractor, created"
                " FROM files WHERE EXISTS (SELECT 1 FROM attachments a JOIN messages m ON m.id = a.message_id"
                " JOIN conversations c ON c.id = m.conversation_id"
                " WHERE a.sha256 = files.sha256 AND c.deleted_at IS NULL)"
            )
        ]
    written = missing = 0
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for done, conv in enumerate(conversations, start=1):
                data = conversation_to_json(store, conv.id, all_branches=True)
                zf.writestr(f"conversations/{conv.uuid}.json", json.dumps(data, ensure_ascii=False, indent=1))
                if progress:
                    progress(done, len(conversations))
            manifest_files = []
            for file in file_rows:
                entry = _file_entry(file)
                copy = store.attachments.path_of(file)
                if copy is not None:
                    member = f"files/{file.sha256}{PurePosixPath(file.stored_path).suffix}"
                    zf.write(copy, member, compress_type=zipfile.ZIP_STORED)
                    entry["member"] = member
                    written += 1
                else:
                    missing += 1
                manifest_files.append(entry)
            zf.writestr("files.json", json.dumps(manifest_files, ensure_ascii=False))
            zf.writestr(
                "manifest.json",
                dumps(
                    {
                        "format": ARCHIVE_FORMAT,
                        "version": ARCHIVE_VERSION,
                        "conversations": len(conversations),
                        "files": written,
                    }
                ),
            )
        os.replace(partial, dest)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(
            "The archive could not be written.",
            hint="Check that there is free space where you save it.",
            details=str(exc),
        ) from exc
    return ArchiveSummary(len(conversations), 0, written, missing)


def import_archive(
    store: Store, src: Path, *, if_exists: IfExists = "skip", progress: Progress | None = None
) -> ArchiveSummary:
    """Restore an archive made by ``export_archive``.

    Args:
        store: the store.
        src: the archive.
        if_exists: for a conversation already here (same uuid): "skip" it or import a "copy".
        progress: called with ``(done, total)`` conversations.

    Raises:
        StoreError: not a Hearth archive, a newer format, or unreadable.
    """
    try:
        with zipfile.ZipFile(src) as zf:
            manifest = _json_member(zf, "manifest.json")
            if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
                raise StoreError("This file is not a Hearth archive.", details=str(src))
            if not isinstance(manifest.get("version"), int) or manifest["version"] > ARCHIVE_VERSION:
                raise StoreError(
                    "This archive was made by a newer Hearth.", hint="Update Hearth, then import it again."
                )
            files, restored, damaged = _restore_files(store, zf)
            names = sorted(n for n in zf.namelist() if n.startswith("conversations/") and n.endswith(".json"))
            ids: list[int] = []
            skipped = 0
            for done, name in enumerate(names, start=1):
                conv_id = import_conversation(store, _json_member(zf, name), if_exists=if_exists, files=files)
                if conv_id is None:
                    skipped += 1
                else:
                    ids.append(conv_id)
                if progress:
                    progress(done, len(names))
    except (OSError, zipfile.BadZipFile, ValueError, KeyError) as exc:
        raise StoreError("The archive could not be read.", hint="It may be damaged.", details=str(exc)) from exc
    return ArchiveSummary(len(ids), skipped, restored, damaged, tuple(ids))


def _restore_files(store: Store, zf: zipfile.ZipFile) -> tuple[dict[str, StoredFile], int, int]:
    """Store the archive's copies (verified by hash) and their extracted text; returns records by hash."""
    entries = _json_member(zf, "files.json")
    found: dict[str, StoredFile] = {}
    restored = damaged = 0
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            continue
        sha = entry["sha256"]
        member = entry.get("member")
        stored = None
        if isinstance(member, str) and member in zf.namelist():
            with zf.open(member) as stream:
                stored = store.attachments.store_stream(
                    stream, suffix=PurePosixPath(member).suffix, mime=str(entry.get("mime", ""))
                )
            if stored.sha256 != sha:
                stored = None  # damaged in the archive; the stray copy is purged as an orphan later
                damaged += 1
            else:
                restored += 1
        if stored is not None and not stored.extracted and entry.get("extracted_text") is not None:
            stored = store.attachments.set_extraction(
                sha,
                text=str(entry["extracted_text"]),
                page_count=entry.get("page_count") if isinstance(entry.get("page_count"), int) else None,
                extractor=str(entry.get("extractor", "")),
                reference=str(entry.get("reference", "")),
            )
        if stored is not None:
            found[sha] = stored
    return found, restored, damaged


def _file_entry(file: StoredFile) -> dict[str, Any]:
    return {
        "sha256": file.sha256,
        "size": file.size,
        "mime": file.mime,
        "extracted_text": file.extracted_text,
        "reference": file.reference,
        "page_count": file.page_count,
        "extractor": file.extractor,
        "member": None,
    }


def _json_member(zf: zipfile.ZipFile, name: str) -> Any:
    with zf.open(name) as f:
        return json.loads(f.read().decode("utf-8"))
