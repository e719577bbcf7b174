"""One download seen from the GUI thread: a ``DownloadTask`` runs ``DownloadManager.prepare`` and ``run`` as a
``BackgroundTask`` (one worker thread per run) and turns its updates and outcome into the task's state and signals.

Pause and cancel never queue behind the busy worker: they go to the download's ``DownloadControl`` (thread-safe),
which the task creates before the file list is known and hands to ``DownloadManager.prepare``; the manager obeys it
within one chunk. Resume starts a fresh worker on the same job, which continues from its ``.part`` files; cancelling
a stopped download starts a worker that deletes its files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from hearth.core.errors import HearthError
from hearth.core.models.discover.catalog import find_entry
from hearth.core.models.download.control import DownloadControl
from hearth.core.models.download.job import DownloadJob
from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.download.progress import Progress
from hearth.core.models.download.state import DownloadState
from hearth.core.models.hub.repo_files import RepoListing
from hearth.ui.tasks import BackgroundTask


@dataclass(frozen=True)
class DownloadUpdate:
    """What the worker reports: the job (known once its files are resolved) and its latest progress (None right
    after the files were resolved)."""

    job: DownloadJob
    progress: Progress | None = None


class _Download:
    """The work of one run of a download, on its worker thread: resolve the files (if needed), then download until
    done or stopped. Returns the job."""

    def __init__(self, manager: DownloadManager, task: DownloadTask) -> None:
        self._manager = manager
        self._repo_id = task.repo_id
        self._quant = task.quant
        self._include_mmproj = task.include_mmproj
        self._listing = task.listing
        self._job = task.job
        self._control = task.control
        self._report: Callable[[DownloadUpdate], None] = _ignore

    def __call__(self, report: Callable[[DownloadUpdate], None]) -> DownloadJob:
        self._report = report
        job = self._job
        if job is None:
            job = self._manager.prepare(self._repo_id, self._quant, include_mmproj=self._include_mmproj,
                                        listing=self._listing, control=self._control)
            self._job = job
            report(DownloadUpdate(job))
        # A pause or cancel asked before now is obeyed by the manager at once (a cancel deletes the files).
        self._manager.run(job, on_progress=self._on_manager_progress)
        return job

    def _on_manager_progress(self, progress: Progress) -> None:
        job = self._job
        assert job is not None  # the manager runs a prepared job
        self._report(DownloadUpdate(job, progress))


def _ignore(_update: DownloadUpdate) -> None:
    pass


class DownloadTask(QObject):
    """A download the user asked for (or one restored after a restart).

    Args:
        manager: does the work.
        repo_id, quant, include_mmproj: what to download (``quant`` None: the repository's default).
        listing: the Hub listing already fetched, to avoid asking again.
        job: an existing job (a restored download); then the other arguments come from it.

    Attributes:
        state: where the download is (``PREPARING`` while the Hub's file list is read).
        control: its pause and cancel (shared with the job once the job is known).
        progress: the last ``Progress`` (None before the first).
        error: why it failed or paused on its own (a ``HearthError``), else None.

    Signals:
        changed(): state, progress or error changed.
        finished(): its job is ready.
        cancelled(): its files were deleted.
    """

    changed = Signal()
    finished = Signal()
    cancelled = Signal()

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
        self.state = DownloadState.QUEUED if job is None else \
            (DownloadState.READY if job.state is DownloadState.READY else DownloadState.PAUSED)
        self.control = job.control if job is not None else DownloadControl()
        self.progress: Progress | None = None
        self.error: HearthError | None = None
        self._work: BackgroundTask[DownloadJob, DownloadUpdate] | None = None
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
        return self._work is not None and self._work.running

    @property
    def stopping(self) -> bool:
        """A pause or cancel was asked for and the worker has not stopped yet."""
        return self.running and self.control.stopping

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
        if self.running or self.state is DownloadState.READY:
            return
        self.control.resume()
        self._launch()

    def _launch(self) -> None:
        self.error = None
        self.state = DownloadState.PREPARING if self.job is None else DownloadState.DOWNLOADING
        self._work = BackgroundTask(_Download(self.manager, self), parent=self, name=f"download {self.id}") \
            .with_progress(self._on_work_update) \
            .success(self._on_work_done) \
            .failure(self._on_work_failed) \
            .run_in_background()
        self.changed.emit()

    def pause(self) -> None:
        if self.running:
            self.control.pause()

    def cancel(self) -> None:
        """Stop and delete what was downloaded (a stopped download is discarded on a worker too)."""
        self.control.cancel()
        if self.running:
            return
        if self.job is None:
            self._finish_cancel()
            return
        self._launch()  # the manager sees the cancel and deletes the files, off the GUI thread

    def wait(self, ms: int = 15_000) -> bool:
        return self._work.wait(ms) if self._work is not None else True

    # --- worker results (on the GUI thread) -----------------------------------------------------------------------

    def _on_work_update(self, update: DownloadUpdate) -> None:
        if self.job is None:  # the files were just resolved
            self.job = update.job
            self.quant = update.job.manifest.quant
        self.state = DownloadState.DOWNLOADING if self.state is DownloadState.PREPARING else self.state
        progress = update.progress
        if progress is not None:
            self.progress = progress
            if progress.state in (DownloadState.DOWNLOADING, DownloadState.VERIFYING):
                self.state = progress.state
        self.changed.emit()

    def _on_work_done(self, job: DownloadJob) -> None:
        self._work = None
        self.job = job
        if self.control.cancel_requested or job.state is DownloadState.CANCELLED:
            self._finish_cancel()
            return
        self.state = DownloadState.READY if job.state is DownloadState.READY else DownloadState.PAUSED
        self.changed.emit()
        if self.state is DownloadState.READY:
            self.finished.emit()

    def _on_work_failed(self, error: HearthError) -> None:
        self._work = None
        self.error = error
        self.state = DownloadState.FAILED
        self.changed.emit()

    def _finish_cancel(self) -> None:
        self.state = DownloadState.CANCELLED
        self.changed.emit()
        self.cancelled.emit()


def _stored_problem(job: DownloadJob) -> HearthError | None:
    """A restored download's last error (kept in its manifest), as an error the row can show."""
    if job.manifest.state is DownloadState.FAILED and job.manifest.message:
        return HearthError(job.manifest.message, hint="Resume to try again.")
    return None
