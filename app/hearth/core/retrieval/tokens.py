"""Counting tokens: the exact count comes from the model's tokenizer, which lives in the engine's child process.
Anything that can count is accepted (``TokenCounter``); ``estimate_tokens`` is the stand-in when no tokenizer is at
hand. How many tokens the attachments may take is ``hearth.core.chat.budget``'s to say.
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

