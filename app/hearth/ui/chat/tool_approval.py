"""Asking the user whether a tool call may run: the dialog, and the broker that lets the answer's worker thread wait
for the answer given on the GUI thread.

The dialog shows the server, the tool, what it says it does, and its arguments in full; its buttons are "Allow once",
"Allow for this chat" and "Deny" (the default: Enter or Escape denies).
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hearth.core.tools.approval import ApprovalRequest, Decision

AskTool = Callable[[QWidget, ApprovalRequest], Decision]
_POLL_S = 0.1


@dataclass(frozen=True)
class ApprovalQuestion:
    """A question on its way to the GUI thread, and where its answer goes."""

    request: ApprovalRequest
    answer: concurrent.futures.Future[Decision]


class ToolApprovalDialog(QDialog):
    """One call waiting for the user's decision; ``decision`` after it closes (Deny unless a button allowed it)."""

    def __init__(self, request: ApprovalRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolApproval")
        self.setWindowTitle("Allow this tool?")
        self.setMinimumWidth(480)
        self.decision = Decision.DENY
        layout = QVBoxLayout(self)
        where = "Hearth's own tool" if request.server == "Hearth" else f"the tool server “{request.server}”"
        heading = QLabel(f"The model wants to use <b>{_escape(request.tool)}</b> from {_escape(where)}.")
        heading.setTextFormat(Qt.TextFormat.RichText)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        if request.description:
            description = QLabel(request.description[:600])
            description.setTextFormat(Qt.TextFormat.PlainText)
            description.setWordWrap(True)
            description.setObjectName("mutedLabel")
            layout.addWidget(description)
        warning = QLabel("Its server does not mark it read-only: it may change things (files, messages, settings)."
                         if not request.read_only else "Its server marks it read-only.")
        warning.setWordWrap(True)
        layout.addWidget(warning)
        layout.addWidget(QLabel("With these arguments:"))
        self.arguments = QPlainTextEdit(request.arguments)
        self.arguments.setObjectName("toolApprovalArguments")
        self.arguments.setReadOnly(True)
        self.arguments.setAccessibleName("The call's arguments")
        layout.addWidget(self.arguments, 1)
        buttons = QDialogButtonBox()
        self.allow_once = QPushButton("Allow once")
        self.allow_chat = QPushButton("Allow for this chat")
        self.deny = QPushButton("Deny")
        self.allow_chat.setToolTip("Run this tool without asking again in this conversation (until Hearth quits)")
        buttons.addButton(self.allow_once, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.allow_chat, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.deny, QDialogButtonBox.ButtonRole.RejectRole)
        self.deny.setDefault(True)
        self.deny.setFocus()
        self.allow_once.clicked.connect(self._on_allow_once_clicked)
        self.allow_chat.clicked.connect(self._on_allow_chat_clicked)
        self.deny.clicked.connect(self.reject)
        layout.addWidget(buttons)

    @Slot()
    def _on_allow_once_clicked(self) -> None:
        self.decision = Decision.ALLOW_ONCE
        self.accept()

    @Slot()
    def _on_allow_chat_clicked(self) -> None:
        self.decision = Decision.ALLOW_CHAT
        self.accept()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def ask_tool(parent: QWidget, request: ApprovalRequest) -> Decision:
    """Show the dialog and wait for the user's decision."""
    dialog = ToolApprovalDialog(request, parent)
    dialog.exec()
    decision = dialog.decision
    dialog.deleteLater()
    return decision


class ApprovalBroker(QObject):
    """Carries approval questions from an answer's worker thread to the GUI thread and the answers back.

    Lives on the GUI thread. ``ask`` (any other thread) blocks until the user decided, or returns DENY once
    ``cancel`` is set (Stop).

    Signals:
        requested(ApprovalQuestion): a question for the GUI thread (queued).
    """

    requested = Signal(ApprovalQuestion)

    def __init__(self, parent_widget: QWidget, ask: AskTool) -> None:
        super().__init__()
        self._parent_widget = parent_widget
        self._ask = ask
        self.requested.connect(self._on_requested, Qt.ConnectionType.QueuedConnection)

    def ask(self, request: ApprovalRequest, cancel: threading.Event) -> Decision:
        future: concurrent.futures.Future[Decision] = concurrent.futures.Future()
        self.requested.emit(ApprovalQuestion(request, future))
        while True:
            try:
                return future.result(timeout=_POLL_S)
            except concurrent.futures.TimeoutError:
                if cancel.is_set():
                    future.cancel()
                    return Decision.DENY

    @Slot(ApprovalQuestion)
    def _on_requested(self, question: ApprovalQuestion) -> None:
        future = question.answer
        if not future.set_running_or_notify_cancel():
            return
        try:
            decision = self._ask(self._parent_widget, question.request)
        except Exception as exc:  # a failing dialog must not leave the answer waiting forever
            future.set_exception(exc)
            return
        future.set_result(decision)
