"""The attachment token budget, in one place: how many tokens the message that carries the attachments may take.

The window (``hearth.core.chat.prompt``) and ``hearth chat --attach`` (``hearth.cli.attachments``) both ask
``question_with_documents``, which asks ``attachment_budget``, so one question about one document gets the same
passages in both. That is the space the passages may take; how long this machine may spend reading them (about
10 s, at most half the context: ``hearth.core.retrieval.reading``) limits them further, passed in as ``reading``.

The budget is the model's context less what else the prompt holds: the answer's room (what the engine keeps for it,
``answer_reserve``), the chat template's markers, every earlier message (the system prompt included) with its
pictures, and the pictures sent with this question. The engine's tokenizer lives in its child process, so the
messages are counted with ``estimate_tokens`` and a margin is kept for its errors; the engine still trims or refuses
a prompt that does not fit, so an estimate that is off costs a clear error, never a wrong answer.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from hearth.core.documents import ExtractedDocument
from hearth.core.engine.media import IMAGE_TOKENS_ESTIMATE
from hearth.core.engine.sampling import answer_reserve
from hearth.core.retrieval import (
    ReadingBudget,
    RetrievalResult,
    TokenCounter,
    build_prompt,
    estimate_tokens,
    select_context,
)

# Tokens a chat template adds around the messages (BOS, the assistant's opening); generous for every template we know.
TEMPLATE_OVERHEAD_TOKENS = 64
# Tokens a template adds around each message (role markers, end of turn).
MESSAGE_OVERHEAD_TOKENS = 8
# The share of the context kept free for the estimate's errors.
ESTIMATE_MARGIN = 0.10


def other_tokens(before: Sequence[Mapping[str, Any]], *, pictures: int = 0,
                 count_tokens: TokenCounter = estimate_tokens) -> int:
    """Tokens the prompt takes besides the message with the attachments (its answer's room not included).

    Args:
        before: the messages the engine gets before it, as the engine gets them (``role``, ``content`` and
            optionally ``images``); the system prompt included.
        pictures: the pictures sent with the message itself.
        count_tokens: the counter for the messages' text.
    """
    total = TEMPLATE_OVERHEAD_TOKENS + IMAGE_TOKENS_ESTIMATE * pictures
    for message in before:
        total += count_tokens(str(message.get("content") or "")) + MESSAGE_OVERHEAD_TOKENS
        total += IMAGE_TOKENS_ESTIMATE * len(message.get("images") or ())
    return total


def attachment_budget(
    n_ctx: int,
    *,
    max_tokens: int | None,
    before: Sequence[Mapping[str, Any]] = (),
    pictures: int = 0,
    count_tokens: TokenCounter = estimate_tokens,
    margin: float = ESTIMATE_MARGIN,
) -> int:
    """Tokens the user message carrying the attachments (their passages and the question) may take.

    Args:
        n_ctx: the model's context size as loaded.
        max_tokens: the longest answer asked for (None: the engine's default); the engine keeps
            ``answer_reserve(n_ctx, max_tokens)`` for it.
        before: the messages before this one, as the engine gets them (see ``other_tokens``).
        pictures: the pictures sent with this message.
        count_tokens: the counter for the messages' text (the estimate unless a tokenizer is at hand).
        margin: the share of the context kept free for counting errors.

    Returns:
        The budget in tokens (0 when nothing fits).
    """
    used = answer_reserve(n_ctx, max_tokens) + other_tokens(before, pictures=pictures, count_tokens=count_tokens)
    return max(0, n_ctx - used - math.ceil(n_ctx * margin))


def question_with_documents(
    question: str,
    documents: Sequence[ExtractedDocument],
    *,
    n_ctx: int,
    max_tokens: int | None,
    before: Sequence[Mapping[str, Any]] = (),
    pictures: int = 0,
    pinned: Collection[str] = (),
    reading: ReadingBudget | None = None,
) -> tuple[str, RetrievalResult | None]:
    """The user message to send: the question with the passages of ``documents`` that fit, or the question alone.

    Args:
        question: what the user asked.
        documents: the attached documents (every one in the conversation's branch).
        n_ctx, max_tokens, before, pictures: the budget's inputs (see ``attachment_budget``).
        pinned: sha256 of the documents to send whole when they fit.
        reading: how much this machine may read for the question (None: only the space limits the passages).

    Returns:
        (the message text, what was chosen; None without documents).
    """
    if not documents:
        return question, None
    budget = attachment_budget(n_ctx, max_tokens=max_tokens, before=before, pictures=pictures)
    result = select_context(question, list(documents), budget, pinned=tuple(pinned), reading=reading)
    return build_prompt(result), result
