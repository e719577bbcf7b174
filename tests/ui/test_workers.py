"""Background work: progress reports are thinned out before they reach the window's thread, and results arrive."""

from __future__ import annotations

import itertools

from pytestqt.qtbot import QtBot

from hearth.ui.tasks import BackgroundTask, at_most_every


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


def test_a_task_reports_progress_and_finishes(qtbot: QtBot) -> None:
    progress: list[object] = []
    task = BackgroundTask(lambda report: [report(i) for i in range(1000)] and "done")
    task.progress.connect(progress.append)
    with qtbot.waitSignal(task.finished, timeout=10_000) as finished:
        task.start()
    assert finished.args == ["done"]
    assert progress and progress[0] == 0 and len(progress) < 1000
