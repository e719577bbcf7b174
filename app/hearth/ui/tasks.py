"""Background work for the GUI: blocking core calls run on worker threads, results come back to the GUI thread.

``BackgroundTask`` runs one callable on a fresh thread; ``at_most_every`` thins a worker's progress reports so a
chatty worker cannot flood the GUI thread's event queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from hearth.core.errors import HearthError


def as_hearth_error(exc: BaseException) -> HearthError:
    """An exception as the typed error the GUI knows how to word (unexpected ones wrapped)."""
    if isinstance(exc, HearthError):
        return exc
    return HearthError(f"Unexpected error: {exc}", details=repr(exc))


_RUNNING: set[BackgroundTask] = set()


class BackgroundTask(QObject):
    """Run one blocking callable on a fresh thread; ``finished(result)`` or ``failed(error)`` on the GUI thread.

    Signals:
        finished(object): the callable's return value.
        failed(object): a ``HearthError``.
        progress(object): whatever the callable reports through the ``report`` argument it is given.
    """

    finished = Signal(object)
    failed = Signal(object)
    progress = Signal(object)

    def __init__(self, work: Callable[[Callable[[object], None]], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._thread = QThread()
        self._runner = _Runner(work, self)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self._runner.done.connect(self._on_runner_done)

    def start(self) -> None:
        # Held until the work is done: the thread and the runner belong to this object, and if the garbage collector
        # took it while the work runs (its owner gone), the runner would be deleted under the worker thread.
        _RUNNING.add(self)
        self._thread.start()

    def wait(self, ms: int = 30_000) -> bool:
        return self._thread.wait(ms)

    @Slot(object, object)
    def _on_runner_done(self, result: object, error: object) -> None:
        self._thread.quit()
        self._thread.wait()
        _RUNNING.discard(self)
        if error is not None:
            self.failed.emit(error)
        else:
            self.finished.emit(result)


PROGRESS_INTERVAL_S = 0.05


def at_most_every(seconds: float, emit: Callable[[object], None],
                  clock: Callable[[], float] = time.monotonic) -> Callable[[object], None]:
    """``emit``, passing on a report only when ``seconds`` have passed since the last one passed on.

    Every report is an event the window's thread must take the interpreter for; a worker reporting each of 500 PDF
    pages kept that queue from ever emptying, and the window's timers and repaints waited behind it for 300 ms.
    What is dropped is only an intermediate state: the task's ``finished`` or ``failed`` follows.
    """
    last = [-seconds]

    def report(update: object) -> None:
        now = clock()
        if now - last[0] >= seconds:
            last[0] = now
            emit(update)

    return report


class _Runner(QObject):
    done = Signal(object, object)

    def __init__(self, work: Callable[[Callable[[object], None]], object], owner: BackgroundTask) -> None:
        super().__init__()
        self._work = work
        self._owner = owner

    @Slot()
    def run(self) -> None:
        try:
            result = self._work(at_most_every(PROGRESS_INTERVAL_S, self._owner.progress.emit))
        except Exception as exc:
            self.done.emit(None, as_hearth_error(exc))
        else:
            self.done.emit(result, None)
        # End the thread from here, so ``BackgroundTask.wait`` returns even when the GUI is not running its event
        # loop (at exit) to handle ``done``.
        self.thread().quit()
