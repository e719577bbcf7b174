"""Download progress: what the GUI's progress bar is given, and the throttling that produces it."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from hearth.core.models.download.job import DownloadJob
from hearth.core.models.download.state import DownloadState, FileState


@dataclass(frozen=True)
class FileProgress:
    path: str
    done: int
    total: int
    state: FileState


@dataclass(frozen=True)
class Progress:
    """A snapshot for a progress bar.

    Attributes:
        state: ``DOWNLOADING``, ``VERIFYING``, ``PAUSED``, ``READY``, ``CANCELLED`` or ``FAILED``.
        files: each file's bytes and state.
        done, total: bytes over all files.
        speed_bps: recent download speed (bytes per second).
        eta_s: seconds left at that speed (None when unknown).
        current: the file being worked on.
        message: what just happened, in words ("Connection lost; resuming…"), or "".
    """

    job_id: str
    state: DownloadState
    files: tuple[FileProgress, ...]
    done: int
    total: int
    speed_bps: float
    eta_s: float | None
    current: str | None
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[Progress], None]


class ProgressReporter:
    """Turns bytes into throttled ``Progress`` callbacks with a speed over the last few seconds."""

    def __init__(self, job: DownloadJob, callback: ProgressCallback | None, interval: float) -> None:
        self.job = job
        self.callback = callback
        self.interval = interval
        self.samples: deque[tuple[float, int]] = deque()
        self.received = 0
        self.last = 0.0
        self.current: str | None = None
        self.state = DownloadState.DOWNLOADING

    def advance(self, n: int, current: str) -> None:
        self.received += n
        self.current = current
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.emit(self.state)

    def emit(self, state: DownloadState, message: str = "", *, current: str | None = None) -> None:
        self.state = state if state in (DownloadState.DOWNLOADING, DownloadState.VERIFYING) else self.state
        self.current = current or self.current
        now = time.monotonic()
        self.last = now
        self.samples.append((now, self.received))
        while len(self.samples) > 2 and now - self.samples[0][0] > 5.0:
            self.samples.popleft()
        t0, b0 = self.samples[0]
        speed = (self.received - b0) / (now - t0) if now > t0 else 0.0
        if self.callback is None:
            return
        files = tuple(FileProgress(f.path, f.size if f.state is FileState.READY else self.job.done.get(f.path, 0),
                                   f.size, f.state) for f in self.job.manifest.files)
        done = sum(f.done for f in files)
        total = sum(f.total for f in files)
        eta = (total - done) / speed if speed > 0 else None
        self.callback(Progress(self.job.id, state, files, done, total, speed, eta, self.current, message))
