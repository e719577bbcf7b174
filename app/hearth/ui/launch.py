"""Launching the window: ``run_app`` shows Hearth's window first and builds the app inside it next.

Importing the app (``hearth.ui.app``: the chat, the engine's client, the tools, the Models controller, the local API;
~160 modules) takes several times as long as starting Qt. So the launch runs in two steps:

1. With only Qt, the settings, the theme and the single-instance lock imported, the ``WindowFrame`` is shown: the
   window's title, size and colours, with the outline of the side list and the chat.
2. Once the frame has painted, the app is imported and built (``build_app``), the frame adopts its main window, and
   the app starts (the last conversation, the Models page's work, the model to start with).

A failure in the second step is told in a message box and ends the launch with status 1; the exception is raised
again once the event loop has ended, as it was before the launch had two steps.

This module imports nothing of the app beyond the first step's needs: ``tests/ui/test_startup_imports.py`` checks
that the frame paints before ``hearth.ui.app`` is imported.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

import hearth
from hearth.core.errors import AlreadyRunningError, HearthError
from hearth.core.instance import InstanceLock
from hearth.core.logs import configure_logging
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings, load_settings, save_settings
from hearth.ui.shell.frame import WindowFrame
from hearth.ui.shell.theme import ThemeController, theme_mode

if TYPE_CHECKING:
    from hearth.ui.app import HearthApp

log = logging.getLogger(__name__)

ICON = Path(__file__).resolve().parent / "assets" / "hearth.png"
# Where a platform paints nothing (a minimised window), the app is built anyway after this long.
BUILD_WITHOUT_PAINT_MS = 500


def run_app(screenshot_dir: str | None = None, *, on_started: Callable[[HearthApp], object] | None = None,
            on_frame: Callable[[WindowFrame], object] | None = None) -> int:
    """Open the window and run until it closes; returns the exit status.

    Args:
        screenshot_dir: save screenshots there (in a throw-away data folder) and exit, instead of running.
        on_started: called with the app once it is built, inside its window, and started.
        on_frame: called with the window's frame as soon as it is shown (before the app is imported).
    """
    qapp = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(qapp, QApplication)
    qapp.setApplicationName(hearth.APP_NAME)
    qapp.setApplicationDisplayName(hearth.APP_NAME)
    qapp.setOrganizationName(hearth.APP_NAME)
    if ICON.is_file():
        qapp.setWindowIcon(QIcon(str(ICON)))
    if screenshot_dir:
        return _take_screenshots(qapp, Path(screenshot_dir))
    paths = AppPaths.default().ensure()
    settings = load_settings(paths.config_dir / "settings.json")
    configure_logging(paths.log_dir, debug=settings.debug_logging)
    lock = InstanceLock(paths.data_dir)
    try:
        lock.acquire()
    except AlreadyRunningError as exc:
        QMessageBox.information(None, hearth.APP_NAME, f"{exc.message} {exc.hint}".strip())
        return 0
    theme = ThemeController(qapp, theme_mode(settings.theme), settings.zoom / 100)
    frame = WindowFrame(theme.apply())
    launch = _Launch(qapp, frame, paths, settings, lock, theme, on_started)
    frame.first_painted.connect(launch.build, Qt.ConnectionType.QueuedConnection)
    QTimer.singleShot(BUILD_WITHOUT_PAINT_MS, frame, launch.build)
    frame.show()
    if on_frame is not None:
        on_frame(frame)
    status = qapp.exec()
    return launch.finish(status)


class _Launch:
    """The launch's second step: import and build the app into the frame (once), and what it leaves to clean up."""

    def __init__(self, qapp: QApplication, frame: WindowFrame, paths: AppPaths, settings: Settings,
                 lock: InstanceLock, theme: ThemeController,
                 on_started: Callable[[HearthApp], object] | None) -> None:
        self.qapp = qapp
        self.frame = frame
        self.paths = paths
        self.settings = settings
        self.lock = lock
        self.theme = theme
        self.on_started = on_started
        self.app: HearthApp | None = None
        self.failure: BaseException | None = None
        self._begun = False

    def build(self) -> None:
        if self._begun or not self.frame.isVisible():  # built already, or the window was closed first
            return
        self._begun = True
        try:
            self._build()
        except Exception as exc:  # told to the user, then raised again by finish()
            log.exception("Hearth could not start")
            self.failure = exc
            QMessageBox.critical(self.frame, hearth.APP_NAME,
                                 f"Hearth could not start: {exc}\n\nThe details are in the log folder "
                                 f"({self.paths.log_dir}).")
            self.qapp.exit(1)

    def _build(self) -> None:
        from hearth.ui import app as app_module  # the second step: everything the window shows and runs

        try:
            store = app_module.open_store(self.paths, self.frame)
        except HearthError as exc:
            QMessageBox.critical(self.frame, hearth.APP_NAME, f"{exc.message}\n\n{exc.hint}".strip())
            self.qapp.exit(1)
            return
        if store is None:  # the user chose not to set a damaged database aside
            self.qapp.exit(0)
            return
        try:
            app = app_module.build_app(self.qapp, self.paths, self.settings, store, self.lock, theme=self.theme)
        except BaseException:
            store.close()
            raise
        self.app = app
        self.qapp.aboutToQuit.connect(app.shutdown)
        self.frame.adopt(app.window)
        app.start()
        if self.on_started is not None:
            self.on_started(app)

    def finish(self, status: int) -> int:
        """After the event loop: release what an app that was never built holds (a built app shut down at
        ``aboutToQuit``); raise a failure of the build."""
        if self.app is None:
            self.lock.release()
            self.theme.deleteLater()
        if self.failure is not None:
            raise self.failure
        return status


def _take_screenshots(qapp: QApplication, out_dir: Path) -> int:
    """``hearth --screenshot DIR``: build the app in a throw-away data folder (never the user's), save the
    screenshots, exit."""
    from hearth.ui.app import build_app, open_store
    from hearth.ui.shell.screenshots import take_screenshots

    scratch = tempfile.mkdtemp(prefix="hearth-screenshots-")
    os.environ["HEARTH_HOME"] = scratch
    try:
        paths = AppPaths.default().ensure()
        settings = Settings(first_run_done=True)
        save_settings(settings, paths.config_dir / "settings.json")
        configure_logging(paths.log_dir, debug=settings.debug_logging)
        store = open_store(paths, None)
        if store is None:
            return 1
        app = build_app(qapp, paths, settings, store)
        try:
            return take_screenshots(app, out_dir)
        finally:
            app.shutdown()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
