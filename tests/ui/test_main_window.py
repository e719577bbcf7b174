"""The main window on the real engine and the real 270M model: send, stream, stop, regenerate, edit, branches,
shortcuts, dropped files, and the window's state across a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from hearth.core.engine.sampling import SamplingParams
from hearth.core.store import MessageStatus, Role, Store
from hearth.ui.shell.settings_dialog import SettingsDialog
from tests.ui.window_support import Harness, build


@pytest.fixture()
def harness(qtbot: QtBot, tmp_path: Path, gemma_path: Path) -> Iterator[Harness]:
    h = build(qtbot, tmp_path, gemma_path)
    yield h
    h.close()


def test_send_streams_an_answer_from_the_real_model(qtbot: QtBot, harness: Harness) -> None:
    assert "gemma" in harness.window.model_button.text().lower(), "the loaded model is named in the window"
    harness.send(qtbot, "Tell me about rivers.")
    harness.wait_idle(qtbot)
    branch = harness.controller.branch()
    assert [m.role for m in branch] == [Role.USER, Role.ASSISTANT]
    answer = branch[-1]
    assert answer.status is MessageStatus.COMPLETE and answer.content.strip()
    assert answer.run_info is not None and answer.run_info.tokens == 24
    widget = harness.window.chat_view.message_widget(answer.id)
    assert widget is not None
    assert harness.window.chat_view.last_assistant_text() == answer.content
    assert "Context" in harness.window.status_context.text()
    # The conversation is in the side list, titled from the first message.
    conv = harness.store.conversations.get(answer.conversation_id)
    assert conv.title.startswith("Tell me about rivers")


def test_stop_keeps_the_partial_answer(qtbot: QtBot, harness: Harness) -> None:
    harness.params[0] = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=2000, seed=1)
    harness.send(qtbot, "Write a long story about a lighthouse.")
    qtbot.waitUntil(lambda: len(harness.shown_answer()) > 10, timeout=60_000)
    qtbot.keyClick(harness.window, Qt.Key.Key_Escape)
    harness.wait_idle(qtbot)
    answer = harness.controller.branch()[-1]
    assert answer.status is MessageStatus.CANCELLED
    assert answer.content.strip()
    assert answer.run_info is not None and (answer.run_info.tokens or 0) < 2000


def test_regenerate_and_switch_versions(qtbot: QtBot, harness: Harness) -> None:
    harness.send(qtbot, "Name a colour.")
    harness.wait_idle(qtbot)
    first = harness.controller.branch()[-1]
    harness.params[0] = SamplingParams(loop_guard=False, temperature=1.0, max_tokens=16, seed=7)
    harness.window.chat_view.regenerate_requested.emit(first.id)
    harness.wait_idle(qtbot)
    second = harness.controller.branch()[-1]
    assert second.id != first.id and second.parent_id == first.parent_id
    assert harness.store.messages.siblings(second.id) == (1, 2)
    harness.window.chat_view.branch_requested.emit(second.id, -1)
    assert harness.controller.branch()[-1].id == first.id
    view = harness.window.chat_view.messages()[-1]
    assert (view.sibling_index, view.sibling_count) == (0, 2)


def test_edit_and_resend_keeps_both_branches(qtbot: QtBot, harness: Harness) -> None:
    harness.send(qtbot, "What is two plus two?")
    harness.wait_idle(qtbot)
    original_user = harness.controller.branch()[0]
    harness.window.chat_view.edit_requested.emit(original_user.id)
    assert harness.window.composer.text() == "What is two plus two?"
    harness.window.composer.editor.clear()
    harness.send(qtbot, "What is three plus three?")
    harness.wait_idle(qtbot)
    branch = harness.controller.branch()
    assert branch[0].content == "What is three plus three?"
    assert harness.store.messages.siblings(branch[0].id) == (1, 2)
    assert len(branch) == 2 and branch[1].status is MessageStatus.COMPLETE
    harness.window.chat_view.branch_requested.emit(branch[0].id, -1)
    assert harness.controller.branch()[0].content == "What is two plus two?"


def test_keyboard_shortcuts(qtbot: QtBot, harness: Harness) -> None:
    harness.send(qtbot, "Hello there.")
    harness.wait_idle(qtbot)
    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(harness.window, Qt.Key.Key_C, ctrl_shift)
    assert QGuiApplication.clipboard().text() == harness.controller.branch()[-1].content
    qtbot.keyClick(harness.window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is harness.window.sidebar.search
    qtbot.keyClick(harness.window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert harness.controller.conversation_id is None
    assert harness.window.chat_view.messages() == []
    with qtbot.waitSignal(harness.window.settings_requested):
        qtbot.keyClick(harness.window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, SettingsDialog), "the settings open"
    qtbot.waitUntil(lambda: not dialog.model_tab.working_out_contexts, timeout=60_000)
    dialog.reject()
    # Up in an empty composer edits the last message of the open conversation.
    harness.window.sidebar.conversation_selected.emit(harness.store.conversations.list_all()[0].id)
    harness.window.composer.editor.setFocus()
    qtbot.keyClick(harness.window.composer.editor, Qt.Key.Key_Up)
    assert harness.window.composer.text() == "Hello there."


def test_dropped_files_become_chips(qtbot: QtBot, harness: Harness, tmp_path: Path) -> None:
    files = []
    for name in ("notes.txt", "photo.png"):
        path = tmp_path / name
        path.write_bytes(b"hello")
        files.append(path)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in files])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    harness.window.dropEvent(event)
    assert [a.name for a in harness.window.composer.attachments] == ["notes.txt", "photo.png"]


def test_document_attachment_is_read_and_cited_context_is_sent(qtbot: QtBot, harness: Harness,
                                                               tmp_path: Path) -> None:
    from tests.fixtures.documents import FACTS, make_pdf, report_pages

    pdf = tmp_path / "report.pdf"
    make_pdf(report_pages(30), pdf)
    harness.window.composer.add_files([pdf])
    harness.send(qtbot, "How many megawatts did the Zanzibar reactor produce?")
    harness.wait_idle(qtbot)
    branch = harness.controller.branch()
    user, answer = branch
    assert [a.file_name for a in harness.store.attachments.for_message(user.id)] == ["report.pdf"]
    assert answer.run_info is not None
    retrieval = answer.run_info.extra.get("retrieval")
    assert retrieval is not None
    assert any("report.pdf p.12" in str(block) for block in retrieval["blocks"])
    assert FACTS[12].split()[1] in str(retrieval)


def test_restart_restores_the_conversation(qtbot: QtBot, tmp_path: Path, gemma_path: Path) -> None:
    h = build(qtbot, tmp_path, gemma_path)
    h.send(qtbot, "Remember me.")
    h.wait_idle(qtbot)
    conversation = h.controller.conversation_id
    h.close()
    store = Store.open(tmp_path / "hearth.db")
    assert store.get_state("last_conversation_id") == conversation
    again = build(qtbot, tmp_path, gemma_path, store=store)
    try:
        again.window.open_conversation(conversation)
        assert again.controller.branch()[0].content == "Remember me."
    finally:
        again.close()


def _picture(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (320, 200), (200, 120, 40)).save(path)
    return path


def test_image_goes_to_a_vision_model(qtbot: QtBot, tmp_path: Path, tiny_llama4_vision: Path,
                                      tiny_mmproj: Path) -> None:
    h = build(qtbot, tmp_path, tiny_llama4_vision, mmproj=tiny_mmproj)
    try:
        assert h.session.info is not None and h.session.info.vision
        h.window.composer.add_files([_picture(tmp_path / "label.png")])
        h.send(qtbot, "What is on this label?")
        h.wait_idle(qtbot)
        user, answer = h.controller.branch()
        assert [a.file_name for a in h.store.attachments.for_message(user.id)] == ["label.png"]
        assert answer.status is MessageStatus.COMPLETE
        assert answer.run_info is not None and (answer.run_info.tokens or 0) > 0
        chips = h.window.chat_view.messages()[0].attachments
        assert chips and chips[0].kind == "image"
    finally:
        h.close()


def test_image_to_a_text_only_model_is_refused_before_sending(qtbot: QtBot, harness: Harness,
                                                              tmp_path: Path) -> None:
    harness.window.composer.add_files([_picture(tmp_path / "photo.png")])
    with qtbot.waitSignal(harness.controller.notice) as notice:
        harness.send(qtbot, "Describe this photo.")
    assert "can't see images" in notice.args[0].text
    harness.wait_idle(qtbot)
    assert harness.controller.branch() == []
    assert harness.window.composer.text() == "Describe this photo."
    assert [a.name for a in harness.window.composer.attachments] == ["photo.png"], "nothing the user gave is lost"


def _document_choices(message_run_extra: dict[str, object]) -> dict[str, str]:
    from hearth.core.chat.attachments import retrieval_from_run_extra

    retrieval = retrieval_from_run_extra(message_run_extra)
    assert retrieval is not None
    return {choice.name: choice.summary for choice in retrieval.choices}


def test_a_document_pinned_always_whole_goes_whole(qtbot: QtBot, harness: Harness, tmp_path: Path) -> None:
    from tests.fixtures.documents import make_pdf, meeting_notes, report_pages

    pdf = tmp_path / "report.pdf"
    make_pdf(report_pages(30), pdf)
    notes = tmp_path / "notes.txt"
    notes.write_text(meeting_notes())
    notices: list[str] = []
    harness.controller.notice.connect(lambda notice: notices.append(notice.text))
    harness.window.composer.add_files([notes, pdf])
    harness.send(qtbot, "What did the committee decide?")
    harness.wait_idle(qtbot)
    user, answer = harness.controller.branch()
    assert answer.run_info is not None
    assert _document_choices(answer.run_info.extra)["notes.txt"].endswith(" of 6 passages"), "no room to go whole"
    shown = harness.window.chat_view.message_widget(answer.id)
    assert shown is not None and shown.sources_label.isVisibleTo(shown)
    assert "notes.txt: " in shown.sources_label.text() and " of 6 passages" in shown.sources_label.text()

    # The chip on the message: a menu button reachable with Tab, "Always send whole" in its menu and context menu.
    sha = {a.file_name: a.file.sha256 for a in harness.store.attachments.for_message(user.id)}
    widget = harness.window.chat_view.message_widget(user.id)
    assert widget is not None and widget.attachment_row is not None
    chip = widget.attachment_row.chips[0]
    action = widget.attachment_row.whole_action(sha["notes.txt"])
    assert action is not None and action.text() == "Always send whole" and not action.isChecked()
    assert chip.focusPolicy() & Qt.FocusPolicy.TabFocus and action in chip.actions()
    assert widget.attachment_row.whole_action(sha["report.pdf"]) is not None
    action.trigger()
    assert harness.store.conversations.get(user.conversation_id).whole_documents == (sha["notes.txt"],)
    assert widget.attachment_row.chips[0] is chip, "the chip is updated in place (keyboard focus stays)"
    assert action.isChecked() and "📌" in chip.text() and "always sent whole" in chip.accessibleName()

    harness.send(qtbot, "And what about the budget?")
    harness.wait_idle(qtbot)
    second = harness.controller.branch()[-1]
    assert second.run_info is not None
    assert _document_choices(second.run_info.extra)["notes.txt"] == "whole document (pinned)"
    shown = harness.window.chat_view.message_widget(second.id)
    assert shown is not None and "notes.txt: whole document (pinned)" in shown.sources_label.text()
    assert not notices

    # The report cannot go whole in a 2,048-token context: the answer and a notice say so.
    report_action = widget.attachment_row.whole_action(sha["report.pdf"])
    assert report_action is not None
    report_action.trigger()
    harness.send(qtbot, "Summarize the report.")
    harness.wait_idle(qtbot)
    third = harness.controller.branch()[-1]
    assert third.run_info is not None
    summary = _document_choices(third.run_info.extra)["report.pdf"]
    assert summary.startswith("pinned, but too long for this model's context: ")
    shown = harness.window.chat_view.message_widget(third.id)
    assert shown is not None and f"report.pdf: {summary}" in shown.sources_label.text()
    assert any("report.pdf is set to always go whole, but it is too long" in text for text in notices)

    # Remembered with the conversation: reopened, the chips still show the pins.
    harness.window.open_conversation(user.conversation_id)
    reopened = harness.window.chat_view.messages()[0].attachments
    assert [(c.name, c.whole) for c in reopened] == [("notes.txt", True), ("report.pdf", True)]


def test_scanned_pdf_pages_go_as_pictures_to_a_vision_model(qtbot: QtBot, tmp_path: Path, tiny_llama4_vision: Path,
                                                            tiny_mmproj: Path) -> None:
    from tests.fixtures.documents import make_pdf

    questions: list[tuple[str, str]] = []

    def accept(_parent: QWidget, title: str, text: str) -> bool:
        questions.append((title, text))
        return True

    h = build(qtbot, tmp_path, tiny_llama4_vision, mmproj=tiny_mmproj, n_ctx=8192, ask=accept)
    notices: list[str] = []
    h.controller.notice.connect(lambda notice: notices.append(notice.text))
    try:
        scan = tmp_path / "scan.pdf"
        make_pdf([None, None, None], scan)
        h.window.composer.add_files([scan])
        h.send(qtbot, "What do these pages say?")
        h.wait_idle(qtbot)
        assert questions == [("Send the pages as pictures?",
                              "scan.pdf has no text: its 3 pages are scanned pictures. Send the pages as pictures to "
                              "the model? The model's context holds the first 2; the other 1 will be left out.")]
        user, answer = h.controller.branch()
        assert user.content == "What do these pages say?"
        attached = h.store.attachments.for_message(user.id)
        assert [a.file_name for a in attached] == ["scan.pdf p.1", "scan.pdf p.2"]
        assert all(a.file.mime == "image/png" for a in attached)
        assert answer.status is MessageStatus.COMPLETE
        assert answer.run_info is not None and (answer.run_info.tokens or 0) > 0
        chips = h.window.chat_view.messages()[0].attachments
        assert [(c.name, c.kind) for c in chips] == [("scan.pdf p.1", "image"), ("scan.pdf p.2", "image")]
        assert any("2 of the 3 pages of scan.pdf went as pictures" in text for text in notices)
    finally:
        h.close()


def test_declining_page_pictures_keeps_the_message(qtbot: QtBot, tmp_path: Path, tiny_llama4_vision: Path,
                                                   tiny_mmproj: Path) -> None:
    from tests.fixtures.documents import make_pdf

    asked: list[str] = []

    def decline(_parent: QWidget, _title: str, text: str) -> bool:
        asked.append(text)
        return False

    h = build(qtbot, tmp_path, tiny_llama4_vision, mmproj=tiny_mmproj, ask=decline)
    try:
        scan = tmp_path / "scan.pdf"
        make_pdf([None], scan)
        h.window.composer.add_files([scan])
        h.send(qtbot, "Read this scan.")
        h.wait_idle(qtbot)
        assert asked == ["scan.pdf has no text: its page is a scanned picture. Send the pages as pictures to the "
                         "model?"]
        assert h.controller.branch() == [] and h.store.conversations.count() == 0
        assert h.window.composer.text() == "Read this scan."
        assert [a.name for a in h.window.composer.attachments] == ["scan.pdf"], "nothing the user gave is lost"
        assert h.store.get_state("unsent_message") is None
    finally:
        h.close()


def test_scanned_pdf_to_a_text_only_model_says_what_to_do(qtbot: QtBot, harness: Harness, tmp_path: Path) -> None:
    from tests.fixtures.documents import make_pdf

    scan = tmp_path / "scan.pdf"
    make_pdf([None, None], scan)
    harness.window.composer.add_files([scan])
    with qtbot.waitSignal(harness.controller.notice) as notice:
        harness.send(qtbot, "Read this scan.")
    assert notice.args[0].text.startswith("scan.pdf has no text to read: its 2 pages are scanned pictures.")
    assert notice.args[0].hint.startswith("Load a model that can see images to read its pages")
    harness.wait_idle(qtbot)
    assert harness.controller.branch() == []
    assert harness.window.composer.text() == "Read this scan."
    assert [a.name for a in harness.window.composer.attachments] == ["scan.pdf"]


def test_a_protected_pdf_asks_for_its_password(qtbot: QtBot, tmp_path: Path, gemma_path: Path) -> None:
    from tests.fixtures.documents import FACTS, encrypt_pdf, make_pdf, report_pages

    asked: list[str] = []
    answers = ["guess", "kettle-42"]  # a wrong one first

    def password(_parent: QWidget, _title: str, text: str) -> str | None:
        asked.append(text)
        return answers.pop(0)

    pdf = tmp_path / "report.pdf"
    encrypt_pdf(make_pdf(report_pages(15)), "kettle-42", pdf)
    h = build(qtbot, tmp_path, gemma_path, password=password)
    try:
        h.window.composer.add_files([pdf])
        h.send(qtbot, "How many megawatts did the Zanzibar reactor produce?")
        h.wait_idle(qtbot)
        assert asked == ["report.pdf is protected with a password. Enter the document's password to read it.",
                         "The password for report.pdf is not correct. Check the password (it is case-sensitive) "
                         "and try again."]
        user, answer = h.controller.branch()
        assert [a.file_name for a in h.store.attachments.for_message(user.id)] == ["report.pdf"]
        assert answer.run_info is not None
        retrieval = answer.run_info.extra.get("retrieval")
        assert retrieval is not None and any("report.pdf p.12" in str(block) for block in retrieval["blocks"])
        assert FACTS[12].split()[1] in str(retrieval)
        # The password is not kept once the message is sent: another protected report.pdf is asked for again.
        answers.append("kettle-42")
        other = tmp_path / "later" / "report.pdf"
        other.parent.mkdir()
        encrypt_pdf(make_pdf(report_pages(5)), "kettle-42", other)
        h.window.composer.add_files([other])
        h.send(qtbot, "And in this one?")
        h.wait_idle(qtbot)
        assert len(asked) == 3 and asked[2] == asked[0], asked
        assert h.controller.branch()[-1].status is MessageStatus.COMPLETE
    finally:
        h.close()


def test_cancelling_the_password_keeps_the_message(qtbot: QtBot, tmp_path: Path, gemma_path: Path) -> None:
    from tests.fixtures.documents import encrypt_pdf, make_pdf

    def cancel(_parent: QWidget, _title: str, _text: str) -> str | None:
        return None

    pdf = tmp_path / "secret.pdf"
    encrypt_pdf(make_pdf(["Private words."]), "pw", pdf)
    h = build(qtbot, tmp_path, gemma_path, password=cancel)
    try:
        h.window.composer.add_files([pdf])
        h.send(qtbot, "What does it say?")
        h.wait_idle(qtbot)
        assert h.controller.branch() == [] and h.store.conversations.count() == 0
        assert h.window.composer.text() == "What does it say?"
        assert [a.name for a in h.window.composer.attachments] == ["secret.pdf"]
        assert h.store.attachments.folder.is_dir() is False or not any(h.store.attachments.folder.rglob("*.pdf"))
    finally:
        h.close()
