"""The tool calls of an answer: one collapsible block per call (tool, server, how it ended, time taken; opened: the
arguments and the result in full).

The result is shown as plain text, never rendered: it came from a tool, not from the user or the model.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QPlainTextEdit, QToolButton, QVBoxLayout, QWidget

from hearth.core.store import CallStatus
from hearth.ui.chat.message_types import ToolCallView

_ARROWS = {False: Qt.ArrowType.RightArrow, True: Qt.ArrowType.DownArrow}


class ToolCallBlock(QFrame):
    """One call: a header that opens and closes it, and its arguments and result."""

    def __init__(self, call: ToolCallView, font: QFont | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolCallBlock")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(4)
        self.header = QToolButton(self)
        self.header.setObjectName("toolCallHeader")
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setCheckable(True)
        self.header.setArrowType(_ARROWS[False])
        self.header.setAutoRaise(True)
        self.header.setCursor(Qt.CursorShape.PointingHandCursor)
        self.header.toggled.connect(self._on_header_toggled)
        layout.addWidget(self.header)
        self.details = QPlainTextEdit(self)
        self.details.setObjectName("toolCallDetails")
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.details.setAccessibleName("Tool call arguments and result")
        if font is not None:
            self.details.setFont(font)
        self.details.setMaximumHeight(260)
        self.details.hide()
        layout.addWidget(self.details)
        self.call = call
        self.set_call(call)

    def set_call(self, call: ToolCallView) -> None:
        self.call = call
        self.header.setText(f"Tool: {call.summary}")
        self.header.setAccessibleName(f"Tool call {call.summary}; press to show its arguments and result")
        result = call.result if call.status is not CallStatus.RUNNING else "(running…)"
        text = f"Arguments:\n{call.arguments}\n\nResult:\n{result}"
        if self.details.toPlainText() != text:
            self.details.setPlainText(text)
        self.setProperty("status", call.status.value)

    @property
    def expanded(self) -> bool:
        return self.header.isChecked()

    def set_expanded(self, expanded: bool) -> None:
        self.header.setChecked(expanded)

    @Slot(bool)
    def _on_header_toggled(self, checked: bool) -> None:
        self.header.setArrowType(_ARROWS[checked])
        self.details.setVisible(checked)


class ToolCallsBox(QWidget):
    """The blocks of one answer's calls, in order (updated in place while the answer runs)."""

    def __init__(self, font: QFont | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolCalls")
        self._font = font
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.blocks: list[ToolCallBlock] = []

    def set_calls(self, calls: Sequence[ToolCallView]) -> None:
        for index, call in enumerate(calls):
            if index < len(self.blocks):
                self.blocks[index].set_call(call)
            else:
                block = ToolCallBlock(call, self._font, self)
                self.blocks.append(block)
                self._layout.addWidget(block)
        while len(self.blocks) > len(calls):
            block = self.blocks.pop()
            self._layout.removeWidget(block)
            block.deleteLater()
        self.setVisible(bool(calls))
