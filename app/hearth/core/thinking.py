"""A reasoning model's thinking, told apart from its answer.

Reasoning models write their thoughts before the answer between markers: ``<think>…</think>`` (DeepSeek R1,
Qwen3, QwQ), ``<thinking>…</thinking>``, ``[THINK]…[/THINK]`` (Magistral) or ``<|begin_of_thought|>…
<|end_of_thought|>``. Some chat templates open the block in the prompt, so the answer starts inside it and only the
closing marker appears. The window shows the thoughts as a collapsed block, and they are never sent back to the model
as history, nor used for titles and search snippets, and only optionally exported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (opening, closing) markers, in the order they are tried.
MARKERS: tuple[tuple[str, str], ...] = (
    ("<think>", "</think>"),
    ("<thinking>", "</thinking>"),
    ("[THINK]", "[/THINK]"),
    ("<|begin_of_thought|>", "<|end_of_thought|>"),
)


@dataclass(frozen=True)
class Thoughts:
    """An answer split into its thinking and the rest.

    Attributes:
        thinking: the reasoning text (without markers), "" when there is none.
        answer: what the model says to the user.
        open: the thinking has begun but not ended yet (the model is still thinking).
    """

    thinking: str
    answer: str
    open: bool = False

    @property
    def has_thinking(self) -> bool:
        return bool(self.thinking.strip()) or self.open


def split_thinking(text: str) -> Thoughts:
    """Tell the thinking at the start of ``text`` from the answer after it.

    Only a block at the start counts (after white space); markers later in an answer are the answer's own text (a
    model explaining the markers, code). While the text is only the beginning of an opening marker, nothing is
    answer yet, so a streaming view never shows a half marker.
    """
    stripped = text.lstrip()
    for opening, closing in MARKERS:
        if stripped.startswith(opening):
            body = stripped[len(opening):]
            end = body.find(closing)
            if end < 0:
                return Thoughts(body.strip(), "", open=True)
            return Thoughts(body[:end].strip(), body[end + len(closing):].lstrip())
        if stripped and opening.startswith(stripped):
            return Thoughts("", "", open=False)
    # The template opened the block in the prompt: a closing marker with no opening one before it.
    for opening, closing in MARKERS:
        end = text.find(closing)
        if end >= 0 and opening not in text[:end]:
            return Thoughts(text[:end].strip(), text[end + len(closing):].lstrip())
    return Thoughts("", text)


def strip_thinking(text: str) -> str:
    """The answer without its thinking (what goes back to the model, into titles, snippets and copies)."""
    return split_thinking(text).answer


_BLOCKS = re.compile("|".join(re.escape(o) + r".*?" + re.escape(c) for o, c in MARKERS), re.S)


def without_thinking_blocks(text: str) -> str:
    """``text`` with every complete thinking block removed, wherever it is (for search snippets of long texts)."""
    return _BLOCKS.sub("", strip_thinking(text)).strip()
