"""Turning a conversation into the prompt text a model expects.

A GGUF usually carries its chat template (Jinja, ``tokenizer.chat_template``). Templates come from the internet, so
they render in Jinja's immutable sandbox with bounded output and time. When a GGUF has none (base models such as the
gemma 270M starter), a fallback is chosen by architecture and the choice is reported.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from hearth.core.engine.tools import PROBE_TOOL
from hearth.core.errors import TemplateError

MAX_RENDERED_CHARS = 8_000_000
MAX_RENDER_SECONDS = 5.0

Message = dict[str, Any]


@dataclass(frozen=True)
class ChatTemplate:
    """A chat template and where it came from.

    Attributes:
        source: jinja text.
        origin: "gguf" when the model file supplied it, else "fallback:<name>".
        stop: strings that end an assistant turn for templates whose end marker is not a special token.
    """

    source: str
    origin: str
    stop: tuple[str, ...] = ()

    def render(
        self,
        messages: Sequence[Message],
        *,
        bos_token: str = "",
        eos_token: str = "",
        add_generation_prompt: bool = True,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> str:
        return render_template(
            self.source,
            messages,
            bos_token=bos_token,
            eos_token=eos_token,
            add_generation_prompt=add_generation_prompt,
            tools=tools,
        )

    def supports_tools(self) -> bool:
        """Whether the template writes the tools it is given into the prompt (Llama 4's, Qwen's, Hermes' do)."""
        if "tools" not in self.source:
            return False
        probe = {"type": "function", "function": {"name": PROBE_TOOL, "description": "", "parameters": {
            "type": "object", "properties": {}}}}
        try:
            text = self.render([{"role": "user", "content": "hi"}], tools=[probe])
        except TemplateError:
            return False
        return PROBE_TOOL in text


_GEMMA = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set first_user_prefix = '' -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
    "{{ (message['content'] | trim) + '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)

_LLAMA4 = (
    "{{ bos_token }}"
    "{%- for message in messages -%}"
    "{{ '<|header_start|>' + message['role'] + '<|header_end|>\n\n' + (message['content'] | trim) + '<|eot|>' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|header_start|>assistant<|header_end|>\n\n' }}{%- endif -%}"
)

_LLAMA3 = (
    "{{ bos_token }}"
    "{%- for message in messages -%}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + (message['content'] | trim) }}"
    "{{ '<|eot_id|>' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif -%}"
)

_CHATML = (
    "{%- for message in messages -%}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\n' }}{%- endif -%}"
)

# For models with no template and no known chat markers: a plain transcript, stopped at the next "User:" line.
_PLAIN = (
    "{{ bos_token }}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{{ (message['content'] | trim) + '\n\n' }}"
    "{%- elif message['role'] == 'user' -%}{{ 'User: ' + (message['content'] | trim) + '\n' }}"
    "{%- else -%}{{ 'Assistant: ' + (message['content'] | trim) + '\n' }}{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ 'Assistant:' }}{%- endif -%}"
)

# (architecture prefixes, name, template, marker token that must exist in the vocabulary, extra stop strings)
_FALLBACKS: tuple[tuple[tuple[str, ...], str, str, str, tuple[str, ...]], ...] = (
    (("gemma",), "gemma", _GEMMA, "<start_of_turn>", ("<end_of_turn>",)),
    (("llama4",), "llama4", _LLAMA4, "<|header_start|>", ("<|eot|>",)),
    (("llama",), "llama3", _LLAMA3, "<|start_header_id|>", ("<|eot_id|>",)),
    (("qwen", "olmoe", "phi", "mistral", ""), "chatml", _CHATML, "<|im_start|>", ("<|im_end|>",)),
)


def fallback_template(architecture: str, has_token: Callable[[str], bool]) -> ChatTemplate:
    """Pick a template for a GGUF that carries none.

    Args:
        architecture: ``general.architecture`` of the model.
        has_token: tells whether a marker string is one token of the model's vocabulary.
    """
    arch = architecture.lower()
    for prefixes, name, source, marker, stop in _FALLBACKS:
        if any(arch.startswith(p) for p in prefixes) and has_token(marker):
            return ChatTemplate(source, f"fallback:{name}", stop)
    # No chat markers in the vocabulary: try the known ones anyway, by vocabulary alone.
    for _prefixes, name, source, marker, stop in _FALLBACKS:
        if has_token(marker):
            return ChatTemplate(source, f"fallback:{name}", stop)
    return ChatTemplate(_PLAIN, "fallback:plain", ("\nUser:",))


class _OutputTooLarge(Exception):
    pass


def _raise_exception(message: str) -> None:
    raise TemplateError(f"The chat template refused the conversation: {message}")


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(str(fmt))


def _tojson(value: Any, indent: int | None = None, ensure_ascii: bool = False, sort_keys: bool = False) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=ensure_ascii, sort_keys=sort_keys)


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    env.filters["tojson"] = _tojson
    return env


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt a runaway template on the main thread (SIGALRM); elsewhere only output is bounded."""
    usable = (
        hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(_signum: int, _frame: object) -> None:
        raise TemplateError(f"The chat template took longer than {seconds:g} s to render and was stopped.")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def render_template(
    source: str,
    messages: Sequence[Message],
    *,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
    max_chars: int = MAX_RENDERED_CHARS,
    max_seconds: float = MAX_RENDER_SECONDS,
    tools: Sequence[dict[str, Any]] | None = None,
) -> str:
    """Render a chat template in the sandbox.

    Raises:
        TemplateError: the template is invalid, refused the conversation, touched something unsafe, wrote more
            than ``max_chars`` or ran longer than ``max_seconds``.
    """
    started = time.monotonic()
    try:
        with _time_limit(max_seconds):
            template = _environment().from_string(source)
            parts: list[str] = []
            size = 0
            stream = template.generate(
                messages=[dict(m) for m in messages],
                bos_token=bos_token,
                eos_token=eos_token,
                add_generation_prompt=add_generation_prompt,
                tools=list(tools) if tools else None,
            )
            for chunk in stream:
                size += len(chunk)
                if size > max_chars:
                    raise _OutputTooLarge
                if time.monotonic() - started > max_seconds:
                    raise TemplateError(
                        f"The chat template took longer than {max_seconds:g} s to render and was stopped."
                    )
                parts.append(chunk)
    except TemplateError:
        raise
    except _OutputTooLarge:
        raise TemplateError(
            f"The chat template produced more than {max_chars:,} characters and was stopped."
        ) from None
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateError(
            "The model's chat template tried to do something unsafe and was blocked.", details=str(exc)
        ) from exc
    except jinja2.TemplateError as exc:
        raise TemplateError("The model's chat template is broken.", details=str(exc)) from exc
    except RecursionError as exc:
        raise TemplateError("The model's chat template recursed too deeply.", details=str(exc)) from exc
    except Exception as exc:  # a template is arbitrary code in a sandbox; any failure is the template's
        raise TemplateError("The model's chat template failed.", details=f"{type(exc).__name__}: {exc}") from exc
    return "".join(parts)
