"""OpenAI request bodies checked field by field: what becomes an engine request, and what is a 400 naming the field."""

from __future__ import annotations

import base64
import io
import json
import math
from typing import Any

import pytest
from PIL import Image

from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tools import ToolChoiceMode
from hearth.server.errors import ApiError
from hearth.server.requests import chat_request, completion_request, parse_json_body

DEFAULTS = SamplingParams(temperature=0.3, max_tokens=512)


def _chat(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}


def _refused(body: dict[str, Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        chat_request(body, DEFAULTS)
    assert caught.value.status == 400
    return caught.value


def test_sampling_fields_override_the_models_settings() -> None:
    parsed = chat_request(_chat(max_completion_tokens=7, max_tokens=99, top_p=0.5, seed=3, stop="END",
                                presence_penalty=0.5, logit_bias={"42": -100, "7": 2.5}, top_k=5),
                          DEFAULTS)
    params = parsed.chat.params
    assert (params.max_tokens, params.temperature, params.top_p, params.seed, params.stop) == (7, 0.3, 0.5, 3,
                                                                                              ("END",))
    assert params.presence_penalty == 0.5 and params.top_k == 5
    assert dict(params.logit_bias) == {42: -math.inf, 7: 2.5}
    assert not parsed.stream and parsed.model == "m"


@pytest.mark.parametrize(("fields", "param"), [
    ({"temperature": 3}, "temperature"),
    ({"temperature": True}, "temperature"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"stop": ["a"] * 17}, "stop"),
    ({"n": 2}, "n"),
    ({"logprobs": True}, "logprobs"),
    ({"stream": "yes"}, "stream"),
    ({"logit_bias": {"x": 1}}, "logit_bias"),
    ({"response_format": {"type": "xml"}}, "response_format.type"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
     "response_format.json_schema.schema"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]}, "messages[0].content[0]"),
    ({"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}]},
     "messages[0].content[0]"),
    ({"messages": [{"role": "tool", "content": "42"}]}, "messages[0].tool_call_id"),
    ({"tools": [{"type": "function", "function": {"name": "bad name"}}]}, "tools[0].function.name"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}],
      "tool_choice": {"type": "function", "function": {"name": "g"}}}, "tool_choice"),
])
def test_bad_fields_are_named(fields: dict[str, Any], param: str) -> None:
    assert _refused(_chat(**fields)).param == param


def test_json_bodies() -> None:
    assert parse_json_body(b'{"a": 1}') == {"a": 1}
    for raw in (b"", b"{", b"[]", b"\xff\xfe", b"1" * 10 + b"{"):
        with pytest.raises(ApiError):
            parse_json_body(raw)
    with pytest.raises(ApiError):
        parse_json_body(b"[" * 100_000)  # nesting too deep for the parser is a 400, not a crash


def test_response_formats_become_schemas() -> None:
    assert json.loads(chat_request(_chat(response_format={"type": "json_object"}), DEFAULTS)
                      .chat.params.json_schema) == {"type": "object"}
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    parsed = chat_request(_chat(response_format={"type": "json_schema", "json_schema": {"name": "x",
                                                                                         "schema": schema}}),
                          DEFAULTS)
    assert json.loads(parsed.chat.params.json_schema) == schema and parsed.json_output
    assert chat_request(_chat(response_format={"type": "text"}), DEFAULTS).chat.params.json_schema == ""


def test_messages_become_engine_messages() -> None:
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(picture, "PNG")
    url = "data:image/png;base64," + base64.b64encode(picture.getvalue()).decode()
    parsed = chat_request(_chat(messages=[
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "What is"}, {"type": "text", "text": "this?"},
                                     {"type": "image_url", "image_url": {"url": url}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "look", "arguments": "{\"x\": 1}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "red"},
    ], tools=[{"type": "function", "function": {"name": "look"}}], tool_choice="auto", user="alice"), DEFAULTS)
    system, user, assistant, tool = parsed.chat.messages
    assert system == {"role": "system", "content": "Be brief."}
    assert user["content"] == "What is\nthis?" and len(user["images"]) == 1 and user["images"][0]["mime"]
    assert assistant["tool_calls"][0]["function"] == {"name": "look", "arguments": "{\"x\": 1}"}
    assert tool == {"role": "tool", "content": "red", "tool_call_id": "c1", "name": "look"}
    assert parsed.chat.tool_choice is not None and parsed.chat.tool_choice.mode is ToolChoiceMode.AUTO
    assert parsed.user == "alice" and parsed.tool_names == {"look"}


def test_pictures_must_be_data_urls_that_decode() -> None:
    for url in ("https://example.com/cat.png", "data:image/png,notbase64", "data:image/png;base64,!!!",
                "data:image/png;base64," + base64.b64encode(b"not a picture").decode()):
        error = _refused(_chat(messages=[{"role": "user", "content": [{"type": "image_url",
                                                                         "image_url": {"url": url}}]}]))
        assert error.param == "messages[0].content[0].image_url"


def test_completions_take_the_prompt_as_is() -> None:
    parsed = completion_request({"model": "m", "prompt": ["Once upon"], "max_tokens": 5, "stream": True,
                                 "stream_options": {"include_usage": True}}, DEFAULTS)
    assert parsed.chat.raw and parsed.chat.messages == [{"role": "user", "content": "Once upon"}]
    assert parsed.stream and parsed.include_usage and parsed.chat.params.max_tokens == 5
    for body in ({"model": "m"}, {"model": "m", "prompt": ""}, {"model": "m", "prompt": "x", "echo": True}):
        with pytest.raises(ApiError):
            completion_request(body, DEFAULTS)


def test_the_default_system_prompt_goes_first_only_when_the_client_sent_none() -> None:
    from hearth.server.app import with_system_prompt

    bare = chat_request({"model": "m", "messages": [{"role": "user", "content": "hi"}]}, SamplingParams())
    given = with_system_prompt(bare, "Keep it short.")
    assert given.chat.messages == [{"role": "system", "content": "Keep it short."},
                                   {"role": "user", "content": "hi"}]
    assert bare.chat.messages == [{"role": "user", "content": "hi"}], "the parsed request is not changed in place"
    assert with_system_prompt(bare, "  ") is bare, "no recommended prompt: nothing added"
    developer = chat_request({"model": "m", "messages": [{"role": "developer", "content": "Be a pirate."},
                                           {"role": "user", "content": "hi"}]}, SamplingParams())
    assert with_system_prompt(developer, "Keep it short.") is developer, "the client's own instructions stand"
