"""The Qt binding itself: PySide6 6.12.0 on Python < 3.12 corrupts None's reference count on void calls."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QTextBrowser
from pytestqt.qtbot import QtBot


def test_void_qt_calls_leave_none_alone(qtbot: QtBot) -> None:
    browser = QTextBrowser()
    qtbot.addWidget(browser)
    before = sys.getrefcount(None)
    for i in range(20_000):
        browser.setPlainText("x" if i % 2 else "y")  # returns None from C++
    after = sys.getrefcount(None)
    # With the broken binding the count falls by one per call and the interpreter aborts (none_dealloc).
    assert after >= before - 100, f"None lost {before - after} references over 20,000 Qt calls"
