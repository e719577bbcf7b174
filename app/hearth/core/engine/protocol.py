"""The wire between the app and its engine host: typed commands and events, one JSON object per line.

Every message is a frozen dataclass here, named by one ``Kind``; on the wire it is a JSON object whose ``"type"`` is
that kind's value, followed by its fields (``request_id`` is ``"id"``; each class's ``to_wire`` shows its object).
``encode`` turns a message into one line of bytes; ``decode_command`` and ``decode_event`` turn a line back into a
message and raise ``ProtocolError`` (never anything else) for a line that is not one: bad JSON, an unknown kind, a
missing or mistyped field, or an event where a command was expected.

Commands, app → host (``EngineClient`` sends, ``host.main`` executes):

- ``load`` ``LoadCommand(plan)``: load a model (replacing the loaded one); answered by ``load_progress`` events,
  then ``loaded`` or ``load_failed``.
- ``chat`` ``ChatCommand(request_id, messages, params, continue_last, debug, raw, tools, tool_choice)``: answer a
  conversation (or, ``raw``, complete a plain prompt; ``tools`` offered to the model); answered by
  ``prompt_progress`` and ``token`` events, then ``done`` or ``error``. A message may carry ``images`` (``media``).
- ``cancel`` ``CancelCommand(request_id)``: stop that answer (read at once, even while an answer runs).
- ``cancel_load`` ``CancelLoadCommand()``: stop the running load (it then ends with ``load_failed``).
- ``shutdown`` ``ShutdownCommand()``: free the model and exit. There is no ``unload`` command: the client frees a
  model's memory by ending its host, the one way sure to give every byte back to the system.

Events, host → app:

- ``ready`` ``ReadyEvent(pid)``: the host started and reads commands.
- ``load_progress`` ``LoadProgressEvent(fraction)``, ``loaded`` ``LoadedEvent(info)``,
  ``load_failed`` ``LoadFailedEvent(error)``.
- ``prompt_progress`` ``PromptProgressEvent(request_id, done, total)``, ``token`` ``TokenEvent(request_id, text)``,
  ``done`` ``DoneEvent(request_id, stats)``, ``error`` ``ErrorEvent(request_id, error)``.

Errors travel as ``HearthError.to_wire()`` dictionaries and come back as the same error type. One event is one
``os.write`` (``FdWriter``): a token costs one pipe write. The host writes events on a duplicate of its original
stdout and points fd 1 at stderr, so nothing llama.cpp prints can corrupt the stream.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from hearth.core.engine.events import AnswerStats, ModelInfo
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.errors import HearthError, error_from_wire


class ProtocolError(ValueError):
    """A line that is not a valid message of the engine protocol (a bug, or a foreign writer on the pipe)."""


class Kind(StrEnum):
    """Every kind of message on the wire, commands first."""

    LOAD = "load"
    CHAT = "chat"
    CANCEL = "cancel"
    CANCEL_LOAD = "cancel_load"
    SHUTDOWN = "shutdown"
    READY = "ready"
    LOAD_PROGRESS = "load_progress"
    LOADED = "loaded"
    LOAD_FAILED = "load_failed"
    PROMPT_PROGRESS = "prompt_progress"
    TOKEN = "token"
    DONE = "done"
    ERROR = "error"


# --- commands ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadCommand:
    kind: ClassVar[Kind] = Kind.LOAD
    plan: LoadPlan

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.kind, "plan": self.plan.to_dict()}


@dataclass(frozen=True)
class ChatCommand:
    """Answer ``messages`` (role/content dictionaries, oldest first); ``debug`` logs the built prompt in the host.

    ``raw`` sends the last message's text as the whole prompt (a plain completion, no chat template). ``tools`` (in
    OpenAI's function form) and ``tool_choice`` (``ToolChoice.to_wire``) are checked by the host, which answers a
    bad one with an ``error`` event like any other refused request.
    """

    kind: ClassVar[Kind] = Kind.CHAT
    request_id: int
    messages: list[dict[str, Any]]
    params: SamplingParams = field(default_factory=SamplingParams)
    continue_last: bool = False
    debug: bool = False
    raw: bool = False
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: dict[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"type": self.kind, "id": self.request_id, "messages": self.messages,
                                "params": self.params.to_dict(), "continue_last": self.continue_last,
                                "debug": self.debug}
        if self.raw:
            wire["raw"] = True
        if self.tools:
            wire["tools"] = self.tools
            wire["tool_choice"] = self.tool_choice
        return wire


@dataclass(frozen=True)
class CancelCommand:
    kind: ClassVar[Kind] = Kind.CANCEL
    request_id: int

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.kind, "id": self.request_id}


@dataclass(frozen=True)
class CancelLoadCommand:
    kind: ClassVar[Kind] = Kind.CANCEL_LOAD

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.kind}


@dataclass(frozen=True)
class ShutdownCommand:
    kind: ClassVar[Kind] = Kind.SHUTDOWN

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.kind}


Command = LoadCommand | ChatCommand | CancelCommand | CancelLoadCommand | ShutdownCommand


# --- events --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadyEvent:
    kind: ClassVar[Kind] = Kind.READY
    pid: int

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.kind, "pid": self.pid}


@dataclass(frozen=True)
class LoadProgressEvent:
    kind: ClassVar[Kind] = Kind.LOAD_PROGRESS
    fraction: float

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.kind, "fraction": self.fraction}


@dataclass(frozen=True)
class LoadedEvent:
    kind: ClassVar[Kind] = Kind.LOADED
    info: ModelInfo

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.kind, "info": self.info.to_wire()}


@dataclass(frozen=True)
class LoadFailedEvent:
    kind: ClassVar[Kind] = Kind.LOAD_FAILED
    error: HearthError

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.kind, "error": self.error.to_wire()}


@dataclass(frozen=True)
class PromptProgressEvent:
    """``done`` of ``total`` new prompt tokens read (cached ones are not counted)."""

    kind: ClassVar[Kind] = Kind.PROMPT_PROGRESS
    request_id: int
    done: int
    total: int

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.kind, "id": self.request_id, "done": self.done, "total": self.total}


@dataclass(frozen=True)
class TokenEvent:
    kind: ClassVar[Kind] = Kind.TOKEN
    request_id: int
    text: str

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.kind, "id": self.request_id, "text": self.text}


@dataclass(frozen=True)
class DoneEvent:
    """The answer ended; ``stats`` are the host's (its ``ttft_s``/``tokens_per_s`` are None: the client measures)."""

    kind: ClassVar[Kind] = Kind.DONE
    request_id: int
    stats: AnswerStats

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.kind, "id": self.request_id, "stats": self.stats.to_wire()}


@dataclass(frozen=True)
class ErrorEvent:
    kind: ClassVar[Kind] = Kind.ERROR
    request_id: int
    error: HearthError

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.kind, "id": self.request_id, "error": self.error.to_wire()}


Event = (ReadyEvent | LoadProgressEvent | LoadedEvent | LoadFailedEvent | PromptProgressEvent | TokenEvent
         | DoneEvent | ErrorEvent)
Message = Command | Event


# --- encoding ------------------------------------------------------------------------------------------------------


def encode(message: Message) -> bytes:
    """One line of JSON (UTF-8, newline-terminated) for ``message``."""
    # to_wire() starts with {"type": kind}: a Kind is a str, which JSON writes as its value.
    return json.dumps(message.to_wire(), ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def decode_command(line: bytes) -> Command:
    """The command on ``line``.

    Raises:
        ProtocolError: not JSON, not an object, an unknown kind, an event, or a missing or mistyped field.
    """
    kind, data = _parse(line)
    decoder = _COMMANDS.get(kind)
    if decoder is None:
        raise ProtocolError(f"not a command: {kind.value!r}")
    return _build(decoder, kind, data)


def decode_event(line: bytes) -> Event:
    """The event on ``line``.

    Raises:
        ProtocolError: not JSON, not an object, an unknown kind, a command, or a missing or mistyped field.
    """
    kind, data = _parse(line)
    if kind is Kind.TOKEN:  # the one event per token: checked in line, without the table's indirection
        rid, text = data.get("id"), data.get("text")
        if type(rid) is int and type(text) is str:
            return TokenEvent(rid, text)
    decoder = _EVENTS.get(kind)
    if decoder is None:
        raise ProtocolError(f"not an event: {kind.value!r}")
    return _build(decoder, kind, data)


def _parse(line: bytes) -> tuple[Kind, dict[str, Any]]:
    try:
        value = json.loads(line)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"not JSON ({exc}): {line[:200]!r}") from None
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise ProtocolError(f"not a protocol message (an object with a \"type\"): {line[:200]!r}")
    kind = _KINDS.get(value["type"])  # a dictionary, not Kind(...): this runs once per token
    if kind is None:
        raise ProtocolError(f"unknown message kind {value['type']!r}")
    return kind, value


_KINDS = {kind.value: kind for kind in Kind}


def _build(decoder: Callable[[dict[str, Any]], Any], kind: Kind, data: dict[str, Any]) -> Any:
    try:
        return decoder(data)
    except ProtocolError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"malformed {kind.value!r} message: {type(exc).__name__}: {exc}") from None


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"{key!r} must be an integer, not {value!r}")
    return value


def _float(data: Mapping[str, Any], key: str) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(f"{key!r} must be a number, not {value!r}")
    return float(value)


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise ProtocolError(f"{key!r} must be a string, not {value!r}")
    return value


def _object(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data[key]
    if not isinstance(value, dict):
        raise ProtocolError(f"{key!r} must be an object, not {type(value).__name__}")
    return value


def _optional_object(data: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    return None if data.get(key) is None else _object(data, key)


def _tools(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    value = data.get("tools") or []
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ProtocolError("'tools' must be a list of objects")
    return value


def _messages(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    value = data["messages"]
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        raise ProtocolError("'messages' must be a list of objects")
    return value


_COMMANDS: dict[Kind, Callable[[dict[str, Any]], Command]] = {
    Kind.LOAD: lambda d: LoadCommand(LoadPlan.from_dict(_object(d, "plan"))),
    Kind.CHAT: lambda d: ChatCommand(
        _int(d, "id"), _messages(d), SamplingParams.from_dict(_object(d, "params")),
        bool(d.get("continue_last", False)), bool(d.get("debug", False)), bool(d.get("raw", False)),
        _tools(d), _optional_object(d, "tool_choice")),
    Kind.CANCEL: lambda d: CancelCommand(_int(d, "id")),
    Kind.CANCEL_LOAD: lambda d: CancelLoadCommand(),
    Kind.SHUTDOWN: lambda d: ShutdownCommand(),
}

_EVENTS: dict[Kind, Callable[[dict[str, Any]], Event]] = {
    Kind.READY: lambda d: ReadyEvent(_int(d, "pid")),
    Kind.LOAD_PROGRESS: lambda d: LoadProgressEvent(_float(d, "fraction")),
    Kind.LOADED: lambda d: LoadedEvent(ModelInfo.from_wire(_object(d, "info"))),
    Kind.LOAD_FAILED: lambda d: LoadFailedEvent(error_from_wire(_object(d, "error"))),
    Kind.PROMPT_PROGRESS: lambda d: PromptProgressEvent(_int(d, "id"), _int(d, "done"), _int(d, "total")),
    Kind.TOKEN: lambda d: TokenEvent(_int(d, "id"), _str(d, "text")),
    Kind.DONE: lambda d: DoneEvent(_int(d, "id"), AnswerStats.from_host(_object(d, "stats"))),
    Kind.ERROR: lambda d: ErrorEvent(_int(d, "id"), error_from_wire(_object(d, "error"))),
}


class FdWriter:
    """Writes whole messages to a file descriptor from any thread (one ``os.write`` per message when it fits)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        data = memoryview(encode(message))
        with self._lock:
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
