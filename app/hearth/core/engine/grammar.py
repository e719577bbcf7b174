"""Grammars that constrain an answer: JSON of a given schema, or a valid tool call.

llama.cpp can sample under a GBNF grammar: tokens that would break it are never chosen, so the answer parses by
construction. JSON schemas become GBNF through llama-cpp-python's converter (``llama_cpp.llama_grammar``), with one
repair: its string characters allow raw control characters, which strict JSON parsers (Python's ``json``, every
browser's) refuse, so they are excluded here. Runs in the engine host (it imports ``llama_cpp``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from llama_cpp.llama_grammar import SchemaConverter

from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tools import ToolChoice, ToolChoiceMode, ToolFormat, ToolSpec
from hearth.core.errors import InvalidRequestError

# JSON strings: any character but '"', '\' and the control characters, or an escape.
_STRICT_CHAR = r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'
# At most this many calls in one answer when any number may be made.
MAX_PARALLEL_CALLS = 4


def _converter() -> SchemaConverter:
    # The fields the model is trained to write first ("name") come first; otherwise the schema's order.
    return SchemaConverter(prop_order={"name": 0, "arguments": 1, "parameters": 1}, allow_fetch=False, dotall=False,
                           raw_pattern=False)


def _visit(converter: SchemaConverter, schema: Any, rule: str, param: str) -> str:
    if not isinstance(schema, dict):
        raise InvalidRequestError("The JSON schema must be an object.", param=param)
    try:
        resolved = converter.resolve_refs(schema, "request")
        return str(converter.visit(resolved, rule))
    except InvalidRequestError:
        raise
    except Exception as exc:  # the converter raises assorted errors for schemas it cannot express
        raise InvalidRequestError(f"The JSON schema could not be used: {exc}", param=param,
                                  details=f"{type(exc).__name__}: {exc}") from exc


def _finish(converter: SchemaConverter) -> str:
    rules = converter._rules
    if "char" in rules:
        rules["char"] = _STRICT_CHAR
    return str(converter.format_grammar())


def schema_grammar(schema: Any, param: str = "response_format") -> str:
    """GBNF for JSON that satisfies ``schema``.

    Raises:
        InvalidRequestError: the schema is not an object or uses what the converter cannot express.
    """
    converter = _converter()
    _visit(converter, schema, "", param)
    return _finish(converter)


def json_object_grammar() -> str:
    """GBNF for any JSON object (OpenAI's ``response_format: json_object``)."""
    return schema_grammar({"type": "object"})


def _call_schema(tool: ToolSpec, arguments_key: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"name": {"const": tool.name}, arguments_key: tool.parameters},
        "required": ["name", arguments_key],
    }


def tool_call_grammar(tools: Sequence[ToolSpec], fmt: ToolFormat, choice: ToolChoice) -> str:
    """GBNF that makes the model call a tool, written as its template expects.

    ``NAMED`` allows one call of that tool; ``REQUIRED`` one to ``MAX_PARALLEL_CALLS`` calls of any (one when
    ``choice.parallel`` is off). Pythonic
    templates get JSON calls (Llama 4 reads and writes both; a grammar for Python call syntax over arbitrary schemas
    buys nothing).

    Raises:
        InvalidRequestError: no tools, an unknown tool name, or a tool schema the converter cannot express.
    """
    if not tools:
        raise InvalidRequestError("tool_choice needs tools to choose from.", param="tool_choice")
    if choice.mode is ToolChoiceMode.NAMED:
        chosen = [tool for tool in tools if tool.name == choice.name]
        if not chosen:
            raise InvalidRequestError(f"tool_choice names {choice.name!r}, which is not among the tools.",
                                      param="tool_choice")
    else:
        chosen = list(tools)
    arguments_key = "parameters" if fmt in (ToolFormat.LLAMA_JSON, ToolFormat.PYTHONIC) else "arguments"
    schema = _call_schema(chosen[0], arguments_key) if len(chosen) == 1 else {
        "anyOf": [_call_schema(tool, arguments_key) for tool in chosen]
    }
    converter = _converter()
    _visit(converter, schema, "call", "tools")
    many = choice.mode is ToolChoiceMode.REQUIRED and choice.parallel
    more = MAX_PARALLEL_CALLS - 1
    if fmt is ToolFormat.HERMES:
        converter._rules["tool-call-block"] = r'"<tool_call>\n" call "\n</tool_call>"'
        converter._rules["root"] = (f'tool-call-block ("\\n" tool-call-block){{0,{more}}}' if many
                                    else "tool-call-block")
    elif fmt is ToolFormat.MISTRAL:
        converter._rules["root"] = f'"[TOOL_CALLS][" call ("," space call){{0,{more}}} "]"' if many else \
            '"[TOOL_CALLS][" call "]"'
    else:
        converter._rules["root"] = f'call (";" space call){{0,{more}}}' if many else "call"
    return _finish(converter)


def answer_grammar(params: SamplingParams, tools: Sequence[ToolSpec], choice: ToolChoice,
                   fmt: ToolFormat) -> str | None:
    """The grammar an answer is sampled under, or None.

    A forced tool call wins over a response format (the call is what was asked for); then a JSON schema, then a
    grammar given as is.
    """
    if tools and choice.mode in (ToolChoiceMode.REQUIRED, ToolChoiceMode.NAMED):
        return tool_call_grammar(tools, fmt, choice)
    if params.json_schema:
        try:
            schema = json.loads(params.json_schema)
        except ValueError as exc:
            raise InvalidRequestError(f"The JSON schema is not valid JSON: {exc}", param="response_format") from exc
        return schema_grammar(schema)
    return params.grammar or None
