"""Every download of this session, one ``DownloadTask`` (and one worker thread while it runs) each.

Downloads outlive the page that shows them: they go on while the user chats, and ``restore`` brings back the ones an
earlier session left unfinished (``DownloadManager.pending``), resuming those that were running when the app closed.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from hearth.core.models.download.active import ActiveDownloads
from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.download.state import DownloadState
from hearth.core.models.hub.repo_files import RepoListing
from hearth.ui.models.download_task import DownloadTask
from hearth.ui.shell.notices import Notice, info


class DownloadQueue(QObject):
    """The app's downloads.

    Args:
        manager: the download manager (the models folder and the Hub client).
        active: where the ids of running downloads are remembered across restarts (None: not remembered).

    Signals:
        task_added(DownloadTask): a task to show.
        task_removed(DownloadTask): a task that was cancelled or dismissed.
        task_finished(DownloadTask): a task whose model is ready.
        activity_changed(int): the number of downloads running now.
    """

    task_added = Signal(DownloadTask)
    task_removed = Signal(DownloadTask)
    task_finished = Signal(DownloadTask)
    activity_changed = Signal(int)

    def __init__(self, manager: DownloadManager, active: ActiveDownloads | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.active = active
        self.tasks: list[DownloadTask] = []

    # --- starting ------------------------------------------------------------------------------------------------

    def download(self, repo_id: str, quant: str | None = None, *, include_mmproj: bool = False,
                 listing: RepoListing | None = None) -> DownloadTask:
        """Start downloading (or resume the same download if it is already listed)."""
        for task in self.tasks:
            if task.repo_id == repo_id and quant is not None and (task.quant or "").lower() == quant.lower() \
                    and task.state is not DownloadState.CANCELLED:
                self.resume(task)
                return task
        task = DownloadTask(self.manager, repo_id, quant, include_mmproj=include_mmproj, listing=listing,
                            parent=self)
        self._add(task)
        self.resume(task)
        return task

    def restore(self) -> list[DownloadTask]:
        """Rows for unfinished downloads from earlier sessions; those that were running carry on."""
        wanted = self.active.ids() if self.active is not None else set()
        restored = []
        known = {t.id for t in self.tasks}
        for job in self.manager.pending():
            if job.id in known:
                continue
            task = DownloadTask(self.manager, job.manifest.repo_id, job=job, parent=self)
            self._add(task)
            restored.append(task)
            if task.id in wanted:
                task.start()
        return restored

    def _add(self, task: DownloadTask) -> None:
        self.tasks.append(task)
        task.changed.connect(self._on_task_changed)
        task.finished.connect(self._on_task_finished)
        task.cancelled.connect(self._on_task_cancelled)
        self.task_added.emit(task)

    # --- control -------------------------------------------------------------------------------------------------

    def resume(self, task: DownloadTask) -> None:
        task.start()
        self._remember(task)

    def _remember(self, task: DownloadTask) -> None:
        if self.active is not None and task.job is not None and task.running and not task.stopping:
            self.active.add(task.id)

    def pause(self, task: DownloadTask) -> None:
        if self.active is not None:
            self.active.discard(task.id)
        task.pause()

    def cancel(self, task: DownloadTask) -> None:
        if self.active is not None:
            self.active.discard(task.id)
        task.cancel()

    def dismiss(self, task: DownloadTask) -> None:
        """Remove a finished (or cancelled) row."""
        if task.running:
            return
        if task in self.tasks:
            self.tasks.remove(task)
        self.task_removed.emit(task)

    def running_count(self) -> int:
        return sum(1 for t in self.tasks if t.running)

    def find(self, repo_id: str, quant: str) -> DownloadTask | None:
        for task in self.tasks:
            if task.repo_id == repo_id and (task.quant or "").lower() == quant.lower():
                return task
        return None

    def shutdown(self, wait_ms: int = 15_000) -> None:
        """Stop every download where it is (at exit); those running resume at the next start."""
        for task in self.tasks:
            task.pause()
        for task in self.tasks:
            task.wait(wait_ms)

    # --- events --------------------------------------------------------------------------------------------------

    @Slot()
    def _on_task_changed(self) -> None:
        task = self.sender()
        if isinstance(task, DownloadTask):
            self._remember(task)
        self.activity_changed.emit(self.running_count())

    @Slot()
    def _on_task_finished(self) -> None:
        task = self.sender()
        if isinstance(task, DownloadTask):
            if self.active is not None:
                self.active.discard(task.id)
            self.task_finished.emit(task)

    @Slot()
    def _on_task_cancelled(self) -> None:
        task = self.sender()
        if isinstance(task, DownloadTask):
            if self.active is not None:
                self.active.discard(task.id)
            self.dismiss(task)


def download_complete(task: DownloadTask) -> Notice:
    """What the user is told when a download is verified and ready."""
    return info(f"{task.title} is downloaded and verified. Load it from Downloads or “On this computer”.",
                "Download complete")
