"""The tools on offer: one ``ToolEntry`` per tool, named so that no two clash, from any source.

A model calls tools by name, and names must be unique in one request: a server's ``search`` and another's
``search`` cannot both be called ``search``. Names are kept as the servers give them when they are unique and
valid; otherwise they become ``server_tool`` (letters, digits, ``_``, ``.`` and ``-``; at most 64 characters, as
OpenAI's tool names and the chat templates expect).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

BUILTIN_SERVER = "Hearth"
_VALID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
_INVALID_CHARS = re.compile(r"[^A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class ToolEntry:
    """One tool the model may be offered.

    Attributes:
        name: the name the model sees and calls (unique among the tools offered).
        server: the MCP server's name, or ``BUILTIN_SERVER`` for Hearth's own tools.
        tool: the tool's own name on its server.
        description: what it does, as its server says (shown to the model and the user).
        parameters: the JSON schema of its arguments (an object schema).
        read_only: its server marks it as changing nothing (MCP ``readOnlyHint``); only a hint from the server.
        title: a name for people, if the server gave one.
        builtin: one of Hearth's own tools.
    """

    name: str
    server: str
    tool: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    read_only: bool = False
    title: str = ""
    builtin: bool = False

    @property
    def label(self) -> str:
        """How the user sees it: "notes · save_note"."""
        return f"{self.server} · {self.tool}"

    def to_openai(self) -> dict[str, Any]:
        """The tool as OpenAI describes functions (what chat templates render)."""
        function: dict[str, Any] = {"name": self.name, "parameters": dict(self.parameters)}
        if self.description:
            function["description"] = self.description
        return {"type": "function", "function": function}


def object_schema(schema: Any) -> dict[str, Any]:
    """A tool's input schema as an object schema (servers may send anything; the model needs an object)."""
    if not isinstance(schema, Mapping):
        return {"type": "object", "properties": {}}
    clean = dict(schema)
    clean.setdefault("type", "object")
    if clean.get("type") != "object":
        return {"type": "object", "properties": {}}
    if not isinstance(clean.get("properties", {}), Mapping):
        clean["properties"] = {}
    clean.setdefault("properties", {})
    return clean


def _valid_name(text: str) -> str:
    name = _INVALID_CHARS.sub("_", text).strip("_") or "tool"
    if not (name[0].isalpha() or name[0] == "_"):
        name = "t_" + name
    return name[:64]


def unique_names(entries: Iterable[ToolEntry], reserved: Sequence[str] = ()) -> list[ToolEntry]:
    """``entries`` with model-facing names that are valid and unique (``server_tool`` where needed).

    Args:
        entries: tools in the order of preference (the first keeps a contested name).
        reserved: names already taken (Hearth's own tools).
    """
    items = list(entries)
    counts: dict[str, int] = {}
    for entry in items:
        counts[entry.tool] = counts.get(entry.tool, 0) + 1
    taken = set(reserved)
    named = []
    for entry in items:
        name = entry.tool if _VALID.match(entry.tool) and counts[entry.tool] == 1 else ""
        if not name or name in taken:
            name = _valid_name(f"{entry.server}_{entry.tool}")
        base, number = name, 2
        while name in taken:
            suffix = f"_{number}"
            name = base[:64 - len(suffix)] + suffix
            number += 1
        taken.add(name)
        named.append(replace(entry, name=name))
    return named
