"""One message in the chat: role styling, the text, attachments, citations, its error or notice, and its actions."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsOpacityEffect,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hearth.core.store import MessageStatus, Role
from hearth.core.thinking import split_thinking
from hearth.ui.chat.message_body import MessageBody
from hearth.ui.chat.message_chips import AttachmentRow, CitationBar, NoticeBox
from hearth.ui.chat.message_types import MessageView, ToolCallView
from hearth.ui.chat.thinking_block import ThinkingBlock
from hearth.ui.chat.tool_blocks import ToolCallsBox
from hearth.ui.markdown.render import MarkdownRenderer
from hearth.ui.markdown.stream import MarkdownStream, StreamUpdate, render_blocks
from hearth.ui.shell.theme import Theme

_USER_BUBBLE_SHARE = 0.82  # of the column width
_STOPPED_NOTES = {
    MessageStatus.CANCELLED: "Stopped. You can continue this answer where it left off.",
    MessageStatus.INTERRUPTED: "This answer was cut off before it finished (Hearth or the model stopped). You can "
                               "continue it.",
}
_ROLE_NAMES = {Role.USER: "Your message", Role.ASSISTANT: "Answer", Role.SYSTEM: "System prompt"}


@dataclass(frozen=True)
class MessageContext:
    """What every message widget of one chat view shares."""

    theme: Theme
    renderer: MarkdownRenderer


class MessageWidget(QFrame):
    """A message: header (assistant), body, chips, notice and an action row.

    Signals:
        copy_requested(int): "Copy" was clicked (message id).
        regenerate_requested(int): "Regenerate" or "Try again" was clicked.
        edit_requested(int): "Edit" was clicked on a user message.
        continue_requested(int): "Continue" was clicked on a stopped answer.
        read_more_requested(int): "Read more of the document" was clicked on an answer.
        branch_requested(int, int): The version switcher was clicked (message id, -1 or +1).
        citation_activated(str): A citation chip was clicked (its label).
        link_activated(str): A link in the text was clicked (URL; ``copy:N`` links included).
        whole_requested(str, bool): "Always send whole" was switched on a document chip (sha256, on).
    """

    copy_requested = Signal(int)
    regenerate_requested = Signal(int)
    edit_requested = Signal(int)
    continue_requested = Signal(int)
    read_more_requested = Signal(int)
    branch_requested = Signal(int, int)
    citation_activated = Signal(str)
    link_activated = Signal(str)
    whole_requested = Signal(str, bool)

    def __init__(self, view: MessageView, context: MessageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{view.role.value}Message")
        self._context = context
        self.view = view
        self.forgotten = False
        self.code_blocks: list[str] = []
        self._stream: MarkdownStream | None = None
        self._rendered_text: str | None = None
        self._raw_stream = ""  # everything streamed, thinking included
        self._fed = ""  # the answer part given to the Markdown stream so far
        theme = context.theme
        self._outer = QVBoxLayout(self)
        self._outer.setContentsMargins(0, theme.px(0.6), 0, theme.px(0.6))
        self._outer.setSpacing(theme.px(0.45))
        self.body = MessageBody(theme.font(), theme.px(1.6), self)
        self.body.link_activated.connect(self.link_activated)
        self._bubble: QFrame | None = None
        self._build_header(view)
        # Made only for answers that have thoughts: most messages never need one, and a long conversation builds
        # many message widgets.
        self.thinking_block: ThinkingBlock | None = None
        self._thinking_at = self._outer.count()
        self.attachment_row: AttachmentRow | None = None
        self._attachments_slot = QVBoxLayout()
        self._attachments_slot.setContentsMargins(0, 0, 0, 0)
        self._outer.addLayout(self._attachments_slot)
        self.tool_calls_box: ToolCallsBox | None = None
        self._tools_slot = QVBoxLayout()
        self._tools_slot.setContentsMargins(0, 0, 0, 0)
        self._outer.addLayout(self._tools_slot)
        self._build_body(view)
        self._thinking = QLabel("Thinking…", self)
        self._thinking.setObjectName("mutedLabel")
        self._thinking.hide()
        self._outer.addWidget(self._thinking)
        self.sources_label = QLabel(self)
        self.sources_label.setObjectName("mutedLabel")
        self.sources_label.setWordWrap(True)
        self.sources_label.setTextFormat(Qt.TextFormat.PlainText)
        self.sources_label.setAccessibleName("What the answer was given of your documents")
        self.sources_label.hide()
        self._outer.addWidget(self.sources_label)
        self._citations: CitationBar | None = None
        self._notice: NoticeBox | None = None
        self._notice_slot = QVBoxLayout()
        self._notice_slot.setContentsMargins(0, 0, 0, 0)
        self._outer.addLayout(self._notice_slot)
        self._build_actions()
        self.set_view(view)

    # Content ---------------------------------------------------------------------------------------------------

    def set_forgotten(self, forgotten: bool) -> None:
        """Dim a message the model no longer has in its memory (the conversation outgrew its context)."""
        if self.forgotten == forgotten:
            return
        self.forgotten = forgotten
        if forgotten:
            effect = QGraphicsOpacityEffect(self)
            effect.setOpacity(0.45)
            self.setGraphicsEffect(effect)
            self.setToolTip("No longer in the model's memory: the conversation is longer than its context.")
        else:
            self.setGraphicsEffect(None)  # type: ignore[arg-type]
            self.setToolTip("")

    def set_view(self, view: MessageView) -> None:
        """Show ``view``; the body is re-rendered only when its text changed."""
        self.view = view
        streaming = view.status is MessageStatus.STREAMING
        if not streaming and (view.text != self._rendered_text or self._stream is not None):
            self._stream = None
            self._render_text(view.text)
        if view.role is Role.ASSISTANT and not streaming:
            thoughts = split_thinking(view.text)
            self._show_thoughts(thoughts.thinking, still_thinking=False, seconds=view.thinking_seconds)
        self._update_attachments(view)
        self.set_tool_calls(view.tool_calls)
        self._update_citations(view)
        self._update_notice(view)
        self.sources_label.setText(f"From your documents: {view.sources}" if view.sources else "")
        self.sources_label.setVisible(bool(view.sources) and view.status is not MessageStatus.STREAMING)
        self._update_actions(view)
        self._thinking.setVisible(view.status is MessageStatus.STREAMING and not view.text)
        if view.role is Role.ASSISTANT and view.author and self._author.text() != view.author:
            self._author.setText(view.author)
            self._avatar.setText(view.author[:1].upper())
        role_name = _ROLE_NAMES[view.role]
        self.setAccessibleName(role_name)
        self.setAccessibleDescription(view.text[:200])

    def _render_text(self, text: str) -> None:
        self._rendered_text = text
        if self.view.role is Role.ASSISTANT:
            thoughts = split_thinking(text)
            self._show_thoughts(thoughts.thinking, still_thinking=False, seconds=self.view.thinking_seconds)
            blocks, self.code_blocks = render_blocks(self._context.renderer, thoughts.answer)
            self.body.set_blocks(blocks)
        else:
            self.code_blocks = []
            self.body.set_plain_text(text)
            self._fit_bubble()

    def _show_thoughts(self, thinking: str, *, still_thinking: bool, seconds: float | None) -> None:
        if self.thinking_block is None:
            if not thinking and not still_thinking:
                return
            self.thinking_block = ThinkingBlock(self)
            self._outer.insertWidget(self._thinking_at, self.thinking_block)
        self.thinking_block.show_thoughts(thinking, still_thinking=still_thinking, seconds=seconds)

    # Streaming -------------------------------------------------------------------------------------------------

    def begin_stream(self, initial: str = "") -> None:
        """Clear the body for an answer that is about to stream in.

        Args:
            initial: Text the answer already has (when continuing a stopped answer); new text is appended to it.
        """
        self._stream = MarkdownStream(self._context.renderer)
        self._rendered_text = ""
        self._raw_stream = ""
        self._fed = ""
        self.code_blocks = []
        self.body.begin_stream()
        if self.thinking_block is not None:
            self.thinking_block.hide()
        self._update_notice(MessageView(self.view.id, self.view.role, "", status=MessageStatus.STREAMING))
        self.sources_label.hide()
        self._actions_row.hide()
        self._thinking.setVisible(not initial)
        if initial:
            self._feed(initial)

    def stream_text(self, delta: str) -> None:
        """Append streamed text (called by the view's repaint timer, not per token)."""
        if self._stream is None:
            self.begin_stream()
        self._thinking.hide()
        self._feed(delta)

    def _feed(self, delta: str) -> None:
        """Split what has streamed into thoughts (the block above) and answer (the Markdown stream)."""
        assert self._stream is not None
        self._raw_stream += delta
        thoughts = split_thinking(self._raw_stream)
        if thoughts.has_thinking:
            self._show_thoughts(thoughts.thinking, still_thinking=thoughts.open, seconds=None)
        answer = thoughts.answer
        if answer.startswith(self._fed):
            new = answer[len(self._fed):]
        else:  # what looked like answer turned out to be thoughts (a closing marker arrived): start the body again
            self._stream = MarkdownStream(self._context.renderer)
            self.body.begin_stream()
            new = answer
        self._fed = answer
        if new:
            self._apply(self._stream.update(new))

    def end_stream(self, final: MessageView) -> None:
        """Finish streaming and show ``final`` (its text is rendered again only if it differs from the stream)."""
        if self._stream is not None:
            self._apply(self._stream.finish())
            self._rendered_text = self._raw_stream
            self.code_blocks = list(self._stream.code_blocks)
            self._stream = None
        self._actions_row.show()
        self.set_view(final)

    @property
    def streamed_text(self) -> str:
        """The text streamed so far, thinking included (the view's text otherwise)."""
        return self._raw_stream if self._stream is not None else self.view.text

    def _apply(self, update: StreamUpdate) -> None:
        assert self._stream is not None
        self.body.apply_update(update)
        self.code_blocks = self._stream.tail_code_blocks() if update.tail_html else list(self._stream.code_blocks)

    # Layout pieces ---------------------------------------------------------------------------------------------

    def _build_header(self, view: MessageView) -> None:
        if view.role is not Role.ASSISTANT:
            return
        header = QHBoxLayout()
        header.setSpacing(self._context.theme.px(0.55))
        name = view.author or "Assistant"
        avatar = QLabel(name[:1].upper(), self)
        self._avatar = avatar
        avatar.setObjectName("avatar")
        avatar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        size = self._context.theme.px(1.75)
        avatar.setFixedSize(size, size)
        avatar.setAccessibleName(f"{name} avatar")
        header.addWidget(avatar)
        self._author = QLabel(name, self)
        self._author.setObjectName("authorLabel")
        header.addWidget(self._author)
        header.addStretch(1)
        self._outer.addLayout(header)

    def _build_body(self, view: MessageView) -> None:
        if view.role is not Role.USER:
            if view.role is Role.SYSTEM:
                self.body.view.setObjectName("systemBody")
            self._outer.addWidget(self.body)
            return
        self._bubble = QFrame(self)
        self._bubble.setObjectName("userBubble")
        bubble_layout = QVBoxLayout(self._bubble)
        pad = self._context.theme.px(0.8)
        bubble_layout.setContentsMargins(pad + 2, pad, pad + 2, pad)
        bubble_layout.addWidget(self.body)
        self.body.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self._bubble)
        self._outer.addLayout(row)

    def _build_actions(self) -> None:
        self._actions_row = QWidget(self)
        row = QHBoxLayout(self._actions_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        if self.view.role is Role.USER:
            row.addStretch(1)
        self.copy_button = self._action("Copy", "Copy message", self._on_copy_clicked)
        self.edit_button = self._action("Edit", "Edit message", self._on_edit_clicked)
        self.regenerate_button = self._action("Regenerate", "Regenerate answer", self._on_regenerate_clicked)
        self.continue_button = self._action("Continue", "Continue answer", self._on_continue_clicked)
        self.read_more_button = self._action("Read more of the document", "Ask again with more of the document",
                                             self._on_read_more_clicked)
        for button in (self.copy_button, self.edit_button, self.regenerate_button, self.continue_button,
                       self.read_more_button):
            row.addWidget(button)
        self.previous_button = self._action("‹", "Previous version", self._on_previous_clicked)
        self.branch_label = QLabel(self._actions_row)
        self.branch_label.setObjectName("branchLabel")
        self.branch_label.setAccessibleName("Version")
        self.next_button = self._action("›", "Next version", self._on_next_clicked)
        row.addSpacing(6)
        for widget in (self.previous_button, self.branch_label, self.next_button):
            row.addWidget(widget)
        if self.view.role is not Role.USER:
            row.addStretch(1)
        self.stats_label = QLabel(self._actions_row)
        self.stats_label.setObjectName("statsLabel")
        self.stats_label.setAccessibleName("Answer statistics")
        row.addWidget(self.stats_label)
        self._outer.addWidget(self._actions_row)

    def _action(self, text: str, accessible: str, slot: object) -> QToolButton:
        button = QToolButton(self._actions_row)
        button.setText(text)
        button.setObjectName("messageAction")
        button.setToolTip(accessible)
        button.setAccessibleName(accessible)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        button.clicked.connect(slot)
        return button

    def _update_actions(self, view: MessageView) -> None:
        is_user, is_assistant = view.role is Role.USER, view.role is Role.ASSISTANT
        self._actions_row.setVisible(view.status is not MessageStatus.STREAMING and view.role is not Role.SYSTEM)
        self.edit_button.setVisible(is_user)
        self.regenerate_button.setVisible(is_assistant)
        self.regenerate_button.setText("Try again" if view.status is MessageStatus.ERROR else "Regenerate")
        self.continue_button.setVisible(view.can_continue)
        self.read_more_button.setVisible(is_assistant and view.can_read_more)
        branches = view.sibling_count > 1
        for widget in (self.previous_button, self.branch_label, self.next_button):
            widget.setVisible(branches)
        self.branch_label.setText(f"{view.sibling_index + 1}/{view.sibling_count}")
        self.branch_label.setAccessibleDescription(f"Version {view.sibling_index + 1} of {view.sibling_count}")
        self.previous_button.setEnabled(view.sibling_index > 0)
        self.next_button.setEnabled(view.sibling_index < view.sibling_count - 1)
        self.stats_label.setText(view.stats)
        self.stats_label.setVisible(bool(view.stats) and is_assistant)

    def _update_attachments(self, view: MessageView) -> None:
        if self.attachment_row is not None and self.attachment_row.set_attachments(view.attachments):
            return
        if self.attachment_row is not None:
            self._attachments_slot.removeWidget(self.attachment_row)
            self.attachment_row.deleteLater()
            self.attachment_row = None
        if view.attachments:
            self.attachment_row = AttachmentRow(view.attachments, self)
            self.attachment_row.whole_requested.connect(self.whole_requested)
            self._attachments_slot.addWidget(self.attachment_row)

    def set_tool_calls(self, calls: tuple[ToolCallView, ...]) -> None:
        """Show the answer's tool calls (also while it streams)."""
        if not calls and self.tool_calls_box is None:
            return
        if self.tool_calls_box is None:
            self.tool_calls_box = ToolCallsBox(self._context.theme.mono_font(), self)
            self._tools_slot.addWidget(self.tool_calls_box)
        self.tool_calls_box.set_calls(calls)

    def _update_citations(self, view: MessageView) -> None:
        if self._citations is not None:
            self._outer.removeWidget(self._citations)
            self._citations.deleteLater()
            self._citations = None
        if view.citations and view.status is not MessageStatus.STREAMING:
            self._citations = CitationBar(view.citations, self)
            self._citations.citation_activated.connect(self.citation_activated)
            self._outer.insertWidget(self._outer.indexOf(self._thinking) + 1, self._citations)

    def _update_notice(self, view: MessageView) -> None:
        if self._notice is not None:
            self._notice_slot.removeWidget(self._notice)
            self._notice.deleteLater()
            self._notice = None
        if view.status is MessageStatus.ERROR:
            text = view.error or "Something went wrong while writing this answer. Try again."
            self._notice = NoticeBox(text, error=True, parent=self)
        elif view.status in _STOPPED_NOTES:
            self._notice = NoticeBox(_STOPPED_NOTES[view.status], error=False, parent=self)
        if self._notice is not None:
            self._notice_slot.addWidget(self._notice)

    @property
    def notice_text(self) -> str:
        """The error or notice shown on the message; empty when none."""
        return self._notice.label.text() if self._notice is not None else ""

    @property
    def citation_bar(self) -> CitationBar | None:
        return self._citations

    def _fit_bubble(self) -> None:
        """Size a user bubble to its text, up to a share of the column (short messages get short bubbles)."""
        if self._bubble is None or self.width() <= 0:
            return
        margins = self._bubble.contentsMargins()
        limit = max(80, int(self.width() * _USER_BUBBLE_SHARE) - margins.left() - margins.right())
        doc = self.body.view.document()
        doc.setTextWidth(limit)
        ideal = min(limit, math.ceil(doc.idealWidth()) + 2)
        if self.body.width() != ideal or self.body.minimumWidth() != ideal:
            self.body.setFixedWidth(ideal)
        doc.setTextWidth(ideal)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self._fit_bubble()

    # Slots -----------------------------------------------------------------------------------------------------

    @Slot()
    def _on_copy_clicked(self) -> None:
        self.copy_requested.emit(self.view.id)

    @Slot()
    def _on_edit_clicked(self) -> None:
        self.edit_requested.emit(self.view.id)

    @Slot()
    def _on_regenerate_clicked(self) -> None:
        self.regenerate_requested.emit(self.view.id)

    @Slot()
    def _on_continue_clicked(self) -> None:
        self.continue_requested.emit(self.view.id)

    @Slot()
    def _on_read_more_clicked(self) -> None:
        self.read_more_requested.emit(self.view.id)

    @Slot()
    def _on_previous_clicked(self) -> None:
        self.branch_requested.emit(self.view.id, -1)

    @Slot()
    def _on_next_clicked(self) -> None:
        self.branch_requested.emit(self.view.id, +1)
