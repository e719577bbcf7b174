"""Tools a model may call: their descriptions, the calls it makes, and how both go into the prompt.

Tools are described as OpenAI does (``{"type": "function", "function": {"name", "description", "parameters"}}``,
``parameters`` a JSON schema), and this is also what chat templates that know tools expect in their ``tools``
variable. A conversation's tool traffic uses the same shapes:

- an assistant message may carry ``tool_calls``: ``[{"id", "type": "function", "function": {"name",
  "arguments"}}]``, ``arguments`` a dictionary (templates write it with ``tojson``);
- a ``tool`` message carries one result: ``{"role": "tool", "tool_call_id", "name", "content"}``.

A model's template either renders tools itself (Llama 4's, Qwen's and Hermes' do) or it does not (ChatML-only
templates such as SmolLM2's, and Hearth's fallbacks). For the latter, ``tools_instructions`` tells the model about
the tools in the system message and asks for Hermes-style ``<tool_call>`` blocks, and ``plain_tool_messages``
rewrites tool calls and results as ordinary text turns the template can render. ``ToolFormat`` names the way a model
writes its calls; ``hearth.core.engine.tool_parser`` reads them back and ``hearth.core.engine.grammar`` can force
one. Plain Python: used by the app and the engine host, imports no llama.cpp.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hearth.core.errors import InvalidRequestError

Message = dict[str, Any]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
PROBE_TOOL = "hearth_probe_tool_3f9c"


class ToolFormat(Enum):
    """How a model writes a tool call.

    HERMES: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` (Qwen 2.5/3, Hermes; also what Hearth asks
        of models whose template has no tools).
    LLAMA_JSON: ``{"name": ..., "parameters": {...}}``, sometimes inside ``<|python_start|>...<|python_end|>``
        (Llama 3.1 and later, Llama 4).
    PYTHONIC: ``[name(arg="value", ...)]`` (Llama 3.2 and Llama 4's pythonic templates).
    MISTRAL: ``[TOOL_CALLS][{"name": ..., "arguments": {...}}]``.
    """

    HERMES = "hermes"
    LLAMA_JSON = "llama-json"
    PYTHONIC = "pythonic"
    MISTRAL = "mistral"


class ToolChoiceMode(Enum):
    AUTO = "auto"
    NONE = "none"
    REQUIRED = "required"
    NAMED = "named"


@dataclass(frozen=True)
class ToolChoice:
    """Whether the model may, must, or must not call a tool (``NAMED``: must call ``name``).

    ``parallel`` False allows one call per answer (OpenAI's ``parallel_tool_calls``).
    """

    mode: ToolChoiceMode = ToolChoiceMode.AUTO
    name: str = ""
    parallel: bool = True

    def to_wire(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "name": self.name, "parallel": self.parallel}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any] | None) -> ToolChoice:
        if not data:
            return cls()
        try:
            return cls(ToolChoiceMode(str(data.get("mode", "auto"))), str(data.get("name") or ""),
                       bool(data.get("parallel", True)))
        except ValueError:
            raise InvalidRequestError(f"Unknown tool_choice {data.get('mode')!r}.", param="tool_choice") from None


@dataclass(frozen=True)
class ToolSpec:
    """One function the model may call.

    Attributes:
        name: the function's name (letters, digits, ``_``, ``.``, ``-``; at most 64).
        description: what it does, for the model.
        parameters: a JSON schema of its arguments (an object schema).
    """

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    @classmethod
    def from_openai(cls, tool: Any, index: int = 0) -> ToolSpec:
        """Read one entry of an OpenAI ``tools`` list.

        Raises:
            InvalidRequestError: not a function tool, or its name or parameters are malformed.
        """
        where = f"tools[{index}]"
        if not isinstance(tool, Mapping) or tool.get("type", "function") != "function":
            raise InvalidRequestError(f"{where} must be a function tool.", param=where)
        function = tool.get("function")
        if not isinstance(function, Mapping):
            raise InvalidRequestError(f"{where}.function must be an object.", param=f"{where}.function")
        name = function.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidRequestError(
                f"{where}.function.name must be 1-64 letters, digits, '_', '.' or '-'.", param=f"{where}.function.name"
            )
        description = function.get("description") or ""
        if not isinstance(description, str):
            raise InvalidRequestError(f"{where}.function.description must be a string.",
                                      param=f"{where}.function.description")
        parameters = function.get("parameters")
        if parameters is None:
            parameters = {"type": "object", "properties": {}}
        if not isinstance(parameters, Mapping):
            raise InvalidRequestError(f"{where}.function.parameters must be a JSON schema object.",
                                      param=f"{where}.function.parameters")
        return cls(name, description, dict(parameters))

    def to_openai(self) -> dict[str, Any]:
        function: dict[str, Any] = {"name": self.name, "parameters": self.parameters}
        if self.description:
            function["description"] = self.description
        return {"type": "function", "function": function}


@dataclass(frozen=True)
class ToolCall:
    """A call the model made: the function's name and its arguments as JSON text (as OpenAI sends them)."""

    name: str
    arguments: str
    id: str = field(default_factory=lambda: new_call_id())

    def arguments_value(self) -> Any:
        try:
            return json.loads(self.arguments)
        except ValueError:
            return self.arguments

    def to_openai(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


def new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


def tools_to_wire(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [tool.to_openai() for tool in tools]


def tools_from_wire(data: Any) -> list[ToolSpec]:
    if not data:
        return []
    if not isinstance(data, list):
        raise InvalidRequestError("tools must be a list.", param="tools")
    return [ToolSpec.from_openai(item, i) for i, item in enumerate(data)]


def detect_tool_format(template_source: str) -> ToolFormat:
    """The way a model writes calls, judged from its chat template (Hermes when the template shows none)."""
    if "<tool_call>" in template_source:
        return ToolFormat.HERMES
    if "[TOOL_CALLS]" in template_source:
        return ToolFormat.MISTRAL
    if re.search(r"\[func_name1\(|\[\w+\(\w+=", template_source):
        return ToolFormat.PYTHONIC
    if "<|python_start|>" in template_source or "<|python_tag|>" in template_source or (
        '"parameters"' in template_source and ("<|header_start|>" in template_source
                                               or "<|start_header_id|>" in template_source)):
        return ToolFormat.LLAMA_JSON
    return ToolFormat.HERMES


def tools_instructions(tools: Sequence[ToolSpec]) -> str:
    """What a model whose template has no tools is told about them (Hermes' wording, which small models know)."""
    lines = [
        "You may call one or more functions to assist with the user query.",
        "",
        "You are provided with function signatures within <tools></tools> XML tags:",
        "<tools>",
        *(json.dumps(tool.to_openai(), ensure_ascii=False) for tool in tools),
        "</tools>",
        "",
        "For each function call, return a json object with function name and arguments within <tool_call></tool_call>"
        " XML tags:",
        "<tool_call>",
        '{"name": <function-name>, "arguments": <args-json-object>}',
        "</tool_call>",
    ]
    return "\n".join(lines)


def hermes_call_text(name: str, arguments: Any) -> str:
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False) + "\n</tool_call>"


def template_tool_messages(messages: Sequence[Message]) -> list[Message]:
    """Messages for a template that renders tools: call arguments as dictionaries, as templates expect."""
    out: list[Message] = []
    for message in messages:
        calls = message.get("tool_calls")
        if not calls:
            out.append(message)
            continue
        converted = []
        for call in calls:
            function = dict(call.get("function") or {})
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                try:
                    function["arguments"] = json.loads(arguments)
                except ValueError:
                    function["arguments"] = {}
            converted.append({**call, "function": function})
        out.append({**message, "tool_calls": converted, "content": message.get("content") or ""})
    return out


def plain_tool_messages(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> list[Message]:
    """Tool traffic as plain turns for a template without tools.

    The tool descriptions join the system message (one is added when there is none); an assistant's calls become
    ``<tool_call>`` blocks in its text; a tool's result becomes a user turn in ``<tool_response>`` tags.
    """
    out: list[Message] = []
    for message in messages:
        role = message.get("role")
        if role == "tool":
            result = f"<tool_response>\n{message.get('content') or ''}\n</tool_response>"
            if out and out[-1].get("role") == "user" and out[-1].get("_tool_results"):
                out[-1] = {**out[-1], "content": out[-1]["content"] + "\n" + result}
            else:
                out.append({"role": "user", "content": result, "_tool_results": True})
            continue
        calls = message.get("tool_calls")
        if calls:
            texts = [str(message.get("content") or "").strip()]
            for call in calls:
                function = call.get("function") or {}
                arguments = function.get("arguments")
                if isinstance(arguments, str):
                    try:
                        arguments = json.loads(arguments)
                    except ValueError:
                        pass
                texts.append(hermes_call_text(str(function.get("name", "")), arguments))
            rest = {k: v for k, v in message.items() if k != "tool_calls"}
            out.append({**rest, "content": "\n".join(t for t in texts if t)})
            continue
        out.append(message)
    out = [{k: v for k, v in m.items() if k != "_tool_results"} for m in out]
    if tools:
        instructions = tools_instructions(tools)
        if out and out[0].get("role") == "system":
            out[0] = {**out[0], "content": f"{out[0].get('content') or ''}\n\n{instructions}".lstrip()}
        else:
            out.insert(0, {"role": "system", "content": instructions})
    return out
