"""Adding or changing one MCP server (a program on this computer, or a server at a URL), and importing the
``mcpServers`` JSON of Claude Desktop, LM Studio, Cursor or VS Code."""

from __future__ import annotations

import shlex
from dataclasses import replace

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hearth.core.errors import ToolConfigError
from hearth.core.tools.config import DEFAULT_CALL_TIMEOUT_S, ServerConfig, import_servers, name_from_command


def _pairs(text: str, separator: str) -> dict[str, str]:
    """``KEY=VALUE`` (or ``Name: value``) lines as a dictionary; blank lines and lines without the separator skipped."""
    values = {}
    for line in text.splitlines():
        key, found, value = line.partition(separator)
        if found and key.strip():
            values[key.strip()] = value.strip()
    return values


class ServerDialog(QDialog):
    """A server's settings; ``server`` holds the result once accepted."""

    def __init__(self, server: ServerConfig | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Tool server" if server is None else f"Tool server “{server.name}”")
        self.setMinimumWidth(520)
        self.server: ServerConfig | None = None
        self._original = server
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit(server.name if server else "")
        self.name.setAccessibleName("Name")
        self.name.setPlaceholderText("e.g. notes")
        form.addRow("Name", self.name)
        self.kind = QComboBox()
        self.kind.setAccessibleName("Kind of server")
        self.kind.addItem("A program on this computer (stdio)", "stdio")
        self.kind.addItem("A server at a URL (streamable HTTP)", "http")
        form.addRow("Kind", self.kind)
        self.command = QLineEdit(server.summary if server and not server.url else "")
        self.command.setAccessibleName("Command")
        self.command.setPlaceholderText("e.g. npx -y @modelcontextprotocol/server-filesystem ~/Documents")
        form.addRow("Command", self.command)
        self.env = QPlainTextEdit("\n".join(f"{k}={v}" for k, v in (server.env.items() if server else ())))
        self.env.setAccessibleName("Environment variables")
        self.env.setPlaceholderText("NAME=value, one a line (tokens the server needs)")
        self.env.setFixedHeight(64)
        form.addRow("Environment", self.env)
        self.cwd = QLineEdit(server.cwd if server else "")
        self.cwd.setAccessibleName("Working folder")
        self.cwd.setPlaceholderText("(Hearth's)")
        form.addRow("Working folder", self.cwd)
        self.url = QLineEdit(server.url if server else "")
        self.url.setAccessibleName("URL")
        self.url.setPlaceholderText("e.g. http://127.0.0.1:8000/mcp")
        form.addRow("URL", self.url)
        self.headers = QPlainTextEdit("\n".join(f"{k}: {v}" for k, v in (server.headers.items() if server else ())))
        self.headers.setAccessibleName("HTTP headers")
        self.headers.setPlaceholderText("Authorization: Bearer …, one a line")
        self.headers.setFixedHeight(64)
        form.addRow("Headers", self.headers)
        self.timeout = QDoubleSpinBox()
        self.timeout.setAccessibleName("Time limit of one call")
        self.timeout.setRange(1, 3600)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(server.timeout_s if server else DEFAULT_CALL_TIMEOUT_S)
        form.addRow("Time limit of a call", self.timeout)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setObjectName("errorLabel")
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_buttons_accepted)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._rows = form
        self.kind.currentIndexChanged.connect(self._on_kind_current_index_changed)
        self.kind.setCurrentIndex(1 if server is not None and server.url else 0)
        self._on_kind_current_index_changed(self.kind.currentIndex())

    @Slot(int)
    def _on_kind_current_index_changed(self, _index: int) -> None:
        http = self.kind.currentData() == "http"
        for widget in (self.command, self.env, self.cwd):
            self._rows.setRowVisible(widget, not http)
        for widget in (self.url, self.headers):
            self._rows.setRowVisible(widget, http)

    def values(self) -> ServerConfig:
        """The server as filled in.

        Raises:
            ToolConfigError: something needed is missing or cannot be used (the message says what).
        """
        keep = self._original or ServerConfig("")
        if self.kind.currentData() == "http":
            return replace(keep, name=self.name.text().strip(), command="", args=(), env={}, cwd="",
                           url=self.url.text().strip(), headers=_pairs(self.headers.toPlainText(), ":"),
                           timeout_s=float(self.timeout.value())).check()
        try:
            words = shlex.split(self.command.text())
        except ValueError as exc:
            raise ToolConfigError(f"The command cannot be read: {exc}.") from exc
        if not words:
            raise ToolConfigError("Give the command that starts the server.")
        name = self.name.text().strip() or name_from_command(words)
        return replace(keep, name=name, command=words[0], args=tuple(words[1:]),
                       env=_pairs(self.env.toPlainText(), "="), cwd=self.cwd.text().strip(), url="", headers={},
                       timeout_s=float(self.timeout.value())).check()

    @Slot()
    def _on_buttons_accepted(self) -> None:
        try:
            self.server = self.values()
        except ToolConfigError as exc:
            self.error.setText(f"{exc.message} {exc.hint}".strip())
            self.error.show()
            return
        self.accept()


class ImportDialog(QDialog):
    """Paste (or open) an ``mcpServers`` JSON; ``servers`` holds what it describes once accepted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import tool servers")
        self.setMinimumWidth(560)
        self.servers: list[ServerConfig] = []
        layout = QVBoxLayout(self)
        intro = QLabel("Paste the JSON that Claude Desktop (claude_desktop_config.json), LM Studio (mcp.json), Cursor "
                       "or VS Code use, or open the file. Its servers are added to yours.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.text = QPlainTextEdit()
        self.text.setAccessibleName("Servers JSON")
        self.text.setPlaceholderText('{"mcpServers": {"name": {"command": "...", "args": ["..."]}}}')
        layout.addWidget(self.text, 1)
        open_file = QPushButton("Open a file…")
        open_file.clicked.connect(self._on_open_file_clicked)
        layout.addWidget(open_file, 0, Qt.AlignmentFlag.AlignLeft)
        self.error = QLabel()
        self.error.setObjectName("errorLabel")
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_buttons_accepted)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @Slot()
    def _on_open_file_clicked(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open servers JSON", "", "JSON (*.json);;All files (*)")
        if not name:
            return
        try:
            with open(name, encoding="utf-8") as handle:
                self.text.setPlainText(handle.read(1_000_000))
        except (OSError, UnicodeDecodeError) as exc:
            self.error.setText(f"That file could not be read: {exc}")
            self.error.show()

    @Slot()
    def _on_buttons_accepted(self) -> None:
        try:
            self.servers = import_servers(self.text.toPlainText())
        except ToolConfigError as exc:
            self.error.setText(f"{exc.message} {exc.hint}".strip())
            self.error.show()
            return
        self.accept()
