"""One downloading process per repository folder: two would write the same ``.part`` files.

The lock is ``<folder>/.hearth/lock``, held with the same operating-system lock as the data folder's
``InstanceLock`` (``flock`` on POSIX, ``msvcrt.locking`` on Windows). The system drops it when the holder ends,
however it ends, so a crash leaves nothing stale, and a process that later gets the same PID cannot be mistaken for
the holder (a PID file could be fooled that way). The holder's PID is written into the file for messages only.

Asking whether a folder is locked (``lock_owner``) tries the lock for an instant. A download that starts in that
instant would find it taken, so ``FolderLock.acquire`` tries a few times over a fraction of a second before it gives
up: a probe holds the lock for microseconds, a download for its whole run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from hearth.core.errors import DownloadError, HearthError
from hearth.core.instance import InstanceLock
from hearth.core.models.download.state import STATE_DIR

LOCK_NAME = "lock"
# How long a download waits out a probe of its lock before it says another download holds it.
_ATTEMPTS = 10
_RETRY_S = 0.03


def _lock_for(folder: Path) -> InstanceLock:
    return InstanceLock(folder / STATE_DIR, LOCK_NAME)


def lock_owner(folder: Path) -> int | None:
    """Whether a download into ``folder`` is running now (in this process or another).

    Returns:
        The holder's process id (0 if it could not be read), or None when nobody holds the lock.
    """
    lock = _lock_for(folder)
    if not lock.taken():
        return None
    return lock.holder_pid() or 0


class FolderLock:
    """The lock a download holds on its repository folder while it runs or discards files.

    Args:
        folder: the repository folder (``<models>/<owner>/<repo>``).
    """

    def __init__(self, folder: Path) -> None:
        self._lock = _lock_for(folder)

    @property
    def path(self) -> Path:
        return self._lock.path

    @property
    def held(self) -> bool:
        return self._lock.held

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            DownloadError: another download holds it (this app's, or another Hearth's, named by its process id);
                or the lock file cannot be created.
        """
        for attempt in range(_ATTEMPTS):
            try:
                if self._lock.try_acquire():
                    return
            except HearthError as exc:  # the instance lock's words are about the data folder: say it of the download
                raise DownloadError("The download folder could not be locked.", hint=f"Check that you may write to "
                                    f"{self.path.parent}.", details=str(exc)) from exc
            if attempt + 1 < _ATTEMPTS:
                time.sleep(_RETRY_S)
        owner = self._lock.holder_pid()
        by = " by this app." if owner == os.getpid() else \
            (f" by another Hearth (process {owner})." if owner else " by another Hearth.")
        raise DownloadError("This model is already being downloaded" + by,
                            hint="Wait for that download, or stop it first.", details=f"{self.path} is locked")

    def release(self) -> None:
        """Give the lock back (the system also drops it when the process ends)."""
        self._lock.release()

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
