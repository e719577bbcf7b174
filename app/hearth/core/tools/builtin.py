"""Hearth's own tools, off until the user switches them on: a calculator, the date and time, and reading a file the
user picked.

They run in Hearth's process, read nothing the user did not choose, change nothing, and go through the same
approval as a server's read-only tools.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hearth.core.documents.extract import ExtractOptions, extract_document
from hearth.core.errors import DocumentError
from hearth.core.tools.calculator import CalculationError, calculate, format_number
from hearth.core.tools.catalog import BUILTIN_SERVER, ToolEntry
from hearth.core.tools.results import MAX_RESULT_CHARS, ToolOutput, untrusted
from hearth.core.units import format_size

CALCULATOR = "calculator"
DATETIME = "current_datetime"
READ_FILE = "read_file"
READ_FILE_MAX_BYTES = 20 * 1024 * 1024
_FOLDER_LISTING = 50

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class BuiltinInfo:
    """What the settings show of one built-in tool."""

    name: str
    title: str
    what: str


BUILTINS: tuple[BuiltinInfo, ...] = (
    BuiltinInfo(CALCULATOR, "Calculator", "Works out arithmetic exactly (+ − × ÷, powers, roots, logarithms...)."),
    BuiltinInfo(DATETIME, "Date and time", "Tells the model today's date and the time, here or in another time zone."),
    BuiltinInfo(READ_FILE, "Read a file you picked",
                "Lets the model read the files and folders you pick below, and nothing else."),
)


def _picked(files: Sequence[str]) -> list[Path]:
    return [Path(os.path.realpath(Path(f).expanduser())) for f in files]


def _read_file_description(files: Sequence[str]) -> tuple[str, dict[str, Any]]:
    picked = _picked(files)
    shown: list[str] = []
    for path in picked:
        if path.is_dir():
            shown.append(f"{path}{os.sep} (a folder; files in it)")
        else:
            shown.append(str(path))
    description = ("Read the text of a file the user chose (text, Markdown, PDF, Word, CSV, JSON, code). "
                   "Files that may be read: " + ("; ".join(shown) if shown else "none yet") + ". "
                   "Long files come in parts: call again with 'start' to read on.")
    path_schema: dict[str, Any] = {"type": "string", "description": "the file's full path"}
    if picked and all(p.is_file() for p in picked) and len(picked) <= _FOLDER_LISTING:
        path_schema["enum"] = [str(p) for p in picked]
    return description, {
        "type": "object",
        "properties": {"path": path_schema,
                       "start": {"type": "integer", "minimum": 0, "description": "character to start at (0)"}},
        "required": ["path"],
    }


def builtin_entries(enabled: frozenset[str], files: Sequence[str]) -> list[ToolEntry]:
    """The built-in tools the user switched on, as offered to the model."""
    entries = []
    if CALCULATOR in enabled:
        entries.append(ToolEntry(
            CALCULATOR, BUILTIN_SERVER, CALCULATOR,
            "Evaluate an arithmetic expression exactly. Supports + - * / // % ** (or ^), brackets, pi, e, and "
            "sqrt, cbrt, exp, log (natural), log10, log2, sin, cos, tan (radians), asin, acos, atan, degrees, "
            "radians, abs, round, floor, ceil, factorial, gcd, lcm, min, max, hypot.",
            {"type": "object", "properties": {"expression": {"type": "string",
                                                             "description": "e.g. (3 + 4.5) * sqrt(2) / 7"}},
             "required": ["expression"]},
            read_only=True, title="Calculator", builtin=True))
    if DATETIME in enabled:
        entries.append(ToolEntry(
            DATETIME, BUILTIN_SERVER, DATETIME,
            "The current date, weekday and time on the user's computer, or in a given IANA time zone.",
            {"type": "object", "properties": {"timezone": {
                "type": "string", "description": "IANA zone such as Europe/Paris; leave out for the user's own"}}},
            read_only=True, title="Date and time", builtin=True))
    if READ_FILE in enabled:
        description, schema = _read_file_description(files)
        entries.append(ToolEntry(READ_FILE, BUILTIN_SERVER, READ_FILE, description, schema, read_only=True,
                                 title="Read a file you picked", builtin=True))
    return entries


def run_calculator(arguments: Mapping[str, Any]) -> ToolOutput:
    expression = arguments.get("expression")
    if not isinstance(expression, str):
        return ToolOutput("Error: give the expression as text in 'expression'.", ok=False)
    try:
        return ToolOutput(f"{expression.strip()} = {format_number(calculate(expression))}")
    except CalculationError as exc:
        return ToolOutput(f"Error: {exc}", ok=False)


def run_datetime(arguments: Mapping[str, Any], clock: Clock | None = None) -> ToolOutput:
    now = clock() if clock is not None else dt.datetime.now().astimezone()
    zone = arguments.get("timezone")
    label = now.tzname() or "local time"
    if isinstance(zone, str) and zone.strip():
        try:
            now = now.astimezone(ZoneInfo(zone.strip()))
        except (ZoneInfoNotFoundError, ValueError):
            return ToolOutput(f"Error: unknown time zone {zone.strip()!r}; use an IANA name such as "
                              "Europe/Paris or America/New_York.", ok=False)
        label = zone.strip()
    offset = now.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    return ToolOutput(f"{now.strftime('%A')} {now.day} {now.strftime('%B %Y')}, {now.strftime('%H:%M:%S')} "
                      f"({label}, {offset}). ISO 8601: {now.isoformat(timespec='seconds')}")


def allowed_path(requested: str, files: Sequence[str]) -> Path | None:
    """The file ``requested`` names if the user picked it or a folder holding it (links followed first), else None.

    A bare file name matches a picked file of that name.
    """
    picked = _picked(files)
    candidate = Path(requested).expanduser()
    if not candidate.is_absolute():
        by_name = [p for p in picked if p.is_file() and p.name == requested]
        if len(by_name) == 1:
            return by_name[0]
        return None
    real = Path(os.path.realpath(candidate))
    for path in picked:
        if real == path or (path.is_dir() and real.is_relative_to(path)):
            return real
    return None


def run_read_file(arguments: Mapping[str, Any], files: Sequence[str], limit: int = MAX_RESULT_CHARS) -> ToolOutput:
    requested = arguments.get("path")
    if not isinstance(requested, str) or not requested.strip():
        return ToolOutput("Error: give the file's path in 'path'.", ok=False)
    path = allowed_path(requested.strip(), files)
    if path is None:
        return ToolOutput(f"Error: {requested!r} is not a file the user allowed. Only these may be read: "
                          + ("; ".join(str(p) for p in _picked(files)) or "none"), ok=False)
    if not path.is_file():
        return ToolOutput(f"Error: {path} is not a file (or no longer exists).", ok=False)
    start = arguments.get("start", 0)
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        start = 0
    try:
        document = extract_document(path, options=ExtractOptions(max_bytes=READ_FILE_MAX_BYTES))
    except DocumentError as exc:
        return ToolOutput(f"Error: {exc}", ok=False)
    text = document.text
    part = text[start:start + limit]
    end = start + len(part)
    header = f"{path.name} ({document.kind.value}, {format_size(document.size_bytes)}, {len(text):,} characters)"
    if start or end < len(text):
        header += f", characters {start:,} to {end:,}"
    more = f"\n[… {len(text) - end:,} more characters: call again with start={end}]" if end < len(text) else ""
    return ToolOutput(header + ":\n" + untrusted(part, limit) + more)


def run_builtin(name: str, arguments: Mapping[str, Any], files: Sequence[str], limit: int = MAX_RESULT_CHARS,
                clock: Clock | None = None) -> ToolOutput:
    """Run one built-in tool (its errors come back as a result the model reads)."""
    if name == CALCULATOR:
        return run_calculator(arguments)
    if name == DATETIME:
        return run_datetime(arguments, clock)
    if name == READ_FILE:
        return run_read_file(arguments, files, limit)
    return ToolOutput(f"Error: there is no built-in tool {name!r}.", ok=False)
