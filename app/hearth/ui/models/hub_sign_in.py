"""Signing in to Hugging Face from a download row (a gated model such as Llama 4 needs a token): the token is
checked with the Hub and stored by huggingface_hub, off the GUI thread, and the download that needed it resumes."""

from __future__ import annotations

import functools
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from hearth.core.errors import HearthError
from hearth.core.models.hub.client import HubClient
from hearth.ui.models.download_queue import DownloadQueue
from hearth.ui.models.download_task import DownloadTask
from hearth.ui.models.downloads_view import DownloadsView
from hearth.ui.shell.notices import Notice, info, notice_for
from hearth.ui.tasks import BackgroundTask, TaskGroup


class HubSignIn(QObject):
    """Signals:
    notice(Notice): signed in as whom.
    """

    notice = Signal(Notice)

    def __init__(self, hub: HubClient, queue: DownloadQueue, view: DownloadsView, tasks: TaskGroup,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        self.queue = queue
        self.view = view
        self.tasks = tasks

    @Slot(DownloadTask, str)
    def sign_in(self, task: DownloadTask, token: str) -> None:
        """Check and store ``token``, then retry the download ``task`` that needed it."""
        hub = self.hub

        def work(_report: Callable[[object], None]) -> str:
            return hub.login(token)

        self.tasks.run(BackgroundTask(work, parent=self, name="hub sign-in")
                       .success(functools.partial(self._on_login_finished, task))
                       .failure(functools.partial(self._on_login_failed, task)))

    def _on_login_finished(self, task: DownloadTask, name: str) -> None:
        self.notice.emit(info(f"Signed in to Hugging Face as {name}.", "Signed in"))
        if task not in self.queue.tasks:  # dismissed meanwhile
            return
        row = self.view.row_for(task)
        if row is not None:
            row.set_login_busy(False)
        self.queue.resume(task)

    def _on_login_failed(self, task: DownloadTask, error: HearthError) -> None:
        row = self.view.row_for(task)
        if row is not None:
            row.set_login_busy(False, f"The token was not accepted: {notice_for(error).message}")
