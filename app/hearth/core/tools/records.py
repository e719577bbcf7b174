"""What one tool call was, as it is shown, stored and exported."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any


class CallStatus(Enum):
    """How a call ended.

    RUNNING: under way (shown while it runs; never stored as an end state).
    OK: the tool answered.
    ERROR: the tool reported an error, or its server failed (crashed, hung, answered nonsense).
    DENIED: the user (or the CLI's rules) did not allow it.
    SKIPPED: not run, because the answer stopped (the round limit, Stop).
    """

    RUNNING = "running"
    OK = "ok"
    ERROR = "error"
    DENIED = "denied"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ToolCallRecord:
    """One call of a tool during an answer.

    Attributes:
        call_id: the call's id (as the model's tool messages refer to it).
        name: the name the model called.
        server: the server's name (``Hearth`` for built-in tools).
        tool: the tool's own name on its server.
        arguments: the arguments as JSON text.
        result: what the tool returned (size-limited), or why it did not run.
        status: how it ended.
        round: which round of the answer made the call (1 for the first).
        started: when it started (seconds since the epoch).
        duration_s: how long it took.
    """

    call_id: str
    name: str
    server: str
    tool: str
    arguments: str
    result: str = ""
    status: CallStatus = CallStatus.RUNNING
    round: int = 1
    started: float = 0.0
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is CallStatus.OK

    def finished(self, result: str, status: CallStatus, duration_s: float) -> ToolCallRecord:
        return replace(self, result=result, status=status, duration_s=duration_s)

    def arguments_pretty(self) -> str:
        try:
            return json.dumps(json.loads(self.arguments), indent=2, ensure_ascii=False)
        except ValueError:
            return self.arguments

    def summary(self) -> dict[str, Any]:
        """The CLI's stats line entry: name, arguments (as sent), ok."""
        try:
            arguments: Any = json.loads(self.arguments)
        except ValueError:
            arguments = self.arguments
        return {"name": self.name, "arguments": arguments, "ok": self.ok}

    def to_dict(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "name": self.name, "server": self.server, "tool": self.tool,
                "arguments": self.arguments, "result": self.result, "status": self.status.value,
                "round": self.round, "started": self.started, "duration_s": self.duration_s}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCallRecord:
        try:
            status = CallStatus(str(data.get("status")))
        except ValueError:
            status = CallStatus.ERROR
        return cls(call_id=str(data.get("call_id", "")), name=str(data.get("name", "")),
                   server=str(data.get("server", "")), tool=str(data.get("tool", "")),
                   arguments=str(data.get("arguments", "{}")), result=str(data.get("result", "")), status=status,
                   round=int(data.get("round", 1) or 1), started=float(data.get("started", 0.0) or 0.0),
                   duration_s=float(data.get("duration_s", 0.0) or 0.0))


def duration_words(seconds: float) -> str:
    """"0.4 s", "12 s", "2 min 5 s"."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"
