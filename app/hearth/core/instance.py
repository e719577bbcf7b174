"""One Hearth per data folder: a lock file the operating system releases when the process ends, however it ends.

A second Hearth that finds the lock taken tells the user politely that Hearth is already running (the GUI may then
ask the first one to show its window). The lock is ``flock`` on POSIX and ``msvcrt.locking`` on Windows; both are
dropped by the OS when the holder dies, so a crash never leaves a stale lock behind, and there is no PID file
to clean up.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import IO

from hearth.core.errors import AlreadyRunningError, HearthError

LOCK_FILE_NAME = "hearth.lock"
# The lock covers byte 0; the holder's process id is written after it, where Windows still lets others read.
_PID_OFFSET = 1


class InstanceLock:
    """The data folder's lock.

    Args:
        data_dir: the folder the lock guards (created if missing).
        name: the lock file's name.
    """

    def __init__(self, data_dir: Path, name: str = LOCK_FILE_NAME) -> None:
        self.path = Path(data_dir) / name
        self._file: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free. Returns False when another process holds it."""
        if self._file is not None:
            return True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            f = os.fdopen(fd, "r+b")  # kept open for as long as the lock is held
        except OSError as exc:
            raise HearthError(
                "Hearth could not create its lock file.",
                hint=f"Check that you may write to {self.path.parent}.",
                details=str(exc),
            ) from exc
        if not _lock(f):
            f.close()
            return False
        self._file = f
        with contextlib.suppress(OSError):
            f.seek(_PID_OFFSET)
            f.truncate()
            f.write(str(os.getpid()).encode("ascii"))
            f.flush()
        return True

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            AlreadyRunningError: another Hearth uses this data folder.
        """
        if not self.try_acquire():
            pid = self.holder_pid()
            raise AlreadyRunningError(
                "Hearth is already running.",
                hint="Switch to the open Hearth window, or close it before starting another.",
                details=f"{self.path} is locked" + (f" by process {pid}" if pid else ""),
            )

    def holder_pid(self) -> int | None:
        """The process id the holder wrote, if readable."""
        try:
            with open(self.path, "rb") as f:
                f.seek(_PID_OFFSET)
                text = f.read(32).decode("ascii", "ignore").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def taken(self) -> bool:
        """Whether some holder (another process, or another ``InstanceLock`` on the same file here) has the lock now.

        Asks by trying the lock for an instant, without creating or writing anything; a lock this object holds
        counts as taken.
        """
        if self._file is not None:
            return True
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - closed below, after the lock is given back
        except OSError:
            return False  # no lock file: nobody ever held it
        try:
            if not _lock(f):
                return True
            with contextlib.suppress(OSError):
                _unlock(f)
            return False
        finally:
            f.close()

    def release(self) -> None:
        """Give the lock back (it is also released when the process ends)."""
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            _unlock(self._file)
        self._file.close()
        self._file = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


if sys.platform == "win32":
    import msvcrt

    def _lock(f: IO[bytes]) -> bool:
        f.seek(0)
        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(f: IO[bytes]) -> None:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(f: IO[bytes]) -> bool:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:
            raise HearthError(
                "Hearth could not lock its data folder.",
                hint="The data folder may be on a network drive that does not support locks.",
                details=str(exc),
            ) from exc
        return True

    def _unlock(f: IO[bytes]) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
