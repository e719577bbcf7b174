"""Models → Workers: the llama.cpp RPC workers this computer may spread a model over.

Each worker is added by address (HOST:PORT) and asked, in the background, whether it answers, which protocol version
it speaks and how much memory it lends (``hearth.core.engine.workers``). Hearth never starts a worker: the user runs
``hearth worker`` on the other computer. The list is saved in the settings; the planner uses the workers that answer
when the next model loads.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from hearth.core.engine.workers import WorkerStatus, parse_endpoint, probe_worker
from hearth.core.errors import HearthError
from hearth.core.units import format_rate, format_size
from hearth.ui.models.widgets import button, card, row, text_label
from hearth.ui.tasks import BackgroundTask, TaskGroup

PROBE_BYTES = 4 << 20  # written to and read back from each worker to measure the network

FIELD_ROW = 99  # a stretch index past the row's end: no stretch, the address field takes the width

INTRO = ("A worker is another computer that lends its memory to a model loaded here, so that models too big for "
         "this computer can run. On that computer run `hearth worker --host <its address>`, then add it here. "
         "llama.cpp's workers have no password and no encryption: use them only on a network you trust.")


def status_words(status: WorkerStatus) -> str:
    """One line: answers?, protocol, free memory, round trip; or why it cannot be used."""
    if not status.ready:
        return status.message
    rtt = f"{1000 * status.round_trip_s:.1f} ms round trip" if status.round_trip_s is not None else ""
    rate = min(r for r in (status.upload_bytes_per_s, status.download_bytes_per_s) if r) if (
        status.upload_bytes_per_s and status.download_bytes_per_s) else None
    parts = [f"Answers · protocol {status.version_text}", f"{format_size(status.free_bytes)} free of "
             f"{format_size(status.total_bytes)}", rtt, format_rate(rate) if rate else ""]
    return " · ".join(p for p in parts if p)


class WorkersView(QWidget):
    """The Workers tab.

    Signals:
        workers_changed(object): the list of endpoints (strings) after an add or a removal.
    """

    workers_changed = Signal(list)

    def __init__(self, workers: list[str], tasks: TaskGroup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workersView")
        self._tasks = tasks
        self.endpoints: list[str] = []
        self.statuses: dict[str, WorkerStatus] = {}
        self._lines: dict[str, QWidget] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 8)
        layout.addWidget(text_label(INTRO, "muted", wrap=True))
        self.address = QLineEdit()
        self.address.setPlaceholderText("HOST:PORT, e.g. 192.168.1.20:50052")
        self.address.setAccessibleName("Worker address")
        self.address.returnPressed.connect(self._on_add_clicked)
        self.add_button = button("Add worker", "primary")
        self.add_button.clicked.connect(self._on_add_clicked)
        self.check_button = button("Check all", "secondary")
        self.check_button.clicked.connect(self.check_all)
        layout.addLayout(row(self.address, self.add_button, self.check_button, stretch_at=FIELD_ROW))
        self.error = text_label("", "error", wrap=True)
        self.error.hide()
        layout.addWidget(self.error)
        self.list_layout = QVBoxLayout()
        layout.addLayout(self.list_layout)
        layout.addStretch(1)
        for endpoint in workers:
            self._add_row(endpoint)

    # --- adding and removing ---------------------------------------------------------------------------------------

    @Slot()
    def _on_add_clicked(self) -> None:
        text = self.address.text()
        try:
            endpoint = str(parse_endpoint(text))
        except HearthError as exc:
            self.error.setText(f"{exc.message} {exc.hint}".strip())
            self.error.show()
            return
        self.error.hide()
        self.address.clear()
        if endpoint not in self.endpoints:
            self._add_row(endpoint)
            self.workers_changed.emit(list(self.endpoints))
        self.check(endpoint)

    def _add_row(self, endpoint: str) -> None:
        frame = card("workerRow")
        frame.setProperty("endpoint", endpoint)
        status = text_label("Not checked yet", "muted", wrap=True, selectable=True)
        status.setObjectName("workerStatus")
        check = button("Check", "flat", accessible=f"Check {endpoint}")
        check.setProperty("endpoint", endpoint)
        check.clicked.connect(self._on_check_clicked)
        remove = button("Remove", "flat", accessible=f"Remove {endpoint}")
        remove.setProperty("endpoint", endpoint)
        remove.clicked.connect(self._on_remove_clicked)
        box = QVBoxLayout(frame)
        box.addLayout(row(text_label(endpoint, "title", selectable=True), None, check, remove, stretch_at=1))
        box.addWidget(status)
        self.list_layout.addWidget(frame)
        self.endpoints.append(endpoint)
        self._lines[endpoint] = frame

    @Slot()
    def _on_remove_clicked(self) -> None:
        endpoint = str(self.sender().property("endpoint"))
        frame = self._lines.pop(endpoint, None)
        if frame is not None:
            frame.deleteLater()
        self.endpoints.remove(endpoint)
        self.statuses.pop(endpoint, None)
        self.workers_changed.emit(list(self.endpoints))

    # --- probing -------------------------------------------------------------------------------------------------

    @Slot()
    def _on_check_clicked(self) -> None:
        self.check(str(self.sender().property("endpoint")))

    @Slot()
    def check_all(self) -> None:
        for endpoint in self.endpoints:
            self.check(endpoint)

    def check(self, endpoint: str) -> None:
        """Ask the worker in the background; its row shows the answer."""
        self.status_label(endpoint).setText("Checking…")
        task: BackgroundTask[WorkerStatus, object] = BackgroundTask(
            lambda _report: probe_worker(endpoint, bandwidth_bytes=PROBE_BYTES), parent=self, name="worker-probe")
        self._tasks.run(task.success(self._on_probed).failure(self._on_probe_failed), kind="worker-probe")

    def _on_probed(self, status: WorkerStatus) -> None:
        endpoint = str(status.endpoint)
        if endpoint not in self._lines:
            return  # removed meanwhile
        self.statuses[endpoint] = status
        label = self.status_label(endpoint)
        label.setText(status_words(status))
        label.setProperty("role", "muted" if status.ready else "error")
        label.style().polish(label)

    def _on_probe_failed(self, error: HearthError) -> None:
        self.error.setText(f"{error.message} {error.hint}".strip())
        self.error.show()

    def status_label(self, endpoint: str) -> QLabel:
        frame = self._lines[endpoint]
        found = frame.findChild(QLabel, "workerStatus")
        assert found is not None
        return found
