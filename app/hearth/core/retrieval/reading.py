"""How much of the attached documents to send with a question: by time as well as by space.

Filling the context "because it fits" makes a small computer read for a minute before the first word, and a small
model lose the question in the middle of its own prompt. So the passages sent are also limited to what this machine
reads in about ``READ_SECONDS`` at its prompt speed, and never to more than half the context, unless the user pins a
document whole. Passages that match far worse than the best one are left out too (``MIN_RELATIVE_SCORE``).

"Read more of the document" asks again with ``more`` raised: each step doubles the time allowed and lets weaker
matches in, and never allows less than half the context, then the whole context, and so on (the space left is the
last limit), so asking for more always sends at least as much as before.
"""

from __future__ import annotations

from dataclasses import dataclass

READ_SECONDS = 10.0
# At least this much is always allowed (a page or two), however slow the machine.
MIN_READ_TOKENS = 768
# A passage whose match score is less than this fraction of the best one's is not worth the reading time.
MIN_RELATIVE_SCORE = 0.5
# Prompt reading is compute-bound and runs several times faster than writing; without a measurement, this many
# times the expected writing speed is a cautious guess (a 135M model on two busy cores read 4x faster than it wrote;
# larger models and GPUs read 10x faster and more).
READ_TO_WRITE_RATIO = 4.0


@dataclass(frozen=True)
class ReadingBudget:
    """The limits for the passages of one question.

    Attributes:
        tokens: the most the attachments' part may take (None: only the space left limits it).
        min_relative_score: passages matching worse than this fraction of the best match are left out.
        reason: what set the limit, in words ("about 10 s of reading at 310 tokens/s", "half the context").
        more: how many times the user asked to read more for this question.
    """

    tokens: int | None
    min_relative_score: float
    reason: str
    more: int = 0


def reading_budget(n_ctx: int, prompt_tokens_per_s: float | None, *, more: int = 0) -> ReadingBudget:
    """The limits for this machine and model.

    Args:
        n_ctx: the model's context size as loaded.
        prompt_tokens_per_s: measured prompt speed (``hearth bench``, or the answers so far), or an estimate;
            None when nothing is known (then only the half-context ceiling applies).
        more: how many times the user asked to read more of the document for this question.
    """
    half = n_ctx // 2
    seconds = READ_SECONDS * (2 ** more)
    by_time = None
    if prompt_tokens_per_s and prompt_tokens_per_s > 0:
        by_time = max(MIN_READ_TOKENS, int(prompt_tokens_per_s * seconds))
    relative = MIN_RELATIVE_SCORE / (2 ** more) if more < 3 else 0.0
    if more > 0:
        # Never less than the first ask could take (half the context), then twice that, and so on.
        floor = half * 2 ** (more - 1)
        if by_time is None or by_time <= floor:
            return ReadingBudget(floor, relative, f"{floor:,} tokens of the document", more)
        return ReadingBudget(by_time, relative, _seconds_words(seconds, prompt_tokens_per_s), more)
    if by_time is not None and by_time < half:
        return ReadingBudget(by_time, relative, _seconds_words(seconds, prompt_tokens_per_s))
    return ReadingBudget(half, relative, "half the context")


def _seconds_words(seconds: float, tokens_per_s: float | None) -> str:
    return f"about {seconds:.0f} s of reading at {tokens_per_s or 0:,.0f} tokens/s"


def estimated_prompt_speed(*, measured: float | None = None, bench: float | None = None,
                           expected_writing: float | None = None) -> float | None:
    """The prompt speed to plan with: ``hearth bench``'s for this model, else what this machine's answers showed
    (from prompts long enough to be representative), else a guess from the planner's expected writing speed."""
    for value in (bench, measured):
        if value and value > 0:
            return value
    if expected_writing and expected_writing > 0:
        return expected_writing * READ_TO_WRITE_RATIO
    return None
