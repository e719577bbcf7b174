"""The window's answers with tools: the tool loop on a thread of its own, reporting to the chat controller.

The loop (``hearth.core.tools.loop``) blocks: it waits for the model's rounds, for the user's decisions and for the
tools. It runs here on its own thread, never the GUI's: each round goes to the engine's thread through the bridge
(``EngineBridge.run_round``), each question to the GUI thread through the ``ApprovalBroker``, each call to the MCP
thread through the toolbox. The runner's signals carry the same news as the engine worker's (so the controller's
slots serve both) and the calls as they start and end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from hearth.core.engine import (
    AnswerStats,
    EngineEvent,
    EngineNotice,
    Finished,
    PromptProgress,
    StopReason,
    TokenDelta,
)
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tools import ToolChoice, ToolFormat, ToolSpec
from hearth.core.errors import HearthError
from hearth.core.store.tool_calls import ToolCallRecord
from hearth.core.tools.approval import ApprovalPolicy, ApprovalRequest, Decision
from hearth.core.tools.loop import LoopEvents, ToolLoop
from hearth.core.tools.toolbox import Toolbox
from hearth.ui.chat.tool_approval import ApprovalBroker
from hearth.ui.engine_bridge import EngineBridge, EngineRound
from hearth.ui.tasks import as_hearth_error

log = logging.getLogger(__name__)

Prepare = Callable[[], tuple[list[dict[str, Any]], object]]


@dataclass
class ChatTools:
    """What the chat controller needs for tools: the toolbox, how to ask the user, and each conversation's rules.

    Attributes:
        toolbox: the tools as set up in Settings → Tools.
        broker: asks the user on the GUI thread (None: built by the controller with its view as the parent).
        choice: the tool choice of every answer in the window (auto).
        policies: each conversation's approval rules ("Allow for this chat" lasts until Hearth quits).
    """

    toolbox: Toolbox
    broker: ApprovalBroker | None = None
    choice: ToolChoice = field(default_factory=ToolChoice)
    policies: dict[int, ApprovalPolicy] = field(default_factory=dict)

    def policy(self, conversation_id: int) -> ApprovalPolicy:
        """The conversation's rules, following the "run read-only tools without asking" setting as it is now."""
        policy = self.policies.setdefault(conversation_id, ApprovalPolicy())
        policy.auto_read_only = self.toolbox.config.auto_read_only
        return policy


class ToolAnswerRunner(QObject):
    """Runs answers with tools, one at a time, each on its own thread.

    Signals (emitted from the answer's thread; they reach the GUI thread queued):
        answer_prepared(int, object): request id, what ``prepare`` returned besides the messages.
        token(int, str): request id, text to show.
        prompt_progress(int, int, int): request id, tokens read, tokens to read.
        call_changed(int, ToolCallRecord): request id, a call that started or ended.
        tool_failed(HearthError): a tool's server failed (the answer goes on).
        limit_reached(str): the round limit stopped the model (in words).
        answer_finished(int, AnswerStats): request id, the answer's statistics.
        answer_failed(int, HearthError): request id, why the answer failed.
    """

    answer_prepared = Signal(int, object)
    token = Signal(int, str)
    prompt_progress = Signal(int, int, int)
    call_changed = Signal(int, ToolCallRecord)
    tool_failed = Signal(HearthError)
    limit_reached = Signal(str)
    answer_finished = Signal(int, AnswerStats)
    answer_failed = Signal(int, HearthError)

    def __init__(self, bridge: EngineBridge, tools: ChatTools) -> None:
        super().__init__()
        self._bridge = bridge
        self.tools = tools
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, request_id: int, conversation_id: int, prepare: Prepare, params: SamplingParams,
              fmt: ToolFormat, n_ctx: int, on_token: Callable[[str], object] | None = None) -> None:
        """Answer on a new thread; the outcome arrives as ``answer_finished`` or ``answer_failed``. ``on_token`` gets
        each piece of text on the answer's thread before ``token`` is emitted (the streaming saver: the GUI thread
        does no store work while an answer streams)."""
        self._cancel = threading.Event()
        policy = self.tools.policy(conversation_id)
        cancel = self._cancel
        self._thread = threading.Thread(
            target=self._run, args=(request_id, prepare, params, fmt, n_ctx, policy, cancel, on_token),
            name="answer with tools", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Stop: no more rounds, questions or calls; the round running ends within a token."""
        self._cancel.set()
        self._bridge.cancel()

    def wait(self, timeout: float = 15.0) -> None:
        """Wait for the answer's thread to end (at exit, after ``cancel``)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _ask(self, cancel: threading.Event) -> Callable[[ApprovalRequest], Decision]:
        broker = self.tools.broker

        def ask(request: ApprovalRequest) -> Decision:
            if broker is None:
                return Decision.DENY
            return broker.ask(request, cancel)

        return ask

    def _run(self, rid: int, prepare: Prepare, params: SamplingParams, fmt: ToolFormat, n_ctx: int,
             policy: ApprovalPolicy, cancel: threading.Event, on_token: Callable[[str], object] | None) -> None:
        def text(piece: str) -> None:
            if on_token is not None:
                on_token(piece)
            self.token.emit(rid, piece)

        try:
            messages, extra = prepare()
            self.answer_prepared.emit(rid, extra)
            tool_set = self.tools.toolbox.tool_set()
            for failure in tool_set.failures:
                self.tool_failed.emit(failure)
            loop = ToolLoop(self.tools.toolbox, tool_set, policy, self._ask(cancel), fmt=fmt,
                            choice=self.tools.choice, n_ctx=n_ctx, cancel=cancel)
            events = LoopEvents(
                text=text,
                call_started=lambda record: self.call_changed.emit(rid, record),
                call_finished=lambda record: self.call_changed.emit(rid, record),
                notice=self.limit_reached.emit,
                error=self.tool_failed.emit,
            )
            result = loop.run(messages, self._generate(rid, params, cancel), events)
        except Exception as exc:  # every failure reaches the user as words; the thread must not die silently
            self.answer_failed.emit(rid, as_hearth_error(exc))
            return
        stats = result.stats or AnswerStats(0, None, None, 0, StopReason.CANCELLED)
        if cancel.is_set() and stats.stop_reason is not StopReason.CANCELLED:
            stats = replace(stats, stop_reason=StopReason.CANCELLED)
        self.answer_finished.emit(rid, stats)

    def _generate(self, rid: int, params: SamplingParams, cancel: threading.Event) -> Callable[..., AnswerStats]:
        def generate(messages: list[dict[str, Any]], tools: Sequence[ToolSpec], choice: ToolChoice,
                     on_text: Callable[[str], None]) -> AnswerStats:
            if cancel.is_set():
                return AnswerStats(0, None, None, 0, StopReason.CANCELLED)
            finished: list[AnswerStats] = []

            def sink(event: EngineEvent) -> None:
                if isinstance(event, TokenDelta):
                    on_text(event.text)
                elif isinstance(event, PromptProgress):
                    self.prompt_progress.emit(rid, event.done, event.total)
                elif isinstance(event, Finished):
                    finished.append(event.stats)
                elif isinstance(event, EngineNotice):
                    log.info("engine notice during an answer with tools")

            self._bridge.run_round(EngineRound(messages, params, tools, choice, sink, cancel))
            if not finished:
                raise HearthError("The answer ended without its statistics.")
            return finished[0]

        return generate
