"""The local API's panel: its address, its key (hidden until shown, with a copy button) and counts of recent
requests. Requests are shown by method, path, status, time and token counts only, never by what they said."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hearth.ui.shell.api_server import LAN_WARNING, ApiServerControl

COLUMNS = ("Time", "Request", "Status", "Time taken", "Tokens (prompt + answer)")


class ApiPanel(QDialog):
    """Where other programs connect, with what key, and how recent requests went."""

    def __init__(self, control: ApiServerControl, *, lan: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Local API server")
        self.setMinimumWidth(620)
        self._control = control
        layout = QVBoxLayout(self)
        intro = QLabel("Other apps on this computer (editors, scripts, notebooks) can use the loaded model through "
                       "an OpenAI-compatible API. Give them the address and the key below.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        if lan:
            warning = QLabel(f"⚠ {LAN_WARNING}")
            warning.setObjectName("apiLanWarning")
            warning.setWordWrap(True)
            layout.addWidget(warning)
        form = QFormLayout()
        self.url = QLineEdit()
        self.url.setReadOnly(True)
        self.url.setAccessibleName("Base URL")
        copy_url = QPushButton("Copy")
        copy_url.setAccessibleName("Copy the base URL")
        copy_url.clicked.connect(self._on_copy_url_clicked)
        form.addRow("Base URL", _row(self.url, copy_url))
        self.key = QLineEdit()
        self.key.setReadOnly(True)
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setAccessibleName("API key")
        self.show_key = QPushButton("Show")
        self.show_key.setCheckable(True)
        self.show_key.setAccessibleName("Show the API key")
        self.show_key.toggled.connect(self._on_show_key_toggled)
        self.copy_key = QPushButton("Copy")
        self.copy_key.setAccessibleName("Copy the API key")
        self.copy_key.clicked.connect(self._on_copy_key_clicked)
        self.new_key = QPushButton("New key…")
        self.new_key.setToolTip("Make a new key; apps using the old one are refused until they get the new one")
        self.new_key.clicked.connect(self._on_new_key_clicked)
        form.addRow("API key", _row(self.key, self.show_key, self.copy_key, self.new_key))
        self.counts = QLabel()
        self.counts.setObjectName("apiCounts")
        form.addRow("Requests", self.counts)
        layout.addLayout(form)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Recent requests")
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        control.request_seen.connect(self.refresh)
        control.state_changed.connect(self.refresh)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        control = self._control
        self.url.setText(control.base_url or "Not running")
        key = control.key
        self.key.setText(key or "No key needed (this computer only)")
        self.key.setEchoMode(QLineEdit.EchoMode.Normal if self.show_key.isChecked() or not key
                             else QLineEdit.EchoMode.Password)
        self.show_key.setEnabled(bool(key))
        self.copy_key.setEnabled(bool(key))
        stats = control.stats
        if stats is None:
            self.counts.setText("—")
            self.table.setRowCount(0)
            return
        n = stats.snapshot()
        self.counts.setText(f"{n['total']} in all: {n['answered']} answered, {n['busy']} told to wait (busy), "
                            f"{n['refused']} refused, {n['failed']} failed · {n['completion_tokens']:,} tokens "
                            "written")
        recent = list(reversed(stats.recent))
        self.table.setRowCount(len(recent))
        for row, record in enumerate(recent):
            tokens = f"{record.prompt_tokens} + {record.completion_tokens}" if record.completion_tokens else ""
            cells = (time.strftime("%H:%M:%S", time.localtime(record.at)), f"{record.method} {record.path}",
                     str(record.status), f"{record.milliseconds:,.0f} ms", tokens)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)

    @Slot()
    def _on_copy_url_clicked(self) -> None:
        if self._control.base_url:
            QGuiApplication.clipboard().setText(self._control.base_url)

    @Slot()
    def _on_copy_key_clicked(self) -> None:
        if self._control.key:
            QGuiApplication.clipboard().setText(self._control.key)

    @Slot(bool)
    def _on_show_key_toggled(self, _shown: bool) -> None:
        self.refresh()

    @Slot()
    def _on_new_key_clicked(self) -> None:
        answer = QMessageBox.question(self, "Make a new API key?",
                                      "Apps that use the current key will be refused until you give them the new one.")
        if answer == QMessageBox.StandardButton.Yes:
            self._control.new_key()


def _row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    for i, widget in enumerate(widgets):
        row.addWidget(widget, 1 if i == 0 else 0)
    return row
