"""Small parts of a message: attachment chips, citation chips with their passage, and the error/notice box."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMenu, QPushButton, QToolButton, QVBoxLayout, QWidget

from hearth.core.units import format_size
from hearth.ui.chat.message_types import AttachmentChip, Citation

_KIND_LABELS = {"pdf": "PDF", "docx": "DOC", "doc": "DOC", "text": "TXT", "txt": "TXT", "md": "MD", "markdown": "MD",
                "image": "IMG", "code": "CODE", "csv": "CSV", "html": "HTML", "json": "JSON"}


class AttachmentRow(QWidget):
    """The files attached to a user message, as chips. A document's chip opens a menu (click, Space, or right-click)
    with "Always send whole": the document then goes into every prompt of the conversation whole when it fits.

    Signals:
        whole_requested(str, bool): "Always send whole" was switched on or off (the document's sha256, on).
    """

    whole_requested = Signal(str, bool)

    def __init__(self, attachments: tuple[AttachmentChip, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addStretch(1)
        self.attachments = attachments
        self._whole_actions: dict[str, QAction] = {}
        self._document_chips: dict[str, QToolButton] = {}
        self.chips: list[QWidget] = []
        for chip in attachments:
            kind = _KIND_LABELS.get(chip.kind.lower(), chip.kind.upper()[:4] or "FILE")
            widget = self._document_chip(chip, kind) if chip.can_pin else self._label_chip(chip, kind)
            self.chips.append(widget)
            layout.addWidget(widget)

    def _label_chip(self, chip: AttachmentChip, kind: str) -> QLabel:
        label = QLabel(f"<b>{html.escape(kind)}</b>&nbsp;&nbsp;{html.escape(chip.name)}"
                       f"&nbsp;&nbsp;<span>·&nbsp;{format_size(chip.size)}</span>", self)
        label.setObjectName("attachmentChip")
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setAccessibleName(f"Attachment {chip.name}, {format_size(chip.size)}")
        return label

    def _document_chip(self, chip: AttachmentChip, kind: str) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName("attachmentChip")
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        action = QAction("Always send whole", button)
        action.setCheckable(True)
        action.setToolTip("Send the whole document with every question when the model's context allows, "
                          "instead of the passages that match the question")
        action.setData(chip.sha256)
        action.toggled.connect(self._on_whole_action_toggled)
        menu = QMenu(button)
        menu.addAction(action)
        button.setMenu(menu)
        button.addAction(action)
        button.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self._whole_actions[chip.sha256] = action
        self._document_chips[chip.sha256] = button
        self._show_whole(chip, kind)
        return button

    def _show_whole(self, chip: AttachmentChip, kind: str) -> None:
        button, action = self._document_chips[chip.sha256], self._whole_actions[chip.sha256]
        button.setText(f"{'📌 ' if chip.whole else ''}{kind}  {chip.name}  · {format_size(chip.size)}")
        how = "always sent whole" if chip.whole else "passages that fit, or whole when it fits"
        button.setAccessibleName(f"Attachment {chip.name}, {format_size(chip.size)}, {how}")
        button.setToolTip("Pinned: always sent whole when the model's context allows" if chip.whole
                          else "Choose how this document is sent to the model")
        action.blockSignals(True)
        action.setChecked(chip.whole)
        action.blockSignals(False)

    def set_attachments(self, attachments: tuple[AttachmentChip, ...]) -> bool:
        """Show new pin marks in place (focus stays on the chip). False when the files differ: build a new row."""
        if [(c.name, c.sha256, c.kind) for c in attachments] != [(c.name, c.sha256, c.kind) for c in self.attachments]:
            return False
        for chip in attachments:
            if chip.can_pin:
                self._show_whole(chip, _KIND_LABELS.get(chip.kind.lower(), chip.kind.upper()[:4] or "FILE"))
        self.attachments = attachments
        return True

    def whole_action(self, sha256: str) -> QAction | None:
        """The "Always send whole" action of a document's chip (None for a picture or an unknown file)."""
        return self._whole_actions.get(sha256)

    @Slot(bool)
    def _on_whole_action_toggled(self, checked: bool) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.whole_requested.emit(str(action.data()), checked)


class CitationBar(QWidget):
    """"Sources" followed by one chip per citation; a given chip shows its passage when clicked. When the model
    cited nothing, "Best matches" and the passages that matched the question best.

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
        matched_only = bool(citations) and all(c.matched for c in citations)
        title = self._title = QLabel("Best matches" if matched_only else "Sources", self)
        title.setObjectName("mutedLabel")
        if matched_only:
            title.setToolTip("The model did not name its sources: these passages of your documents matched the "
                             "question best.")
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

    @property
    def labels(self) -> list[str]:
        """The chips' labels, in the order shown."""
        return list(self._chips)

    @property
    def title(self) -> str:
        """"Sources" (what the model cited) or "Best matches" (it cited nothing)."""
        return self._title.text()

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
