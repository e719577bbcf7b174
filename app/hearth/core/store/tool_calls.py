"""The tool calls an answer made: what one call was (``ToolCallRecord``), and their table (``ToolCalls``).

Each answer's calls are kept in order with the answer's message and deleted with it: the tool, its server, the
arguments in full, the result as the model read it (already size-limited), how it ended and how long it took.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from hearth.core.store.db import Database


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
                   round=int(_number(data.get("round"), 1)), started=_number(data.get("started"), 0.0),
                   duration_s=_number(data.get("duration_s"), 0.0))


def _number(value: Any, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return float(value)


_COLUMNS = "call_id, name, server, tool, arguments, result, status, round, started, duration_s"


def _from_row(row: sqlite3.Row | tuple[Any, ...]) -> ToolCallRecord:
    call_id, name, server, tool, arguments, result, status, round_number, started, duration = row
    try:
        ended = CallStatus(status)
    except ValueError:
        ended = CallStatus.ERROR
    return ToolCallRecord(str(call_id), str(name), str(server), str(tool), str(arguments), str(result), ended,
                          int(round_number), float(started), float(duration))


def insert_tool_calls(conn: sqlite3.Connection, message_id: int, records: Sequence[ToolCallRecord]) -> None:
    """Add ``records`` to ``message_id`` within the caller's transaction."""
    conn.executemany(
        f"INSERT INTO tool_calls (message_id, position, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(message_id, position, r.call_id, r.name, r.server, r.tool, r.arguments, r.result, r.status.value,
          r.round, r.started, r.duration_s) for position, r in enumerate(records)],
    )


class ToolCalls:
    """The ``tool_calls`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def set_for_message(self, message_id: int, records: Sequence[ToolCallRecord]) -> None:
        """Keep ``records`` as the calls of ``message_id``, in order (replacing any it had)."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM tool_calls WHERE message_id = ?", (message_id,))
            insert_tool_calls(conn, message_id, records)

    def for_message(self, message_id: int) -> list[ToolCallRecord]:
        return self.for_messages([message_id]).get(message_id, [])

    def for_messages(self, message_ids: Iterable[int]) -> dict[int, list[ToolCallRecord]]:
        """The calls of each message that made any, in order."""
        ids = list(message_ids)
        found: dict[int, list[ToolCallRecord]] = {}
        if not ids:
            return found
        with self._db.read() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                rows = conn.execute(
                    f"SELECT message_id, {_COLUMNS} FROM tool_calls WHERE message_id IN "
                    f"({', '.join('?' * len(chunk))}) ORDER BY message_id, position", chunk).fetchall()
                for row in rows:
                    found.setdefault(int(row[0]), []).append(_from_row(tuple(row)[1:]))
        return found


def duration_words(seconds: float) -> str:
    """"0.4 s", "12 s", "2 min 5 s"."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"
