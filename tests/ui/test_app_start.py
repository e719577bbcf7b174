"""Starting the app: a damaged conversation database is kept aside only with the user's consent, and a second
window is told politely that Hearth is already running."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from hearth.core.instance import InstanceLock
from hearth.core.paths import AppPaths
from hearth.core.store import Store, default_db_path
from hearth.ui import app as app_module


def damaged_database(paths: AppPaths) -> Path:
    path = default_db_path(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    with Store.open(path) as store:
        conv = store.conversations.create(title="Keep me")
        store.messages.add_user_message(conv.id, "precious words")
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # break the header's page
    path.write_bytes(bytes(data))
    return path


def test_damaged_database_is_kept_aside_when_the_user_agrees(monkeypatch: pytest.MonkeyPatch,
                                                            hearth_home: Path) -> None:
    paths = AppPaths.default().ensure()
    path = damaged_database(paths)
    original = path.read_bytes()
    asked: list[str] = []

    def question(_parent: Any, title: str, text: str, *_args: Any) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    store = app_module.open_store(paths, None)
    assert store is not None
    try:
        assert asked and "nothing is deleted" in asked[0]
        kept = [p for p in path.parent.iterdir() if p.name.startswith("hearth.db") and p != path
                and p.is_file() and p.read_bytes() == original]
        assert kept, "the damaged file is kept, byte for byte"
        assert store.integrity_check() == []
    finally:
        store.close()


def test_damaged_database_is_left_alone_when_the_user_declines(monkeypatch: pytest.MonkeyPatch,
                                                              hearth_home: Path) -> None:
    paths = AppPaths.default().ensure()
    path = damaged_database(paths)
    original = path.read_bytes()
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *_a: QMessageBox.StandardButton.Cancel))
    assert app_module.open_store(paths, None) is None
    assert path.read_bytes() == original


def test_second_instance_is_told_hearth_is_running(monkeypatch: pytest.MonkeyPatch, hearth_home: Path) -> None:
    paths = AppPaths.default().ensure()
    lock = InstanceLock(paths.data_dir)
    lock.acquire()
    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", staticmethod(lambda _p, _t, text: told.append(text)))
    try:
        assert app_module.run_app() == 0
    finally:
        lock.release()
    assert told and "already running" in told[0].lower()
