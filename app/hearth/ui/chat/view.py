"""The conversation: a scrollable column of messages, built lazily, with timer-driven streaming.

Design (measured; see tests/bench/bench_gui_streaming.py): one lightweight widget per message in a QScrollArea, with
only the newest ``INITIAL_BUILD`` built when a conversation opens and older ones built a few at a time, one batch per
event-loop turn, as the user nears the top (the view stays anchored on what the user was reading, and input and
painting go on between batches). Streaming text is only buffered per token; a 30 ms
single-shot timer flushes the buffer into the message, which re-renders only its open tail (``MarkdownStream`` +
``RichTextView``), so the cost of a token does not grow with the length of the answer.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QStackedWidget, QVBoxLayout, QWidget

from hearth.core.store import Role
from hearth.core.thinking import strip_thinking
from hearth.ui.chat.empty_state import EmptyChat, ModelIntro
from hearth.ui.chat.memory_banner import MemoryBanner
from hearth.ui.chat.message_types import MessageView, ToolCallView
from hearth.ui.chat.message_widget import MessageContext, MessageWidget
from hearth.ui.chat.style import chat_stylesheet
from hearth.ui.markdown.render import MarkdownRenderer
from hearth.ui.shell.theme import Theme, resolve_theme

_SAFE_LINKS = ("http://", "https://", "mailto:")


class ChatView(QWidget):
    """Shows one conversation and streams answers into it.

    Plain data in (``MessageView``), signals out; the view never talks to the engine or the store.

    Signals:
        regenerate_requested(int): Regenerate / Try again on an answer (message id).
        edit_requested(int): Edit on a user message (message id).
        continue_requested(int): Continue on a stopped or cut-off answer (message id).
        branch_requested(int, int): Switch to the previous (-1) or next (+1) version of a message (id, step).
        copied(str): Text was put on the clipboard (a message or a code block); show a toast.
        citation_activated(str): A citation chip was opened (its label).
        link_activated(str): A link in a message was clicked (http, https or mailto URL); open it if you wish.
        whole_requested(str, bool): "Always send whole" was switched on a document chip (its sha256, on).
        read_more_requested(int): "Read more of the document" on an answer (message id).
        example_chosen(str): an example prompt of the empty chat was clicked.
        models_requested(): the empty chat asked for the Models page.
    """

    regenerate_requested = Signal(int)
    edit_requested = Signal(int)
    continue_requested = Signal(int)
    branch_requested = Signal(int, int)
    copied = Signal(str)
    citation_activated = Signal(str)
    link_activated = Signal(str)
    whole_requested = Signal(str, bool)
    summary_requested = Signal()
    read_more_requested = Signal(int)
    example_chosen = Signal(str)
    models_requested = Signal()

    INITIAL_BUILD = 24  # messages built when a conversation opens
    BATCH = 1  # older messages built per event-loop turn while scrolling up (~10 ms for a long rich answer)
    RESTORE_BATCH = 12  # per turn while building towards a restored scroll position
    FLUSH_MS = 30  # repaint interval while streaming
    FOLLOW_SLACK = 48  # px from the bottom that still counts as "at the bottom"
    PRELOAD = 600  # px from the top at which older messages are built

    def __init__(self, theme: Theme | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self._views: list[MessageView] = []
        self._index: dict[int, int] = {}
        self._widgets: dict[int, MessageWidget] = {}
        self._first_built = 0
        self._stream_id: int | None = None
        self._buffer: list[str] = []
        self._follow = True
        self._anchor: tuple[int, float] | None = None
        self._pending_restore: float | None = None
        self._setting_scroll = False
        self._forgotten = 0  # the oldest messages no longer in the model's memory (shown dimmed)

        self._scroll = QScrollArea(self)
        self._scroll.setObjectName("chatScroll")
        self._scroll.setAccessibleName("Conversation")
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setWidgetResizable(True)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.viewport().setObjectName("chatViewport")
        content = QWidget()
        content.setObjectName("chatContent")
        centre = QHBoxLayout(content)
        centre.setContentsMargins(0, 0, 0, 0)
        self._column = QWidget(content)
        self._column.setObjectName("chatColumn")
        self._list = QVBoxLayout(self._column)
        self._list.setSpacing(0)
        self._list.addStretch(1)
        centre.addStretch(1)
        centre.addWidget(self._column, 100)
        centre.addStretch(1)
        self._scroll.setWidget(content)
        self._content = content
        self.empty = EmptyChat(self)
        self.empty.example_chosen.connect(self.example_chosen)
        self.empty.models_requested.connect(self.models_requested)
        self._pages = QStackedWidget(self)
        self._pages.addWidget(self._scroll)
        self._pages.addWidget(self.empty)
        self._pages.setCurrentWidget(self.empty)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.memory_banner = MemoryBanner(self)
        self.memory_banner.summary_requested.connect(self.summary_requested)
        outer.addWidget(self.memory_banner)
        outer.addWidget(self._pages)

        self._timer = QTimer(self)
        self._timer.setObjectName("streamFlushTimer")
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.FLUSH_MS)
        self._timer.timeout.connect(self._on_flush_timer_timeout)
        # Builds older messages a batch per event-loop turn: to fill the window, near the top, or to restore.
        self._fill_timer = QTimer(self)
        self._fill_timer.setObjectName("historyFillTimer")
        self._fill_timer.setSingleShot(True)
        self._fill_timer.setInterval(0)
        self._fill_timer.timeout.connect(self._on_fill_timer_timeout)
        bar = self._scroll.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrollbar_value_changed)
        bar.rangeChanged.connect(self._on_scrollbar_range_changed)
        self.set_theme(theme or resolve_theme())

    # Conversation ------------------------------------------------------------------------------------------------

    def set_messages(self, views: list[MessageView]) -> None:
        """Show a conversation (replacing the current one); builds only the newest messages now."""
        self._stop_stream()
        self._clear_widgets()
        self._forgotten = 0
        self.memory_banner.show_count(0)
        self._pages.setCurrentWidget(self._scroll if views else self.empty)
        self._views = list(views)
        self._index = {view.id: i for i, view in enumerate(self._views)}
        self._first_built = max(0, len(self._views) - self.INITIAL_BUILD)
        for view in self._views[self._first_built:]:
            self._list.insertWidget(self._list.count() - 1, self._make_widget(view))
        self._follow = True
        self._anchor = None
        self._pending_restore = None
        self._scroll_to(self._scroll.verticalScrollBar().maximum())
        if self._first_built > 0:
            self._fill_timer.start()

    def append_message(self, view: MessageView) -> None:
        """Add a message at the end (a sent message, or the empty answer about to stream)."""
        self._pages.setCurrentWidget(self._scroll)
        self._index[view.id] = len(self._views)
        self._views.append(view)
        self._list.insertWidget(self._list.count() - 1, self._make_widget(view))

    def update_message(self, view: MessageView) -> None:
        """Show new data for a message (status, stats, versions, text). Ignored while that message streams."""
        position = self._index.get(view.id)
        if position is None or view.id == self._stream_id:
            return
        self._views[position] = view
        widget = self._widgets.get(view.id)
        if widget is not None:
            widget.set_view(view)

    def set_forgotten(self, count: int) -> None:
        """Mark the oldest ``count`` messages as no longer in the model's memory (dimmed, with the banner)."""
        self._forgotten = max(0, min(count, len(self._views)))
        self.memory_banner.show_count(self._forgotten)
        for position, view in enumerate(self._views):
            widget = self._widgets.get(view.id)
            if widget is not None:
                widget.set_forgotten(position < self._forgotten)

    def forgotten_count(self) -> int:
        return self._forgotten

    def set_tool_calls(self, message_id: int, calls: tuple[ToolCallView, ...]) -> None:
        """Show an answer's tool calls as they run (also while it streams)."""
        position = self._index.get(message_id)
        if position is None:
            return
        self._views[position] = replace(self._views[position], tool_calls=calls)
        widget = self._widgets.get(message_id)
        if widget is not None:
            widget.set_tool_calls(calls)

    def messages(self) -> list[MessageView]:
        """The messages shown, oldest first."""
        return list(self._views)

    def message_widget(self, message_id: int) -> MessageWidget | None:
        """The widget of a message, if it is built (older ones are built as the user scrolls up)."""
        return self._widgets.get(message_id)

    def built_count(self) -> int:
        return len(self._widgets)

    def last_assistant_text(self) -> str:
        """The text of the newest answer (for Ctrl+Shift+C); empty if there is none."""
        for view in reversed(self._views):
            if view.role is Role.ASSISTANT:
                widget = self._widgets.get(view.id)
                return strip_thinking(widget.streamed_text if widget is not None else view.text)
        return ""

    def set_intro(self, intro: ModelIntro) -> None:
        """What the empty chat says about the loaded model."""
        self.empty.set_intro(intro)

    @property
    def showing_empty(self) -> bool:
        return self._pages.currentWidget() is self.empty

    # Streaming ---------------------------------------------------------------------------------------------------

    def begin_stream(self, message_id: int, keep_text: bool = False) -> None:
        """Start streaming into a message already added (normally the empty answer just appended).

        Args:
            message_id: The message to stream into.
            keep_text: Append to the message's current text (Continue) instead of starting empty.
        """
        if message_id not in self._index:
            return
        self._stop_stream()
        widget = self._ensure_built(message_id)
        self._stream_id = message_id
        widget.begin_stream(self._views[self._index[message_id]].text if keep_text else "")

    def append_stream(self, message_id: int, text: str) -> None:
        """Buffer streamed text; the repaint timer shows it. Text for any other message is dropped."""
        if message_id != self._stream_id:
            return
        self._buffer.append(text)
        if not self._timer.isActive():
            self._timer.start()

    def end_stream(self, message_id: int, final: MessageView) -> None:
        """Finish the streaming message with its final data (status, stats; text if it differs)."""
        if message_id != self._stream_id:
            return
        self._timer.stop()
        self._flush()
        self._stream_id = None
        position = self._index[message_id]
        self._views[position] = final
        widget = self._widgets.get(message_id)
        if widget is not None:
            widget.end_stream(final)

    def is_streaming(self) -> bool:
        return self._stream_id is not None

    def _flush(self) -> None:
        if not self._buffer or self._stream_id is None:
            return
        delta = "".join(self._buffer)
        self._buffer.clear()
        widget = self._widgets.get(self._stream_id)
        if widget is not None:
            widget.stream_text(delta)

    def _stop_stream(self) -> None:
        self._timer.stop()
        self._buffer.clear()
        if self._stream_id is not None:
            widget = self._widgets.get(self._stream_id)
            position = self._index.get(self._stream_id)
            if widget is not None and position is not None:
                widget.end_stream(self._views[position])
        self._stream_id = None

    # Scrolling ---------------------------------------------------------------------------------------------------

    def is_following(self) -> bool:
        """True while the view sticks to the bottom (new text scrolls into view)."""
        return self._follow

    def scroll_to_bottom(self) -> None:
        self._follow = True
        self._anchor = None
        self._pending_restore = None
        self._scroll_to(self._scroll.verticalScrollBar().maximum())

    def scroll_state(self) -> float:
        """Where the user is: -1.0 at the bottom, else ``id + f`` (message id of the top visible message plus the
        fraction of it scrolled past). Store it and give it to ``restore_scroll_state`` after a restart."""
        if self._pending_restore is not None:
            return self._pending_restore
        if self._follow:
            return -1.0
        top = self._scroll.verticalScrollBar().value()
        for view in self._views[self._first_built:]:
            widget = self._widgets[view.id]
            y = self._y_of(widget)
            if y + widget.height() > top:
                fraction = (top - y) / widget.height() if widget.height() > 0 else 0.0
                return view.id + max(0.0, min(0.999, fraction))
        return -1.0

    def restore_scroll_state(self, state: float) -> None:
        """Scroll back to a position from ``scroll_state``. Older messages it needs are built a batch per event-loop
        turn (the window stays responsive), and the view moves there once they are."""
        message_id = int(state)
        self._pending_restore = None
        if state < 0 or message_id not in self._index:
            self.scroll_to_bottom()
            return
        if self._index[message_id] < self._first_built:
            self._pending_restore = state
            self._fill_timer.start()
            return
        self._follow = False
        self._anchor = (message_id, state - message_id)
        self._apply_anchor()

    # Theme ---------------------------------------------------------------------------------------------------------

    def set_theme(self, theme: Theme) -> None:
        """Use ``theme`` (colours, fonts, zoom); messages already built are drawn again."""
        self._theme = theme
        self._context = MessageContext(theme, MarkdownRenderer(theme.render_style()))
        self.setStyleSheet(chat_stylesheet(theme))
        self._column.setMaximumWidth(theme.px(56))
        margin = theme.px(1.4)
        self._list.setContentsMargins(margin, margin, margin, margin * 2)
        if not self._widgets:
            return
        streaming = self._stream_id
        streamed = self._widgets[streaming].streamed_text if streaming is not None else ""
        state = self.scroll_state()
        first = self._first_built
        self._clear_widgets()
        self._first_built = first
        for view in self._views[first:]:
            self._list.insertWidget(self._list.count() - 1, self._make_widget(view))
        if streaming is not None:
            widget = self._widgets[streaming]
            widget.begin_stream()
            widget.stream_text(streamed)
        self.restore_scroll_state(state)

    @property
    def theme(self) -> Theme:
        return self._theme

    # Internals -----------------------------------------------------------------------------------------------------

    def _make_widget(self, view: MessageView) -> MessageWidget:
        widget = MessageWidget(view, self._context, self._column)
        widget.body.set_text_width_hint(max(200, self._column.width() - 2 * self._theme.px(1.4)))
        widget.copy_requested.connect(self._on_message_copy_requested)
        widget.regenerate_requested.connect(self.regenerate_requested)
        widget.edit_requested.connect(self.edit_requested)
        widget.continue_requested.connect(self.continue_requested)
        widget.branch_requested.connect(self.branch_requested)
        widget.citation_activated.connect(self.citation_activated)
        widget.link_activated.connect(self._on_message_link_activated)
        widget.whole_requested.connect(self.whole_requested)
        position = self._index.get(view.id)
        if position is not None and position < self._forgotten:
            widget.set_forgotten(True)
        widget.read_more_requested.connect(self.read_more_requested)
        self._widgets[view.id] = widget
        return widget

    def _clear_widgets(self) -> None:
        for widget in self._widgets.values():
            self._list.removeWidget(widget)
            widget.hide()
            widget.deleteLater()
        self._widgets.clear()
        self._first_built = 0

    def _ensure_built(self, message_id: int) -> MessageWidget:
        while message_id not in self._widgets:
            self._build_older(keep_anchor=True, count=self.RESTORE_BATCH)
        return self._widgets[message_id]

    def _build_older(self, keep_anchor: bool, count: int) -> None:
        """Build the next ``count`` older messages above the built ones."""
        if self._first_built == 0:
            return
        if keep_anchor and not self._follow and self._anchor is None:
            state = self.scroll_state()
            if state >= 0:
                self._anchor = (int(state), state - int(state))
        start = max(0, self._first_built - count)
        for offset, view in enumerate(self._views[start:self._first_built]):
            self._list.insertWidget(offset, self._make_widget(view))
        self._first_built = start

    def _y_of(self, widget: QWidget) -> int:
        return widget.mapTo(self._content, QPoint(0, 0)).y()

    def _apply_anchor(self) -> None:
        if self._anchor is None:
            return
        message_id, fraction = self._anchor
        widget = self._widgets.get(message_id)
        if widget is None:
            return
        self._scroll_to(self._y_of(widget) + round(fraction * widget.height()))

    def _scroll_to(self, value: int) -> None:
        self._setting_scroll = True
        try:
            self._scroll.verticalScrollBar().setValue(value)
        finally:
            self._setting_scroll = False

    # Slots ---------------------------------------------------------------------------------------------------------

    @Slot()
    def _on_flush_timer_timeout(self) -> None:
        self._flush()

    @Slot()
    def _on_fill_timer_timeout(self) -> None:
        """One batch of older messages: towards a restored position, near the top, or while the window isn't full."""
        if self._pending_restore is not None:
            state = self._pending_restore
            self._build_older(keep_anchor=False, count=self.RESTORE_BATCH)
            if self._index[int(state)] < self._first_built:
                self._fill_timer.start()
            else:
                self.restore_scroll_state(state)
            return
        if self._first_built == 0:
            return
        short = self._column.minimumSizeHint().height() < self._scroll.viewport().height() + self.PRELOAD
        near_top = not self._follow and self._scroll.verticalScrollBar().value() < self.PRELOAD
        if short or near_top:
            self._build_older(keep_anchor=True, count=self.BATCH)
            self._fill_timer.start()

    @Slot(int)
    def _on_scrollbar_value_changed(self, value: int) -> None:
        if self._setting_scroll:
            return
        bar = self._scroll.verticalScrollBar()
        self._anchor = None
        self._follow = value >= bar.maximum() - self.FOLLOW_SLACK
        self._pending_restore = None  # the user moved: their position wins over a restore in progress
        if value < self.PRELOAD and self._first_built > 0 and not self._fill_timer.isActive():
            self._fill_timer.start()

    @Slot(int, int)
    def _on_scrollbar_range_changed(self, minimum: int, maximum: int) -> None:
        if self._anchor is not None:
            self._apply_anchor()
        elif self._follow:
            self._scroll_to(maximum)

    @Slot(int)
    def _on_message_copy_requested(self, message_id: int) -> None:
        widget = self._widgets.get(message_id)
        if widget is not None:
            self._copy(strip_thinking(widget.streamed_text) if widget.view.role is Role.ASSISTANT
                       else widget.streamed_text)

    @Slot(str)
    def _on_message_link_activated(self, url: str) -> None:
        widget = self.sender()
        if url.startswith("copy:") and isinstance(widget, MessageWidget):
            index = int(url[5:]) if url[5:].isdigit() else -1
            if 0 <= index < len(widget.code_blocks):
                self._copy(widget.code_blocks[index].removesuffix("\n"))
        elif url.lower().startswith(_SAFE_LINKS):
            self.link_activated.emit(url)

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.copied.emit(text)
