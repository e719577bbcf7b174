"""The GUI's bridge to the engine: blocking engine calls run on a worker thread, results come back as signals.

The engine worker owns the engine calls that block (loading, answering) on any ``EngineApi`` (the real
``EngineClient``, or a test's ``FakeEngineClient``). The GUI never waits on it: it asks through queued signals and
hears back through the worker's signals, each carrying the request id of the answer it belongs to. Stop does not
queue behind a running answer: the GUI calls ``EngineBridge.cancel()`` directly, which tells the engine at once (for
``EngineClient``: writes the cancel command to the host's pipe).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from hearth.core.engine import (
    AnswerStats,
    EngineApi,
    EngineEvent,
    EngineNotice,
    Finished,
    LoadProgress,
    PromptProgress,
    StopReason,
    TokenDelta,
)
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tools import ToolChoice, ToolSpec
from hearth.core.errors import EngineNotReadyError, HearthError
from hearth.ui.tasks import as_hearth_error


@dataclass
class EngineRound:
    """One round of an answer with tools, run on the engine's thread for a caller on another thread.

    Attributes:
        messages: the conversation so far, with earlier rounds' calls and results.
        params: sampling settings.
        tools: the tools offered.
        choice: auto, none, required or a named tool.
        sink: gets each event (on the engine's thread).
        cancel: set by Stop: a round not begun yet never starts, a running one is stopped within a token (also
            when Stop came before the engine had the request).
        done: set when the round has ended; ``error`` then says whether it failed.
    """

    messages: list[dict[str, Any]]
    params: SamplingParams
    tools: Sequence[ToolSpec]
    choice: ToolChoice
    sink: Callable[[EngineEvent], None]
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    error: HearthError | None = None


@dataclass(frozen=True)
class AnswerRequest:
    """One answer to produce.

    Attributes:
        request_id: the app's id for this answer (the assistant message id); every event carries it.
        messages: the conversation as role/content dictionaries, oldest first.
        params: sampling settings.
        continue_last: the last message is a partial assistant answer to continue.
        prepare: builds ``messages`` on the engine's thread instead (work the window must not wait for, such as
            ranking the passages of big attachments); its second value comes back with ``answer_prepared``.
    """

    request_id: int
    messages: list[dict[str, Any]]
    params: SamplingParams = field(default_factory=SamplingParams)
    continue_last: bool = False
    prepare: Callable[[], tuple[list[dict[str, Any]], object]] | None = None


class EngineWorker(QObject):
    """Runs engine calls on its own thread.

    Signals:
        load_progress(float): loading fraction 0..1.
        plan_chosen(object): the ``LoadPlan`` a ``load_path`` request will load with.
        model_loaded(object): the ``ModelInfo`` of the loaded model.
        load_failed(object): a ``HearthError`` saying why.
        notice(str): something the user should know (e.g. the engine restarted).
        answer_prepared(int, object): request id, what ``AnswerRequest.prepare`` returned besides the messages.
        prompt_progress(int, int, int): request id, tokens read, tokens to read.
        token(int, str): request id, text delta.
        answer_finished(int, object): request id, ``AnswerStats``.
        answer_failed(int, object): request id, ``HearthError`` (a crash, an overflow...).
        model_unloaded(): the model's memory was released.
    """

    load_progress = Signal(float)
    plan_chosen = Signal(object)
    model_loaded = Signal(object)
    load_failed = Signal(object)
    notice = Signal(str)
    answer_prepared = Signal(int, object)
    prompt_progress = Signal(int, int, int)
    token = Signal(int, str)
    answer_finished = Signal(int, object)
    answer_failed = Signal(int, object)
    model_unloaded = Signal()

    def __init__(self, client: EngineApi) -> None:
        super().__init__()
        self._client = client
        self.cancel_requested = threading.Event()  # Stop pressed while the prompt was being prepared

    @Slot(object)
    def load(self, plan: LoadPlan) -> None:
        try:
            info = self._client.load(plan, on_progress=self.load_progress.emit)
        except Exception as exc:  # every failure must reach the user as words, never kill the thread
            self.load_failed.emit(as_hearth_error(exc))
            return
        self.model_loaded.emit(info)

    @Slot(object, object)
    def load_path(self, path: Path, plan_for: Callable[[Path], LoadPlan]) -> None:
        """Plan (reads the GGUF header, detects the hardware: not for the GUI thread), then load."""
        try:
            plan = plan_for(path)
        except Exception as exc:
            self.load_failed.emit(as_hearth_error(exc))
            return
        self.plan_chosen.emit(plan)
        self.load(plan)

    @Slot()
    def unload(self) -> None:
        self._client.unload()
        self.model_unloaded.emit()

    @Slot(object)
    def answer(self, request: AnswerRequest) -> None:
        rid = request.request_id
        try:
            messages = request.messages
            if request.prepare is not None:
                messages, extra = request.prepare()
                self.answer_prepared.emit(rid, extra)
            if self.cancel_requested.is_set():
                self.answer_finished.emit(rid, AnswerStats(0, None, None, 0, StopReason.CANCELLED))
                return
            for event in self._client.chat(messages, request.params, continue_last=request.continue_last):
                if isinstance(event, TokenDelta):
                    self.token.emit(rid, event.text)
                elif isinstance(event, PromptProgress):
                    self.prompt_progress.emit(rid, event.done, event.total)
                elif isinstance(event, Finished):
                    self.answer_finished.emit(rid, event.stats)
                elif isinstance(event, EngineNotice):
                    self.notice.emit(event.message)
                elif isinstance(event, LoadProgress):
                    self.load_progress.emit(event.fraction)
        except Exception as exc:
            self.answer_failed.emit(rid, as_hearth_error(exc))

    @Slot(EngineRound)
    def chat_round(self, request: EngineRound) -> None:
        """Run one round of an answer with tools; the caller waits on ``request.done``."""
        try:
            if request.cancel.is_set():
                request.sink(Finished(0, AnswerStats(0, None, None, 0, StopReason.CANCELLED)))
                return
            stopped = False
            for event in self._client.chat(request.messages, request.params, tools=request.tools,
                                           tool_choice=request.choice):
                # A Stop that came before the engine had the request found nothing to cancel: send it again.
                if request.cancel.is_set() and not stopped and not isinstance(event, LoadProgress):
                    stopped = self._client.cancel()
                request.sink(event)
        except Exception as exc:
            request.error = as_hearth_error(exc)
        finally:
            request.done.set()

    @Slot()
    def shutdown(self) -> None:
        self._client.close()


class EngineBridge(QObject):
    """The GUI thread's handle on the engine worker.

    Signals:
        request_load(object), request_load_path(object, object), request_answer(object),
        request_round(EngineRound), request_unload(), request_shutdown(): queued to the worker.
    """

    request_load = Signal(object)
    request_load_path = Signal(object, object)
    request_answer = Signal(object)
    request_round = Signal(EngineRound)
    request_unload = Signal()
    request_shutdown = Signal()

    def __init__(self, client: EngineApi, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.worker_thread = QThread()
        self.worker_thread.setObjectName("engine")
        self.worker = EngineWorker(client)
        self.worker.moveToThread(self.worker_thread)
        self.request_load.connect(self.worker.load)
        self.request_load_path.connect(self.worker.load_path)
        self.request_answer.connect(self.worker.answer)
        self.request_round.connect(self.worker.chat_round)
        self.request_unload.connect(self.worker.unload)
        self.request_shutdown.connect(self.worker.shutdown)
        self._stopped = threading.Event()
        self.worker_thread.start()

    def load(self, plan: LoadPlan) -> None:
        self.request_load.emit(plan)

    def load_path(self, path: Path, plan_for: Callable[[Path], LoadPlan]) -> None:
        self.request_load_path.emit(path, plan_for)

    def answer(self, request: AnswerRequest) -> None:
        self.worker.cancel_requested.clear()
        self.request_answer.emit(request)

    def run_round(self, request: EngineRound) -> None:
        """Run one round of an answer with tools on the engine's thread and wait for it (from a thread that is not
        the GUI's: the answer's tool loop). ``cancel`` ends it within a token."""
        self.request_round.emit(request)
        while not request.done.wait(0.1):
            if self._stopped.is_set():
                raise EngineNotReadyError("Hearth is closing.")
        if request.error is not None:
            raise request.error

    def unload(self) -> None:
        self.request_unload.emit()

    def cancel(self) -> None:
        """Stop the running answer now (thread-safe; does not wait behind the worker)."""
        self.worker.cancel_requested.set()
        self.client.cancel()

    def cancel_load(self) -> None:
        self.client.cancel_load()

    def stop(self) -> None:
        """End the engine and the worker thread (at application exit)."""
        self._stopped.set()
        self.client.cancel()
        self.client.cancel_load()
        self.request_shutdown.emit()
        self.worker_thread.quit()
        if not self.worker_thread.wait(15_000):
            self.worker_thread.terminate()
            self.worker_thread.wait()
