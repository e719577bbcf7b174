"""Build the application's objects, wire them, and run the Qt event loop."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

import hearth


def run_app(screenshot_dir: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName(hearth.APP_NAME)
    window = QMainWindow()
    window.setWindowTitle(hearth.APP_NAME)
    window.setCentralWidget(QLabel("Hearth"))
    window.resize(1100, 720)
    window.show()
    if screenshot_dir:
        out = Path(screenshot_dir)
        out.mkdir(parents=True, exist_ok=True)
        app.processEvents()
        window.grab().save(str(out / "main.png"))
        return 0
    return app.exec()
