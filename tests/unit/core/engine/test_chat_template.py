"""Chat templates: fallbacks by architecture, and hostile templates contained by the sandbox."""

from __future__ import annotations

import pytest

from hearth.core.engine.chat_template import ChatTemplate, fallback_template, render_template
from hearth.core.errors import TemplateError

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "Bye"},
]


def test_gemma_fallback_folds_the_system_prompt_into_the_first_turn() -> None:
    template = fallback_template("gemma3", lambda token: token == "<start_of_turn>")
    assert template.origin == "fallback:gemma"
    text = template.render(CONVERSATION, bos_token="<bos>")
    assert text == (
        "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"
    )


def test_llama4_fallback() -> None:
    template = fallback_template("llama4", lambda token: token == "<|header_start|>")
    text = template.render(CONVERSATION[1:2], bos_token="<|begin_of_text|>")
    assert text == (
        "<|begin_of_text|><|header_start|>user<|header_end|>\n\nHi<|eot|>"
        "<|header_start|>assistant<|header_end|>\n\n"
    )


def test_unknown_architecture_with_chatml_tokens() -> None:
    assert fallback_template("qwen3moe", lambda t: t == "<|im_start|>").origin == "fallback:chatml"
    assert fallback_template("mystery", lambda t: t == "<|im_start|>").origin == "fallback:chatml"


def test_no_known_markers_gives_a_plain_transcript_that_stops_at_the_next_user_line() -> None:
    template = fallback_template("mystery", lambda _t: False)
    assert template.origin == "fallback:plain"
    assert "\nUser:" in template.stop
    assert template.render(CONVERSATION[1:2]).endswith("User: Hi\nAssistant:")


def test_template_may_refuse_a_conversation_in_words() -> None:
    source = "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first must be user') }}{% endif %}ok"
    with pytest.raises(TemplateError, match="first must be user"):
        render_template(source, CONVERSATION)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ messages.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{% set x = messages.append({'role': 'user'}) %}",
    ],
)
def test_hostile_templates_are_blocked(source: str) -> None:
    with pytest.raises(TemplateError):
        render_template(source, CONVERSATION)


def test_output_size_is_bounded() -> None:
    source = "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"
    with pytest.raises(TemplateError, match="more than"):
        render_template(source, CONVERSATION, max_chars=1_000_000)


def test_running_time_is_bounded() -> None:
    source = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(TemplateError, match="longer than"):
        render_template(source, CONVERSATION, max_seconds=0.5)


def test_broken_template_syntax() -> None:
    with pytest.raises(TemplateError, match="broken"):
        ChatTemplate("{% for %}", "gguf").render(CONVERSATION)


def test_tojson_and_strftime_now_are_available() -> None:
    text = render_template("{{ messages[1] | tojson }} {{ strftime_now('%Y') | length }}", CONVERSATION)
    assert text == '{"role": "user", "content": "Hi"} 4'
