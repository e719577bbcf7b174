"""The SQLite connection: opening, checking, migrating, transactions, and turning SQLite's errors into ours.

One ``Database`` per process holds one connection. Every read and write goes through it under one lock, so the
app has exactly one writer; a second process (another Hearth that did not heed the instance lock, a backup tool)
waits up to ``busy_timeout_s`` and then gets ``StoreBusyError`` in plain words, never "database is locked".

Durability: WAL journal with ``synchronous=NORMAL``. A committed transaction survives the app being killed (the
kill test proves it); after a power cut the last transactions may be lost but the file stays consistent.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hearth.core.errors import StoreBusyError, StoreCorruptError, StoreError, StoreTooNewError
from hearth.core.store import schema

SQLITE_MAGIC = b"SQLite format 3\x00"
SIDE_FILES = ("-wal", "-shm", "-journal")

# Extended result codes share the primary code in their low byte.
_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_FULL_CODE = 13
_CORRUPT_WORDS = ("malformed", "not a database", "file is encrypted", "corrupt")


@dataclass(frozen=True)
class OpenReport:
    """What happened while opening, for the GUI to mention.

    Attributes:
        created: the file did not exist or was empty; a new database was made.
        migrated_from: the schema version before migrating, or None when no migration ran.
        backup_path: the copy taken before migrating, or None.
    """

    created: bool
    migrated_from: int | None
    backup_path: Path | None


class Database:
    """One connection to the conversation database, shared by the store's parts under a lock.

    Use ``read()`` for queries and ``write()`` for changes; both translate SQLite's errors into ``StoreError``
    subclasses. ``write()`` blocks may nest; the outermost one owns the transaction.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, report: OpenReport) -> None:
        self._conn = conn
        self.path = path
        self.report = report
        self._lock = threading.RLock()
        self._depth = 0

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        busy_timeout_s: float = 5.0,
        check: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> Database:
        """Open (creating or migrating as needed) the database at ``path``.

        Args:
            path: the database file; its folder is created if missing.
            busy_timeout_s: how long to wait for another process's write before giving up.
            check: run SQLite's ``quick_check`` so a damaged file is found now, not in the middle of a chat.
            clock: names the backup file taken before a migration.

        Raises:
            StoreCorruptError: the file is damaged or not a database (see ``quarantine``).
            StoreTooNewError: a newer Hearth wrote it; it is left untouched.
            StoreBusyError: another process held it for longer than ``busy_timeout_s``.
            StoreError: anything else (a folder in the way, no permission, disk full).
        """
        path = Path(path)
        _check_file(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise _translate(exc, path) from exc
        try:
            conn.row_factory = sqlite3.Row
            report = _prepare(conn, path, check=check, clock=clock)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, (sqlite3.Error, OSError)):
                raise _translate(exc, path) from exc
            raise
        return cls(conn, path, report)

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection for queries, under the lock."""
        with self._lock:
            try:
                yield self._conn
            except (sqlite3.Error, OSError) as exc:
                raise _translate(exc, self.path) from exc

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """The connection inside a write transaction (``BEGIN IMMEDIATE``), committed when the block ends.

        IMMEDIATE takes the write lock up front, where SQLite's busy timeout applies; a deferred transaction that
        upgrades later can fail at once with "database is locked".
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from exc
            self._depth = 1
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                if isinstance(exc, (sqlite3.Error, OSError)):
                    raise _translate(exc, self.path) from exc
                raise
            finally:
                self._depth = 0

    def integrity_check(self) -> list[str]:
        """SQLite's full ``integrity_check``: [] when the file is sound, else its complaints."""
        with self.read() as conn:
            rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
        return [] if rows == ["ok"] else rows

    def backup_to(self, dest: Path) -> Path:
        """Copy the whole database, consistently, to ``dest`` (a new file) with SQLite's backup API."""
        with self.read() as conn:
            _backup(conn, dest)
        return dest

    def close(self) -> None:
        """Close the connection; SQLite checkpoints the WAL into the main file when the last one closes."""
        with self._lock:
            self._conn.close()


def quarantine(path: Path, *, clock: Callable[[], float] = time.time) -> Path:
    """Move a damaged database (and its WAL and shared-memory files) aside; delete nothing.

    The WAL may hold the latest committed conversations, so it travels with the main file.

    Returns:
        The new path of the main file (``hearth.db.damaged-20250101-120000``); its side files get the same name
        plus ``-wal``/``-shm``.
    """
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock()))
    n = 0
    while True:
        suffix = f".damaged-{stamp}" + (f"-{n}" if n else "")
        target = path.with_name(path.name + suffix)
        if not any(Path(str(target) + side).exists() for side in ("", *SIDE_FILES)):
            break
        n += 1
    try:
        for side in SIDE_FILES:
            side_path = Path(str(path) + side)
            if side_path.exists():
                os.replace(side_path, str(target) + side)
        if path.exists():
            os.replace(path, target)
    except OSError as exc:
        raise StoreError(
            "The damaged conversation database could not be moved aside.",
            hint=f"Move or rename {path} yourself, then start Hearth again.",
            details=str(exc),
        ) from exc
    return target


def _check_file(path: Path) -> None:
    """Refuse what SQLite would open and then fail on later: a folder, or a file that is not SQLite."""
    if path.is_dir():
        raise StoreError(
            "The conversation database could not be opened: its path is a folder.",
            hint=f"Move the folder {path} out of the way, then start Hearth again.",
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _translate(exc, path) from exc
    if size == 0:
        return
    try:
        with path.open("rb") as f:
            header = f.read(100)
    except OSError as exc:
        raise _translate(exc, path) from exc
    if not header.startswith(SQLITE_MAGIC) or len(header) < 100:
        raise _corrupt(path, "the file is not an SQLite database (its header is wrong or cut short)")


def _prepare(
    conn: sqlite3.Connection, path: Path, *, check: bool, clock: Callable[[], float]
) -> OpenReport:
    conn.execute("PRAGMA foreign_keys = ON")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(
            "The conversation database could not switch to its safe journal mode.",
            hint="Make sure the data folder is on a local disk (not a network share).",
            details=f"journal_mode stayed {mode!r}",
        )
    conn.execute("PRAGMA synchronous = NORMAL")
    if check:
        problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise _corrupt(path, "; ".join(problems[:5]))
    version = schema.user_version(conn)
    if version > schema.LATEST_VERSION:
        raise StoreTooNewError(
            "Your conversations were saved by a newer version of Hearth.",
            hint="Install the newer Hearth again; this version leaves the file untouched.",
            details=f"schema version {version}, this Hearth knows up to {schema.LATEST_VERSION}",
        )
    steps = schema.pending(version)
    created = version == 0 and not _has_tables(conn)
    if not steps:
        return OpenReport(created=False, migrated_from=None, backup_path=None)
    backup_path = None
    if not created:
        backup_path = _backup_path(path, version, clock)
        _backup(conn, backup_path)
    for step in steps:
        schema.apply(conn, step)
    return OpenReport(created=created, migrated_from=None if created else version, backup_path=backup_path)


def _has_tables(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None


def _backup_path(path: Path, version: int, clock: Callable[[], float]) -> Path:
    folder = path.parent / "backups"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock()))
    n = 0
    while True:
        name = f"{path.stem}-v{version}-{stamp}" + (f"-{n}" if n else "") + (path.suffix or ".db")
        candidate = folder / name
        if not candidate.exists():
            return candidate
        n += 1


def _backup(conn: sqlite3.Connection, dest: Path) -> None:
    """Write a consistent copy of the database to a new file (never over an existing one)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        raise StoreError("A backup file with that name already exists.", details=str(dest))
    partial = dest.with_name(dest.name + ".partial")
    target = sqlite3.connect(str(partial))
    try:
        conn.backup(target)
    except BaseException:
        target.close()
        partial.unlink(missing_ok=True)
        raise
    target.close()
    os.replace(partial, dest)


def _error_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return int(code) & 0xFF if isinstance(code, int) else None


def _corrupt(path: Path, details: str) -> StoreCorruptError:
    return StoreCorruptError(
        "Your conversation database is damaged and cannot be opened.",
        hint="Hearth can move the damaged file aside (nothing is deleted) and start a new, empty one.",
        details=f"{path}: {details}",
        path=str(path),
    )


def _translate(exc: BaseException, path: Path) -> StoreError:
    """Our error for an SQLite or OS error, in plain words."""
    if isinstance(exc, StoreError):
        return exc
    code = _error_code(exc)
    text = str(exc)
    lowered = text.lower()
    if code in _CORRUPT_CODES or (code is None and any(w in lowered for w in _CORRUPT_WORDS)):
        return _corrupt(path, text)
    if code in _BUSY_CODES or (code is None and "locked" in lowered):
        return StoreBusyError(
            "Your conversations are in use by another program, so this change could not be saved.",
            hint="If another Hearth window is open, close it, then try again.",
            details=f"{path}: {text}",
        )
    if code == _FULL_CODE or "disk is full" in lowered or (isinstance(exc, OSError) and exc.errno == 28):
        return StoreError(
            "Your conversations could not be saved: the disk is full.",
            hint="Free some disk space, then try again.",
            details=f"{path}: {text}",
        )
    return StoreError(
        "The conversation database could not be read or written.",
        hint=f"Check that {path.parent} exists and that you may write to it.",
        details=f"{path}: {type(exc).__name__}: {text}",
    )
