"""Sampling settings for one answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class SamplingParams:
    """How the next token is chosen, and when to stop.

    The defaults are Meta's recommendation for Llama 4 (temperature 0.6, top_p 0.9, min_p 0.01).

    Attributes:
        max_tokens: the most tokens in the answer (None: until the model ends its turn or the context is full).
        temperature: 0 picks the most likely token every time.
        seed: None for a different answer each time.
        stop: extra strings that end the answer (the model's end-of-turn tokens always do).
    """

    max_tokens: int | None = 1024
    temperature: float = 0.6
    top_p: float = 0.9
    top_k: int = 40
    min_p: float = 0.01
    repeat_penalty: float = 1.0
    repeat_last_n: int = 64
    seed: int | None = None
    stop: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SamplingParams:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["stop"] = tuple(values.get("stop", ()))
        return cls(**values)

    def with_changes(self, **changes: Any) -> SamplingParams:
        return replace(self, **changes)


# The answer's room when no longest answer is asked for.
DEFAULT_ANSWER_RESERVE = 512


def answer_reserve(n_ctx: int, max_tokens: int | None) -> int:
    """Context positions the engine keeps free for the answer: ``max_tokens`` (512 when None), at most a quarter of
    the context. Budgets made outside the engine use the same rule, so they agree with what it trims to."""
    return min(max_tokens or DEFAULT_ANSWER_RESERVE, n_ctx // 4)
