"""A tool's result as the text the model reads: untrusted, size-limited, never executed.

Whatever a tool returns was written by someone other than the user - a web page, a file, a server's author - and
may try to steer the model ("ignore your instructions and..."): that is prompt injection. Hearth cannot make a model
immune to it, so it limits what injected text can do:

- the result is plain text given to the model as a tool's answer, never run, rendered as Markdown or followed;
- it is cut to a size limit, so a result cannot push the conversation out of the model's memory;
- control characters are dropped, and text that looks like a chat template's own markers (``<|eot|>``,
  ``<|im_start|>``, ``<tool_call>``, ``[INST]``...) is broken up so it cannot end the tool's turn and pose as the
  user, the system prompt or a new tool call - the engine reads special tokens in the prompt's text, so unescaped
  they would be real;
- every call the model then makes goes through the same approval as any other: a tool that changes things asks
  the user every time, showing the arguments in full.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_RESULT_CHARS = 16_000
# Template markers: <|anything|>, <tool_call> and kin, Gemma's turns, Mistral's and Llama 2's brackets, <s>/</s>.
_MARKERS = re.compile(
    r"<\|[^<>|\n]{0,48}\|>"
    r"|</?(?:tool_call|tool_response|tools|start_of_turn|end_of_turn|think|function_call|s)>"
    r"|\[/?(?:INST|TOOL_CALLS|TOOL_RESULTS|AVAILABLE_TOOLS|SYSTEM_PROMPT)\]",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_WORD_JOINER = "\u2060"


@dataclass(frozen=True)
class ToolOutput:
    """What a tool returned, ready for the model.

    Attributes:
        text: the result (or the error) as text.
        ok: False when the tool reported an error.
    """

    text: str
    ok: bool = True


def defuse(text: str) -> str:
    """``text`` without control characters, and with template markers broken by an invisible character."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n"))
    return _MARKERS.sub(lambda m: m.group(0)[0] + _WORD_JOINER + m.group(0)[1:], text)


def limit_text(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with a line saying how much was left out."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return text[:limit] + f"\n[… {cut:,} more characters left out: the result was longer than {limit:,}]"


def untrusted(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    """Tool output made safe to put in a prompt: defused, then size-limited."""
    return limit_text(defuse(text), limit)


def _size(data: Any) -> str:
    if isinstance(data, str):
        count = len(data) * 3 // 4  # base64
        return f"{count / 1000:,.0f} KB" if count >= 1000 else f"{count} bytes"
    return "unknown size"


def _block_text(block: Any) -> str:
    """One MCP content block as text (pictures, sound and binary resources are named, not shown)."""
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(getattr(block, "text", ""))
    if kind in ("image", "audio"):
        what = "picture" if kind == "image" else "sound"
        return f"[a {what} ({getattr(block, 'mime_type', '') or 'unknown type'}, {_size(getattr(block, 'data', ''))})" \
               " was returned; it is not shown to the model]"
    if kind == "resource_link":
        return f"[link to {getattr(block, 'name', '') or 'a resource'}: {getattr(block, 'uri', '')}]"
    if kind == "resource":
        resource = getattr(block, "resource", None)
        text = getattr(resource, "text", None)
        if text is not None:
            return str(text)
        return f"[a file ({getattr(resource, 'mime_type', '') or 'binary'}) at {getattr(resource, 'uri', '')} " \
               "was returned; it is not shown to the model]"
    return f"[a result of an unknown kind ({kind!r}) was left out]"


def mcp_output(result: Any, limit: int = MAX_RESULT_CHARS) -> ToolOutput:
    """The text of an MCP ``CallToolResult`` (its content blocks, else its structured content).

    Raises:
        ValueError: the result has no content list (the server sent something that is not a tool result).
    """
    content = getattr(result, "content", None)
    if not isinstance(content, list):
        raise ValueError("the result has no content list")
    parts = [_block_text(block) for block in content]
    structured = getattr(result, "structured_content", None)
    if not any(p.strip() for p in parts) and structured is not None:
        parts = [json.dumps(structured, ensure_ascii=False, indent=1, default=str)]
    text = "\n".join(p for p in parts if p) or "(the tool returned nothing)"
    return ToolOutput(untrusted(text, limit), ok=not bool(getattr(result, "is_error", False)))
