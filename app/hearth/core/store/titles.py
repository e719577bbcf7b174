"""Conversation titles: one made from the first message at once, and (opt-in) a short one written by the model.

The model-written title is requested by the GUI through the engine like any answer (``title_messages`` builds the
request); ``clean_model_title`` turns the model's reply into a title, and ``Conversations.set_model_title`` stores
it unless the user has typed a title of their own.
"""

from __future__ import annotations

import re

from hearth.core.thinking import strip_thinking, without_thinking_blocks

AUTO_TITLE_CHARS = 60
MAX_TITLE_CHARS = 100

_FENCE = re.compile(r"^\s*(```|~~~)")
_MARKUP = re.compile(r"^\s*(#{1,6}\s+|[-*+>]\s+|\d+[.)]\s+)+")
_SPACE = re.compile(r"\s+")
_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_LABEL = re.compile(r"^\s*(title|conversation title)\s*[:\-–]\s*", re.IGNORECASE)
_QUOTES = "\"'“”‘’«»`*_"

TITLE_INSTRUCTION = (
    "Write a short title (at most six words) for the conversation below. "
    "Reply with the title only: no quotes, no punctuation at the end."
)


def auto_title(text: str, *, max_chars: int = AUTO_TITLE_CHARS) -> str:
    """A title from the first user message: its first line of prose, trimmed at a word boundary.

    Code fences and Markdown markers (headings, bullets, quotes) are skipped; "" when nothing is left.
    """
    in_code = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            continue
        line = _SPACE.sub(" ", _MARKUP.sub("", line)).strip()
        if line:
            return shorten(line, max_chars)
    return ""


def shorten(text: str, max_chars: int) -> str:
    """Cut ``text`` to at most ``max_chars`` characters at a word boundary, marking the cut with "…"."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    if space >= max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–") + "…"


def clean_title(text: str, *, max_chars: int = MAX_TITLE_CHARS) -> str:
    """Any title made fit for the list: one line, no runs of spaces, not too long."""
    return shorten(text, max_chars)


def clean_model_title(reply: str, *, max_chars: int = AUTO_TITLE_CHARS) -> str:
    """A model's reply to ``title_messages`` as a title: no reasoning, label, quotes or final full stop.

    Returns "" when nothing usable is left (the automatic title is then kept).
    """
    reply = without_thinking_blocks(_THINK.sub("", reply))
    for line in reply.splitlines():
        line = _LABEL.sub("", line).strip().strip(_QUOTES).strip()
        line = line.rstrip(".").strip()
        if line:
            return shorten(line, max_chars)
    return ""


def title_messages(user_text: str, answer_text: str, *, excerpt_chars: int = 1500) -> list[dict[str, str]]:
    """The chat messages that ask a model for a title of a conversation that starts with these two messages."""
    excerpt = (
        f"User: {shorten(user_text, excerpt_chars)}\n\n"
        f"Assistant: {shorten(strip_thinking(answer_text), excerpt_chars)}"
    )
    return [{"role": "user", "content": f"{TITLE_INSTRUCTION}\n\n{excerpt}"}]
