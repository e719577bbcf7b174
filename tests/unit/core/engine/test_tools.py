"""Tool calls: reading them out of answers in each model family's format, streaming around them, and writing tools
and tool traffic into prompts for templates with and without tools."""

from __future__ import annotations

import json

import pytest

from hearth.core.engine.chat_template import ChatTemplate, fallback_template
from hearth.core.engine.tool_parser import ToolCallStream, parse_tool_calls
from hearth.core.engine.tools import (
    ToolChoice,
    ToolChoiceMode,
    ToolFormat,
    ToolSpec,
    detect_tool_format,
    plain_tool_messages,
    template_tool_messages,
    tools_from_wire,
    tools_to_wire,
)
from hearth.core.errors import InvalidRequestError
from tests.fixtures.chat_templates import LLAMA4_TOOLS, QWEN_TOOLS

WEATHER = ToolSpec("get_weather", "Weather for a city", {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]})
TIME = ToolSpec("get_time", "The time in a zone", {"type": "object", "properties": {"zone": {"type": "string"}}})
NAMES = {"get_weather", "get_time"}

CALL_HISTORY = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris", "days": 2})}}]},
    {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "Sunny, 21 °C"},
]


def _calls(text: str, fmt: ToolFormat) -> list[tuple[str, dict[str, object]]]:
    return [(call.name, json.loads(call.arguments)) for call in parse_tool_calls(text, fmt, NAMES).tool_calls]


def _assistant_turn(rendered: str, start: str, end: str) -> str:
    """The assistant's tool-call turn as the template wrote it (what the model learned to write)."""
    at = rendered.index(start) + len(start)
    return rendered[at:rendered.index(end, at)]


def test_a_qwen_template_call_reads_back_as_the_call_it_rendered() -> None:
    template = ChatTemplate(QWEN_TOOLS, "gguf")
    rendered = template.render(template_tool_messages(CALL_HISTORY), tools=tools_to_wire([WEATHER]))
    assert "<tools>" in rendered and '"name": "get_weather"' in rendered
    turn = _assistant_turn(rendered, "<|im_start|>assistant", "<|im_end|>")
    assert _calls(turn, ToolFormat.HERMES) == [("get_weather", {"city": "Paris", "days": 2})]
    assert "<tool_response>\nSunny, 21 °C\n</tool_response>" in rendered


def test_a_llama4_template_call_reads_back_as_the_call_it_rendered() -> None:
    template = ChatTemplate(LLAMA4_TOOLS, "gguf")
    rendered = template.render(template_tool_messages(CALL_HISTORY), tools=tools_to_wire([WEATHER]))
    assert "Given the following functions" in rendered
    turn = _assistant_turn(rendered, "<|header_start|>assistant<|header_end|>\n\n", "<|eot|>")
    assert turn.startswith("<|python_start|>")
    assert _calls(turn, ToolFormat.LLAMA_JSON) == [("get_weather", {"city": "Paris", "days": 2})]
    assert "<|header_start|>ipython<|header_end|>\n\nSunny, 21 °C<|eot|>" in rendered


def test_formats_are_told_from_the_template() -> None:
    assert detect_tool_format(QWEN_TOOLS) is ToolFormat.HERMES
    assert detect_tool_format(LLAMA4_TOOLS) is ToolFormat.LLAMA_JSON
    assert detect_tool_format("{{ '[TOOL_CALLS]' }}") is ToolFormat.MISTRAL
    assert detect_tool_format("[func_name1(params_name1=params_value1)]") is ToolFormat.PYTHONIC
    assert ChatTemplate(QWEN_TOOLS, "gguf").supports_tools()
    assert ChatTemplate(LLAMA4_TOOLS, "gguf").supports_tools()
    assert not fallback_template("llama", lambda _t: False).supports_tools()


@pytest.mark.parametrize(("text", "fmt", "content"), [
    ('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>', ToolFormat.HERMES, ""),
    ('Let me look.\n<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>',
     ToolFormat.HERMES, "Let me look."),
    ('{"name": "get_weather", "parameters": {"city": "Oslo"}}', ToolFormat.LLAMA_JSON, ""),
    ('<|python_start|>{"name": "get_weather", "parameters": {"city": "Oslo"}}<|python_end|>', ToolFormat.LLAMA_JSON,
     ""),
    ('{"type": "function", "name": "get_weather", "parameters": "{\\"city\\": \\"Oslo\\"}"}', ToolFormat.LLAMA_JSON,
     ""),
    ('[get_weather(city="Oslo")]', ToolFormat.PYTHONIC, ""),
    ('[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Oslo"}}]', ToolFormat.MISTRAL, ""),
    # a small model that drifts to another family's format is still understood
    ('<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>', ToolFormat.LLAMA_JSON, ""),
])
def test_one_call_in_each_format(text: str, fmt: ToolFormat, content: str) -> None:
    parsed = parse_tool_calls(text, fmt, NAMES)
    assert [(c.name, json.loads(c.arguments)) for c in parsed.tool_calls] == [("get_weather", {"city": "Oslo"})]
    assert parsed.content == content
    assert parsed.tool_calls[0].id.startswith("call_")


def test_several_calls_in_one_answer() -> None:
    assert _calls('<tool_call>{"name": "get_weather", "arguments": {"city": "A"}}</tool_call>\n'
                  '<tool_call>{"name": "get_time", "arguments": {"zone": "CET"}}</tool_call>', ToolFormat.HERMES) == [
        ("get_weather", {"city": "A"}), ("get_time", {"zone": "CET"})]
    assert _calls('[get_weather(city="A", days=3), get_time(zone="CET")]', ToolFormat.PYTHONIC) == [
        ("get_weather", {"city": "A", "days": 3}), ("get_time", {"zone": "CET"})]
    assert _calls('{"name": "get_weather", "parameters": {"city": "A"}}; {"name": "get_time", "parameters": {}}',
                  ToolFormat.LLAMA_JSON) == [("get_weather", {"city": "A"}), ("get_time", {})]


@pytest.mark.parametrize("text", [
    "The weather in Paris is sunny.",
    '{"name": "Ada", "age": 36}',  # JSON that names no offered tool is an answer
    '<tool_call>{"name": "delete_everything", "arguments": {}}</tool_call>',  # not an offered tool
    "<tool_call>{not json</tool_call>",
    "[print(open('x').read())]",  # looks pythonic, is not an offered tool, and is never evaluated
    '[get_weather(city=__import__("os").getcwd())]',  # arguments must be literals
    "",
])
def test_answers_that_are_not_calls_stay_answers(text: str) -> None:
    parsed = parse_tool_calls(text, ToolFormat.PYTHONIC, NAMES)
    assert parsed.tool_calls == []
    assert parsed.content == text


def test_a_streamed_answer_without_calls_passes_through_as_it_arrives() -> None:
    stream = ToolCallStream(ToolFormat.HERMES, NAMES)
    shown = [stream.feed(piece) for piece in ("The wea", "ther is <b", "old> fine", " <tool_", "call is a tag")]
    assert shown == ["The wea", "ther is <b", "old> fine", " ", "<tool_call is a tag"]
    assert stream.finish().content == ""


def test_a_streamed_call_is_held_back_and_returned_at_the_end() -> None:
    stream = ToolCallStream(ToolFormat.HERMES, NAMES)
    pieces = ["Checking.", " <tool", "_call>\n{\"name\": \"get_weather\", ", "\"arguments\": {\"city\": \"Rome\"}}",
              "\n</tool_call>"]
    shown = "".join(stream.feed(piece) for piece in pieces)
    assert shown == "Checking. "
    end = stream.finish()
    assert [(c.name, json.loads(c.arguments)) for c in end.tool_calls] == [("get_weather", {"city": "Rome"})]


def test_a_streamed_json_answer_is_held_whole_and_given_back_when_it_is_no_call() -> None:
    stream = ToolCallStream(ToolFormat.LLAMA_JSON, NAMES)
    assert stream.feed("  {\"answer\": ") == ""
    assert stream.feed("42}") == ""
    end = stream.finish()
    assert end.tool_calls == [] and end.content == "  {\"answer\": 42}"


def test_tool_traffic_becomes_plain_turns_for_a_template_without_tools() -> None:
    messages = [{"role": "system", "content": "Be brief."}, *CALL_HISTORY,
                {"role": "tool", "tool_call_id": "call_2", "name": "get_time", "content": "12:00"}]
    plain = plain_tool_messages(messages, [WEATHER])
    assert [m["role"] for m in plain] == ["system", "user", "assistant", "user"]
    assert plain[0]["content"].startswith("Be brief.\n\nYou may call one or more functions")
    assert '"name": "get_weather"' in plain[0]["content"]
    assert _calls(plain[2]["content"], ToolFormat.HERMES) == [("get_weather", {"city": "Paris", "days": 2})]
    assert plain[3]["content"] == ("<tool_response>\nSunny, 21 °C\n</tool_response>\n"
                                   "<tool_response>\n12:00\n</tool_response>")
    rendered = fallback_template("qwen", lambda _t: True).render(plain)  # ChatML renders them as any other turn
    assert "<tool_call>" in rendered and "<tool_response>" in rendered


def test_tools_are_checked_when_read() -> None:
    assert tools_from_wire(tools_to_wire([WEATHER, TIME])) == [WEATHER, TIME]
    for bad in ([{"type": "retrieval"}], [{"type": "function", "function": {"name": "has space"}}],
                [{"type": "function", "function": {"name": "ok", "parameters": "not a schema"}}], {"a": 1}):
        with pytest.raises(InvalidRequestError):
            tools_from_wire(bad)
    assert ToolChoice.from_wire(ToolChoice(ToolChoiceMode.NAMED, "get_time", False).to_wire()) == ToolChoice(
        ToolChoiceMode.NAMED, "get_time", False)
    with pytest.raises(InvalidRequestError):
        ToolChoice.from_wire({"mode": "sometimes"})
