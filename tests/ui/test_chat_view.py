"""The chat view: rendering, streaming, actions, errors, versions, citations, scrolling and long conversations."""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QTextCursor, QWheelEvent
from PySide6.QtWidgets import QApplication, QTextBrowser, QWidget
from pytestqt.qtbot import QtBot

from hearth.core.documents import extract_bytes
from hearth.core.retrieval import RetrievalResult, reading_budget, select_context
from hearth.core.store import MessageStatus, Role
from hearth.ui.chat.controller import answer_citations
from hearth.ui.chat.message_body import SEGMENT_BLOCKS
from hearth.ui.chat.message_types import AttachmentChip, MessageView
from hearth.ui.chat.message_widget import MessageWidget
from hearth.ui.chat.view import ChatView
from hearth.ui.markdown.stream import StreamUpdate
from hearth.ui.shell.theme import resolve_theme
from tests.fixtures.chat_samples import RICH_ANSWER, long_conversation, sample_conversation, token_stream
from tests.fixtures.documents import MANUAL_ANSWER, MANUAL_ANSWER_PAGE, make_pdf, manual_pages
from tests.ui.window_support import chat_scroll_area


@pytest.fixture
def view(qtbot: QtBot) -> ChatView:
    chat = ChatView(resolve_theme("light"))
    qtbot.addWidget(chat)
    chat.resize(900, 700)
    chat.show()
    qtbot.waitExposed(chat)
    return chat


def flush_timer(view: ChatView) -> QTimer:
    """The timer that shows buffered streamed text at the next repaint (by its object name)."""
    timer = view.findChild(QTimer, "streamFlushTimer")
    assert timer is not None
    return timer


def widget(chat: ChatView, message_id: int) -> MessageWidget:
    found = chat.message_widget(message_id)
    assert found is not None, f"message {message_id} is not built"
    return found


def start_answer(chat: ChatView, message_id: int = 2) -> MessageWidget:
    chat.set_messages([MessageView(1, Role.USER, "Explain, please.")])
    chat.append_message(MessageView(message_id, Role.ASSISTANT, "", status=MessageStatus.STREAMING,
                                    author="Llama 4 Scout"))
    chat.begin_stream(message_id)
    return widget(chat, message_id)


def table_count(browser: QTextBrowser) -> int:
    return sum(1 for frame in browser.document().rootFrame().childFrames() if frame.inherits("QTextTable"))


# Rendering ----------------------------------------------------------------------------------------------------------


def test_assistant_markdown_renders_in_the_document(view: ChatView) -> None:
    view.set_messages([MessageView(1, Role.ASSISTANT, RICH_ANSWER)])
    body = widget(view, 1).body
    text = body.plain_text()
    assert len(body.segments) == 1
    for expected in ("Where the weights go", "UD-Q2_K_XL", "42.2 GB", "Download the quant that fits your RAM.",
                     "Larger contexts need more KV cache.", "def expert_patterns(n_layers: int)",
                     "Tip: if the answer speed drops", "llama.cpp docs", "Python", "Copy"):
        assert expected in text
    assert "**" not in text and "```" not in text and "$$" not in text
    assert "KV = 2 · n" in text  # display math written out in Unicode
    assert "M ≈ P · b" in text
    assert widget(view, 1).code_blocks == [
        'def expert_patterns(n_layers: int) -> list[str]:\n'
        '    # Keep the routed experts of every layer in system RAM.\n'
        '    return [rf"blk\\.{i}\\.ffn_(gate|up|down)_exps" for i in range(n_layers)]\n']
    assert table_count(body.view) >= 3  # the data table, the code block and the block quote
    assert body.view.height() > 400  # the text grows to its content: no inner scroll bar


def test_user_message_is_plain_text_with_line_breaks(view: ChatView) -> None:
    text = "Is **this** bold?\nSecond line <b>tag</b>\n\n# not a heading"
    view.set_messages([MessageView(1, Role.USER, text)])
    body = widget(view, 1).body
    assert body.plain_text() == text
    assert body.view.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    assert body.view.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByKeyboard


def test_model_html_is_shown_as_text_never_run_or_loaded(view: ChatView) -> None:
    view.set_messages([MessageView(1, Role.ASSISTANT, "<script>alert(1)</script> ![x](https://evil.example/p.png)")])
    body = widget(view, 1).body
    assert "<script>alert(1)</script>" in body.plain_text()
    assert "<img" not in body.view.toHtml()


def test_copying_a_selection_leaves_out_the_layout_sentinels(view: ChatView) -> None:
    view.set_messages([MessageView(1, Role.ASSISTANT, "First paragraph.\n\nSecond paragraph.")])
    body = widget(view, 1).body.view
    body.selectAll()
    body.copy()
    copied = QGuiApplication.clipboard().text()
    assert "\u200b" not in copied
    assert "First paragraph." in copied and "Second paragraph." in copied


# Streaming ----------------------------------------------------------------------------------------------------------


def test_streamed_text_is_buffered_then_shown_by_the_repaint_timer(view: ChatView, qtbot: QtBot) -> None:
    message = start_answer(view)
    view.append_stream(2, "Hello ")
    view.append_stream(2, "**world**")
    assert "Hello" not in message.body.plain_text()  # append_stream only buffers
    qtbot.waitUntil(lambda: "Hello world" in message.body.plain_text())
    view.end_stream(2, MessageView(2, Role.ASSISTANT, "Hello **world**", stats="2 tokens · 10.0 tok/s"))
    assert not view.is_streaming()
    assert message.stats_label.text() == "2 tokens · 10.0 tok/s"
    assert not message.stats_label.isHidden()


def test_a_streamed_answer_looks_the_same_as_a_reloaded_one(view: ChatView) -> None:
    message = start_answer(view)
    rng = random.Random(4)
    text, pos = RICH_ANSWER, 0
    while pos < len(text):  # one call per repaint, in chunks of a few tokens
        step = rng.randint(1, 30)
        message.stream_text(text[pos:pos + step])
        pos += step
    view.end_stream(2, MessageView(2, Role.ASSISTANT, text))
    streamed_text, streamed_codes = message.body.plain_text(), message.code_blocks
    streamed_blocks = message.body.view.document().blockCount()

    view.set_messages([MessageView(1, Role.USER, "Explain, please."), MessageView(2, Role.ASSISTANT, text)])
    reloaded = widget(view, 2)
    assert reloaded is not message
    assert streamed_text == reloaded.body.plain_text()
    assert streamed_codes == reloaded.code_blocks
    assert streamed_blocks == reloaded.body.view.document().blockCount()


def test_an_unclosed_code_fence_shows_as_code_while_it_streams(view: ChatView, qtbot: QtBot) -> None:
    message = start_answer(view)
    message.stream_text("Run this:\n\n```python\nprint(1)\nx = ")
    assert "print(1)\nx =" in message.body.plain_text()
    assert table_count(message.body.view) == 1
    assert message.code_blocks == ["print(1)\nx = "]
    message.stream_text("2\n")  # appended into the open block
    assert "x = 2" in message.body.plain_text()
    assert message.code_blocks == ["print(1)\nx = 2\n"]
    message.stream_text("```\n\nDone.")
    assert "Done." in message.body.plain_text()
    assert table_count(message.body.view) == 1
    assert message.code_blocks == ["print(1)\nx = 2\n"]


def test_stale_ids_are_ignored(view: ChatView) -> None:
    message = start_answer(view)
    view.append_stream(99, "stale")
    view.append_stream(1, "not streaming")
    view.end_stream(99, MessageView(99, Role.ASSISTANT, "stale"))
    view.begin_stream(12345)
    assert view.is_streaming()
    assert not flush_timer(view).isActive()  # nothing was buffered
    view.end_stream(2, MessageView(2, Role.ASSISTANT, "ok"))
    view.append_stream(2, "after the end")
    assert message.body.plain_text() == "ok"
    assert not flush_timer(view).isActive()


def test_updates_to_the_streaming_message_wait_for_the_end(view: ChatView, qtbot: QtBot) -> None:
    message = start_answer(view)
    view.update_message(MessageView(2, Role.ASSISTANT, "replaced", status=MessageStatus.ERROR, error="no"))
    view.append_stream(2, "streamed")
    qtbot.waitUntil(lambda: "streamed" in message.body.plain_text())
    assert message.notice_text == ""
    view.end_stream(2, MessageView(2, Role.ASSISTANT, "streamed"))


def test_work_per_repaint_stays_bounded_as_the_answer_grows(view: ChatView) -> None:
    """The structural proof of a flat per-token cost (the timing lives in tests/bench): the HTML re-rendered per
    repaint is the open tail, whose size does not grow with the answer, and the document is only appended to."""
    message = start_answer(view)
    tokens = token_stream(3000)
    tail_sizes: list[int] = []
    segment_sizes: list[int] = []
    original = message.body.apply_update

    def record(update: StreamUpdate) -> None:
        tail_sizes.append(len(update.tail_html))
        original(update)

    message.body.apply_update = record  # type: ignore[method-assign]
    for start in range(0, len(tokens), 6):
        message.stream_text("".join(tokens[start:start + 6]))
        segment_sizes.append(message.body.segments[-1].document().blockCount())
    early, late = max(tail_sizes[:80]), max(tail_sizes[-80:])
    assert late <= early * 1.2
    assert max(tail_sizes) < 6000
    # The document being edited stays small: new segments start instead of one document growing without end.
    assert max(segment_sizes) < SEGMENT_BLOCKS + 60
    assert len(message.body.segments) > 2
    view.end_stream(2, MessageView(2, Role.ASSISTANT, "".join(tokens)))
    assert "Part 1: configuring the model" in message.body.plain_text()


# Actions ------------------------------------------------------------------------------------------------------------


def test_actions_emit_their_signals_with_the_message_id(view: ChatView, qtbot: QtBot) -> None:
    view.set_messages(sample_conversation())
    with qtbot.waitSignal(view.regenerate_requested, check_params_cb=lambda i: i == 4):
        qtbot.mouseClick(widget(view, 4).regenerate_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(view.edit_requested, check_params_cb=lambda i: i == 5):
        qtbot.mouseClick(widget(view, 5).edit_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(view.continue_requested, check_params_cb=lambda i: i == 8):
        qtbot.mouseClick(widget(view, 8).continue_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(view.branch_requested, check_params_cb=lambda i, step: (i, step) == (4, -1)):
        qtbot.mouseClick(widget(view, 4).previous_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(view.branch_requested, check_params_cb=lambda i, step: (i, step) == (4, 1)):
        qtbot.mouseClick(widget(view, 4).next_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(view.copied) as blocker:
        qtbot.mouseClick(widget(view, 5).copy_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["And what if it does not fit?"]
    assert QGuiApplication.clipboard().text() == "And what if it does not fit?"


def test_which_actions_each_message_offers(view: ChatView) -> None:
    view.set_messages(sample_conversation())
    user, answer, stopped = widget(view, 5), widget(view, 4), widget(view, 8)
    assert user.edit_button.isVisibleTo(user) and not user.regenerate_button.isVisibleTo(user)
    assert answer.regenerate_button.isVisibleTo(answer) and not answer.edit_button.isVisibleTo(answer)
    assert not answer.continue_button.isVisibleTo(answer)
    assert stopped.continue_button.isVisibleTo(stopped)
    for button in (user.copy_button, answer.regenerate_button, answer.previous_button, stopped.continue_button):
        assert button.accessibleName()


def test_branch_switcher_shows_the_version(view: ChatView) -> None:
    view.set_messages(sample_conversation())
    answer, question, single = widget(view, 4), widget(view, 3), widget(view, 5)
    assert answer.branch_label.text() == "2/3"
    assert answer.previous_button.isEnabled() and answer.next_button.isEnabled()
    assert question.branch_label.text() == "2/2"
    assert question.previous_button.isEnabled() and not question.next_button.isEnabled()
    assert not single.branch_label.isVisibleTo(single)
    view.update_message(MessageView(4, Role.ASSISTANT, RICH_ANSWER, sibling_index=2, sibling_count=3))
    assert answer.branch_label.text() == "3/3"
    assert not answer.next_button.isEnabled()


def test_an_error_is_shown_on_the_message_in_plain_words(view: ChatView, qtbot: QtBot) -> None:
    view.set_messages(sample_conversation())
    failed = widget(view, 6)
    assert "out of memory" in failed.notice_text
    assert failed.regenerate_button.text() == "Try again"
    assert QApplication.activeModalWidget() is None
    with qtbot.waitSignal(view.regenerate_requested, check_params_cb=lambda i: i == 6):
        qtbot.mouseClick(failed.regenerate_button, Qt.MouseButton.LeftButton)
    view.update_message(MessageView(6, Role.ASSISTANT, "Fixed.", author="Llama 4 Scout"))
    assert failed.notice_text == ""
    assert "Stopped" in widget(view, 8).notice_text


def test_citation_chips_show_their_passage(view: ChatView, qtbot: QtBot) -> None:
    view.set_messages(sample_conversation())
    bar = widget(view, 2).citation_bar
    assert bar is not None
    with qtbot.waitSignal(view.citation_activated, check_params_cb=lambda label: label == "1 meeting-notes.pdf p. 2"):
        qtbot.mouseClick(bar.chip("1 meeting-notes.pdf p. 2"), Qt.MouseButton.LeftButton)
    assert bar.passage.isVisibleTo(bar)
    assert "ship the desktop app in May" in bar.passage.text()
    invented = bar.chip("3 Q3 report")
    assert not invented.isEnabled()
    assert "not found" in invented.accessibleName()


def test_an_answer_citing_nothing_shows_the_best_matching_pages(view: ChatView, qtbot: QtBot) -> None:
    manual = extract_bytes(make_pdf(manual_pages(36)), "aurora-manual.pdf")
    question = "How do I reset the filter reminder light?"
    retrieval = select_context(question, [manual], 2048, reading=reading_budget(8192, 150.0))
    answer = "Hold the FILTER button for three seconds."  # what a small model writes: no citation
    view.set_messages([MessageView(1, Role.USER, question),
                       MessageView(2, Role.ASSISTANT, answer, citations=answer_citations(answer, retrieval))])
    bar = widget(view, 2).citation_bar
    assert bar is not None and bar.title == "Best matches"
    assert bar.labels[0] == f"aurora-manual.pdf p.{MANUAL_ANSWER_PAGE}", "the page that holds the answer comes first"
    qtbot.mouseClick(bar.chip(bar.labels[0]), Qt.MouseButton.LeftButton)
    assert MANUAL_ANSWER.split(",")[0] in bar.passage.text()
    cited = f"Hold FILTER [aurora-manual.pdf p.{MANUAL_ANSWER_PAGE}]."
    assert [c.label for c in answer_citations(cited, retrieval)] == [f"aurora-manual.pdf p.{MANUAL_ANSWER_PAGE}"]
    assert not any(c.matched for c in answer_citations(cited, retrieval)), "what the model cites is shown as cited"
    stored = RetrievalResult.from_dict(retrieval.to_dict())
    assert stored.best_labels() == retrieval.best_labels(), "the ranking is kept with the message"


def test_attachment_chips_name_the_files(view: ChatView) -> None:
    chip = AttachmentChip("notes.pdf", 2_140_000, "pdf")
    view.set_messages([MessageView(1, Role.USER, "Read these.", attachments=(chip,))])
    chips = [w for w in widget(view, 1).findChildren(QWidget) if w.objectName() == "attachmentChip"]
    assert len(chips) == 1
    assert "notes.pdf" in chips[0].text() and "2.14 MB" in chips[0].text()


def test_code_copy_link_copies_that_block(view: ChatView, qtbot: QtBot) -> None:
    view.set_messages([MessageView(1, Role.ASSISTANT, "```sh\necho one\n```\n\n```python\nprint('two')\n```")])
    body = widget(view, 1).body.view
    doc = body.document()
    found = doc.find("Copy", doc.find("Copy").position())  # the second block's link
    cursor = QTextCursor(found)
    cursor.setPosition(found.selectionStart() + 1)
    point = body.cursorRect(cursor).center()
    with qtbot.waitSignal(view.copied) as blocker:
        qtbot.mouseClick(body.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert blocker.args == ["print('two')"]
    assert QGuiApplication.clipboard().text() == "print('two')"


def test_web_links_are_reported_not_opened(view: ChatView, qtbot: QtBot) -> None:
    view.set_messages([MessageView(1, Role.ASSISTANT, "See [the docs](https://example.com/docs).")])
    body = widget(view, 1).body.view
    doc = body.document()
    cursor = QTextCursor(doc.find("the docs"))
    cursor.setPosition(cursor.selectionStart() + 2)
    with qtbot.waitSignal(view.link_activated, check_params_cb=lambda url: url == "https://example.com/docs"):
        qtbot.mouseClick(body.viewport(), Qt.MouseButton.LeftButton, pos=body.cursorRect(cursor).center())


def test_last_assistant_text(view: ChatView, qtbot: QtBot) -> None:
    view.set_messages(sample_conversation())
    assert view.last_assistant_text() == "Fans hum in the dark —\nten thousand cores"
    view.append_message(MessageView(9, Role.USER, "Another?"))
    view.append_message(MessageView(10, Role.ASSISTANT, "", status=MessageStatus.STREAMING))
    view.begin_stream(10)
    view.append_stream(10, "Silicon dreams")
    qtbot.waitUntil(lambda: view.last_assistant_text() == "Silicon dreams")
    view.end_stream(10, MessageView(10, Role.ASSISTANT, "Silicon dreams"))


# Scrolling and long conversations -----------------------------------------------------------------------------------


def test_streaming_follows_the_bottom_when_the_user_is_there(view: ChatView, qtbot: QtBot) -> None:
    view.set_messages(long_conversation(30))
    bar = chat_scroll_area(view).verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    view.append_message(MessageView(100, Role.ASSISTANT, "", status=MessageStatus.STREAMING))
    view.begin_stream(100)
    before = bar.maximum()
    view.append_stream(100, "A line of the answer.\n\n" * 60)
    qtbot.waitUntil(lambda: bar.maximum() > before + 500 and bar.value() == bar.maximum())
    assert view.is_following()
    view.end_stream(100, MessageView(100, Role.ASSISTANT, "done"))


def test_streaming_does_not_yank_a_user_who_scrolled_up(view: ChatView, qtbot: QtBot) -> None:
    view.set_messages(long_conversation(30))
    bar = chat_scroll_area(view).verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 2000 and bar.value() == bar.maximum())
    view.append_message(MessageView(100, Role.ASSISTANT, "", status=MessageStatus.STREAMING))
    view.begin_stream(100)
    bar.setValue(bar.maximum() - 1500)  # the user scrolls up to reread
    assert not view.is_following()
    kept, before = bar.value(), bar.maximum()
    view.append_stream(100, "A line of the answer.\n\n" * 60)
    qtbot.waitUntil(lambda: bar.maximum() > before + 500)
    assert bar.value() == kept
    view.end_stream(100, MessageView(100, Role.ASSISTANT, "done"))


def test_a_500_message_conversation_opens_with_only_the_newest_built(view: ChatView, qtbot: QtBot) -> None:
    conversation = long_conversation(500)
    assert sum(len(m.text.split()) for m in conversation) * 4 // 3 > 90_000  # ~100k tokens
    view.set_messages(conversation)
    assert len(view.messages()) == 500
    assert view.built_count() == ChatView.INITIAL_BUILD
    assert view.message_widget(500) is not None and view.message_widget(1) is None
    bar = chat_scroll_area(view).verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    top_id = conversation[500 - ChatView.INITIAL_BUILD].id
    bar.setValue(0)  # the user scrolls to the top: older messages are built above, the view stays put
    qtbot.waitUntil(lambda: view.built_count() > ChatView.INITIAL_BUILD)
    qtbot.waitUntil(lambda: int(view.scroll_state()) == top_id)
    assert view.built_count() < 100  # only what is needed to scroll on, not the whole history


def test_scroll_state_survives_a_restart(view: ChatView, qtbot: QtBot) -> None:
    view.set_messages(long_conversation(500))
    view.restore_scroll_state(301.5)  # far up: built a batch per event-loop turn, then the view moves there
    qtbot.waitUntil(lambda: view.message_widget(301) is not None)
    qtbot.waitUntil(lambda: abs(view.scroll_state() - 301.5) < 0.05)
    assert not view.is_following()
    view.restore_scroll_state(-1.0)
    bar = chat_scroll_area(view).verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() == bar.maximum())
    assert view.scroll_state() == -1.0


def test_the_wheel_over_a_message_scrolls_the_conversation(view: ChatView, qtbot: QtBot) -> None:
    view.set_messages(long_conversation(30))
    bar = chat_scroll_area(view).verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    body = widget(view, 29).body.view
    before = bar.value()
    event = QWheelEvent(QPointF(20, 5), QPointF(body.viewport().mapToGlobal(QPoint(20, 5))), QPoint(0, 0),
                        QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(body.viewport(), event)
    assert bar.value() < before


def test_a_theme_switch_redraws_and_keeps_streaming(view: ChatView, qtbot: QtBot) -> None:
    message = start_answer(view)
    view.append_stream(2, "Before the switch. ")
    qtbot.waitUntil(lambda: "Before" in message.body.plain_text())
    dark = resolve_theme("dark")
    view.set_theme(dark)
    assert dark.palette.window in view.styleSheet()
    redrawn = widget(view, 2)
    assert redrawn is not message
    view.append_stream(2, "After.")
    qtbot.waitUntil(lambda: "Before the switch. After." in redrawn.body.plain_text())
    view.end_stream(2, MessageView(2, Role.ASSISTANT, "Before the switch. After."))





def test_short_messages_still_fill_the_window_with_older_ones(view: ChatView, qtbot: QtBot) -> None:
    view.resize(900, 3000)  # taller than the newest messages: without older ones there would be nothing to scroll
    view.set_messages([MessageView(i, Role.USER if i % 2 else Role.ASSISTANT, "ok") for i in range(1, 201)])
    qtbot.waitUntil(lambda: view.built_count() > ChatView.INITIAL_BUILD)
    bar = chat_scroll_area(view).verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() >= ChatView.PRELOAD or view.built_count() == 200)


def test_continue_streams_after_the_existing_text(view: ChatView, qtbot: QtBot) -> None:
    view.set_messages(sample_conversation())
    stopped = widget(view, 8)
    assert "Stopped" in stopped.notice_text
    view.begin_stream(8, keep_text=True)
    assert stopped.notice_text == ""  # the note goes while the answer resumes
    view.append_stream(8, "\nwarm the winter room")
    qtbot.waitUntil(lambda: "warm the winter room" in stopped.body.plain_text())
    assert stopped.body.plain_text().startswith("Fans hum in the dark")
    final = "Fans hum in the dark —\nten thousand cores\nwarm the winter room"
    view.end_stream(8, MessageView(8, Role.ASSISTANT, final, author="Llama 4 Scout"))
    assert view.last_assistant_text() == final
    assert not stopped.continue_button.isVisibleTo(stopped)


def test_thinking_streams_into_its_own_block_and_folds_when_done(view: ChatView, qtbot: QtBot) -> None:
    message = start_answer(view)
    view.append_stream(2, "<thi")
    view.append_stream(2, "nk>\nFirst, the user wants")
    qtbot.waitUntil(lambda: message.thinking_block is not None and message.thinking_block.isVisible())
    block = message.thinking_block
    assert block is not None and block.toggle.text() == "Thinking…"
    assert message.body.plain_text().strip() == "", "no half marker or thought in the answer"
    view.append_stream(2, " a short answer.\n</think>\n\nHere it **is**.")
    qtbot.waitUntil(lambda: "Here it is." in message.body.plain_text())
    assert "short answer" not in message.body.plain_text()
    final = "<think>\nFirst, the user wants a short answer.\n</think>\n\nHere it **is**."
    view.end_stream(2, MessageView(2, Role.ASSISTANT, final, author="Qwen3 8B", thinking_seconds=3.2))
    assert block.toggle.text() == "Thought for 3 s" and not block.text.isVisible()
    assert block.text.text() == "First, the user wants a short answer."


def test_a_closing_marker_moves_what_streamed_into_the_thoughts(view: ChatView, qtbot: QtBot) -> None:
    message = start_answer(view)
    view.append_stream(2, "The template opened the block, so this is thinking")
    qtbot.waitUntil(lambda: "opened the block" in message.body.plain_text())
    view.append_stream(2, ".</think>\n\nThe answer.")
    qtbot.waitUntil(lambda: message.body.plain_text().strip() == "The answer.")
    assert message.thinking_block is not None and "opened the block" in message.thinking_block.text.text()
