"""Engine results as OpenAI response objects and stream chunks.

``AnswerWriter`` follows one answer's events. Streamed, it turns each text delta into a chunk at once; when tools
were offered, text that may be a tool call is held back (see ``ToolCallStream``) and sent as ``tool_calls`` at the
end. Not streamed, it collects the same into one ``chat.completion`` (or ``text_completion``) object.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import hearth
from hearth.core.engine.events import AnswerStats
from hearth.core.engine.tool_parser import ParsedAnswer, ToolCallStream, parse_tool_calls
from hearth.core.engine.tools import ToolCall, ToolChoiceMode, ToolFormat
from hearth.server.requests import ParsedRequest

FINGERPRINT = f"hearth-{hearth.__version__}"


def finish_reason(stats: AnswerStats, calls: list[ToolCall]) -> str:
    if calls:
        return "tool_calls"
    if stats.stop_reason in ("length", "context_full"):
        return "length"
    return "stop"


def usage(stats: AnswerStats) -> dict[str, int]:
    return {"prompt_tokens": stats.prompt_tokens, "completion_tokens": stats.tokens,
            "total_tokens": stats.prompt_tokens + stats.tokens}


class AnswerWriter:
    """Builds one answer's chunks or object.

    Args:
        request: the checked request.
        model: the model id to report.
        tool_format: how the loaded model writes tool calls.
        completion: a ``/v1/completions`` answer (``text_completion`` objects) rather than a chat one.
    """

    def __init__(self, request: ParsedRequest, model: str, tool_format: ToolFormat, *, completion: bool = False):
        self.request = request
        self.model = model
        self.completion = completion
        self.id = ("cmpl-" if completion else "chatcmpl-") + secrets.token_hex(12)
        self.created = int(time.time())
        self.text: list[str] = []
        self.calls: list[ToolCall] = []
        choice = request.chat.tool_choice
        self._wants_tools = bool(request.chat.tools) and (choice is None or choice.mode is not ToolChoiceMode.NONE)
        self._format = tool_format
        self._tools = ToolCallStream(tool_format, request.tool_names) if self._wants_tools else None

    # --- streaming -----------------------------------------------------------------------------------------------

    def _chunk(self, delta: dict[str, Any] | str, reason: str | None = None) -> dict[str, Any]:
        if self.completion:
            choice: dict[str, Any] = {"index": 0, "text": delta, "logprobs": None, "finish_reason": reason}
            kind = "text_completion"
        else:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
            kind = "chat.completion.chunk"
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model,
                "system_fingerprint": FINGERPRINT, "choices": [choice]}

    def first_chunks(self) -> list[dict[str, Any]]:
        return [] if self.completion else [self._chunk({"role": "assistant", "content": ""})]

    def text_chunks(self, text: str) -> list[dict[str, Any]]:
        shown = self._tools.feed(text) if self._tools is not None else text
        self.text.append(text)
        if not shown:
            return []
        return [self._chunk(shown if self.completion else {"content": shown})]

    def last_chunks(self, stats: AnswerStats) -> list[dict[str, Any]]:
        chunks: list[dict[str, Any]] = []
        if self._tools is not None:
            end: ParsedAnswer = self._tools.finish()
            if end.content:
                chunks.append(self._chunk({"content": end.content}))
            self.calls = end.tool_calls
            if end.tool_calls:
                chunks.append(self._chunk({"tool_calls": [
                    {"index": i, **call.to_openai()} for i, call in enumerate(end.tool_calls)]}))
        chunks.append(self._chunk("" if self.completion else {}, finish_reason(stats, self.calls)))
        if self.request.include_usage:
            last = self._chunk({})
            last["choices"] = []
            last["usage"] = usage(stats)
            chunks.append(last)
        return chunks

    # --- whole answers -------------------------------------------------------------------------------------------

    def response(self, stats: AnswerStats) -> dict[str, Any]:
        text = "".join(self.text)
        calls: list[ToolCall] = []
        if self._wants_tools:
            parsed = parse_tool_calls(text, self._format, self.request.tool_names)
            text, calls = parsed.content, parsed.tool_calls
        self.calls = calls
        reason = finish_reason(stats, calls)
        if self.completion:
            choice: dict[str, Any] = {"index": 0, "text": text, "logprobs": None, "finish_reason": reason}
            kind = "text_completion"
        else:
            message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
            if calls:
                message["tool_calls"] = [call.to_openai() for call in calls]
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": reason}
            kind = "chat.completion"
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model,
                "system_fingerprint": FINGERPRINT, "choices": [choice], "usage": usage(stats)}
