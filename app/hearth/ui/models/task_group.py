"""A page's background work: one-off blocking calls (``BackgroundTask``) that are tracked so the page knows whether
it is busy, can avoid running the same kind of work twice, and can wait for all of them at exit."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Slot

from hearth.ui.tasks import BackgroundTask

Work = Callable[[Callable[[object], None]], object]


class TaskGroup(QObject):
    """Runs and tracks ``BackgroundTask``s; results arrive on the GUI thread through the callbacks given to ``run``."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: list[BackgroundTask] = []

    def run(self, work: Work, done: Callable[[object], None], failed: Callable[[object], None], *,
            kind: str = "") -> BackgroundTask:
        """Start ``work(report)`` on a worker thread; ``done(result)`` or ``failed(error)`` follow."""
        task = BackgroundTask(work, self)
        task.setProperty("kind", kind)
        # Forget the task first, so that a result handler may start the same kind of work again.
        task.finished.connect(self._on_task_done)
        task.failed.connect(self._on_task_done)
        task.finished.connect(done)
        task.failed.connect(failed)
        self._tasks.append(task)
        task.start()
        return task

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def running(self, kind: str) -> bool:
        return any(t.property("kind") == kind for t in self._tasks)

    def wait_all(self) -> None:
        for task in list(self._tasks):
            task.wait()

    @Slot(object)
    def _on_task_done(self, _result: object) -> None:
        sender = self.sender()
        self._tasks = [t for t in self._tasks if t is not sender]
        if sender is not None:
            sender.deleteLater()
