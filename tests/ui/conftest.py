"""GUI tests: fail a test that leaves a QTimer running or a QThread alive (napari does the same)."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QThread, QThreadPool, QTimer
from PySide6.QtWidgets import QApplication


@pytest.fixture(autouse=True)
def no_leftover_timers_or_threads(qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Record every QTimer and QThread a test starts; after the test (and pytest-qt's widget clean-up), any that
    is still running fails the test."""
    timers: weakref.WeakSet[QTimer] = weakref.WeakSet()
    threads: weakref.WeakSet[QThread] = weakref.WeakSet()
    timer_start = QTimer.start
    thread_start = QThread.start

    def start_timer(self: QTimer, *args: Any) -> None:
        timers.add(self)
        timer_start(self, *args)

    def start_thread(self: QThread, *args: Any) -> None:
        threads.add(self)
        thread_start(self, *args)

    monkeypatch.setattr(QTimer, "start", start_timer)
    monkeypatch.setattr(QThread, "start", start_thread)
    yield
    # Widgets closed by qtbot are deleted later: let that happen before judging.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qapp.processEvents()
    running = [t for t in list(timers) if shiboken6.isValid(t) and t.isActive()]
    alive = [t for t in list(threads) if shiboken6.isValid(t) and t.isRunning()]
    pool = QThreadPool.globalInstance().activeThreadCount()
    for timer in running:
        timer.stop()
    problems = []
    if running:
        problems.append(f"{len(running)} QTimer(s) still running: {[t.objectName() or repr(t) for t in running]}")
    if alive:
        problems.append(f"{len(alive)} QThread(s) still running: {[t.objectName() or repr(t) for t in alive]}")
    if pool:
        problems.append(f"{pool} QThreadPool job(s) still running")
    if problems:
        pytest.fail("; ".join(problems))
