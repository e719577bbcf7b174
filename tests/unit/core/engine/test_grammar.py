"""From a JSON schema or a tool choice to a grammar, and answers sampled under it.

The real-engine tests use the tiny Llama 4, whose weights are random: whatever it would write, the grammar must
make the answer valid. That is the guarantee the local API's ``response_format`` and forced tool calls rest on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hearth.core.engine import EngineClient, Finished, TokenDelta
from hearth.core.engine.grammar import answer_grammar, json_object_grammar, schema_grammar, tool_call_grammar
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.tool_parser import parse_tool_calls
from hearth.core.engine.tools import ToolChoice, ToolChoiceMode, ToolFormat, ToolSpec
from hearth.core.errors import InvalidRequestError
from tests.fixtures.chat_templates import LLAMA4_TOOLS

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer"},
        "mood": {"enum": ["happy", "sad", "calm"]},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 6}, "maxItems": 3},
        "address": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 10}},
                    "required": ["city"]},
    },
    "required": ["name", "age", "mood", "tags", "address"],
}
WEATHER = ToolSpec("get_weather", "Weather for a city", {
    "type": "object", "properties": {"city": {"type": "string", "maxLength": 12}}, "required": ["city"]})
CLOCK = ToolSpec("get_time", "The time", {"type": "object", "properties": {"zone": {"enum": ["UTC", "CET"]}},
                                          "required": ["zone"]})


def test_json_strings_exclude_raw_control_characters() -> None:
    grammar = schema_grammar({"type": "object", "properties": {"a": {"type": "string"}}})
    char = next(line for line in grammar.splitlines() if line.startswith("char ::="))
    assert r"\x00-\x1F" in char
    assert "root ::=" in json_object_grammar()


@pytest.mark.parametrize("schema", [
    "not a schema",
    {"type": "object", "properties": {"a": {"$ref": "https://example.com/remote.json"}}},
    {"type": "object", "properties": {"a": {"type": "string", "pattern": "(unclosed"}}},
])
def test_schemas_the_converter_cannot_use_are_bad_requests(schema: Any) -> None:
    with pytest.raises(InvalidRequestError):
        schema_grammar(schema)


def test_tool_choices_become_grammars_in_the_models_format() -> None:
    named = ToolChoice(ToolChoiceMode.NAMED, "get_time")
    hermes = tool_call_grammar([WEATHER, CLOCK], ToolFormat.HERMES, named)
    assert r'"<tool_call>\n" call "\n</tool_call>"' in hermes and "get_weather" not in hermes
    llama = tool_call_grammar([WEATHER, CLOCK], ToolFormat.LLAMA_JSON, ToolChoice(ToolChoiceMode.REQUIRED))
    assert "parameters" in llama and "get_weather" in llama and "get_time" in llama
    with pytest.raises(InvalidRequestError):
        tool_call_grammar([WEATHER], ToolFormat.HERMES, ToolChoice(ToolChoiceMode.NAMED, "nope"))
    # a forced call wins over a response format; "auto" leaves the answer free
    params = SamplingParams(json_schema=json.dumps(PERSON))
    assert answer_grammar(params, [WEATHER], named.__class__(ToolChoiceMode.REQUIRED), ToolFormat.HERMES) != \
        answer_grammar(params, [], ToolChoice(), ToolFormat.HERMES)
    assert answer_grammar(SamplingParams(), [WEATHER], ToolChoice(), ToolFormat.HERMES) is None


def _answer(client: EngineClient, params: SamplingParams, **kwargs: Any) -> tuple[str, Finished]:
    text, done = [], None
    for event in client.chat([{"role": "user", "content": "hello"}], params, **kwargs):
        if isinstance(event, TokenDelta):
            text.append(event.text)
        elif isinstance(event, Finished):
            done = event
    assert done is not None
    return "".join(text), done


def _check_person(value: Any) -> None:
    assert set(value) == {"name", "age", "mood", "tags", "address"}
    assert isinstance(value["name"], str) and len(value["name"]) <= 12
    assert isinstance(value["age"], int)
    assert value["mood"] in ("happy", "sad", "calm")
    assert isinstance(value["tags"], list) and len(value["tags"]) <= 3
    assert all(isinstance(tag, str) and len(tag) <= 6 for tag in value["tags"])
    assert isinstance(value["address"]["city"], str)


def test_random_weights_under_a_schema_still_write_valid_json(tiny_llama4: Path) -> None:
    with EngineClient() as client:
        client.load(LoadPlan(str(tiny_llama4), n_ctx=1024, n_threads=2))
        for seed in range(4):
            params = SamplingParams(temperature=1.0, seed=seed, max_tokens=400, json_schema=json.dumps(PERSON))
            text, done = _answer(client, params)
            assert done.stats.stop_reason == "eos", text
            _check_person(json.loads(text))
        # a bad schema is refused before any work, in words, and the engine answers the next request
        with pytest.raises(InvalidRequestError, match="could not be used"):
            _answer(client, SamplingParams(json_schema=json.dumps({"type": "object", "properties": {
                "a": {"$ref": "https://example.com/x.json"}}})))
        text, done = _answer(client, SamplingParams(temperature=0.0, max_tokens=5))
        assert done.stats.tokens == 5


def test_a_forced_call_from_a_llama4_template_parses(tmp_path: Path) -> None:
    from tests.fixtures.tiny_llama4 import write_tiny_llama4

    model = write_tiny_llama4(tmp_path / "tiny-llama4-tools.gguf", chat_template=LLAMA4_TOOLS)[0]
    with EngineClient() as client:
        info = client.load(LoadPlan(str(model), n_ctx=4096, n_threads=2))
        assert info.tools_in_template and info.tool_format == ToolFormat.LLAMA_JSON.value
        for choice in (ToolChoice(ToolChoiceMode.NAMED, "get_time"), ToolChoice(ToolChoiceMode.REQUIRED)):
            params = SamplingParams(temperature=1.0, seed=3, max_tokens=300)
            text, done = _answer(client, params, tools=[WEATHER, CLOCK], tool_choice=choice)
            assert done.stats.stop_reason == "eos", text
            parsed = parse_tool_calls(text, ToolFormat(info.tool_format), {"get_weather", "get_time"})
            assert parsed.tool_calls, text
            if choice.mode is ToolChoiceMode.NAMED:
                assert [c.name for c in parsed.tool_calls] == ["get_time"]
                assert json.loads(parsed.tool_calls[0].arguments)["zone"] in ("UTC", "CET")
