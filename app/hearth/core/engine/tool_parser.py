"""Reading tool calls out of a model's answer.

Models write calls as text in one of a few shapes (``ToolFormat``)::

    <tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>      Hermes, Qwen
    <|python_start|>{"name": "get_weather", "parameters": {"city": "Paris"}}<|python_end|>  Llama 4 (JSON)
    {"name": "get_weather", "parameters": {"city": "Paris"}}                            Llama 3.1+/4 (JSON)
    [get_weather(city="Paris"), get_time(zone="CET")]                                   Llama 3.2/4 (pythonic)
    [TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}]               Mistral

``parse_tool_calls`` tries the model's own format first and then the others (small models drift), and accepts only
calls of the tools offered, so an answer that merely contains JSON stays an answer. Arguments come back as JSON text.
``ToolCallStream`` does the same while an answer streams: it passes text through at once and holds back only what
may be the start of a call, so a streamed answer without calls is not delayed.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from hearth.core.engine.tools import ToolCall, ToolFormat

_HERMES = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_PYTHON_TAGS = ("<|python_start|>", "<|python_end|>", "<|python_tag|>", "<|eom|>")
_MISTRAL = "[TOOL_CALLS]"
# Text that starts a call in the middle of an answer (JSON and pythonic calls are only recognised at the start).
MARKERS = ("<tool_call>", "<|python_start|>", "<|python_tag|>", _MISTRAL)


@dataclass(frozen=True)
class ParsedAnswer:
    """An answer split into its text and its tool calls."""

    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)


def parse_tool_calls(text: str, fmt: ToolFormat, names: Collection[str]) -> ParsedAnswer:
    """Split ``text`` into content and calls of the tools named in ``names``.

    Args:
        text: the whole answer.
        fmt: the format the model's template uses (tried first).
        names: the tools offered; a "call" of anything else is left in the content.
    """
    order = [fmt, *(f for f in ToolFormat if f is not fmt)]
    for each in order:
        parsed = _PARSERS[each](text, names)
        if parsed is not None and parsed.tool_calls:
            return parsed
    return ParsedAnswer(text)


def _call_from_object(value: Any, names: Collection[str]) -> ToolCall | None:
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("function"), dict) and "name" not in value:
        value = value["function"]
    name = value.get("name")
    if not isinstance(name, str) or name not in names:
        return None
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    if not isinstance(arguments, dict):
        return None
    return ToolCall(name, json.dumps(arguments, ensure_ascii=False))


def _json_values(text: str) -> tuple[list[Any], str] | None:
    """JSON values at the start of ``text`` (separated by whitespace, ``;`` or ``,``) and the text after them."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n;,":
            pos += 1
        if pos >= len(text) or text[pos] not in "{[":
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except ValueError:
            break
        values.append(value)
    if not values:
        return None
    return values, text[pos:]


def _hermes(text: str, names: Collection[str]) -> ParsedAnswer | None:
    calls: list[ToolCall] = []
    for match in _HERMES.finditer(text):
        found = _json_values(match.group(1))
        if found is None:
            return None
        for value in found[0]:
            for item in value if isinstance(value, list) else [value]:
                call = _call_from_object(item, names)
                if call is None:
                    return None
                calls.append(call)
    if not calls:
        return None
    return ParsedAnswer(_HERMES.sub("", text).strip(), calls)


def _strip_python_tags(text: str) -> tuple[str, str]:
    """(text before the first python tag, the rest without tags)."""
    starts = [text.find(tag) for tag in _PYTHON_TAGS if tag in text]
    if not starts:
        return "", text
    first = min(starts)
    rest = text[first:]
    for tag in _PYTHON_TAGS:
        rest = rest.replace(tag, "")
    return text[:first], rest


def _llama_json(text: str, names: Collection[str]) -> ParsedAnswer | None:
    before, rest = _strip_python_tags(text)
    found = _json_values(rest.lstrip())
    if found is None:
        return None
    values, after = found
    calls: list[ToolCall] = []
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            call = _call_from_object(item, names)
            if call is None:
                return None
            calls.append(call)
    return ParsedAnswer((before + after).strip(), calls)


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Name) and node.id in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[node.id]
    return ast.literal_eval(node)


def _pythonic(text: str, names: Collection[str]) -> ParsedAnswer | None:
    before, rest = _strip_python_tags(text)
    source = rest.strip()
    if not (source.startswith("[") and source.endswith("]")):
        return None
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError):
        return None
    if not isinstance(tree.body, ast.List):
        return None
    calls: list[ToolCall] = []
    for element in tree.body.elts:
        if not isinstance(element, ast.Call) or element.args:
            return None
        func = element.func
        name = func.id if isinstance(func, ast.Name) else ast.unparse(func) if isinstance(func, ast.Attribute) else ""
        if name not in names:
            return None
        arguments: dict[str, Any] = {}
        for keyword in element.keywords:
            if keyword.arg is None:
                return None
            try:
                arguments[keyword.arg] = _literal(keyword.value)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                return None
        calls.append(ToolCall(name, json.dumps(arguments, ensure_ascii=False)))
    return ParsedAnswer(before.strip(), calls) if calls else None


def _mistral(text: str, names: Collection[str]) -> ParsedAnswer | None:
    at = text.find(_MISTRAL)
    if at < 0:
        return None
    found = _json_values(text[at + len(_MISTRAL):].lstrip())
    if found is None:
        return None
    values, after = found
    calls: list[ToolCall] = []
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            call = _call_from_object(item, names)
            if call is None:
                return None
            calls.append(call)
    return ParsedAnswer((text[:at] + after).strip(), calls)


_PARSERS = {
    ToolFormat.HERMES: _hermes,
    ToolFormat.LLAMA_JSON: _llama_json,
    ToolFormat.PYTHONIC: _pythonic,
    ToolFormat.MISTRAL: _mistral,
}


class ToolCallStream:
    """Separates streamed text from tool calls as an answer arrives.

    ``feed`` returns the text that can be shown now; ``finish`` returns what was held back (when it was not a call
    after all) and the calls. Text is held from a call marker on (``<tool_call>``...), and the whole answer is held
    when it begins like a JSON or pythonic call (``{`` or ``[``), since those can only be told apart at the end.
    """

    def __init__(self, fmt: ToolFormat, names: Collection[str]) -> None:
        self._fmt = fmt
        self._names = names
        self._shown: list[str] = []
        self._held = ""
        self._holding_all = False
        self._started = False

    def feed(self, text: str) -> str:
        if self._holding_all:
            self._held += text
            return ""
        pending = self._held + text
        if not self._started:
            stripped = pending.lstrip()
            if not stripped:
                self._held = pending
                return ""
            self._started = True
            if stripped[0] in "{[":
                self._holding_all = True
                self._held = pending
                return ""
        at = _first_marker(pending)
        if at is not None:
            self._holding_all = True
            self._held = pending[at:]
            return self._show(pending[:at])
        keep = _partial_marker_tail(pending)
        self._held = pending[len(pending) - keep:] if keep else ""
        return self._show(pending[:len(pending) - keep])

    def _show(self, text: str) -> str:
        if text:
            self._shown.append(text)
        return text

    def finish(self) -> ParsedAnswer:
        """What is left to show, and the calls found in the held text."""
        held, self._held = self._held, ""
        if not held:
            return ParsedAnswer("")
        parsed = parse_tool_calls(held, self._fmt, self._names)
        if parsed.tool_calls:
            return parsed
        return ParsedAnswer(held)


def _first_marker(text: str) -> int | None:
    found = [at for at in (text.find(marker) for marker in MARKERS) if at >= 0]
    return min(found) if found else None


def _partial_marker_tail(text: str) -> int:
    """How many characters at the end of ``text`` could be the beginning of a marker."""
    best = 0
    for marker in MARKERS:
        for size in range(min(len(marker) - 1, len(text)), 0, -1):
            if text.endswith(marker[:size]):
                best = max(best, size)
                break
    return best
