"""Attached files: one copy and one extraction per distinct content, shared by every message that attaches it.

The flow for the documents code:

1. ``store_file(path, mime=...)`` copies the file into the attachments folder (hashing while it copies) and returns
   its ``StoredFile``; the same content stored twice returns the existing one.
2. If ``file.extracted`` is False, read the text and call ``set_extraction(sha256, text=..., page_count=...,
   extractor="pypdf 5.1")``. A file already read is never read again (unless its extractor changed and you choose
   to redo it).
3. The composer passes ``NewAttachment(sha256, file_name)`` with the user message; ``MessageTree`` links them.

Copies nobody refers to any more are deleted when their last conversation is purged; ``purge_orphans`` removes
files stored but never sent (e.g. attached in the composer, then removed).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO

from hearth.core.errors import StoreError, StoreNotFoundError
from hearth.core.store.db import Database
from hearth.core.store.records import Attachment, NewAttachment, StoredFile

_CHUNK = 1 << 20
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,10}$")
_FILE_COLUMNS = "sha256, size, mime, stored_path, extracted_text, reference, page_count, extractor, created"


class Attachments:
    """Files attached to messages and their copies under ``folder``."""

    def __init__(self, db: Database, folder: Path, clock: Callable[[], float]) -> None:
        self._db = db
        self.folder = Path(folder)
        self._clock = clock

    def store_file(self, source: Path, *, mime: str = "") -> StoredFile:
        """Copy a file into the attachments folder (once per distinct content) and record it.

        Raises:
            StoreError: the file could not be read or the copy could not be written.
        """
        source = Path(source)
        try:
            with source.open("rb") as src:
                return self.store_stream(src, suffix=source.suffix, mime=mime)
        except OSError as exc:
            raise StoreError(
                f"The file {source.name} could not be copied into Hearth.",
                hint="Check that the file still exists and that there is free disk space.",
                details=str(exc),
            ) from exc

    def store_bytes(self, data: bytes, *, suffix: str = "", mime: str = "") -> StoredFile:
        """Record content that has no file of its own (a pasted image, an imported archive's copy)."""
        try:
            return self.store_stream(io.BytesIO(data), suffix=suffix, mime=mime)
        except OSError as exc:
            raise StoreError("An attachment could not be saved.", details=str(exc)) from exc

    def get_file(self, sha256: str) -> StoredFile | None:
        """The stored file with this content, or None."""
        with self._db.read() as conn:
            row = conn.execute(f"SELECT {_FILE_COLUMNS} FROM files WHERE sha256 = ?", (sha256,)).fetchone()
        return StoredFile.from_row(row) if row else None

    def path_of(self, file: StoredFile) -> Path | None:
        """Where the copy is on disk, or None if there is none (missing or never had one)."""
        if not file.stored_path:
            return None
        path = self.folder / file.stored_path
        return path if path.is_file() else None

    def set_extraction(
        self,
        sha256: str,
        *,
        text: str | None,
        page_count: int | None = None,
        extractor: str = "",
        reference: str = "",
    ) -> StoredFile:
        """Record what the documents code read out of a stored file.

        Args:
            sha256: the stored file.
            text: the extracted text (None: not extracted, e.g. an image kept by ``reference``).
            page_count: pages, if the format has them.
            extractor: name and version of what read it.
            reference: for content kept by reference rather than text.
        """
        with self._db.write() as conn:
            cur = conn.execute(
                "UPDATE files SET extracted_text = ?, page_count = ?, extractor = ?, reference = ?"
                " WHERE sha256 = ?",
                (text, page_count, extractor, reference, sha256),
            )
        if cur.rowcount == 0:
            raise StoreNotFoundError("That attachment is no longer stored.", details=f"file {sha256}")
        found = self.get_file(sha256)
        assert found is not None
        return found

    def for_message(self, message_id: int, *, contents: bool = True) -> list[Attachment]:
        """A message's attachments in the order they were attached (``contents``: see ``for_messages``)."""
        return self.for_messages([message_id], contents=contents).get(message_id, [])

    def for_messages(self, message_ids: Iterable[int], *, contents: bool = True) -> dict[int, list[Attachment]]:
        """Attachments of several messages at once (e.g. a whole branch), keyed by message id.

        Args:
            message_ids: the messages.
            contents: False leaves out each file's extracted text and stored reading (``reference`` is kept only
                when it is a short marker such as "image"): enough to show the attachments, and it does not turn
                megabytes of a document's text into Python strings on the window's thread.
        """
        ids = list(message_ids)
        found: dict[int, list[Attachment]] = {}
        columns = f"f.{_FILE_COLUMNS.replace(', ', ', f.')}"
        if not contents:
            columns = columns.replace("f.extracted_text", "NULL AS extracted_text").replace(
                "f.reference", "CASE WHEN f.reference = 'image' THEN 'image' ELSE '' END AS reference")
        with self._db.read() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                rows = conn.execute(
                    f"SELECT a.id AS attachment_id, a.message_id, a.file_name, {columns}"
                    f" FROM attachments a JOIN files f ON f.sha256 = a.sha256"
                    f" WHERE a.message_id IN ({marks}) ORDER BY a.message_id, a.position, a.id",
                    chunk,
                ).fetchall()
                for row in rows:
                    found.setdefault(row["message_id"], []).append(
                        Attachment(
                            id=row["attachment_id"],
                            message_id=row["message_id"],
                            file_name=row["file_name"],
                            file=StoredFile.from_row(row),
                        )
                    )
        return found

    def link(self, conn: sqlite3.Connection, message_id: int, items: Sequence[NewAttachment]) -> None:
        """Attach stored files to a message, inside the caller's write transaction."""
        for position, item in enumerate(items):
            if conn.execute("SELECT 1 FROM files WHERE sha256 = ?", (item.sha256,)).fetchone() is None:
                raise StoreNotFoundError(
                    f"The attachment {item.file_name} is no longer stored; attach it again.",
                    details=f"file {item.sha256}",
                )
            conn.execute(
                "INSERT INTO attachments (message_id, sha256, file_name, position) VALUES (?, ?, ?, ?)",
                (message_id, item.sha256, item.file_name, position),
            )

    def ensure_record(
        self,
        conn: sqlite3.Connection,
        file: StoredFile,
    ) -> None:
        """Insert a file's record if its content is not stored yet (import), inside the caller's transaction."""
        conn.execute(
            f"INSERT OR IGNORE INTO files ({_FILE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                file.sha256,
                file.size,
                file.mime,
                file.stored_path,
                file.extracted_text,
                file.reference,
                file.page_count,
                file.extractor,
                file.created,
            ),
        )

    def drop_unreferenced(self, conn: sqlite3.Connection, hashes: Iterable[str]) -> list[str]:
        """Delete the records of these files that no attachment uses any more, inside the caller's transaction.

        Returns the stored paths whose copies the caller deletes after committing (``remove_copies``).
        """
        paths: list[str] = []
        for sha in set(hashes):
            row = conn.execute(
                "SELECT stored_path FROM files WHERE sha256 = ?"
                " AND NOT EXISTS (SELECT 1 FROM attachments WHERE sha256 = ?)",
                (sha, sha),
            ).fetchone()
            if row is not None:
                conn.execute("DELETE FROM files WHERE sha256 = ?", (sha,))
                if row[0]:
                    paths.append(row[0])
        return paths

    def remove_copies(self, stored_paths: Iterable[str]) -> None:
        """Delete attachment copies (after their records are gone). A copy already missing is fine."""
        for rel in stored_paths:
            path = self.folder / rel
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            with contextlib.suppress(OSError):
                path.parent.rmdir()  # only succeeds when the shard folder is empty

    def purge_orphans(self, *, older_than_s: float = 24 * 3600) -> int:
        """Delete stored files no message uses, stored at least ``older_than_s`` ago. Returns how many."""
        cutoff = self._clock() - older_than_s
        with self._db.write() as conn:
            hashes = [
                r[0]
                for r in conn.execute(
                    "SELECT sha256 FROM files WHERE created <= ?"
                    " AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.sha256 = files.sha256)",
                    (cutoff,),
                )
            ]
            paths = self.drop_unreferenced(conn, hashes)
        self.remove_copies(paths)
        return len(hashes)

    def store_stream(self, src: IO[bytes], *, suffix: str = "", mime: str = "") -> StoredFile:
        """Record content read from a binary stream (hashed while copied; stored once per distinct content).

        Raises:
            OSError: reading or writing failed (``store_file`` and ``store_bytes`` turn it into ``StoreError``).
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.folder, prefix=".incoming-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            existing = self.get_file(sha)
            if existing is not None and self.path_of(existing) is not None:
                return existing
            suffix = suffix.lower() if _SAFE_SUFFIX.match(suffix) else ""
            rel = f"{sha[:2]}/{sha}{suffix}"
            (self.folder / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, self.folder / rel)
        finally:
            tmp.unlink(missing_ok=True)
        with self._db.write() as conn:
            if existing is None:
                self.ensure_record(
                    conn,
                    StoredFile(
                        sha256=sha,
                        size=size,
                        mime=mime,
                        stored_path=rel,
                        extracted_text=None,
                        reference="",
                        page_count=None,
                        extractor="",
                        created=self._clock(),
                    ),
                )
            else:
                conn.execute("UPDATE files SET stored_path = ? WHERE sha256 = ?", (rel, sha))
        found = self.get_file(sha)
        assert found is not None
        return found

