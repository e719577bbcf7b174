"""OpenAI request bodies, checked field by field and turned into engine requests.

Anything a client can send is checked here, and anything wrong is an ``ApiError`` (400) that names the field: the
engine only ever sees well-formed requests. Pictures arrive as ``data:`` URLs (Hearth never fetches a URL) and go
through the same preparation as a dropped picture (bounded decoding, metadata stripped).

Besides OpenAI's fields, llama-server's sampling extensions are accepted: ``top_k``, ``min_p``, ``repeat_penalty``,
``ignore_eos`` and ``grammar`` (GBNF).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hearth.core.engine.media import image_ref
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.service import ChatRequest
from hearth.core.engine.tools import ToolChoice, ToolChoiceMode, ToolSpec, tools_from_wire
from hearth.core.errors import DocumentError, InvalidRequestError
from hearth.core.images import prepare_image_bytes
from hearth.server.errors import bad_request

MAX_MESSAGES = 10_000
MAX_STOP = 16
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool"}


@dataclass(frozen=True)
class ParsedRequest:
    """A checked request.

    Attributes:
        model: the model the client named.
        chat: what to ask the engine.
        stream: answer as server-sent events.
        include_usage: end a stream with a usage chunk (``stream_options.include_usage``).
        user: the client's own name for its end user (requests with one take turns by it).
        json_output: the answer is constrained to JSON (``response_format``).
    """

    model: str
    chat: ChatRequest
    stream: bool
    include_usage: bool
    user: str
    json_output: bool = False

    @property
    def tool_names(self) -> set[str]:
        return {tool.name for tool in self.chat.tools}


def parse_json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", code="invalid_json")
    return body


def _number(body: Mapping[str, Any], key: str, lo: float, hi: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise bad_request(f"{key} must be a number.", param=key)
    if not lo <= value <= hi:
        raise bad_request(f"{key} must be between {lo:g} and {hi:g}.", param=key)
    return float(value)


def _integer(body: Mapping[str, Any], key: str, lo: int, hi: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"{key} must be an integer.", param=key)
    if not lo <= value <= hi:
        raise bad_request(f"{key} must be between {lo} and {hi}.", param=key)
    return value


def _flag(body: Mapping[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_request(f"{key} must be true or false.", param=key)
    return value


def _string(body: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise bad_request(f"{key} must be a{' non-empty' if required else ''} string.", param=key)
    return value


def _stop(body: Mapping[str, Any]) -> tuple[str, ...]:
    value = body.get("stop")
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or len(items) > MAX_STOP or not all(isinstance(s, str) and s for s in items):
        raise bad_request(f"stop must be a string or a list of at most {MAX_STOP} non-empty strings.", param="stop")
    return tuple(items)


def _logit_bias(body: Mapping[str, Any]) -> tuple[tuple[int, float], ...]:
    value = body.get("logit_bias")
    if value is None:
        return ()
    if not isinstance(value, dict) or len(value) > 1024:
        raise bad_request("logit_bias must map token ids to biases (at most 1024).", param="logit_bias")
    out = []
    for token, bias in value.items():
        if not str(token).isdigit() or isinstance(bias, bool) or not isinstance(bias, (int, float)) \
                or not -100 <= bias <= 100:
            raise bad_request("logit_bias maps token ids to numbers from -100 to 100.", param="logit_bias")
        out.append((int(token), -math.inf if bias <= -100 else float(bias)))
    return tuple(out)


def _response_format(body: Mapping[str, Any]) -> str:
    """The JSON schema the answer must follow, as JSON text ("" for plain text)."""
    value = body.get("response_format")
    if value is None:
        return ""
    if not isinstance(value, dict):
        raise bad_request("response_format must be an object.", param="response_format")
    kind = value.get("type")
    if kind == "text":
        return ""
    if kind == "json_object":
        return json.dumps({"type": "object"})
    if kind == "json_schema":
        spec = value.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise bad_request("response_format.json_schema.schema must be a JSON schema object.",
                              param="response_format.json_schema.schema")
        return json.dumps(schema)
    raise bad_request("response_format.type must be text, json_object or json_schema.", param="response_format.type")


def sampling_from(body: Mapping[str, Any], defaults: SamplingParams) -> SamplingParams:
    """Sampling settings: the request's, else the model's settings in Hearth."""
    max_tokens = _integer(body, "max_completion_tokens", 1, 1_000_000)
    if max_tokens is None:
        max_tokens = _integer(body, "max_tokens", 1, 1_000_000)
    changes: dict[str, Any] = {
        "temperature": _number(body, "temperature", 0, 2),
        "top_p": _number(body, "top_p", 0, 1),
        "top_k": _integer(body, "top_k", 0, 1_000_000),
        "min_p": _number(body, "min_p", 0, 1),
        "repeat_penalty": _number(body, "repeat_penalty", 0.01, 10),
        "frequency_penalty": _number(body, "frequency_penalty", -2, 2),
        "presence_penalty": _number(body, "presence_penalty", -2, 2),
        "seed": _integer(body, "seed", -(2 ** 63), 2 ** 64 - 1),
        "max_tokens": max_tokens,
    }
    params = defaults.with_changes(**{k: v for k, v in changes.items() if v is not None})
    grammar = _string(body, "grammar")
    return params.with_changes(stop=_stop(body), logit_bias=_logit_bias(body), ignore_eos=_flag(body, "ignore_eos"),
                               json_schema=_response_format(body), grammar=grammar)


def _common(body: Mapping[str, Any]) -> tuple[str, bool, bool, str]:
    model = _string(body, "model", required=True)
    stream = _flag(body, "stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise bad_request("stream_options must be an object.", param="stream_options")
    include_usage = bool(stream and options and _flag(options, "include_usage"))
    n = _integer(body, "n", 1, 128)
    if n not in (None, 1):
        raise bad_request("Hearth writes one choice per request; n must be 1.", param="n")
    if body.get("logprobs") or body.get("top_logprobs"):
        raise bad_request("Hearth does not report log probabilities.", param="logprobs")
    return model, stream, include_usage, _string(body, "user")


def _image(url: Any, where: str) -> dict[str, Any]:
    if not isinstance(url, str) or not url.startswith("data:"):
        raise bad_request(f"{where} must be a data: URL (Hearth never downloads pictures).", param=where)
    header, _, payload = url.partition(",")
    if ";base64" not in header:
        raise bad_request(f"{where} must be base64-encoded.", param=where)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(f"{where} is not valid base64.", param=where) from None
    try:
        return image_ref(prepare_image_bytes(data, "image"), "image")
    except DocumentError as exc:
        raise bad_request(f"{where}: {exc.message}", param=where) from None


def _content(value: Any, where: str, allow_images: bool) -> tuple[str, list[dict[str, Any]]]:
    if value is None or isinstance(value, str):
        return value or "", []
    if not isinstance(value, list):
        raise bad_request(f"{where} must be a string or a list of parts.", param=where)
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    for i, part in enumerate(value):
        spot = f"{where}[{i}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url" and allow_images:
            image = part.get("image_url")
            images.append(_image(image.get("url") if isinstance(image, dict) else image, f"{spot}.image_url"))
        else:
            raise bad_request(f"{spot} must be a text part{' or an image_url part' if allow_images else ''}.",
                              param=spot)
    return "\n".join(texts), images


def _tool_calls(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise bad_request(f"{where} must be a list.", param=where)
    calls = []
    for i, call in enumerate(value):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) \
                or not isinstance(function.get("arguments", ""), str):
            raise bad_request(f"{where}[{i}] must have a function with a name and arguments (a JSON string).",
                              param=f"{where}[{i}]")
        calls.append({"id": str(call.get("id") or f"call_{i}"), "type": "function",
                      "function": {"name": function["name"], "arguments": function.get("arguments") or "{}"}})
    return calls


def messages_from(value: Any) -> list[dict[str, Any]]:
    """OpenAI chat messages as engine messages (see ``hearth.core.engine.tools`` for tool traffic)."""
    if not isinstance(value, list) or not value:
        raise bad_request("messages must be a non-empty list.", param="messages")
    if len(value) > MAX_MESSAGES:
        raise bad_request(f"messages may hold at most {MAX_MESSAGES:,} messages.", param="messages")
    out: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    for i, message in enumerate(value):
        where = f"messages[{i}]"
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise bad_request(f"{where}.role must be one of {', '.join(ROLES)}.", param=f"{where}.role")
        role = ROLES[message["role"]]
        text, images = _content(message.get("content"), f"{where}.content", allow_images=role == "user")
        item: dict[str, Any] = {"role": role, "content": text}
        if images:
            item["images"] = images
        if role == "assistant" and message.get("tool_calls"):
            item["tool_calls"] = _tool_calls(message["tool_calls"], f"{where}.tool_calls")
            call_names.update({c["id"]: c["function"]["name"] for c in item["tool_calls"]})
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str):
                raise bad_request(f"{where}.tool_call_id must be a string.", param=f"{where}.tool_call_id")
            item["tool_call_id"] = call_id
            item["name"] = call_names.get(call_id, str(message.get("name") or ""))
        out.append(item)
    return out


def _tool_choice(body: Mapping[str, Any], tools: list[ToolSpec]) -> ToolChoice:
    value = body.get("tool_choice")
    parallel = body.get("parallel_tool_calls", True) is not False
    if value is None:
        return ToolChoice(ToolChoiceMode.AUTO, parallel=parallel)
    if value in ("auto", "none", "required"):
        return ToolChoice(ToolChoiceMode(value), parallel=parallel)
    function = value.get("function") if isinstance(value, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str):
        raise bad_request('tool_choice must be "auto", "none", "required" or {"type": "function", "function": '
                          '{"name": ...}}.', param="tool_choice")
    if name not in {tool.name for tool in tools}:
        raise bad_request(f"tool_choice names {name!r}, which is not among the tools.", param="tool_choice")
    return ToolChoice(ToolChoiceMode.NAMED, name, parallel=False)


def chat_request(body: Mapping[str, Any], defaults: SamplingParams) -> ParsedRequest:
    """A ``/v1/chat/completions`` body."""
    model, stream, include_usage, user = _common(body)
    messages = messages_from(body.get("messages"))
    params = sampling_from(body, defaults)
    try:
        tools = tools_from_wire(body.get("tools"))
    except InvalidRequestError as exc:
        raise bad_request(exc.message, param=exc.param or "tools") from None
    choice = _tool_choice(body, tools)
    if choice.mode in (ToolChoiceMode.REQUIRED, ToolChoiceMode.NAMED) and not tools:
        raise bad_request("tool_choice needs tools to choose from.", param="tool_choice")
    request = ChatRequest(messages, params, tools=tools, tool_choice=choice)
    return ParsedRequest(model, request, stream, include_usage, user, json_output=bool(params.json_schema))


def completion_request(body: Mapping[str, Any], defaults: SamplingParams) -> ParsedRequest:
    """A ``/v1/completions`` body: the prompt goes to the model as is, without the chat template."""
    model, stream, include_usage, user = _common(body)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise bad_request("prompt must be a non-empty string.", param="prompt")
    if body.get("suffix") or body.get("echo") or (body.get("best_of") or 1) != 1:
        raise bad_request("Hearth does not support suffix, echo or best_of.", param="suffix")
    params = sampling_from(body, defaults)
    request = ChatRequest([{"role": "user", "content": prompt}], params, raw=True)
    return ParsedRequest(model, request, stream, include_usage, user, json_output=bool(params.json_schema))


Parser = Callable[[Mapping[str, Any], SamplingParams], ParsedRequest]
