"""The few questions the app must ask (the user has to decide): delete a model? which file to import, and copy it
or use it where it is? send a scan's pages as pictures? a document's password. Passed in as callables so tests can
answer them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget

Ask = Callable[[QWidget, str, str], bool]
AskPassword = Callable[[QWidget, str, str], str | None]
ChooseImport = Callable[[QWidget], tuple[Path, bool] | None]


def ask_user(parent: QWidget, title: str, text: str) -> bool:
    """A yes/no question; No is the default."""
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def ask_password(parent: QWidget, title: str, text: str) -> str | None:
    """A password, typed hidden; None when the user cancelled."""
    password, ok = QInputDialog.getText(parent, title, text, QLineEdit.EchoMode.Password)
    return password if ok else None


def choose_import(parent: QWidget) -> tuple[Path, bool] | None:
    """Pick a GGUF file, then use it where it is (a link: no extra space) or copy it into Hearth's folder.

    Returns:
        The file and whether to link it, or None when the user cancelled.
    """
    name, _ = QFileDialog.getOpenFileName(parent, "Choose a GGUF model file", str(Path.home()),
                                          "GGUF models (*.gguf);;All files (*)")
    if not name:
        return None
    box = QMessageBox(parent)
    box.setWindowTitle("Add the model")
    box.setText(f"Use {Path(name).name} in Hearth?")
    box.setInformativeText("Use it where it is (no extra disk space, but keep the file there), or copy it into "
                           "Hearth's models folder.")
    link = box.addButton("Use where it is", QMessageBox.ButtonRole.AcceptRole)
    copy = box.addButton("Copy into Hearth", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(link)
    box.exec()
    clicked = box.clickedButton()
    if clicked not in (link, copy):
        return None
    return Path(name), clicked is link
