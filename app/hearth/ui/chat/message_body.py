"""A message's text as one or more ``RichTextView`` segments.

A complete message is one segment. While an answer streams, a new segment starts once the current one holds
``SEGMENT_BLOCKS`` text blocks: Qt's document operations and painting cost a little more for every block already in
a document, so keeping the growing document small is what keeps the cost of a token flat for very long answers.
The price is that a mouse selection cannot cross a segment boundary of a long streamed answer ("Copy" copies it all,
and the answer is one segment again when the conversation is next opened).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QVBoxLayout, QWidget

from hearth.ui.chat.rich_text_view import RichTextView
from hearth.ui.markdown.stream import StreamUpdate

SEGMENT_BLOCKS = 160


class MessageBody(QWidget):
    """The text of one message.

    Signals:
        link_activated(str): A link in any segment was activated (its URL).
    """

    link_activated = Signal(str)

    def __init__(self, font: QFont, indent: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._font = font
        self._indent = indent
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self.segments: list[RichTextView] = []
        self._add_segment()

    @property
    def view(self) -> RichTextView:
        """The first (usually the only) segment."""
        return self.segments[0]

    def set_blocks(self, blocks: list[str]) -> None:
        self._reset()
        self.view.set_blocks(blocks)

    def set_plain_text(self, text: str) -> None:
        self._reset()
        self.view.set_plain_text(text)

    def begin_stream(self) -> None:
        self._reset()
        self.view.begin_stream()

    def apply_update(self, update: StreamUpdate) -> None:
        """Show a stream update; finished blocks go to a new segment when the current one is full."""
        current = self.segments[-1]
        if update.committed and current.document().blockCount() >= SEGMENT_BLOCKS:
            current.apply_update(StreamUpdate())  # the open tail moves to the new segment
            current = self._add_segment()
            current.begin_stream()
        current.apply_update(update)

    def plain_text(self) -> str:
        """The text shown (segments joined by line breaks), without layout sentinels."""
        return "\n".join(segment.plain_text() for segment in self.segments)

    def set_text_width_hint(self, width: int) -> None:
        """Lay text out at ``width`` before the widget is shown (saves a layout at a guessed width)."""
        for segment in self.segments:
            segment.document().setTextWidth(width)

    def _reset(self) -> None:
        for segment in self.segments[1:]:
            self._layout.removeWidget(segment)
            segment.hide()
            segment.deleteLater()
        del self.segments[1:]

    def _add_segment(self) -> RichTextView:
        segment = RichTextView(self)
        segment.setAccessibleName("Message text")
        segment.document().setDefaultFont(self._font)
        segment.document().setIndentWidth(self._indent)
        segment.link_activated.connect(self.link_activated)
        if self.segments:
            segment.document().setTextWidth(self.segments[-1].document().textWidth())
        self.segments.append(segment)
        self._layout.addWidget(segment)
        return segment
