"""Token budgets: how many tokens the attachments may take, and a cheap way to count them.

The exact count comes from the model's tokenizer, which lives in the engine's child process. Anything that can
count is accepted (``TokenCounter``); ``estimate_tokens`` is the stand-in when no tokenizer is at hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable

TokenCounter = Callable[[str], int]

# English prose and code run at 3.5-4.5 characters per token in current vocabularies; 3.5 errs on the safe side.
CHARS_PER_TOKEN = 3.5


def estimate_tokens(text: str) -> int:
    """A cautious token count without a tokenizer: ASCII at 3.5 characters a token, other characters one each.

    Scripts such as Chinese or Japanese take about a token per character, so counting them like English would
    overflow the context.
    """
    if text.isascii():
        return math.ceil(len(text) / CHARS_PER_TOKEN)
    ascii_chars = len(text.encode("ascii", "ignore"))
    return math.ceil(ascii_chars / CHARS_PER_TOKEN) + (len(text) - ascii_chars)


def attachment_budget(
    context_tokens: int,
    *,
    answer_tokens: int,
    other_tokens: int = 0,
    margin: float = 0.05,
) -> int:
    """Tokens left for the attachments' part of the prompt.

    Args:
        context_tokens: the model's context size as loaded.
        answer_tokens: room kept for the answer.
        other_tokens: what else the prompt holds (system prompt, earlier turns, chat template).
        margin: fraction of the context kept free for counting errors (use more with ``estimate_tokens``).
    """
    usable = context_tokens - answer_tokens - other_tokens - math.ceil(context_tokens * margin)
    return max(0, usable)
