"""The window around the answer, on the real engine and the real starter model: the empty chat, presets, thinking
blocks, "Read more of the document", and Ctrl+Q."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication, QShortcut
from pytestqt.qtbot import QtBot

from hearth.core.chat.presets import BUILTIN_PRESETS
from hearth.core.retrieval import RetrievalResult
from hearth.core.store import MessageStatus, RunInfo
from hearth.ui.chat.empty_state import STARTER_NOTE
from tests.fixtures.documents import make_pdf, manual_pages
from tests.ui.window_support import Harness, build

THOUGHTFUL = "<think>\n7 × 143 = 1001.\n</think>\n\nNo: 1,001 = 7 × 11 × 13."


@pytest.fixture()
def harness(qtbot: QtBot, tmp_path: Path, starter_model: Path) -> Iterator[Harness]:
    h = build(qtbot, tmp_path, starter_model)
    yield h
    h.close()


def test_the_empty_chat_introduces_the_starter_and_its_examples_send(qtbot: QtBot, harness: Harness) -> None:
    view = harness.window.chat_view
    assert view.showing_empty
    empty = view.empty
    assert empty.title.text() == "Chat with SmolLM2 135M Instruct"
    assert empty.note.text() == STARTER_NOTE and "Llama 4 Scout" in empty.models_button.text()
    assert 3 <= len(empty.example_buttons) <= 4
    with qtbot.waitSignal(harness.window.models_requested):
        empty.models_button.click()
    harness.window.show_chat()
    example = empty.example_buttons[0]
    example.click()
    harness.wait_idle(qtbot)
    branch = harness.controller.branch()
    assert branch[0].content == example.text() and branch[1].status is MessageStatus.COMPLETE
    assert not view.showing_empty
    harness.window.new_chat()
    assert view.showing_empty


def test_a_preset_picked_for_a_new_chat_is_stored_with_it(qtbot: QtBot, harness: Harness) -> None:
    picker = harness.window.preset_picker
    actions = {str(a.data()): a for a in picker.build_menu()}
    actions["Teacher"].trigger()
    assert picker.text().startswith("Teacher")
    harness.send(qtbot, "What is a prime number?")
    harness.wait_idle(qtbot)
    conv = harness.store.conversations.get(harness.controller.conversation_id or 0)
    teacher = next(p for p in BUILTIN_PRESETS if p.name == "Teacher")
    assert (conv.system_prompt, conv.preset) == (teacher.system_prompt, "Teacher")
    actions = {str(a.data()): a for a in picker.build_menu()}
    assert actions["Teacher"].isChecked()
    actions["Concise answers"].trigger()
    conv = harness.store.conversations.get(conv.id)
    assert conv.preset == "Concise answers" and harness.window.preset_picker.text().startswith("Concise")
    harness.window.new_chat()
    assert picker.text().startswith("No preset"), "a new chat starts without the last chat's preset"


def test_own_instructions_can_be_saved_as_a_preset(qtbot: QtBot, harness: Harness) -> None:
    picker = harness.window.preset_picker

    class Filled:
        def __init__(self, text: str, parent: object) -> None:
            from hearth.ui.chat.preset_picker import PresetDialog

            self.dialog = PresetDialog(text)
            self.dialog.editor.setPlainText("Answer like a pirate.")
            self.dialog.save_box.setChecked(True)
            self.dialog.name.setText("Pirate")
            self.editor, self.save_box, self.name = self.dialog.editor, self.dialog.save_box, self.dialog.name

        def exec(self) -> int:
            return 1

    picker.dialog_factory = Filled  # type: ignore[assignment]
    picker.build_menu()
    custom = next(a for a in picker.menu_.actions() if a.objectName() == "customInstructions")
    custom.trigger()
    assert [p.name for p in harness.store.presets.list()] == ["Pirate"]
    assert harness.controller.system_prompt() == ("Answer like a pirate.", "Pirate")
    assert "Pirate" in [str(a.data()) for a in picker.build_menu()]


def test_thinking_is_folded_away_with_its_duration(qtbot: QtBot, harness: Harness) -> None:
    store = harness.store
    conv = store.conversations.create()
    user = store.messages.add_user_message(conv.id, "Is 1,001 prime?")
    answer = store.messages.start_assistant_message(user.id)
    store.messages.finish_message(answer, THOUGHTFUL, MessageStatus.COMPLETE,
                                  RunInfo(model_file="Qwen3-8B-Q4_K_M.gguf", extra={"thinking_s": 12.4}))
    harness.window.open_conversation(conv.id)
    widget = harness.window.chat_view.message_widget(answer)
    assert widget is not None
    block = widget.thinking_block
    assert block is not None
    assert block.isVisibleTo(widget) and block.toggle.text() == "Thought for 12 s"
    assert not block.text.isVisibleTo(widget), "folded away until asked for"
    assert "7 × 143" not in widget.body.view.toPlainText() and "1,001 = 7 × 11 × 13" in widget.body.view.toPlainText()
    block.toggle.click()
    assert block.text.isVisibleTo(widget) and "7 × 143 = 1001." in block.text.text()
    widget.copy_button.click()
    assert QGuiApplication.clipboard().text() == "No: 1,001 = 7 × 11 × 13."
    assert harness.window.title_label.text() == "Is 1,001 prime?"


def test_read_more_sends_more_of_the_document(qtbot: QtBot, harness: Harness, tmp_path: Path) -> None:
    pdf = tmp_path / "aurora-manual.pdf"
    make_pdf(manual_pages(36), pdf)
    harness.window.composer.add_files([pdf])
    harness.send(qtbot, "How do I reset the filter reminder light?")
    harness.wait_idle(qtbot)
    first = harness.controller.branch()[-1]
    assert first.run_info is not None
    retrieval = RetrievalResult.from_dict(first.run_info.extra["retrieval"])
    assert retrieval.limit and retrieval.can_read_more and retrieval.tokens <= 2048 // 2
    widget = harness.window.chat_view.message_widget(first.id)
    assert widget is not None and widget.read_more_button.isVisibleTo(widget)
    with qtbot.waitSignal(harness.controller.busy_changed, timeout=60_000):
        widget.read_more_button.click()
    harness.wait_idle(qtbot)
    second = harness.controller.branch()[-1]
    assert second.id != first.id and second.parent_id == first.parent_id, "a new version beside the first answer"
    assert second.run_info is not None
    more = RetrievalResult.from_dict(second.run_info.extra["retrieval"])
    assert more.more == 1 and sum(c.passages_used for c in more.choices) >= sum(
        c.passages_used for c in retrieval.choices)


def test_ctrl_q_quits(qtbot: QtBot, harness: Harness) -> None:
    quit_shortcut = next(s for s in harness.window.findChildren(QShortcut) if s.objectName() == "quit")
    assert quit_shortcut.key().toString() == "Ctrl+Q"
    quit_shortcut.activated.emit()
    assert not harness.window.isVisible()
