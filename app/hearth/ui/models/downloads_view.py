"""The Downloads tab: a row per download of the queue, newest first, or a word on what to do when there are none."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QVBoxLayout, QWidget

from hearth.ui.models.download_queue import DownloadQueue
from hearth.ui.models.download_row import DownloadRow
from hearth.ui.models.download_task import DownloadTask
from hearth.ui.models.widgets import text_label


class DownloadsView(QWidget):
    """Rows for the queue's tasks, added and removed as the queue says.

    Signals:
        load_requested(Path): a finished model to load.
        login_requested(DownloadTask, str): a row's task and the token typed on it.
    """

    load_requested = Signal(Path)
    login_requested = Signal(DownloadTask, str)

    def __init__(self, queue: DownloadQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self.rows: dict[int, DownloadRow] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(12)
        self.empty = text_label("No downloads. Choose a model under Discover; downloads continue while you chat, "
                                "and pick up where they stopped if Hearth is closed.", "muted", wrap=True)
        self._layout.addWidget(self.empty)
        self.note = text_label("Downloads continue while you chat, and pick up where they stopped if Hearth is "
                               "closed. Every file is checked against Hugging Face's checksum before it is used.",
                               "small", wrap=True)
        self._layout.addWidget(self.note)
        self._layout.addStretch(1)
        self.note.hide()
        for task in queue.tasks:
            self._on_queue_task_added(task)
        queue.task_added.connect(self._on_queue_task_added)
        queue.task_removed.connect(self._on_queue_task_removed)

    def row_for(self, task: DownloadTask) -> DownloadRow | None:
        return self.rows.get(id(task))

    @Slot(DownloadTask)
    def _on_queue_task_added(self, task: DownloadTask) -> None:
        if id(task) in self.rows:
            return
        row = DownloadRow(task, self.queue)
        row.load_requested.connect(self.load_requested)
        row.login_requested.connect(self.login_requested)
        self.rows[id(task)] = row
        self._layout.insertWidget(0, row)
        self.empty.hide()
        self.note.show()

    @Slot(DownloadTask)
    def _on_queue_task_removed(self, task: DownloadTask) -> None:
        row = self.rows.pop(id(task), None)
        if row is not None:
            row.hide()
            self._layout.removeWidget(row)
            row.deleteLater()
        self.empty.setVisible(not self.rows)
        self.note.setVisible(bool(self.rows))
