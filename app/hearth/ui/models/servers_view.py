"""Models → Servers: OpenAI-compatible servers (``hearth serve``, llama-server, vLLM, Ollama, LM Studio...) whose
models the window can chat with like local ones.

A server is added by its base URL and an optional key (kept in the OS keyring or a 0600 file, never in the settings).
Its models (``GET /v1/models``) are listed under the server's host, each with "Use"; a server on another computer
says plainly that messages leave this computer, and plain http to another computer says it is unencrypted. In offline
mode servers are off.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from hearth.core.engine.remote import RemoteServer, list_models, privacy_words
from hearth.core.engine.remote_keys import KeyStore
from hearth.core.errors import HearthError
from hearth.ui.models.widgets import badge, button, card, row, text_label
from hearth.ui.tasks import BackgroundTask, TaskGroup

FIELD_ROW = 99  # a stretch index past the row's end: no stretch, the address field takes the width

INTRO = ("Chat with models that run on another program or computer through its OpenAI-compatible address "
         "(hearth serve, llama-server, vLLM, Ollama, LM Studio). Documents are still read and ranked here; only the "
         "chosen passages are sent with your message.")


class ServersView(QWidget):
    """The Servers tab.

    Args:
        servers: saved base URLs.
        keys: where keys are kept.
        tasks: runs the model listings in the background.
        offline: the app's offline mode.

    Signals:
        servers_changed(object): the list of base URLs after an add or a removal.
        use_requested(str, str): a server's base URL and one of its models, to chat with.
    """

    servers_changed = Signal(list)
    use_requested = Signal(str, str)

    def __init__(self, servers: list[str], keys: KeyStore, tasks: TaskGroup, offline: Callable[[], bool],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("serversView")
        self._keys = keys
        self._tasks = tasks
        self._offline = offline
        self.urls: list[str] = []
        self.models: dict[str, list[str]] = {}
        self._frames: dict[str, QWidget] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 8)
        layout.addWidget(text_label(INTRO, "muted", wrap=True))
        self.offline_note = text_label("Hearth is offline: servers are turned off (Settings → offline mode).",
                                       "error", wrap=True)
        layout.addWidget(self.offline_note)
        self.url = QLineEdit()
        self.url.setPlaceholderText("Address, e.g. http://192.168.1.20:8080/v1")
        self.url.setAccessibleName("Server address")
        self.key = QLineEdit()
        self.key.setPlaceholderText("Key (optional)")
        self.key.setAccessibleName("Server key")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setMaximumWidth(220)
        self.add_button = button("Add a server", "primary")
        self.add_button.clicked.connect(self._on_add_clicked)
        self.url.returnPressed.connect(self._on_add_clicked)
        layout.addLayout(row(self.url, self.key, self.add_button, stretch_at=FIELD_ROW))
        self.warning = text_label("", "muted", wrap=True)
        self.warning.hide()
        self.url.textChanged.connect(self._on_url_text_changed)
        layout.addWidget(self.warning)
        self.error = text_label("", "error", wrap=True)
        self.error.hide()
        layout.addWidget(self.error)
        self.list_layout = QVBoxLayout()
        layout.addWidget(text_label(f"Keys are kept in {keys.where}.", "small", wrap=True))
        layout.addLayout(self.list_layout)
        layout.addStretch(1)
        for url in servers:
            self._add_frame(url)
        self.set_offline(offline())

    def set_offline(self, offline: bool) -> None:
        self.offline_note.setVisible(offline)
        for widget in (self.url, self.key, self.add_button, *self._frames.values()):
            widget.setEnabled(not offline)

    @Slot(str)
    def _on_url_text_changed(self, text: str) -> None:
        try:
            words = privacy_words(RemoteServer.parse(text)) if text.strip() else ""
        except HearthError:
            words = ""
        self.warning.setText(words)
        self.warning.setVisible(bool(words))

    @Slot()
    def _on_add_clicked(self) -> None:
        try:
            server = RemoteServer.parse(self.url.text())
        except HearthError as exc:
            self._show_error(f"{exc.message} {exc.hint}")
            return
        self.error.hide()
        if self.key.text().strip():
            self._keys.set(server.base_url, self.key.text().strip())
        self.url.clear()
        self.key.clear()
        if server.base_url not in self.urls:
            self._add_frame(server.base_url)
            self.servers_changed.emit(list(self.urls))
        self.refresh(server.base_url)

    def _show_error(self, text: str) -> None:
        self.error.setText(text.strip())
        self.error.show()

    def _add_frame(self, url: str) -> None:
        server = RemoteServer.parse(url)
        frame = card("serverRow")
        frame.setProperty("url", url)
        box = QVBoxLayout(frame)
        refresh = button("Refresh", "flat", accessible=f"Refresh {server.label}")
        refresh.setProperty("url", url)
        refresh.clicked.connect(self._on_refresh_clicked)
        remove = button("Remove", "flat", accessible=f"Remove {server.label}")
        remove.setProperty("url", url)
        remove.clicked.connect(self._on_remove_clicked)
        box.addLayout(row(text_label(server.label, "title", selectable=True), None, refresh, remove, stretch_at=1))
        words = privacy_words(server)
        if words:
            box.addWidget(badge(words, "warning"))
        models = QVBoxLayout()
        holder = QWidget()
        holder.setObjectName("serverModels")
        holder.setLayout(models)
        box.addWidget(holder)
        status = text_label("", "muted", wrap=True)
        status.setObjectName("serverStatus")
        box.addWidget(status)
        self.list_layout.addWidget(frame)
        self.urls.append(url)
        self._frames[url] = frame

    @Slot()
    def _on_remove_clicked(self) -> None:
        url = str(self.sender().property("url"))
        frame = self._frames.pop(url, None)
        if frame is not None:
            frame.deleteLater()
        self.urls.remove(url)
        self.models.pop(url, None)
        self._keys.delete(url)
        self.servers_changed.emit(list(self.urls))

    @Slot()
    def _on_refresh_clicked(self) -> None:
        self.refresh(str(self.sender().property("url")))

    def refresh_all(self) -> None:
        for url in self.urls:
            self.refresh(url)

    def refresh(self, url: str) -> None:
        """List the server's models in the background."""
        if self._offline() or url not in self._frames:
            return
        self._status(url).setText("Asking for its models…")
        server = RemoteServer(url, self._keys.get(url) or "")

        def work(_report: Callable[[object], None]) -> tuple[str, list[str] | HearthError]:
            try:
                return url, list_models(server)
            except HearthError as exc:
                return url, exc

        task: BackgroundTask[tuple[str, list[str] | HearthError], object] = BackgroundTask(
            work, parent=self, name="server-models")
        self._tasks.run(task.success(self._on_listed).failure(self._on_list_failed), kind="server-models")

    def _on_listed(self, result: tuple[str, list[str] | HearthError]) -> None:
        url, found = result
        if url not in self._frames:
            return
        status = self._status(url)
        if isinstance(found, HearthError):
            status.setText(f"{found.message} {found.hint}".strip())
            status.setProperty("role", "error")
            status.style().polish(status)
            return
        self.models[url] = list(found)
        status.setText(f"{len(found)} model{'s' if len(found) != 1 else ''}" if found else "No models listed.")
        holder = self._frames[url].findChild(QWidget, "serverModels")
        assert holder is not None
        layout = holder.layout()
        assert layout is not None
        while layout.count():
            item = layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        label = RemoteServer.parse(url).label
        for model in found:
            use = button("Use", "secondary", accessible=f"Use {model} on {label}")
            use.setProperty("url", url)
            use.setProperty("model", model)
            use.setObjectName("useRemoteModel")
            use.clicked.connect(self._on_use_clicked)
            line = QWidget()
            line.setLayout(row(text_label(f"{model} · {label}", selectable=True), None, use, stretch_at=1))
            layout.addWidget(line)

    def _on_list_failed(self, error: HearthError) -> None:
        self._show_error(f"{error.message} {error.hint}")

    @Slot()
    def _on_use_clicked(self) -> None:
        sender = self.sender()
        self.use_requested.emit(str(sender.property("url")), str(sender.property("model")))

    def _status(self, url: str) -> QLabel:
        found = self._frames[url].findChild(QLabel, "serverStatus")
        assert found is not None
        return found
