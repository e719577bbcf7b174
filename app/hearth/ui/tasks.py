"""Background work for the GUI: blocking core calls run on worker threads, their outcome comes back to the GUI thread.

One shape for every blocking call the window makes (reading attachments, detecting the hardware, listing the models
folder, Hub requests, downloads, assembling the starter model), in the spirit of Anki's ``QueryOp``::

    BackgroundTask(lambda report: take_snapshot(library, hw), parent=self) \\
        .success(self._on_library_listed) \\
        .failure(self._on_action_failed) \\
        .run_in_background()

``op`` runs on a fresh thread and may call ``report(update)``; ``success(result)``, ``failure(error)`` and the
progress callback run on the GUI thread, each with its own type (``T`` the result, ``P`` the progress updates; the
error is always a ``HearthError``). Nothing is delivered once ``parent`` is deleted. ``at_most_every`` thins the
progress reports so a chatty op cannot flood the GUI thread's event queue. ``TaskGroup`` tracks a page's tasks: is
it busy, is this kind of work already running, wait for all of them at exit.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QThread, Signal, Slot

from hearth.core.errors import HearthError

T = TypeVar("T")
P = TypeVar("P")

PROGRESS_INTERVAL_S = 0.05


def as_hearth_error(exc: BaseException) -> HearthError:
    """An exception as the typed error the GUI knows how to word (unexpected ones wrapped)."""
    if isinstance(exc, HearthError):
        return exc
    return HearthError(f"Unexpected error: {exc}", details=repr(exc))


def at_most_every(seconds: float, emit: Callable[[P], None],
                  clock: Callable[[], float] = time.monotonic) -> Callable[[P], None]:
    """``emit``, passing on a report only when ``seconds`` have passed since the last one passed on.

    Every report is an event the window's thread must take the interpreter for; a worker reporting each of 500 PDF
    pages kept that queue from ever emptying, and the window's timers and repaints waited behind it for 300 ms.
    What is dropped is only an intermediate state: the task's outcome follows.
    """
    last = [-seconds]

    def report(update: P) -> None:
        now = clock()
        if now - last[0] >= seconds:
            last[0] = now
            emit(update)

    return report


# Tasks whose work is running. Held here until their outcome is delivered: the thread and the runner belong to the
# task, and if the garbage collector took it while the work runs (its owner gone), the QThread would be destroyed
# under the worker.
_RUNNING: set[BackgroundTask] = set()
# The task whose outcome was delivered last: kept one delivery longer, so that a task dropped by its callbacks is not
# freed (with its relay) inside the relay's own slot.
_LAST_ENDED: list[BackgroundTask] = []


class BackgroundTask(Generic[T, P]):
    """Run ``op(report)`` on a fresh thread; its result, its error and its reports arrive on the GUI thread.

    Args:
        op: the blocking work. It gets ``report``, which it may call with progress updates (thinned to one every
            ``progress_interval`` seconds). An exception it raises becomes the ``failure`` callback's ``HearthError``.
        parent: the object the callbacks belong to; once it is deleted, nothing more is delivered.
        name: the thread's name (shown by debuggers and in crash reports).
        progress_interval: the least time between two progress updates passed on.
    """

    def __init__(self, op: Callable[[Callable[[P], None]], T], *, parent: QObject | None = None,
                 name: str = "background task", progress_interval: float = PROGRESS_INTERVAL_S) -> None:
        self._op = op
        self._parent = parent
        self._name = name
        self._interval = progress_interval
        self._on_success: list[Callable[[T], None]] = []
        self._on_failure: list[Callable[[HearthError], None]] = []
        self._on_progress: list[Callable[[P], None]] = []
        self._on_end: list[Callable[[], None]] = []
        self._thread: QThread | None = None
        self._runner: _Runner[T, P] | None = None
        self._relay: _Relay | None = None
        self._ended = False
        self._abandoned = False

    # --- configuring (before ``run_in_background``) --------------------------------------------------------------

    def success(self, callback: Callable[[T], None]) -> BackgroundTask[T, P]:
        """Call ``callback(result)`` on the GUI thread when ``op`` returns."""
        self._on_success.append(callback)
        return self

    def failure(self, callback: Callable[[HearthError], None]) -> BackgroundTask[T, P]:
        """Call ``callback(error)`` on the GUI thread when ``op`` raises."""
        self._on_failure.append(callback)
        return self

    def with_progress(self, callback: Callable[[P], None]) -> BackgroundTask[T, P]:
        """Call ``callback(update)`` on the GUI thread for the reports ``op`` makes (thinned)."""
        self._on_progress.append(callback)
        return self

    def when_ended(self, callback: Callable[[], None]) -> BackgroundTask[T, P]:
        """Call ``callback()`` when the work has ended, before the outcome's callbacks (even with the parent gone):
        bookkeeping such as ``TaskGroup``'s, so that an outcome's callback may start the same kind of work again."""
        self._on_end.append(callback)
        return self

    # --- running -------------------------------------------------------------------------------------------------

    def run_in_background(self) -> BackgroundTask[T, P]:
        """Start ``op`` on its own thread (once)."""
        if self._thread is not None:
            raise RuntimeError("a BackgroundTask runs once")
        thread = QThread()
        thread.setObjectName(self._name)
        relay = _Relay(self)
        runner: _Runner[T, P] = _Runner(self._op, self._interval)
        runner.moveToThread(thread)
        thread.started.connect(runner.run)
        runner.reported.connect(relay.on_reported)
        runner.done.connect(relay.on_done)
        self._thread, self._runner, self._relay = thread, runner, relay
        _RUNNING.add(self)
        thread.start()
        return self

    @property
    def running(self) -> bool:
        """Started and its outcome not delivered yet."""
        return self._thread is not None and not self._ended

    def wait(self, ms: int = 30_000) -> bool:
        """Wait for the work's thread to end (at exit, where the outcome will not be delivered); True if it did."""
        return self._thread.wait(ms) if self._thread is not None else True

    def abandon(self) -> None:
        """Deliver nothing more (the app is closing): the work finishes, its outcome goes nowhere."""
        self._abandoned = True

    # --- on the GUI thread (called by the relay) -----------------------------------------------------------------

    def _deliver_progress(self, update: P) -> None:
        if self._ended or self._abandoned or not self._parent_alive():
            return
        for callback in self._on_progress:
            callback(update)

    def _deliver_outcome(self) -> None:
        runner, thread = self._runner, self._thread
        assert runner is not None and thread is not None
        thread.quit()
        thread.wait()
        self._ended = True
        _RUNNING.discard(self)
        _LAST_ENDED[:] = [self]
        for ended in self._on_end:
            ended()
        if self._abandoned or not self._parent_alive():
            return
        if runner.error is not None:
            for failed in self._on_failure:
                failed(runner.error)
        else:
            for succeeded in self._on_success:
                succeeded(runner.result)  # type: ignore[arg-type]  # set whenever no error is

    def _parent_alive(self) -> bool:
        return self._parent is None or shiboken6.isValid(self._parent)


class _Runner(QObject, Generic[T, P]):
    """Lives on the task's thread and runs ``op`` there.

    Signals:
        reported(object): a progress update (the task's ``P``: each task reports its own kind).
        done(): ``result`` or ``error`` is set.
    """

    reported = Signal(object)
    done = Signal()

    def __init__(self, op: Callable[[Callable[[P], None]], T], interval: float) -> None:
        super().__init__()
        self._op = op
        self._interval = interval
        self.result: T | None = None
        self.error: HearthError | None = None

    @Slot()
    def run(self) -> None:
        try:
            self.result = self._op(at_most_every(self._interval, self.reported.emit))
        except Exception as exc:  # every failure must reach the GUI as a typed error, never end the thread silently
            self.error = as_hearth_error(exc)
        self.done.emit()
        # End the thread from here, so ``BackgroundTask.wait`` returns even when the GUI is not running its event
        # loop (at exit) to deliver ``done``.
        self.thread().quit()


class _Relay(QObject):
    """Lives on the GUI thread: the worker's signals arrive here, queued, and go on to the task's callbacks."""

    def __init__(self, task: BackgroundTask) -> None:
        super().__init__()
        self._task = weakref.ref(task)  # the task owns the relay, not the other way round

    @Slot(object)
    def on_reported(self, update: object) -> None:
        task = self._task()
        if task is not None:
            task._deliver_progress(update)

    @Slot()
    def on_done(self) -> None:
        task = self._task()
        if task is not None:
            task._deliver_outcome()


class TaskGroup:
    """A page's background tasks: whether it is busy, whether a kind of work is already running; at exit, waiting
    for them (``close``)."""

    def __init__(self) -> None:
        self._tasks: list[tuple[str, BackgroundTask]] = []
        self._closed = False

    def run(self, task: BackgroundTask[T, P], *, kind: str = "") -> BackgroundTask[T, P]:
        """Track ``task`` (under ``kind``, if given) and start it; after ``close``, it is not started."""
        if self._closed:
            return task
        entry = (kind, task)
        self._tasks.append(entry)
        task.when_ended(lambda: self._tasks.remove(entry))
        return task.run_in_background()

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def running(self, kind: str) -> bool:
        return any(k == kind for k, _ in self._tasks)

    def close(self) -> None:
        """At exit: wait for the running tasks, deliver nothing more (an outcome arriving while the app closes must
        not start new work), and start no new task."""
        self._closed = True
        for _, task in list(self._tasks):
            task.abandon()
            task.wait()
