"""The composer: Enter/Shift+Enter, Stop, blocked state, attachments, pastes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFrame, QPushButton, QToolButton
from pytestqt.qtbot import QtBot

from hearth.ui.chat.composer import LARGE_PASTE_CHARS, Composer, PendingAttachment
from tests.ui.window_support import composer_reason


def make(qtbot: QtBot) -> Composer:
    composer = Composer()
    qtbot.addWidget(composer)
    composer.show()
    return composer


def send_button(composer: Composer) -> QPushButton:
    button = composer.findChild(QPushButton, "sendButton")
    assert button is not None
    return button


def test_enter_sends_and_shift_enter_adds_a_line(qtbot: QtBot) -> None:
    composer = make(qtbot)
    qtbot.keyClicks(composer.editor, "first line")
    qtbot.keyClick(composer.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer.editor, "second line")
    with qtbot.waitSignal(composer.submitted) as sent:
        qtbot.keyClick(composer.editor, Qt.Key.Key_Return)
    assert sent.args == ["first line\nsecond line", []]
    assert composer.text() == ""


def test_ctrl_enter_sends_when_enter_adds_lines(qtbot: QtBot) -> None:
    composer = make(qtbot)
    composer.set_send_on_enter(False)
    qtbot.keyClicks(composer.editor, "a")
    qtbot.keyClick(composer.editor, Qt.Key.Key_Return)
    assert composer.text() == "a\n"
    with qtbot.waitSignal(composer.submitted):
        qtbot.keyClick(composer.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def test_empty_message_is_not_sent(qtbot: QtBot) -> None:
    composer = make(qtbot)
    with qtbot.assertNotEmitted(composer.submitted):
        qtbot.keyClick(composer.editor, Qt.Key.Key_Return)


def test_up_in_an_empty_box_asks_to_edit_the_last_message(qtbot: QtBot) -> None:
    composer = make(qtbot)
    with qtbot.waitSignal(composer.edit_last_requested):
        qtbot.keyClick(composer.editor, Qt.Key.Key_Up)


def test_busy_turns_send_into_stop(qtbot: QtBot) -> None:
    composer = make(qtbot)
    composer.set_busy(True)
    button = send_button(composer)
    assert button.text() == "Stop" and button.isEnabled()
    with qtbot.waitSignal(composer.stop_requested):
        button.click()
    with qtbot.assertNotEmitted(composer.submitted):
        qtbot.keyClicks(composer.editor, "x")
        qtbot.keyClick(composer.editor, Qt.Key.Key_Return)


def test_blocked_composer_says_why_and_offers_a_model(qtbot: QtBot) -> None:
    composer = make(qtbot)
    composer.set_blocked("Load a model to start chatting.", "Choose a model")
    reason = composer_reason(composer)
    assert not send_button(composer).isEnabled()
    assert "Load a model" in reason.text() and reason.isVisible()
    with qtbot.waitSignal(composer.choose_model_requested):
        reason.linkActivated.emit("models")
    composer.set_blocked("")
    qtbot.keyClicks(composer.editor, "hi")
    assert send_button(composer).isEnabled()


def test_files_become_chips_that_can_be_removed(qtbot: QtBot, tmp_path: Path) -> None:
    composer = make(qtbot)
    doc = tmp_path / "report.pdf"
    doc.write_bytes(b"%PDF-1.4 " + b"x" * 2000)
    img = tmp_path / "photo.png"
    img.write_bytes(b"\x89PNG" + b"x" * 100)
    composer.add_files([doc, img])
    assert [(a.name, a.kind) for a in composer.attachments] == [("report.pdf", "document"), ("photo.png", "image")]
    chips = composer.findChildren(QFrame, "attachmentChip")
    assert any("report.pdf" in c.accessibleName() and "2.01 kB" in c.accessibleName() for c in chips)
    remove = [b for b in composer.findChildren(QToolButton) if b.accessibleName() == "Remove report.pdf"]
    remove[0].click()
    assert [a.name for a in composer.attachments] == ["photo.png"]
    with qtbot.waitSignal(composer.submitted) as sent:
        composer.submit()
    assert sent.args[0] == "" and [a.name for a in sent.args[1]] == ["photo.png"]
    assert composer.attachments == []


def test_a_huge_paste_becomes_an_attachment(qtbot: QtBot) -> None:
    composer = make(qtbot)
    data = QMimeData()
    data.setText("word " * (LARGE_PASTE_CHARS // 4))
    with qtbot.waitSignal(composer.notice):
        composer.editor.insertFromMimeData(data)
    assert composer.text() == ""
    (pasted,) = composer.attachments
    assert pasted.kind == "text" and pasted.data is not None and pasted.size > LARGE_PASTE_CHARS


def test_pasted_files_and_images(qtbot: QtBot, tmp_path: Path) -> None:
    composer = make(qtbot)
    file = tmp_path / "notes.md"
    file.write_text("# Notes")
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(file))])
    composer.editor.insertFromMimeData(data)
    image = QMimeData()
    picture = QImage(20, 10, QImage.Format.Format_RGB32)
    picture.fill(Qt.GlobalColor.red)
    image.setImageData(picture)
    composer.editor.insertFromMimeData(image)
    kinds = [(a.name, a.kind) for a in composer.attachments]
    assert kinds == [("notes.md", "document"), ("Pasted image.png", "image")]
    assert isinstance(composer.attachments[1], PendingAttachment) and composer.attachments[1].data
