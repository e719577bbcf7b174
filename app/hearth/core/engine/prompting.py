"""From a conversation to the prompt the model reads: its chat template, BOS handling, and trimming to the context.

When the conversation does not fit, the oldest turns are dropped (never the system prompt or the newest message) so
that there is room left for the answer; a newest message that cannot fit at all is a ``ContextOverflowError``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence, Sized
from typing import TYPE_CHECKING, Any, TypeVar

from hearth.core.engine.chat_template import ChatTemplate, Message, fallback_template
from hearth.core.engine.media import with_markers
from hearth.core.engine.runtime import ModelRuntime
from hearth.core.engine.sampling import SamplingParams, answer_reserve
from hearth.core.engine.tools import (
    ToolFormat,
    ToolSpec,
    detect_tool_format,
    plain_tool_messages,
    template_tool_messages,
    tools_to_wire,
)
from hearth.core.errors import ContextOverflowError

if TYPE_CHECKING:
    from hearth.core.engine.vision import ImagePrompt, VisionProjector

_Prompt = TypeVar("_Prompt", bound=Sized)


def choose_template(runtime: ModelRuntime) -> ChatTemplate:
    """The model's own template, or a fallback by architecture (and say so in the log)."""
    source = runtime.chat_template()
    if source and source.strip():
        return ChatTemplate(source, "gguf")
    arch = runtime.meta("general.architecture") or ""
    chosen = fallback_template(arch, runtime.is_single_token)
    sys.stderr.write(f"hearth: the model has no chat template; using {chosen.origin} for '{arch}'\n")
    return chosen


class PromptBuilder:
    """Renders and tokenizes conversations for one loaded model.

    Attributes:
        tools_in_template: the template writes tools itself; else they are described in the system message.
        tool_format: how this model writes its calls (see ``hearth.core.engine.tools``).
    """

    def __init__(self, runtime: ModelRuntime, template: ChatTemplate) -> None:
        self.runtime = runtime
        self.template = template
        self.trimmed_messages = 0  # how many of the oldest messages the last ``fit`` left out
        self.tools_in_template = template.supports_tools()
        self.tool_format = detect_tool_format(template.source) if self.tools_in_template else ToolFormat.HERMES

    def with_tools(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> tuple[list[Message], list[Any]]:
        """The messages and the ``tools`` variable to render: tool traffic in the shape this template can show."""
        has_traffic = any(m.get("tool_calls") or m.get("role") == "tool" for m in messages)
        if not tools and not has_traffic:
            return list(messages), []
        if self.tools_in_template:
            return template_tool_messages(messages), tools_to_wire(tools)
        return plain_tool_messages(messages, tools), []

    def render(self, messages: Sequence[Message], continue_last: bool, tools: Sequence[ToolSpec] = ()) -> str:
        rt = self.runtime
        bos, eos = rt.token_text(rt.bos_id), rt.token_text(rt.eos_id)
        messages, wire_tools = self.with_tools(messages, tools)
        if continue_last and messages and messages[-1].get("role") == "assistant":
            head = self.template.render(messages[:-1], bos_token=bos, eos_token=eos, tools=wire_tools)
            return head + str(messages[-1].get("content", ""))
        return self.template.render(messages, bos_token=bos, eos_token=eos, tools=wire_tools)

    def adds_bos(self, text: str) -> bool:
        """Whether tokenizing adds BOS: when the vocabulary asks for it and the template did not write it."""
        rt = self.runtime
        bos_text = rt.token_text(rt.bos_id)
        return rt.add_bos and not (bos_text and text.startswith(bos_text))

    def tokens(self, text: str) -> list[int]:
        return self.runtime.tokenize(text, add_special=self.adds_bos(text), parse_special=True)

    def text_prompt(
        self, messages: list[Message], params: SamplingParams, continue_last: bool, tools: Sequence[ToolSpec] = ()
    ) -> tuple[list[int], int]:
        """Tokens of the prompt and how many old turns were dropped to make it fit."""
        return self.fit(messages, params, lambda kept: self.tokens(self.render(kept, continue_last, tools)),
                        tool_count=len(tools))

    def raw_prompt(self, messages: list[Message], params: SamplingParams) -> list[int]:
        """Tokens of the messages' text as is, without the template (a plain completion).

        Raises:
            ContextOverflowError: it does not fit with room for the answer.
        """
        text = "".join(str(m.get("content") or "") for m in messages)
        tokens = self.tokens(text)
        n_ctx = self.runtime.n_ctx
        reserve = min(params.max_tokens or 512, n_ctx // 4)
        if len(tokens) > n_ctx - reserve:
            raise ContextOverflowError(
                f"This prompt needs {len(tokens):,} tokens but the model's context holds {n_ctx:,} "
                f"(with room for a {reserve:,}-token answer).",
                hint="Shorten the prompt, or raise the context size in the model's settings.",
            )
        return tokens

    def image_prompt(
        self, messages: list[Message], params: SamplingParams, continue_last: bool, vision: VisionProjector,
        tools: Sequence[ToolSpec] = (),
    ) -> tuple[ImagePrompt, int]:
        """Text and pictures of the prompt (a marker in the text where each picture goes), trimmed like text."""

        def tokenize(kept: list[Message]) -> ImagePrompt:
            plain, images = with_markers(kept, vision.marker)
            text = self.render(plain, continue_last, tools)
            return vision.tokenize(text, images, add_special=self.adds_bos(text))

        return self.fit(messages, params, tokenize, release=lambda prompt: prompt.close(), tool_count=len(tools))

    def fit(
        self,
        messages: list[Message],
        params: SamplingParams,
        tokenize: Callable[[list[Message]], _Prompt],
        release: Callable[[_Prompt], None] | None = None,
        tool_count: int = 0,
    ) -> tuple[_Prompt, int]:
        """The prompt ``tokenize`` makes of the newest turns that fit with room for the answer (``tool_count``: how
        many tools' descriptions it holds, named in the error).

        Raises:
            ContextOverflowError: even the newest message alone does not fit.
        """
        n_ctx = self.runtime.n_ctx
        reserve = answer_reserve(n_ctx, params.max_tokens)
        budget = n_ctx - reserve
        system = messages[:1] if messages and messages[0].get("role") == "system" else []
        rest = messages[len(system):]
        trimmed = 0
        self.trimmed_messages = 0
        while True:
            tokens = tokenize(system + rest)
            if len(tokens) <= budget:
                self.trimmed_messages = len(messages) - len(system) - len(rest)
                return tokens, trimmed
            if release is not None:
                release(tokens)
            # Drop the oldest user turn and the replies that followed it; never the newest message.
            cut = 1
            while cut < len(rest) and rest[cut].get("role") != "user":
                cut += 1
            if cut >= len(rest):
                # Said for the window, the terminal and the local API alike: each chooses the tools it offers.
                tools = (f" The descriptions of the {tool_count} tools offered with it take part of that: fewer tools "
                         "make room." if tool_count else "")
                raise ContextOverflowError(
                    f"This message needs {len(tokens):,} tokens but the model's context holds {n_ctx:,} "
                    f"(with room for a {reserve:,}-token answer).{tools}",
                    hint="Shorten the message or attachment, or raise the context size in the model's settings.",
                )
            rest = rest[cut:]
            trimmed += 1
