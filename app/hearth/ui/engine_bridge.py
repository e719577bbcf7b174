"""The GUI's bridge to the engine: blocking engine calls run on the engine service's thread, results come back as
signals.

The window shares one ``EngineService`` (one engine host, one copy of the weights) with the local API server. Its
loads, answers and unloads are jobs in the service's queue under the source ``WINDOW``, which is never refused and
takes its turn with API clients. The GUI never waits: it hears back through the worker's signals. Stop does not queue
behind a running answer: ``EngineBridge.cancel()`` cancels the window's own request at once (a waiting one leaves the
queue; a running one stops within a token) and never an API client's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from hearth.core.engine import (
    EngineApi,
    EngineEvent,
    EngineNotice,
    Finished,
    LoadProgress,
    ModelInfo,
    PromptProgress,
    TokenDelta,
)
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.service import (
    WINDOW,
    Activity,
    ChatRequest,
    EngineService,
    JobKind,
    Ticket,
    cancelled_stats,
    run_chat,
)
from hearth.core.engine.tools import ToolChoice, ToolSpec
from hearth.core.errors import EngineNotReadyError, HearthError
from hearth.ui.tasks import as_hearth_error


@dataclass
class EngineRound:
    """One round of an answer with tools, run as a window job of the engine service for a caller on another thread.

    Attributes:
        messages: the conversation so far, with earlier rounds' calls and results.
        params: sampling settings.
        tools: the tools offered.
        choice: auto, none, required or a named tool.
        sink: gets each event (on the engine's thread).
        cancel: set by Stop: a round not begun yet never starts, a running one is stopped within a token.
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
        on_token: called on the engine's thread with each text delta before it goes to the window (the answer's
            ``StreamingSaver.add``: the partial answer is saved there, never on the GUI thread).
    """

    request_id: int
    messages: list[dict[str, Any]]
    params: SamplingParams = field(default_factory=SamplingParams)
    continue_last: bool = False
    prepare: Callable[[], tuple[list[dict[str, Any]], object]] | None = None
    on_token: Callable[[str], object] | None = None


class EngineWorker(QObject):
    """Runs the window's engine calls as jobs of the shared ``EngineService`` (on its thread) and reports back.

    The worker object lives on the GUI thread; its methods run on the service's thread, so its signals reach the
    GUI queued.

    Signals:
        load_progress(float): loading fraction 0..1.
        plan_chosen(object): the ``LoadPlan`` a ``load_path`` request will load with (or another source loaded).
        model_loaded(object): the ``ModelInfo`` of the loaded model (also when another source loaded it).
        load_failed(object): a ``HearthError`` saying why.
        notice(str): something the user should know (e.g. the engine restarted).
        answer_prepared(int, object): request id, what ``AnswerRequest.prepare`` returned besides the messages.
        prompt_progress(int, int, int): request id, tokens read, tokens to read.
        token(int, str): request id, text delta.
        answer_finished(int, object): request id, ``AnswerStats``.
        answer_failed(int, object): request id, ``HearthError`` (a crash, an overflow...).
        model_unloaded(): the model's memory was released.
        activity(object): the engine's ``Activity`` (whom it is working for, how many wait).
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
    activity = Signal(object)

    def __init__(self, client: EngineApi) -> None:
        super().__init__()
        self._client = client
        self.cancel_requested = threading.Event()  # Stop pressed while the prompt was being prepared

    def load(self, plan: LoadPlan) -> None:
        try:
            info = self._client.load(plan, on_progress=self.load_progress.emit)
        except Exception as exc:  # every failure must reach the user as words, never kill the thread
            self.load_failed.emit(as_hearth_error(exc))
            return
        self.model_loaded.emit(info)

    def load_path(self, path: Path, plan_for: Callable[[Path], LoadPlan]) -> None:
        """Plan (reads the GGUF header, detects the hardware: not for the GUI thread), then load."""
        try:
            plan = plan_for(path)
        except Exception as exc:
            self.load_failed.emit(as_hearth_error(exc))
            return
        self.plan_chosen.emit(plan)
        self.load(plan)

    def unload(self) -> None:
        self._client.unload()
        self.model_unloaded.emit()

    def answer(self, request: AnswerRequest, ticket: Ticket) -> None:
        rid = request.request_id
        try:
            messages = request.messages
            if request.prepare is not None:
                messages, extra = request.prepare()
                self.answer_prepared.emit(rid, extra)
            if self.cancel_requested.is_set() or ticket.cancel_requested:
                self.answer_finished.emit(rid, cancelled_stats())
                return
            chat = ChatRequest(messages, request.params, continue_last=request.continue_last)
            run_chat(self._client, ticket, chat, lambda item: self._report(rid, item, request.on_token))
        except Exception as exc:
            self.answer_failed.emit(rid, as_hearth_error(exc))

    def _report(self, rid: int, item: EngineEvent | HearthError,
                on_token: Callable[[str], object] | None = None) -> None:
        if isinstance(item, TokenDelta):
            if on_token is not None:
                on_token(item.text)  # the answer's saver, here on the engine's thread: never on the GUI thread
            self.token.emit(rid, item.text)
        elif isinstance(item, PromptProgress):
            self.prompt_progress.emit(rid, item.done, item.total)
        elif isinstance(item, Finished):
            self.answer_finished.emit(rid, item.stats)
        elif isinstance(item, EngineNotice):
            self.notice.emit(item.message)
        elif isinstance(item, LoadProgress):
            self.load_progress.emit(item.fraction)
        elif isinstance(item, HearthError):
            self.answer_failed.emit(rid, item)

    def on_activity(self, activity: Activity) -> None:
        self.activity.emit(activity)

    def on_model_changed(self, source: str, info: ModelInfo | None, plan: LoadPlan | None) -> None:
        """Another source (an API request allowed to switch models) changed the model: the window follows."""
        if source == WINDOW:
            return
        if info is None:
            self.model_unloaded.emit()
            return
        if plan is not None:
            self.plan_chosen.emit(plan)
        self.model_loaded.emit(info)


class EngineBridge(QObject):
    """The GUI thread's handle on the engine: the window's requests go to the shared ``EngineService``.

    Args:
        engine: the service the window shares with the local API, or an ``EngineApi`` (the real ``EngineClient``,
            or a test's ``FakeEngineClient``) to wrap in a service of the bridge's own.
    """

    def __init__(self, engine: EngineService | EngineApi, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = engine if isinstance(engine, EngineService) else EngineService(engine)
        self.client = self.service.client
        self.worker = EngineWorker(self.client)
        self._answer: Ticket | None = None
        self._stopped = threading.Event()
        self.service.add_activity_listener(self.worker.on_activity)
        self.service.add_model_listener(self.worker.on_model_changed)

    def _submit(self, work: Callable[[], None], kind: JobKind) -> Ticket | None:
        try:
            return self.service.submit(WINDOW, lambda _client, _ticket: work(), kind=kind, bounded=False)
        except HearthError:  # the service is closing: nothing more will run
            return None

    def load(self, plan: LoadPlan) -> None:
        self._submit(lambda: self.worker.load(plan), JobKind.LOAD)

    def load_path(self, path: Path, plan_for: Callable[[Path], LoadPlan]) -> None:
        self._submit(lambda: self.worker.load_path(path, plan_for), JobKind.LOAD)

    def answer(self, request: AnswerRequest) -> None:
        self.worker.cancel_requested.clear()
        try:
            self._answer = self.service.submit(
                WINDOW, lambda _client, ticket: self.worker.answer(request, ticket), kind=JobKind.CHAT, bounded=False,
                on_dropped=lambda error: self._dropped(request.request_id, error))
        except HearthError as exc:
            self.worker.answer_failed.emit(request.request_id, exc)

    def run_round(self, request: EngineRound) -> None:
        """Run one round of an answer with tools as a window job and wait for it (from a thread that is not the
        GUI's: the answer's tool loop). ``cancel`` (or ``request.cancel``) ends it within a token.

        Raises:
            HearthError: the round failed (the engine crashed, the prompt did not fit...), or Hearth is closing.
        """

        def work(client: EngineApi, ticket: Ticket) -> None:
            try:
                if request.cancel.is_set() or ticket.cancel_requested:
                    request.sink(Finished(0, cancelled_stats()))
                    return
                chat = ChatRequest(request.messages, request.params, tools=request.tools, tool_choice=request.choice)
                run_chat(client, ticket, chat, on_item)
            except Exception as exc:
                request.error = as_hearth_error(exc)
            finally:
                request.done.set()

        def on_item(item: EngineEvent | HearthError) -> None:
            if isinstance(item, HearthError):
                request.error = item
            else:
                request.sink(item)

        def dropped(error: HearthError | None) -> None:
            if error is None:
                request.sink(Finished(0, cancelled_stats()))
            else:
                request.error = error
            request.done.set()

        try:
            ticket = self.service.submit(WINDOW, work, kind=JobKind.CHAT, bounded=False, on_dropped=dropped)
        except HearthError as exc:
            raise EngineNotReadyError("Hearth is closing.") from exc
        self._answer = ticket
        while not request.done.wait(0.1):
            if request.cancel.is_set():
                ticket.cancel()
            if self._stopped.is_set():
                raise EngineNotReadyError("Hearth is closing.")
        if request.error is not None:
            raise request.error

    def _dropped(self, rid: int, error: HearthError | None) -> None:
        if error is None:
            self.worker.answer_finished.emit(rid, cancelled_stats())
        else:
            self.worker.answer_failed.emit(rid, error)

    def unload(self) -> None:
        self._submit(self.worker.unload, JobKind.UNLOAD)

    def cancel(self) -> None:
        """Stop the window's answer now, waiting or running (thread-safe; never touches an API client's answer)."""
        self.worker.cancel_requested.set()
        ticket = self._answer
        if ticket is not None:
            ticket.cancel()

    def cancel_load(self) -> None:
        self.client.cancel_load()

    def stop(self) -> None:
        """End the engine and the service's thread (at application exit)."""
        self._stopped.set()
        self.cancel()
        self.client.cancel_load()
        self.service.close()
