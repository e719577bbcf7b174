"""Pause and cancel for one download, in one place: asked from any thread, obeyed by the thread that downloads.

The GUI's Pause and Cancel buttons, the CLI's Ctrl+C handler and tests all ask through a ``DownloadControl``; the
download manager obeys it within one chunk. The GUI's task creates the control before the download's file list is
known and hands it to ``DownloadManager.prepare``, so a pause asked while the list is still being read is not lost.

A pause belongs to the run it was asked during, or to the next one if none is running: once a run has stopped for
it, the next run starts afresh. A cancel is final.
"""

from __future__ import annotations

import threading
import time


class DownloadControl:
    """The pause and cancel requests of one download (every method is safe from any thread)."""

    def __init__(self) -> None:
        self._pause = threading.Event()
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._pause_obeyed = False

    # --- asking ----------------------------------------------------------------------------------------------------

    def pause(self) -> None:
        """Ask the download to stop where it is, keeping its partial files."""
        with self._lock:
            self._pause_obeyed = False
            self._pause.set()

    def resume(self) -> None:
        """Forget a pause, before a stopped download is started again (not while a run is in progress)."""
        with self._lock:
            self._pause_obeyed = False
            self._pause.clear()

    def cancel(self) -> None:
        """Ask the download to stop and delete what it fetched."""
        self._cancel.set()

    @property
    def pause_requested(self) -> bool:
        return self._pause.is_set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def stopping(self) -> bool:
        """A pause or a cancel was asked for (and, for a pause, no run has stopped for it yet or since)."""
        return self._pause.is_set() or self._cancel.is_set()

    # --- obeying (the downloading thread) -------------------------------------------------------------------------

    def begin_run(self) -> bool:
        """A run starts: forget a pause an earlier run already stopped for.

        Returns:
            Whether the run must stop at once (a pause or cancel asked before it started).
        """
        with self._lock:
            if self._pause_obeyed:
                self._pause.clear()
                self._pause_obeyed = False
        return self.stopping

    def paused(self) -> None:
        """The run stopped for the pause (the next run will not stop for it again)."""
        with self._lock:
            self._pause_obeyed = self._pause.is_set()

    def wait(self, seconds: float) -> None:
        """Sleep that a pause or cancel interrupts (between retries of a failed request)."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            self._cancel.wait(min(left, 0.05))
