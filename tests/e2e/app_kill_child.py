"""The app the app-kill test kills: Hearth's real window (offscreen) on the real engine and the real store, chatting
with fresh document attachments while a model downloads from the loopback Hub, reporting what it shows after it
shows it.

Run as ``python app_kill_child.py PROGRESS SEED MODEL DOCS`` with ``HEARTH_HOME`` and the Hub's ``HF_ENDPOINT`` set.
The app is built by ``build_app`` and started by ``HearthApp.start``, as ``hearth`` does, with a fixed load plan,
the driver's sampling settings and an example machine (no hardware probe at every launch). The download goes the
window's own way: the Models page's download queue and its tasks, which resume at start what was running when the
app was killed; the driver resumes a stopped one, and when the model is ready deletes it and downloads it again.
Messages are sent by typing into the composer and submitting, attachments by adding files to it.

Each report is one JSON line appended to PROGRESS with a single ``os.write`` (a line cut by the kill has no newline
and is ignored):

    {"k": "open", "recovered": [...]}                       the store is open (the previous run recovered)
    {"k": "restored", "text": ..., "files": [...]}          what the composer holds at start (an unsent message)
    {"k": "host", "pid": N}                                 the model is loaded in engine host N
    {"k": "send", "text": ..., "files": [...]}              submitted (its attachments are being read)
    {"k": "user", "id": N, "conv": N, "text": ..., "files": [...]}  the user message is on screen
    {"k": "start", "id": N, "initial": CHARS}               an answer started streaming (or continues)
    {"k": "shown", "id": N, "text": DELTA, "t": MONOTONIC}  the answer's text on screen grew by DELTA
    {"k": "done", "id": N, "chars": N, "status": ...}       the answer ended and is saved
    {"k": "dl-run", "path": ..., "part": BYTES}             a download (re)starts; BYTES already on disk
    {"k": "dl-ready", "path": ...}                          the download is verified and ready
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication

from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.instance import InstanceLock
from hearth.core.machine.hardware import Hardware
from hearth.core.models.download.manager import DownloadJob, DownloadManager
from hearth.core.models.hub.client import HubClient
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings
from hearth.core.store import MessageStatus, Store, default_db_path
from hearth.ui.app import AppSeams, HearthApp, build_app
from hearth.ui.model_session import ModelState
from hearth.ui.models.download_task import DownloadTask
from hearth.ui.models.page import ModelsPage
from tests.fixtures.documents import filler, make_docx, make_pdf, report_pages
from tests.fixtures.hub_fixtures import BIG

Report = Callable[..., None]


def reporter(progress: Path) -> Report:
    fd = os.open(progress, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def report(kind: str, **fields: Any) -> None:
        fields.setdefault("t", time.monotonic())
        os.write(fd, (json.dumps({"k": kind, **fields}, ensure_ascii=False) + "\n").encode())

    return report


def report_run(report: Report, job: DownloadJob) -> None:
    """A download (re)starts: the bytes of its file already on disk."""
    record = job.manifest.files[0]
    part = job.local(record).with_name(job.local(record).name + ".part")
    report("dl-run", path=record.path, part=part.stat().st_size if part.is_file() else 0)


class DownloadDriver(QObject):
    """Keeps a download of the big model going through the Models page, as a user would: a stopped download is
    resumed (after a failure, half a second later), and a finished one is deleted and downloaded again."""

    def __init__(self, page: ModelsPage, report: Report) -> None:
        super().__init__()
        self.page = page
        self.report = report
        self.reported: set[str] = set()  # jobs whose current run was reported
        self.ready: set[str] = set()
        self.failed_at: dict[str, float] = {}
        self.deleting = False
        page.model_deleted.connect(self._on_page_model_deleted)

    def before_start(self) -> None:
        """What the app resumes at start (what an earlier run left pending), reported before any byte moves."""
        for job in self.page.queue.manager.pending():
            self.reported.add(job.id)
            report_run(self.report, job)

    def tend(self) -> None:
        queue = self.page.queue
        tasks = [t for t in queue.tasks if t.repo_id == BIG]
        if not tasks:
            if not self.deleting:
                self.page.start_download(BIG, None)
            return
        for task in tasks:
            job = task.job
            if task.running:
                if job is not None and job.id not in self.reported:
                    self.reported.add(job.id)
                    report_run(self.report, job)
                continue
            if job is not None:
                self.reported.discard(job.id)
            if task.state == "ready" and job is not None and job.id not in self.ready:
                self.ready.add(job.id)
                self.report("dl-ready", path=job.manifest.files[0].path)
                self._delete(task.model_path)
            elif task.state == "failed":
                if task.id not in self.failed_at:
                    self.failed_at[task.id] = time.monotonic()
                    self.report("dl-error", path=job.manifest.files[0].path if job else "", error=str(task.error))
                elif time.monotonic() - self.failed_at[task.id] >= 0.5:  # then try again, as a user would
                    del self.failed_at[task.id]
                    self._resume(task)
            elif task.state in ("queued", "paused"):
                self._resume(task)

    def _resume(self, task: DownloadTask) -> None:
        if task.job is not None:
            self.reported.add(task.job.id)
            report_run(self.report, task.job)
        self.page.queue.resume(task)

    def _delete(self, path: Path | None) -> None:
        model = next((m for m in self.page.library.models() if path is not None and m.path == path), None)
        if model is not None:
            self.deleting = True
            self.page.delete_model(model)  # the library's own deletion (the question is answered yes)

    @Slot(Path)
    def _on_page_model_deleted(self, _path: Path) -> None:
        self.deleting = False


class Driver(QObject):
    """Types messages into the real window and reports what the window shows."""

    def __init__(self, app: HearthApp, downloads: DownloadDriver, report: Report, rng: random.Random, docs: Path,
                 seed: int, params: list[SamplingParams]) -> None:
        super().__init__()
        self.params = params
        self.app = app
        self.window = app.window
        self.store = app.store
        self.session = app.session
        self.downloads = downloads
        self.report = report
        self.rng = rng
        self.docs = docs
        self.seed = seed
        self.turn = 0
        self.reported_users: set[int] = set()
        self.shown: dict[int, str] = {}
        self.streaming: int | None = None
        self.host_reported = False
        self.poll = QTimer(self)
        self.poll.setInterval(20)
        self.poll.timeout.connect(self._on_poll_timeout)
        self.poll.start()

    @Slot()
    def _on_poll_timeout(self) -> None:
        controller = self.window.controller
        if self.session.state is ModelState.READY and not self.host_reported:
            self.host_reported = True
            self.report("host", pid=self.host_pid())
        self._report_users()
        self._report_stream()
        self.downloads.tend()
        if self.session.state is ModelState.READY and not controller.busy:
            self._next_action()

    def host_pid(self) -> int | None:
        return self.session.bridge.client.pid

    def _report_users(self) -> None:
        for view in self.window.chat_view.messages():
            if view.role == "user" and view.id not in self.reported_users:
                self.reported_users.add(view.id)
                self.report("user", id=view.id, conv=self.window.controller.conversation_id, text=view.text,
                            files=[a.name for a in view.attachments])

    def _report_stream(self) -> None:
        controller = self.window.controller
        current = controller.streaming_message_id
        if self.streaming is not None and current != self.streaming:
            ended = self.store.messages.get(self.streaming)
            self._report_text(self.streaming, ended.content)
            self.report("done", id=ended.id, chars=len(ended.content), status=ended.status.value)
            self.streaming = None
        if current is not None and self.streaming is None:
            self.streaming = current
            initial = self.store.messages.get(current).content
            self.shown[current] = initial
            self.report("start", id=current, initial=len(initial))
        if self.streaming is not None:
            widget = self.window.chat_view.message_widget(self.streaming)
            if widget is not None:
                self._report_text(self.streaming, widget.streamed_text)

    def _report_text(self, message_id: int, text: str) -> None:
        before = self.shown.get(message_id, "")
        if len(text) > len(before) and text.startswith(before):
            self.shown[message_id] = text
            self.report("shown", id=message_id, text=text[len(before):], t=time.monotonic())

    def _next_action(self) -> None:
        rng = self.rng
        self.turn += 1
        window = self.window
        self.params[0] = SamplingParams(temperature=0.8, max_tokens=rng.randint(20, 160),
                                        seed=rng.randrange(1 << 30))
        interrupted = [m for m in window.controller.branch()
                       if m.status in (MessageStatus.INTERRUPTED, MessageStatus.CANCELLED)]
        if interrupted and rng.random() < 0.5:
            window.chat_view.continue_requested.emit(interrupted[-1].id)  # the message's Continue button
            return
        composer = window.composer
        if not composer.text():  # else a message put back after the last run's kill: send it as it is
            if rng.random() < 0.25:
                window.new_chat()
            files = self._make_documents() if rng.random() < 0.4 else []
            composer.set_text(f"question {self.seed}-{self.turn}: " + filler(self.seed * 1000 + self.turn, 1))
            composer.add_files(files)
        text, names = composer.text(), [a.name for a in composer.attachments]
        assert composer.submit()
        self.report("send", text=text, files=names)

    def _make_documents(self) -> list[Path]:
        """Fresh content each time, so every attachment is really read (a known content is not read again)."""
        made = []
        for index in range(self.rng.randint(1, 2)):
            stem = f"doc-{self.seed}-{self.turn}-{index}"
            if self.rng.random() < 0.7:
                pages = report_pages(self.rng.randint(100, 400), facts={1: f"Marker {stem}."})
                path = self.docs / f"{stem}.pdf"
                make_pdf(pages, path)
            else:
                path = make_docx(self.docs / f"{stem}.docx")
            made.append(path)
        return made


def main(progress: Path, seed: int, model: Path, docs: Path) -> int:
    report = reporter(progress)
    rng = random.Random(seed)
    qapp = QApplication([sys.argv[0]])
    paths = AppPaths.default().ensure()
    lock = InstanceLock(paths.data_dir)
    lock.acquire()
    store = Store.open(default_db_path(paths))
    report("open", recovered=store.recovered_message_ids)
    params = [SamplingParams()]

    def downloads(models_dir: Path, hub: HubClient) -> DownloadManager:
        return DownloadManager(models_dir, hub, disk_margin=0)  # the test's folder is on a small disk

    seams = AppSeams(plan_for=lambda path: LoadPlan(str(path), n_ctx=2048, summary="CPU"),
                     sampling=lambda: params[0], download_manager=downloads,
                     hardware=lambda _models_dir: Hardware.hypothetical(16, cores=2, label="test machine"),
                     ask=lambda _parent, _title, _text: True)
    app = build_app(qapp, paths, Settings(first_run_done=True, default_model=str(model)), store, lock, seams)
    qapp.aboutToQuit.connect(app.shutdown)
    composer = app.window.composer
    report("restored", text=composer.text(), files=[a.name for a in composer.attachments])
    download = DownloadDriver(app.models.page, report)
    download.before_start()
    app.start()  # the last conversation (unless a message was put back), the downloads to resume, the model
    driver = Driver(app, download, report, rng, docs, seed, params)
    code = qapp.exec()
    del driver
    return code


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])))
