"""A read-only rich-text body that is exactly as tall as its text, and can grow block by block while streaming.

The chat scrolls as a whole, so a message body has no scroll bar of its own: its height follows its document. Text is
selectable with the mouse and the keyboard, and links are reported, never opened here.

Document structure: every rendered Markdown block is framed by tiny sentinel paragraphs (a zero-width space in a
1-point font, about two pixels tall): ``S block S block S``. ``QTextCursor.insertHtml`` merges the first block of the
inserted HTML into the block at the cursor and drops that block's format; with the sentinel first, only the sentinel
merges and the real blocks keep their formats. So streaming appends a finished block with one ``insertHtml`` at the
end and replaces the open tail with one removal and one insertion, whatever the length of the answer. A complete
message is set with one ``setHtml`` of the same structure, so a streamed answer and a reloaded one look the same.
Copying strips the sentinels.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QPalette, QResizeEvent, QTextCursor, QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QFrame, QSizePolicy, QTextBrowser, QWidget

from hearth.ui.markdown.stream import StreamUpdate

_ZWSP = "\u200b"
SENTINEL = f'<p style="margin:0px; font-size:1pt; line-height:100%;">{_ZWSP}</p>'


def strip_sentinels(text: str) -> str:
    """Plain text of a document without its sentinel lines."""
    return "\n".join(line for line in text.split("\n") if not line or line.strip(_ZWSP)).replace(_ZWSP, "")


def blocks_html(blocks: list[str] | tuple[str, ...]) -> str:
    """The document HTML for rendered blocks: each framed by sentinels (see the module docstring)."""
    return SENTINEL + "".join(block.strip() + SENTINEL for block in blocks)


class RichTextView(QTextBrowser):
    """One message's text: auto-height, transparent, selectable, with incremental streaming updates.

    Signals:
        link_activated(str): A link was clicked or activated with the keyboard (the URL as text).
    """

    link_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction
                                     | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.DefaultContextMenu)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Base, Qt.GlobalColor.transparent)
        self.setPalette(palette)
        self.viewport().setAutoFillBackground(False)
        doc = self.document()
        doc.setDocumentMargin(0)
        doc.setUndoRedoEnabled(False)  # a read-only view: the undo stack would only grow with every token
        doc.documentLayout().documentSizeChanged.connect(self._on_layout_size_changed)
        self.anchorClicked.connect(self._on_anchor_clicked)
        self._tail_start = 0
        self._open_code_start = -1
        self._open_code_text = ""
        self._code_cursor: QTextCursor | None = None
        self._batch = False
        self.setFixedHeight(1)

    # Whole-document content ------------------------------------------------------------------------------------

    def set_blocks(self, blocks: list[str] | tuple[str, ...]) -> None:
        """Replace the text with rendered Markdown blocks (``MarkdownStream`` output)."""
        self._reset_stream_state()
        self.setHtml(blocks_html(blocks))
        self._tail_start = self._document_end()
        self._fit_height()

    def set_plain_text(self, text: str) -> None:
        """Replace the text with plain text (line breaks kept, nothing interpreted)."""
        self._reset_stream_state()
        self.setPlainText(text)
        self._fit_height()

    def plain_text(self) -> str:
        """The visible text, without the sentinels."""
        return strip_sentinels(self.toPlainText())

    # Streaming -------------------------------------------------------------------------------------------------

    def begin_stream(self) -> None:
        """Start empty; ``apply_update`` fills it."""
        self.set_blocks(())

    def apply_update(self, update: StreamUpdate) -> None:
        """Show a ``StreamUpdate``: append the finished blocks, replace the tail (or extend an open code block)."""
        code = update.open_code
        if (not update.committed and code is not None and self._code_cursor is not None
                and code.start == self._open_code_start and code.code.startswith(self._open_code_text)):
            delta = code.code[len(self._open_code_text):]
            if delta:
                self._code_cursor.insertText(delta)
                self._open_code_text = code.code
            return
        self._batch = True
        try:
            cursor = QTextCursor(self.document())
            cursor.setPosition(self._tail_start)
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            if cursor.hasSelection():
                cursor.removeSelectedText()
            if update.committed:
                cursor.insertHtml(blocks_html(update.committed))
            self._tail_start = cursor.position()
            self._code_cursor = None
            self._open_code_start = -1
            if update.tail_html:
                cursor.insertHtml(blocks_html([update.tail_html]))
                if code is not None:
                    self._code_cursor = self._end_of_last_table()
                    self._open_code_start = code.start
                    self._open_code_text = code.code
        finally:
            self._batch = False
        self._fit_height()

    # Internals -------------------------------------------------------------------------------------------------

    def _reset_stream_state(self) -> None:
        self._tail_start = 0
        self._open_code_start = -1
        self._open_code_text = ""
        self._code_cursor = None

    def _document_end(self) -> int:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        return cursor.position()

    def _end_of_last_table(self) -> QTextCursor | None:
        """A cursor at the end of the last cell of the last table (the open code block's text)."""
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.movePosition(QTextCursor.MoveOperation.PreviousBlock)
        table = cursor.currentTable()
        if table is None:
            return None
        return table.cellAt(table.rows() - 1, 0).lastCursorPosition()

    def _fit_height(self) -> None:
        height = int(self.document().documentLayout().documentSize().height() + 0.999)
        margins = self.contentsMargins()
        height += margins.top() + margins.bottom()
        if height != self.height() or self.minimumHeight() != height:
            self.setFixedHeight(max(1, height))

    @Slot()
    def _on_layout_size_changed(self) -> None:
        if not self._batch:
            self._fit_height()

    def createMimeDataFromSelection(self) -> QMimeData:
        """Copy what the user selected, without the sentinels."""
        source = super().createMimeDataFromSelection()
        data = QMimeData()
        data.setText(strip_sentinels(source.text()))
        if source.hasHtml():
            data.setHtml(source.html().replace(_ZWSP, ""))
        return data

    @Slot(QUrl)
    def _on_anchor_clicked(self, url: QUrl) -> None:
        self.link_activated.emit(url.toString())

    def wheelEvent(self, event: QWheelEvent) -> None:
        """This view never scrolls itself: the wheel scrolls the conversation around it."""
        area = self.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is None or event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            event.ignore()  # Ctrl+wheel is the app's zoom
            return
        QApplication.sendEvent(area.verticalScrollBar(), event)
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.height())
