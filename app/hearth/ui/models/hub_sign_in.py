"""Signing in to Hugging Face from a download row (a gated model such as Llama 4 needs a token): the token is
checked with the Hub and stored by huggingface_hub, off the GUI thread, and the download that needed it resumes."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from hearth.core.models.hub.client import HubClient
from hearth.ui.models.download_queue import DownloadQueue
from hearth.ui.models.download_task import DownloadTask
from hearth.ui.models.downloads_view import DownloadsView
from hearth.ui.models.task_group import TaskGroup
from hearth.ui.shell.notices import info, notice_for


class HubSignIn(QObject):
    """Signals:
    notice(object): a ``Notice`` (signed in as whom).
    """

    notice = Signal(object)

    def __init__(self, hub: HubClient, queue: DownloadQueue, view: DownloadsView, tasks: TaskGroup,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        self.queue = queue
        self.view = view
        self.tasks = tasks

    @Slot(object, str)
    def sign_in(self, task: object, token: str) -> None:
        """Check and store ``token``, then retry the download ``task`` that needed it."""
        hub = self.hub

        def work(_report: Callable[[object], None]) -> str:
            return hub.login(token)

        job = self.tasks.run(work, self._on_login_finished, self._on_login_failed)
        job.setProperty("task_index", self.queue.tasks.index(task) if task in self.queue.tasks else -1)

    def _task(self) -> DownloadTask | None:
        sender = self.sender()
        index = int(sender.property("task_index")) if sender is not None else -1
        return self.queue.tasks[index] if 0 <= index < len(self.queue.tasks) else None

    @Slot(object)
    def _on_login_finished(self, name: object) -> None:
        task = self._task()
        self.notice.emit(info(f"Signed in to Hugging Face as {name}.", "Signed in"))
        if task is not None:
            row = self.view.row_for(task)
            if row is not None:
                row.set_login_busy(False)
            self.queue.resume(task)

    @Slot(object)
    def _on_login_failed(self, error: object) -> None:
        task = self._task()
        row = self.view.row_for(task) if task is not None else None
        if row is not None and isinstance(error, BaseException):
            row.set_login_busy(False, f"The token was not accepted: {notice_for(error).message}")
