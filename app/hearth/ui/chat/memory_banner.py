"""The notice at the top of a conversation that outgrew the model's context.

It says how many of the oldest messages the model no longer sees (those messages are dimmed in the list) and
offers to continue in a new chat that starts from the model's own summary of this one.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from hearth.core.chat.summary import forgotten_words


class MemoryBanner(QFrame):
    """"The oldest 6 messages are no longer in the model's memory." [Continue in a new chat with a summary]

    Signals:
        summary_requested(): the person chose to continue in a new chat with a summary.
    """

    summary_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("memoryBanner")
        self.setAccessibleName("Context notice")
        self.count = 0
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.button = QPushButton("Continue in a new chat with a summary", self)
        self.button.setAccessibleName("Continue in a new chat with a summary")
        self.button.setToolTip("The model summarises this conversation; a new chat starts from its summary, with "
                               "this conversation attached as a file.")
        self.button.clicked.connect(self._on_button_clicked)
        row = QHBoxLayout(self)
        row.addWidget(self.text, 1)
        row.addWidget(self.button)
        self.hide()

    def show_count(self, count: int) -> None:
        """Show the notice for ``count`` forgotten messages (hidden for 0)."""
        self.count = count
        if count <= 0:
            self.hide()
            return
        self.text.setText(forgotten_words(count) + " Its answers no longer take them into account.")
        self.show()

    @Slot()
    def _on_button_clicked(self) -> None:
        self.summary_requested.emit()
