"""One download seen from the GUI thread: a ``DownloadTask`` runs ``DownloadManager.prepare`` and ``run`` on its own
QThread and reports progress and the outcome as signals.

Pause and cancel never queue behind the busy worker: they set flags the worker's progress callback applies, and call
``job.pause()``/``job.cancel()`` directly (both thread-safe) once the job is known, so they take effect within one
chunk. Resume starts a fresh worker on the same job, which continues from its ``.part`` files.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from hearth.core.errors import HearthError
from hearth.core.models.discover.catalog import find_entry
from hearth.core.models.download.manager import DownloadJob, DownloadManager
from hearth.core.models.download.progress import Progress
from hearth.core.models.hub.repo_files import RepoListing

RUNNING_STATES = ("preparing", "downloading", "verifying")


class _Flags:
    """What the GUI asked of a running worker (read on the worker thread)."""

    def __init__(self) -> None:
        self.pause = threading.Event()
        self.cancel = threading.Event()


class _DownloadRunner(QObject):
    """Lives on the download's thread: resolves the files (if needed), then downloads until done or stopped.

    Signals:
        prepared(object): the ``DownloadJob`` (what will be downloaded).
        progress(object): a ``Progress`` snapshot.
        done(object, object): the job (or None) and the error (or None).
    """

    prepared = Signal(object)
    progress = Signal(object)
    done = Signal(object, object)

    def __init__(self, manager: DownloadManager, task: DownloadTask, flags: _Flags) -> None:
        super().__init__()
        self._manager = manager
        self._repo_id = task.repo_id
        self._quant = task.quant
        self._include_mmproj = task.include_mmproj
        self._listing = task.listing
        self._job = task.job
        self._flags = flags

    @Slot()
    def run(self) -> None:
        job = self._job
        try:
            if job is None:
                job = self._manager.prepare(self._repo_id, self._quant, include_mmproj=self._include_mmproj,
                                            listing=self._listing)
                self._job = job
                self.prepared.emit(job)
            if self._flags.cancel.is_set():
                self._manager.discard(job)
            elif not self._flags.pause.is_set():
                self._manager.run(job, on_progress=self._on_manager_progress)
        except Exception as exc:  # every failure must reach the row as words, never end the thread silently
            self.done.emit(job, _as_error(exc))
        else:
            self.done.emit(job, None)
        self.thread().quit()  # so that ``DownloadTask.wait`` returns at exit, without the GUI's event loop

    def _on_manager_progress(self, progress: Progress) -> None:
        # Called on this thread by the manager; the flags cover a pause asked for before the GUI knew the job.
        job = self._job
        if job is not None:
            if self._flags.cancel.is_set():
                job.cancel()
            elif self._flags.pause.is_set():
                job.pause()
        self.progress.emit(progress)


class DownloadTask(QObject):
    """A download the user asked for (or one restored after a restart).

    Args:
        manager: does the work.
        repo_id, quant, include_mmproj: what to download (``quant`` None: the repository's default).
        listing: the Hub listing already fetched, to avoid asking again.
        job: an existing job (a restored download); then the other arguments come from it.

    Attributes:
        state: "queued", "preparing", "downloading", "verifying", "paused", "ready", "cancelled" or "failed".
        progress: the last ``Progress`` (None before the first).
        error: why it failed or paused on its own (a ``HearthError``), else None.

    Signals:
        changed(): state, progress or error changed.
        finished(object): the task (its job is ready).
        cancelled(object): the task (its files were deleted).
    """

    changed = Signal()
    finished = Signal(object)
    cancelled = Signal(object)

    def __init__(self, manager: DownloadManager, repo_id: str, quant: str | None = None, *,
                 include_mmproj: bool = False, listing: RepoListing | None = None, job: DownloadJob | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.repo_id = job.manifest.repo_id if job else repo_id
        self.quant = job.manifest.quant if job else quant
        self.include_mmproj = any(f.role == "mmproj" for f in job.manifest.files) if job else include_mmproj
        self.listing = listing
        self.job = job
        self.state = "queued" if job is None else ("ready" if job.state == "ready" else "paused")
        self.progress: Progress | None = None
        self.error: HearthError | None = None
        self._flags = _Flags()
        self._thread: QThread | None = None
        self._runner: _DownloadRunner | None = None
        if job is not None:
            self.error = _stored_problem(job)

    # --- what the row shows --------------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.job.id if self.job is not None else f"{self.repo_id}:{self.quant or ''}"

    @property
    def title(self) -> str:
        entry = find_entry(self.repo_id)
        name = entry.name if entry else self.repo_id.split("/")[-1].removesuffix("-GGUF")
        return f"{name} · {self.quant}" if self.quant else name

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    @property
    def stopping(self) -> bool:
        """A pause or cancel was asked for and the worker has not stopped yet."""
        return self.running and (self._flags.pause.is_set() or self._flags.cancel.is_set())

    @property
    def total_bytes(self) -> int:
        if self.progress is not None:
            return self.progress.total
        return self.job.manifest.total_bytes if self.job is not None else 0

    @property
    def done_bytes(self) -> int:
        if self.progress is not None:
            return self.progress.done
        if self.job is None:
            return 0
        return max(0, self.job.manifest.total_bytes - self.job.remaining_bytes())

    @property
    def model_path(self) -> Path | None:
        return self.job.model_path if self.job is not None else None

    # --- control -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start, or resume from where it stopped."""
        if self.running or self.state == "ready":
            return
        self._launch(_Flags())

    def _launch(self, flags: _Flags) -> None:
        self._flags = flags
        self.error = None
        self.state = "preparing" if self.job is None else "downloading"
        thread = QThread()
        thread.setObjectName(f"download {self.id}")
        runner = _DownloadRunner(self.manager, self, self._flags)
        runner.moveToThread(thread)
        thread.started.connect(runner.run)
        runner.prepared.connect(self._on_runner_prepared)
        runner.progress.connect(self._on_runner_progress)
        runner.done.connect(self._on_runner_done)
        self._thread, self._runner = thread, runner
        thread.start()
        self.changed.emit()

    def pause(self) -> None:
        if not self.running:
            return
        self._flags.pause.set()
        if self.job is not None:
            self.job.pause()

    def cancel(self) -> None:
        """Stop and delete what was downloaded (a stopped download is discarded on a worker too)."""
        self._flags.cancel.set()
        if self.running:
            if self.job is not None:
                self.job.cancel()
            return
        if self.job is None:
            self._finish_cancel()
            return
        flags = _Flags()
        flags.cancel.set()
        self._launch(flags)  # the runner sees the cancel flag and discards the files off the GUI thread

    def wait(self, ms: int = 15_000) -> bool:
        return self._thread.wait(ms) if self._thread is not None else True

    # --- worker results ------------------------------------------------------------------------------------------

    @Slot(object)
    def _on_runner_prepared(self, job: DownloadJob) -> None:
        self.job = job
        self.quant = job.manifest.quant
        self.state = "downloading"
        if self._flags.cancel.is_set():
            job.cancel()
        elif self._flags.pause.is_set():
            job.pause()
        self.changed.emit()

    @Slot(object)
    def _on_runner_progress(self, progress: Progress) -> None:
        self.progress = progress
        if progress.state in ("downloading", "verifying"):
            self.state = progress.state
        self.changed.emit()

    @Slot(object, object)
    def _on_runner_done(self, job: DownloadJob | None, error: HearthError | None) -> None:
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
        self._thread, self._runner = None, None
        self.job = job or self.job
        if error is not None:
            self.error = error
            self.state = "failed"
        elif self._flags.cancel.is_set() or (job is not None and job.state == "cancelled"):
            self._finish_cancel()
            return
        elif job is not None and job.state == "ready":
            self.state = "ready"
        else:
            self.state = "paused"
        self.changed.emit()
        if self.state == "ready":
            self.finished.emit(self)

    def _finish_cancel(self) -> None:
        self.state = "cancelled"
        self.changed.emit()
        self.cancelled.emit(self)


def _as_error(exc: BaseException) -> HearthError:
    if isinstance(exc, HearthError):
        return exc
    return HearthError(f"Unexpected error: {exc}", details=repr(exc))


def _stored_problem(job: DownloadJob) -> HearthError | None:
    """A restored download's last error (kept in its manifest), as an error the row can show."""
    if job.manifest.state == "failed" and job.manifest.message:
        return HearthError(job.manifest.message, hint="Resume to try again.")
    return None
