"""Starting the app: the window's frame shows first and then holds the app; a damaged conversation database is kept
aside only with the user's consent; a second window is told politely that Hearth is already running; a failure while
building the app is told in plain words and releases what the launch held."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from hearth.core.errors import HearthError
from hearth.core.instance import InstanceLock
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings, save_settings
from hearth.core.store import Store, default_db_path
from hearth.ui import app as app_module
from hearth.ui import launch
from hearth.ui.app import HearthApp
from hearth.ui.shell.frame import WindowFrame


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
        assert launch.run_app() == 0
    finally:
        lock.release()
    assert told and "already running" in told[0].lower()


def settled_home() -> AppPaths:
    """A data folder past the first run, offline (the launched app opens no connection)."""
    paths = AppPaths.default().ensure()
    save_settings(Settings(first_run_done=True, offline=True), paths.config_dir / "settings.json")
    return paths


def is_closed(store: Store) -> bool:
    try:
        store.conversations.list_all()
    except HearthError as exc:
        return "closed" in str(exc.__cause__)
    return False


def lock_is_free(paths: AppPaths) -> bool:
    probe = InstanceLock(paths.data_dir)
    if not probe.try_acquire():
        return False
    probe.release()
    return True


@pytest.mark.timeout(300)
def test_the_window_frame_shows_first_then_holds_the_app(qtbot: QtBot, hearth_home: Path) -> None:
    paths = settled_home()
    events: list[str] = []
    seen: dict[str, Any] = {}

    def on_frame(frame: WindowFrame) -> None:
        seen["frame"] = frame
        events.append("frame shown")
        frame.first_painted.connect(lambda: events.append("frame painted"))

    def on_started(app: HearthApp) -> None:
        frame = seen["frame"]
        events.append("app started")
        seen["app"] = app
        seen["inside"] = app.window.window() is frame and frame.centralWidget() is app.window
        seen["outline gone"] = frame.findChild(QWidget, "windowOutline") is None  # taken out, deleted later
        seen["window shown"] = app.window.isVisible() and frame.isVisible()
        seen["lock held"] = app.lock is not None and app.lock.held
        # Ctrl+Q, from inside the main window, closes the whole window (the frame), and Hearth quits.
        quit_shortcut = next(s for s in app.window.findChildren(QShortcut) if s.objectName() == "quit")
        quit_shortcut.activated.emit()

    try:
        assert launch.run_app(on_started=on_started, on_frame=on_frame) == 0
    finally:
        if "frame" in seen:
            seen["frame"].deleteLater()
    assert events == ["frame shown", "frame painted", "app started"], "the app is built after the frame painted"
    assert seen["inside"] and seen["outline gone"] and seen["window shown"] and seen["lock held"]
    app = seen["app"]
    assert not seen["frame"].isVisible() and not app.window.isVisible()
    assert lock_is_free(paths), "quitting released the single-instance lock"
    assert is_closed(app.store)


def test_declining_to_set_a_damaged_database_aside_ends_the_launch(monkeypatch: pytest.MonkeyPatch, qtbot: QtBot,
                                                                 hearth_home: Path) -> None:
    paths = settled_home()
    path = damaged_database(paths)
    original = path.read_bytes()
    parents: list[object] = []

    def question(parent: Any, *_args: Any) -> QMessageBox.StandardButton:
        parents.append(parent)
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    frames: list[WindowFrame] = []
    assert launch.run_app(on_frame=frames.append) == 0
    frames[0].deleteLater()
    assert parents == [frames[0]], "asked over the window's frame"
    assert path.read_bytes() == original
    assert lock_is_free(paths)


def test_a_failure_while_building_the_app_is_told_and_ends_the_launch(monkeypatch: pytest.MonkeyPatch,
                                                                     qtbot: QtBot, hearth_home: Path) -> None:
    paths = settled_home()
    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda _p, _t, text: told.append(text)))

    stores: list[Store] = []

    def broken_build(_qapp: QApplication, _paths: AppPaths, _settings: Settings, store: Store,
                     *_args: Any, **_kwargs: Any) -> HearthApp:
        stores.append(store)
        raise RuntimeError("the engine's settings are unreadable")

    monkeypatch.setattr(app_module, "build_app", broken_build)
    frames: list[WindowFrame] = []
    with pytest.raises(RuntimeError, match="unreadable"):
        launch.run_app(on_frame=frames.append)
    frames[0].deleteLater()
    assert told and "could not start" in told[0] and "unreadable" in told[0]
    assert lock_is_free(paths)
    assert is_closed(stores[0]), "the launch closed the database it had opened"
