"""One download on the Models page: name, progress bar, bytes, speed, time left, Pause/Resume/Cancel, and what went
wrong in plain words (a gated repository gets a token field right on the row)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QProgressBar, QVBoxLayout, QWidget

from hearth.core.errors import GatedRepoError, OfflineError
from hearth.core.models.download.state import DownloadState
from hearth.core.units import format_progress, format_rate, format_size
from hearth.ui.models.download_queue import DownloadQueue
from hearth.ui.models.download_task import DownloadTask
from hearth.ui.models.widgets import (
    badge,
    button,
    card,
    duration_words,
    row,
    text_label,
    with_avatar,
)
from hearth.ui.shell.notices import notice_for

_STATE_WORDS = {
    DownloadState.QUEUED: "Waiting to start", DownloadState.PREPARING: "Reading the file list from Hugging Face…",
    DownloadState.DOWNLOADING: "Downloading", DownloadState.VERIFYING: "Checking the files",
    DownloadState.PAUSED: "Paused", DownloadState.READY: "Downloaded and verified",
    DownloadState.CANCELLED: "Cancelled", DownloadState.FAILED: "Stopped",
}
_STATE_BADGE = {DownloadState.READY: "good", DownloadState.FAILED: "bad", DownloadState.PAUSED: "plain"}


class DownloadRow(QWidget):
    """Shows one ``DownloadTask`` and drives it through the queue.

    Signals:
        load_requested(Path): the finished model to load.
        login_requested(DownloadTask, str): the task and the token the user typed (the page signs in, then resumes).
    """

    load_requested = Signal(Path)
    login_requested = Signal(DownloadTask, str)

    def __init__(self, task: DownloadTask, queue: DownloadQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.task = task
        self.queue = queue
        self._described = False
        self.setObjectName("downloadRow")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        frame = card("downloadCard")
        outer.addWidget(frame)
        layout = with_avatar(frame, task.title)
        layout.setSpacing(8)

        self.title = text_label(task.title, "title")
        self.state_badge = badge("", "plain")
        self.pause_button = button("Pause", accessible=f"Pause {task.title}")
        self.resume_button = button("Resume", "primary", accessible=f"Resume {task.title}")
        self.cancel_button = button("Cancel", "flat", accessible=f"Cancel {task.title}")
        self.load_button = button("Load now", "primary", accessible=f"Load {task.title}")
        self.dismiss_button = button("Dismiss", "flat", accessible="Dismiss this download")
        layout.addLayout(row(self.title, self.state_badge, None, self.pause_button, self.resume_button,
                             self.load_button, self.cancel_button, self.dismiss_button, stretch_at=2))
        self.source = text_label(task.repo_id, "muted")
        layout.addWidget(self.source)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(8)
        self.bar.setAccessibleName(f"Download progress of {task.title}")
        layout.addWidget(self.bar)
        self.detail = text_label("", "muted")
        self.file_label = text_label("", "small")
        layout.addLayout(row(self.detail, self.file_label, stretch_at=1))
        self.message = text_label("", "error", wrap=True, selectable=True)
        self.message.setObjectName("rowError")
        layout.addWidget(self.message)

        self.token_box = QWidget()
        token_layout = QHBoxLayout(self.token_box)
        token_layout.setContentsMargins(0, 0, 0, 0)
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("Hugging Face access token (hf_…)")
        self.token.setAccessibleName("Hugging Face access token")
        self.token.returnPressed.connect(self._on_login_clicked)
        self.login_button = button("Sign in and retry", "primary")
        self.login_button.clicked.connect(self._on_login_clicked)
        token_layout.addWidget(self.token, 1)
        token_layout.addWidget(self.login_button)
        layout.addWidget(self.token_box)

        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.resume_button.clicked.connect(self._on_resume_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.load_button.clicked.connect(self._on_load_clicked)
        self.dismiss_button.clicked.connect(self._on_dismiss_clicked)
        task.changed.connect(self._on_task_changed)
        self._on_task_changed()

    def set_login_busy(self, busy: bool, error: str = "") -> None:
        self.login_button.setEnabled(not busy)
        self.login_button.setText("Checking the token…" if busy else "Sign in and retry")
        if error:
            self.message.setText(error)
            self.message.show()

    # --- showing -------------------------------------------------------------------------------------------------

    @Slot()
    def _on_task_changed(self) -> None:
        t = self.task
        state = t.state
        self.title.setText(t.title)
        if t.job is not None and not self._described:
            self._described = True
            records = t.job.manifest.files
            models = sum(1 for f in records if f.role == "model")
            parts = f"{models} files" if models > 1 else "1 file"
            self.source.setText(f"{t.repo_id} · {parts}" + (" + vision file" if len(records) > models else ""))
        self.state_badge.setText(_STATE_WORDS[state])
        self.state_badge.setProperty("kind", _STATE_BADGE.get(state, "accent"))
        self.state_badge.style().polish(self.state_badge)
        total, done = t.total_bytes, t.done_bytes
        if total:
            self.bar.setValue(int(1000 * done / total))
        self.bar.setVisible(state is not DownloadState.READY)
        self.detail.setText(self._detail_words())
        p = t.progress
        current = p.current.rsplit("/", 1)[-1] if p is not None and p.current else ""
        files = len(t.job.manifest.files) if t.job is not None else 0
        self.file_label.setText(current if state in (DownloadState.DOWNLOADING, DownloadState.VERIFYING) and files > 1
                                else "")
        running = t.running
        self.pause_button.setVisible(running and not t.stopping)
        self.resume_button.setVisible(not running and state in (DownloadState.PAUSED, DownloadState.FAILED,
                                                                DownloadState.QUEUED))
        self.resume_button.setText("Retry" if state is DownloadState.FAILED else "Resume")
        self.cancel_button.setVisible(state not in (DownloadState.READY, DownloadState.CANCELLED))
        self.load_button.setVisible(state is DownloadState.READY)
        self.dismiss_button.setVisible(state is DownloadState.READY)
        self._show_problem()

    def _detail_words(self) -> str:
        t = self.task
        total, done = t.total_bytes, t.done_bytes
        if t.state is DownloadState.READY:
            files = len(t.job.manifest.files) if t.job else 0
            extra = " including the vision file" if t.include_mmproj else ""
            return f"{format_size(total)} in {files} file{'s' if files != 1 else ''}{extra} · ready to load"
        if t.state is DownloadState.PREPARING or not total:
            return "Reading the file list…" if t.running else ""
        words = [format_progress(done, total), f"{done / total:.0%}"]
        p = t.progress
        if t.running and p is not None and t.state is DownloadState.DOWNLOADING and p.speed_bps > 0:
            words += [format_rate(p.speed_bps), duration_words(p.eta_s)]
        elif t.state is DownloadState.VERIFYING:
            words.append(p.message if p is not None and p.message else "checking the files against Hugging Face's "
                         "checksums")
        return " · ".join(w for w in words if w)

    def _show_problem(self) -> None:
        t = self.task
        error = t.error
        progress_message = t.progress.message if t.progress is not None and t.state is DownloadState.DOWNLOADING else ""
        if error is None:
            self.message.setText(progress_message)
            self.message.setProperty("role", "note")
            self.message.setVisible(bool(progress_message))
            self.token_box.hide()
        else:
            notice = notice_for(error)
            text = notice.text
            if isinstance(error, OfflineError):
                text = f"{notice.message} Turn off offline mode in Settings, then Resume."
            self.message.setText(text)
            self.message.setProperty("role", "error")
            self.message.show()
            self.token_box.setVisible(isinstance(error, GatedRepoError))
        self.message.style().polish(self.message)

    # --- actions -------------------------------------------------------------------------------------------------

    @Slot()
    def _on_pause_clicked(self) -> None:
        self.queue.pause(self.task)
        self._on_task_changed()

    @Slot()
    def _on_resume_clicked(self) -> None:
        self.queue.resume(self.task)

    @Slot()
    def _on_cancel_clicked(self) -> None:
        self.queue.cancel(self.task)

    @Slot()
    def _on_dismiss_clicked(self) -> None:
        self.queue.dismiss(self.task)

    @Slot()
    def _on_load_clicked(self) -> None:
        path = self.task.model_path
        if path is not None:
            self.load_requested.emit(Path(path))

    @Slot()
    def _on_login_clicked(self) -> None:
        token = self.token.text().strip()
        if token:
            self.set_login_busy(True)
            self.login_requested.emit(self.task, token)
