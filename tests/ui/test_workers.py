"""Background work: progress reports are thinned out before they reach the window's thread; results and typed errors
arrive on the GUI thread, never to an owner that is gone; a thread ends by itself."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject
from pytestqt.qtbot import QtBot

from hearth.core.errors import DiskFullError, HearthError
from hearth.ui.tasks import BackgroundTask, TaskGroup, at_most_every


def test_reports_closer_than_the_interval_are_dropped() -> None:
    now = [0.0]
    passed: list[object] = []
    report = at_most_every(0.05, passed.append, clock=lambda: now[0])
    for page in range(500):  # a page every 2 ms for a second
        now[0] = page * 0.002
        report(page)
    assert passed[0] == 0, "the first report goes through at once"
    gaps = [int(str(b)) - int(str(a)) for a, b in itertools.pairwise(passed)]
    assert len(passed) == 20 and all(25 <= gap <= 26 for gap in gaps), passed


def test_a_task_reports_progress_and_its_result_on_the_gui_thread(qtbot: QtBot) -> None:
    gui = threading.get_ident()
    progress: list[int] = []
    results: list[tuple[str, int]] = []

    def work(report: Callable[[int], None]) -> str:
        for i in range(1000):
            report(i)
        return "done"

    def finished(result: str) -> None:
        results.append((result, threading.get_ident()))

    task = BackgroundTask(work, name="counting").with_progress(progress.append).success(finished).run_in_background()
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    assert results == [("done", gui)], "the result arrives once, on the GUI thread"
    assert progress and progress[0] == 0 and len(progress) < 1000, "thinned reports"
    assert not task.running


def test_a_failure_arrives_as_a_typed_error_and_the_group_forgets_the_task(qtbot: QtBot) -> None:
    group = TaskGroup()
    errors: list[HearthError] = []

    def work(_report: Callable[[object], None]) -> int:
        raise DiskFullError("The disk is full.")

    group.run(BackgroundTask(work).success(lambda _: pytest.fail("no result")).failure(errors.append), kind="disk")
    assert group.busy and group.running("disk")
    qtbot.waitUntil(lambda: not group.busy, timeout=10_000)
    assert [type(e) for e in errors] == [DiskFullError] and not group.running("disk")


def test_nothing_is_delivered_to_a_deleted_parent(qtbot: QtBot) -> None:
    owner = QObject()
    delivered: list[int] = []
    release = threading.Event()

    def work(_report: Callable[[object], None]) -> int:
        release.wait(10)
        return 1

    task = BackgroundTask(work, parent=owner).success(delivered.append).run_in_background()
    owner.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    release.set()
    qtbot.waitUntil(lambda: not task.running, timeout=10_000)
    assert delivered == []


def test_wait_returns_without_the_event_loop() -> None:
    """At exit the GUI no longer runs its event loop: the thread ends by itself, so waiting for it returns."""
    task = BackgroundTask(lambda _report: 42).run_in_background()
    assert task.wait(10_000)


def test_a_closed_group_delivers_nothing_and_starts_nothing(qtbot: QtBot) -> None:
    """At exit the app closes its groups: an outcome arriving then must not start new work."""
    group = TaskGroup()
    delivered: list[int] = []
    group.run(BackgroundTask(lambda _report: 1).success(delivered.append))
    group.close()
    late = group.run(BackgroundTask(lambda _report: 2).success(delivered.append))
    qtbot.waitUntil(lambda: not group.busy, timeout=10_000)
    assert delivered == [] and not late.running
