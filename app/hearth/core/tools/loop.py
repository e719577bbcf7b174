"""One answer with tools: the model writes, calls tools, reads their results, and writes on.

Each round the model is offered the tools (through its chat template, or Hearth's fallback description for templates
without tools: see ``hearth.core.engine.tools``). ``ToolCallStream`` passes the text it writes on as it comes and
holds back what may be a call; at the end of the round ``parse_tool_calls`` reads the calls. Each call is decided
(``ApprovalPolicy``), run (``Toolbox``) and recorded (``ToolCallRecord``); its result goes back to the model as a
``tool`` message, and the next round begins. A ``tool_choice`` of REQUIRED or a NAMED tool forces a call in the
first round by grammar (so even a small model writes a valid one); later rounds are AUTO, so the model can answer.

At most ``max_rounds`` rounds: if the model still calls tools in the last one, those calls are not run and a notice
says so. A tool that fails (its server crashed or hung) becomes an error result the model reads, and a notice for
the user; the answer goes on. Stop (``cancel``) ends the loop before the next call or round.

Plain Python, blocking: it runs off the GUI thread (the window) or in the terminal (``hearth chat``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hearth.core.engine.events import AnswerStats, StopReason
from hearth.core.engine.tool_parser import ToolCallStream
from hearth.core.engine.tools import ToolCall, ToolChoice, ToolChoiceMode, ToolFormat, ToolSpec
from hearth.core.errors import HearthError, ToolError
from hearth.core.store.tool_calls import CallStatus, ToolCallRecord
from hearth.core.tools.approval import ApprovalPolicy, Approver, Decision, refusal_text
from hearth.core.tools.catalog import ToolEntry
from hearth.core.tools.config import ServerConfig
from hearth.core.tools.results import MAX_RESULT_CHARS
from hearth.core.tools.toolbox import Toolbox, ToolSet

MAX_ROUNDS = 8
Message = dict[str, Any]
# generate(messages, tools, choice, on_text) streams one round (on_text gets each piece) and returns its stats.
Generate = Callable[[list[Message], Sequence[ToolSpec], ToolChoice, Callable[[str], None]], AnswerStats]


@dataclass
class LoopEvents:
    """What the loop tells its caller as it goes (each optional; called on the loop's thread).

    Attributes:
        text: a piece of the answer to show.
        call_started: a call is about to run (status RUNNING).
        call_finished: a call ended (any other status).
        notice: something the user should know, in plain words (a server failed, the round limit).
        error: a tool's server failed (for the user's notices, typed).
    """

    text: Callable[[str], None] = lambda _text: None
    call_started: Callable[[ToolCallRecord], None] = lambda _record: None
    call_finished: Callable[[ToolCallRecord], None] = lambda _record: None
    notice: Callable[[str], None] = lambda _text: None
    error: Callable[[HearthError], None] = lambda _error: None


@dataclass
class LoopResult:
    """How the answer ended.

    Attributes:
        text: everything shown, all rounds together.
        stats: the last round's statistics, with the tokens of every round and the first round's ttft.
        records: every call, in order.
        rounds: rounds run.
        limit_reached: the round limit stopped the model while it still wanted tools.
        messages: the conversation with every call and result, ending with the last round's text as the assistant's.
    """

    text: str = ""
    stats: AnswerStats | None = None
    records: list[ToolCallRecord] = field(default_factory=list)
    rounds: int = 0
    limit_reached: bool = False
    messages: list[Message] = field(default_factory=list)


def tool_specs(entries: Sequence[ToolEntry]) -> list[ToolSpec]:
    return [ToolSpec(e.name, e.description, dict(e.parameters)) for e in entries]


def result_limit(n_ctx: int) -> int:
    """The most characters one result may have: a quarter of the context (in tokens, about 3.5 characters each),
    never more than ``MAX_RESULT_CHARS``."""
    return max(1000, min(MAX_RESULT_CHARS, int(n_ctx * 3.5 / 4)))


def limit_words(max_rounds: int) -> str:
    return (f"The model was still asking for tools after {max_rounds} rounds, the most one answer may have, so its "
            "last calls were not run. Ask again to let it carry on.")


class ToolLoop:
    """Runs one answer's rounds.

    Args:
        toolbox: runs the calls.
        tool_set: the tools on offer.
        policy: the conversation's approval rules.
        ask: asks the user about a call (blocking); None where no one can be asked (refused).
        fmt: how this model writes calls (``ModelInfo.tool_format``).
        choice: auto, none, required or a named tool (the first round's; later rounds are auto).
        max_rounds: the most rounds in one answer.
        n_ctx: the model's context, which bounds each result's size.
        cancel: set by Stop.
        servers: servers given for this session only (``hearth chat --mcp``).
    """

    def __init__(self, toolbox: Toolbox, tool_set: ToolSet, policy: ApprovalPolicy, ask: Approver | None, *,
                 fmt: ToolFormat = ToolFormat.HERMES, choice: ToolChoice | None = None, max_rounds: int = MAX_ROUNDS,
                 n_ctx: int = 8192, cancel: threading.Event | None = None,
                 servers: Sequence[ServerConfig] = ()) -> None:
        self.toolbox = toolbox
        self.tool_set = tool_set
        self.policy = policy
        self.ask = ask
        self.fmt = fmt
        self.choice = choice or ToolChoice()
        self.max_rounds = max(1, max_rounds)
        self.limit = result_limit(n_ctx)
        self.cancel = cancel or threading.Event()
        self.servers = servers

    def run(self, messages: Sequence[Message], generate: Generate, events: LoopEvents | None = None) -> LoopResult:
        """Answer ``messages`` (role/content dictionaries, oldest first), calling tools as the model asks.

        Raises:
            HearthError: the engine failed (the text so far is in the events already).
        """
        events = events or LoopEvents()
        result = LoopResult(messages=list(messages))
        offered = [] if self.choice.mode is ToolChoiceMode.NONE else self.tool_set.entries
        specs = tool_specs(offered)
        names = [e.name for e in offered]
        choice = self.choice
        shown: list[str] = []
        tokens = 0
        first_ttft: float | None = None
        for round_number in range(1, self.max_rounds + 1):
            if self.cancel.is_set():
                break
            result.rounds = round_number
            stream = ToolCallStream(self.fmt, names)
            pieces: list[str] = []
            gap = [any(text.strip() for text in shown)]  # a blank line between rounds' texts

            def show(text: str, pieces: list[str] = pieces, gap: list[bool] = gap) -> None:
                if gap[0]:
                    if not text.strip():
                        return
                    text = "\n\n" + text.lstrip()
                    gap[0] = False
                pieces.append(text)
                events.text(text)

            def on_text(text: str, stream: ToolCallStream = stream, show: Callable[[str], None] = show) -> None:
                visible = stream.feed(text)
                if visible:
                    show(visible)

            stats = generate(result.messages, specs, choice, on_text)
            tokens += stats.tokens
            if first_ttft is None:
                first_ttft = stats.ttft_s
            result.stats = replace(stats, tokens=tokens, ttft_s=first_ttft)
            parsed = stream.finish()
            if parsed.content:
                show(parsed.content)
            round_text = "".join(pieces)
            shown.append(round_text)
            calls = parsed.tool_calls if stats.stop_reason is not StopReason.CANCELLED else []
            if not calls:
                break
            if self.cancel.is_set():
                break
            if round_number == self.max_rounds:
                result.limit_reached = True
                for call in calls:
                    record = self._record(call, round_number)
                    record = record.finished("Not run: the answer reached its limit of tool rounds.",
                                             CallStatus.SKIPPED, 0.0)
                    result.records.append(record)
                    events.call_finished(record)
                events.notice(limit_words(self.max_rounds))
                break
            result.messages.append({"role": "assistant", "content": round_text.strip(),
                                    "tool_calls": [call.to_openai() for call in calls]})
            for call in calls:
                record = self._run_call(call, round_number, events)
                result.records.append(record)
                result.messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name,
                                        "content": record.result})
            if choice.mode in (ToolChoiceMode.REQUIRED, ToolChoiceMode.NAMED):
                choice = ToolChoice(ToolChoiceMode.AUTO, parallel=choice.parallel)
        result.text = "".join(shown)
        result.messages.append({"role": "assistant", "content": (shown[-1] if shown else "").strip()})
        return result

    def _record(self, call: ToolCall, round_number: int) -> ToolCallRecord:
        entry = self.tool_set.entry(call.name)
        return ToolCallRecord(call.id, call.name, entry.server if entry else "", entry.tool if entry else call.name,
                              call.arguments, round=round_number, started=time.time())

    def _run_call(self, call: ToolCall, round_number: int, events: LoopEvents) -> ToolCallRecord:
        record = self._record(call, round_number)
        entry = self.tool_set.entry(call.name)
        if entry is None:  # the parser accepts only offered names; kept for safety
            record = record.finished(f"Error: there is no tool called {call.name}.", CallStatus.ERROR, 0.0)
            events.call_finished(record)
            return record
        if self.cancel.is_set():
            record = record.finished("Not run: the answer was stopped.", CallStatus.SKIPPED, 0.0)
            events.call_finished(record)
            return record
        asked = self.policy.needs_asking(entry) and self.ask is not None
        decision = self.policy.decide(entry, call.arguments, self.ask)
        if self.cancel.is_set():
            decision = Decision.DENY
        if not decision.allows:
            status = CallStatus.SKIPPED if self.cancel.is_set() else CallStatus.DENIED
            text = "Not run: the answer was stopped." if self.cancel.is_set() else refusal_text(entry, asked)
            record = record.finished(text, status, 0.0)
            events.call_finished(record)
            return record
        events.call_started(record)
        started = time.monotonic()
        try:
            output = self.toolbox.run(entry, call.arguments, cancel=self.cancel, limit=self.limit,
                                      servers=self.servers)
        except ToolError as exc:
            elapsed = time.monotonic() - started
            if self.cancel.is_set():
                record = record.finished("Not run: the answer was stopped.", CallStatus.SKIPPED, elapsed)
            else:
                events.error(exc)
                record = record.finished(f"Error: {exc}", CallStatus.ERROR, elapsed)
            events.call_finished(record)
            return record
        status = CallStatus.OK if output.ok else CallStatus.ERROR
        record = record.finished(output.text, status, time.monotonic() - started)
        events.call_finished(record)
        return record
