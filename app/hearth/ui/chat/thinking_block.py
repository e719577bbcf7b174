"""A reasoning model's thoughts above its answer: "Thinking…" while it thinks, then a collapsed "Thought for 12 s"
that opens to show them."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QFrame, QLabel, QToolButton, QVBoxLayout, QWidget


class ThinkingBlock(QFrame):
    """The thoughts, collapsed by default; a click on the header opens or closes them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thinkingBlock")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("thinkingToggle")
        self.toggle.setCheckable(True)
        self.toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAccessibleName("Show the model's thinking")
        self.toggle.toggled.connect(self._on_toggle_toggled)
        self.text = QLabel(self)
        self.text.setObjectName("thinkingText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.hide()
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.text)
        self.hide()

    def show_thoughts(self, thoughts: str, *, still_thinking: bool, seconds: float | None) -> None:
        """Show the thoughts so far (or hide the block when there are none)."""
        if not thoughts and not still_thinking:
            self.hide()
            return
        if still_thinking:
            title = "Thinking…"
        elif seconds is not None and seconds >= 1:
            title = f"Thought for {seconds:.0f} s"
        elif seconds is not None:
            title = "Thought for a moment"
        else:
            title = "Thoughts"
        self.toggle.setText(title)
        self.text.setText(thoughts)
        self.show()

    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()

    @Slot(bool)
    def _on_toggle_toggled(self, on: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.toggle.setAccessibleName("Hide the model's thinking" if on else "Show the model's thinking")
        self.text.setVisible(on)
