"""Small parts of a message: attachment chips, citation chips with their passage, and the error/notice box."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from hearth.ui.message_types import AttachmentChip, Citation, human_size

_KIND_LABELS = {"pdf": "PDF", "docx": "DOC", "doc": "DOC", "text": "TXT", "txt": "TXT", "md": "MD", "image": "IMG",
                "code": "CODE", "csv": "CSV", "html": "HTML"}


class AttachmentRow(QWidget):
    """The files attached to a user message, as read-only chips."""

    def __init__(self, attachments: tuple[AttachmentChip, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addStretch(1)
        for chip in attachments:
            kind = _KIND_LABELS.get(chip.kind.lower(), chip.kind.upper()[:4] or "FILE")
            label = QLabel(f"<b>{html.escape(kind)}</b>&nbsp;&nbsp;{html.escape(chip.name)}"
                           f"&nbsp;&nbsp;<span>·&nbsp;{human_size(chip.size)}</span>", self)
            label.setObjectName("attachmentChip")
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setAccessibleName(f"Attachment {chip.name}, {human_size(chip.size)}")
            layout.addWidget(label)


class CitationBar(QWidget):
    """"Sources" followed by one chip per citation; a given chip shows its passage when clicked.

    Signals:
        citation_activated(str): A chip was clicked (its label).
    """

    citation_activated = Signal(str)

    def __init__(self, citations: tuple[Citation, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._citations = {c.label: c for c in citations}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(6)
        row = QHBoxLayout()
        row.setSpacing(6)
        title = QLabel("Sources", self)
        title.setObjectName("mutedLabel")
        row.addWidget(title)
        self._chips: dict[str, QPushButton] = {}
        for citation in citations:
            chip = QPushButton(citation.label, self)
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            if citation.invented:
                chip.setObjectName("inventedChip")
                chip.setEnabled(False)
                chip.setText(f"{citation.label} ?")
                chip.setToolTip("Not found in your documents: the model may have made this source up.")
                chip.setAccessibleName(f"Source {citation.label}, not found in your documents")
            else:
                chip.setObjectName("citationChip")
                chip.setCheckable(True)
                chip.setToolTip("Show the passage")
                chip.setAccessibleName(f"Source {citation.label}")
                chip.toggled.connect(self._on_chip_toggled)
            self._chips[citation.label] = chip
            row.addWidget(chip)
        row.addStretch(1)
        outer.addLayout(row)
        self.passage = QLabel(self)
        self.passage.setObjectName("citationPassage")
        self.passage.setWordWrap(True)
        self.passage.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                             | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.passage.setAccessibleName("Cited passage")
        self.passage.hide()
        outer.addWidget(self.passage)

    def chip(self, label: str) -> QPushButton:
        """The chip for ``label`` (for tests and keyboard focus)."""
        return self._chips[label]

    @Slot(bool)
    def _on_chip_toggled(self, checked: bool) -> None:
        sender = self.sender()
        label = next((key for key, chip in self._chips.items() if chip is sender), None)
        if label is None:
            return
        if checked:
            for key, chip in self._chips.items():  # one passage at a time
                if key != label and chip.isChecked():
                    chip.blockSignals(True)
                    chip.setChecked(False)
                    chip.blockSignals(False)
            citation = self._citations[label]
            self.passage.setText(f"<b>{html.escape(label)}</b><br/>{html.escape(citation.passage)}")
            self.passage.show()
            self.citation_activated.emit(label)
        else:
            self.passage.hide()


class NoticeBox(QFrame):
    """A plain-words note on a message: an error (with its next step) or why an answer stopped."""

    def __init__(self, text: str, error: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBox" if error else "noticeBox")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(8)
        if error:
            icon = QLabel("⚠", self)
            icon.setObjectName("noticeIcon")
            icon.setAlignment(Qt.AlignmentFlag.AlignTop)
            layout.addWidget(icon)
        self.label = QLabel(text, self)
        self.label.setObjectName("noticeText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.setAccessibleName("Error" if error else "Note")
        self.setAccessibleDescription(text)
