"""Where the user writes: a multi-line editor, attachment chips, Send/Stop, and why sending is not possible."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMimeData, QSize, Qt, Signal, Slot
from PySide6.QtGui import QImage, QKeyEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hearth.core.documents import DocumentKind, kind_from_name, readable_patterns
from hearth.core.units import format_size

# Pastes longer than this become an attachment instead of text in the editor (a 20 MB paste would freeze an editor).
LARGE_PASTE_CHARS = 100_000


@dataclass(frozen=True)
class PendingAttachment:
    """A file, pasted image or large paste waiting to be sent.

    Attributes:
        name: what the chip shows.
        size: bytes.
        kind: "image", "document" or "text".
        path: the file on disk, if it came from one.
        data: the content, for pastes that have no file.
    """

    name: str
    size: int
    kind: str
    path: Path | None = None
    data: bytes | None = None


def attachment_for_path(path: Path) -> PendingAttachment:
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    # What the name suggests, for the chip; the content decides when the message is sent.
    kind = "image" if kind_from_name(path.name) is DocumentKind.IMAGE else "document"
    return PendingAttachment(path.name, size, kind, path=path)


class _Editor(QPlainTextEdit):
    """The text box: Enter sends (or adds a line, by setting), Up in an empty box edits the last message."""

    send_pressed = Signal()
    up_in_empty = Signal()
    files_pasted = Signal(list)
    image_pasted = Signal(QImage)
    large_text_pasted = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.send_on_enter = True
        self.setTabChangesFocus(True)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            if (self.send_on_enter and not shift) or (not self.send_on_enter and ctrl):
                self.send_pressed.emit()
                return
        if event.key() == Qt.Key.Key_Up and not self.toPlainText():
            self.up_in_empty.emit()
            return
        super().keyPressEvent(event)

    def insertFromMimeData(self, source: QMimeData) -> None:
        if source.hasUrls() and all(url.isLocalFile() for url in source.urls()):
            self.files_pasted.emit([Path(url.toLocalFile()) for url in source.urls()])
            return
        if source.hasImage():
            image = source.imageData()
            if isinstance(image, QImage) and not image.isNull():
                self.image_pasted.emit(image)
                return
        if source.hasText() and len(source.text()) > LARGE_PASTE_CHARS:
            self.large_text_pasted.emit(source.text())
            return
        super().insertFromMimeData(source)


class _Chip(QFrame):
    removed = Signal(PendingAttachment)

    def __init__(self, attachment: PendingAttachment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.attachment = attachment
        self.setObjectName("attachmentChip")
        self.setAccessibleName(f"Attachment {attachment.name}, {format_size(attachment.size)}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 2, 2)
        layout.setSpacing(4)
        kind = {"image": "Image", "text": "Text"}.get(attachment.kind, "File")
        label = QLabel(f"<b>{attachment.name}</b>  <span style='color:gray'>{kind} · {format_size(attachment.size)}"
                       "</span>")
        label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(label)
        remove = QToolButton()
        remove.setText("✕")
        remove.setAutoRaise(True)
        remove.setAccessibleName(f"Remove {attachment.name}")
        remove.setToolTip("Remove")
        remove.clicked.connect(self._on_remove_clicked)
        layout.addWidget(remove)

    @Slot()
    def _on_remove_clicked(self) -> None:
        self.removed.emit(self.attachment)


class Composer(QWidget):
    """The message box.

    Signals:
        submitted(str, list): the text and the list of ``PendingAttachment`` to send.
        stop_requested(): the user pressed Stop (or Esc) while an answer streams.
        edit_last_requested(): Up in an empty box.
        choose_model_requested(): the "Choose a model" link in the disabled state.
        notice(str): something to tell the user (e.g. a large paste became an attachment).
    """

    submitted = Signal(str, list)
    stop_requested = Signal()
    edit_last_requested = Signal()
    choose_model_requested = Signal()
    notice = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self._attachments: list[PendingAttachment] = []
        self._busy = False
        self._blocked_reason = ""

        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 8, 16, 12)
        outer.setSpacing(6)

        self._reason = QLabel()
        self._reason.setObjectName("composerReason")
        self._reason.setTextFormat(Qt.TextFormat.RichText)
        self._reason.linkActivated.connect(self._on_reason_link_activated)
        self._reason.hide()
        outer.addWidget(self._reason)

        self._chips = QWidget()
        self._chips_layout = QHBoxLayout(self._chips)
        self._chips_layout.setContentsMargins(0, 0, 0, 0)
        self._chips_layout.setSpacing(6)
        self._chips_layout.addStretch(1)
        self._chips.hide()
        outer.addWidget(self._chips)

        box = QFrame()
        box.setObjectName("composerBox")
        row = QHBoxLayout(box)
        row.setContentsMargins(8, 6, 6, 6)
        row.setSpacing(6)
        self._attach = QToolButton()
        self._attach.setObjectName("composerAttach")
        self._attach.setText("+")
        self._attach.setToolTip("Attach files or images")
        self._attach.setAccessibleName("Attach files")
        self._attach.clicked.connect(self._on_attach_clicked)
        row.addWidget(self._attach, 0, Qt.AlignmentFlag.AlignVCenter)

        self.editor = _Editor()
        self.editor.setObjectName("composerEditor")
        self.editor.setAccessibleName("Message")
        self.editor.setPlaceholderText("Message Hearth…  (Enter to send, Shift+Enter for a new line)")
        self.editor.setFrameShape(QFrame.Shape.NoFrame)
        self.editor.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.editor.textChanged.connect(self._on_editor_text_changed)
        self.editor.send_pressed.connect(self._on_editor_send_pressed)
        self.editor.up_in_empty.connect(self.edit_last_requested)
        self.editor.files_pasted.connect(self.add_files)
        self.editor.image_pasted.connect(self._on_editor_image_pasted)
        self.editor.large_text_pasted.connect(self._on_editor_large_text_pasted)
        row.addWidget(self.editor, 1)

        self._send = QPushButton("Send")
        self._send.setObjectName("sendButton")
        self._send.setAccessibleName("Send message")
        self._send.setDefault(False)
        self._send.clicked.connect(self._on_send_clicked)
        row.addWidget(self._send, 0, Qt.AlignmentFlag.AlignVCenter)
        outer.addWidget(box)
        self._fit_height()
        self._update_state()

    # --- public API ----------------------------------------------------------------------------------------------

    def set_send_on_enter(self, value: bool) -> None:
        self.editor.send_on_enter = value
        hint = "Enter to send, Shift+Enter for a new line" if value else "Ctrl+Enter to send"
        self.editor.setPlaceholderText(f"Message Hearth…  ({hint})")

    def set_busy(self, busy: bool) -> None:
        """While an answer streams the Send button becomes Stop."""
        self._busy = busy
        self._update_state()

    def set_blocked(self, reason: str, link_text: str = "") -> None:
        """Disable sending and say why ("" re-enables). ``link_text`` adds a "choose a model" link."""
        self._blocked_reason = reason
        if reason:
            link = f" <a href='models'>{link_text}</a>" if link_text else ""
            self._reason.setText(f"{reason}{link}")
            self._reason.show()
        else:
            self._reason.hide()
        self._update_state()

    @property
    def attachments(self) -> list[PendingAttachment]:
        return list(self._attachments)

    def text(self) -> str:
        return self.editor.toPlainText()

    def set_text(self, text: str) -> None:
        self.editor.setPlainText(text)
        cursor = self.editor.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.editor.setTextCursor(cursor)
        self.editor.setFocus()

    @Slot(list)
    def add_files(self, paths: list[Path]) -> None:
        for path in paths:
            self.add_attachment(attachment_for_path(Path(path)))

    def add_attachment(self, attachment: PendingAttachment) -> None:
        self._attachments.append(attachment)
        chip = _Chip(attachment)
        chip.removed.connect(self._on_chip_removed)
        self._chips_layout.insertWidget(self._chips_layout.count() - 1, chip)
        self._chips.show()
        self._update_state()

    def clear(self) -> None:
        self.editor.clear()
        self._attachments.clear()
        while self._chips_layout.count() > 1:
            item = self._chips_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self._chips.hide()
        self._update_state()

    def submit(self) -> bool:
        """Send what is typed, if sending is possible now. Returns whether it was sent."""
        text = self.text().strip()
        if self._busy or self._blocked_reason or (not text and not self._attachments):
            return False
        attachments = list(self._attachments)
        self.submitted.emit(self.text(), attachments)
        self.clear()
        return True

    def sizeHint(self) -> QSize:
        return QSize(600, 110)

    # --- internals -----------------------------------------------------------------------------------------------

    def _update_state(self) -> None:
        self._send.setText("Stop" if self._busy else "Send")
        self._send.setAccessibleName("Stop the answer" if self._busy else "Send message")
        self._send.setProperty("stop", self._busy)
        self._send.style().unpolish(self._send)
        self._send.style().polish(self._send)
        has_content = bool(self.text().strip()) or bool(self._attachments)
        self._send.setEnabled(self._busy or (not self._blocked_reason and has_content))
        self.editor.setReadOnly(False)

    def _fit_height(self) -> None:
        lines = max(1, min(8, int(self.editor.document().size().height())))
        height = self.editor.fontMetrics().lineSpacing() * lines + 12
        self.editor.setFixedHeight(height)

    @Slot()
    def _on_editor_text_changed(self) -> None:
        self._fit_height()
        self._update_state()

    @Slot()
    def _on_editor_send_pressed(self) -> None:
        self.submit()

    @Slot()
    def _on_send_clicked(self) -> None:
        if self._busy:
            self.stop_requested.emit()
        else:
            self.submit()

    @Slot()
    def _on_attach_clicked(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Attach files", str(Path.home()),
            f"Documents and images ({' '.join(readable_patterns())});;All files (*)",
        )
        self.add_files([Path(f) for f in files])

    @Slot(PendingAttachment)
    def _on_chip_removed(self, attachment: PendingAttachment) -> None:
        for i in range(self._chips_layout.count() - 1):
            item = self._chips_layout.itemAt(i)
            chip = item.widget() if item is not None else None
            if isinstance(chip, _Chip) and chip.attachment is attachment:
                self._chips_layout.removeWidget(chip)
                chip.deleteLater()
                break
        self._attachments = [a for a in self._attachments if a is not attachment]
        self._chips.setVisible(bool(self._attachments))
        self._update_state()

    @Slot(QImage)
    def _on_editor_image_pasted(self, image: QImage) -> None:
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice

        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs say bytes; the binding wants str
        raw = bytes(data.data())
        self.add_attachment(PendingAttachment("Pasted image.png", len(raw), "image", data=raw))

    @Slot(str)
    def _on_editor_large_text_pasted(self, text: str) -> None:
        raw = text.encode("utf-8")
        self.add_attachment(PendingAttachment("Pasted text.txt", len(raw), "text", data=raw))
        self.notice.emit(
            f"That paste is {format_size(len(raw))}, so it was attached as a text file instead of typed in."
        )

    @Slot(str)
    def _on_reason_link_activated(self, _link: str) -> None:
        self.choose_model_requested.emit()

