"""Sampling settings for one answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class SamplingParams:
    """How the next token is chosen, and when to stop.

    The defaults are Meta's recommendation for Llama 4 (temperature 0.6, top_p 0.9, min_p 0.01), with the
    repetition guard on. A model's own recommendation (``hearth.core.models.library.recommended``) replaces them.

    Attributes:
        max_tokens: the most tokens in the answer (None: until the model ends its turn or the context is full).
        temperature: 0 picks the most likely token every time.
        repeat_penalty: llama.cpp's classic penalty on tokens seen in the last ``repeat_last_n`` (1.0: off).
        dry_multiplier: strength of llama.cpp's DRY sampler ("don't repeat yourself"), which penalises a token that
            would extend a sequence already seen (0: off). It cuts loops without the classic penalty's side effect
            of avoiding common words.
        dry_base, dry_allowed_length, dry_penalty_last_n: DRY's growth per repeated token, the repeat length it
            tolerates, and how far back it looks (-1: the whole context).
        loop_guard: end an answer that repeats the same line or passage (stop reason "repetition").
        seed: None for a different answer each time.
        stop: extra strings that end the answer (the model's end-of-turn tokens always do).
        frequency_penalty, presence_penalty: OpenAI's penalties on tokens already in the last ``repeat_last_n``.
        logit_bias: (token id, bias) pairs added to the logits; -100 bans a token, as in OpenAI's API.
        ignore_eos: keep writing past the model's end-of-turn until ``max_tokens`` (benchmarks, long tests).
        json_schema: a JSON schema (as JSON text) the answer must satisfy; the engine turns it into a grammar, so the
            answer always parses as JSON of that shape (unless ``max_tokens`` cuts it off).
        grammar: a GBNF grammar (llama.cpp's format) the answer must follow; ``json_schema`` wins when both are set.
    """

    max_tokens: int | None = 1024
    temperature: float = 0.6
    top_p: float = 0.9
    top_k: int = 40
    min_p: float = 0.01
    repeat_penalty: float = 1.0
    repeat_last_n: int = 64
    dry_multiplier: float = 0.8
    dry_base: float = 1.75
    dry_allowed_length: int = 2
    dry_penalty_last_n: int = -1
    loop_guard: bool = True
    seed: int | None = None
    stop: tuple[str, ...] = ()
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    logit_bias: tuple[tuple[int, float], ...] = ()
    ignore_eos: bool = False
    json_schema: str = ""
    grammar: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop)
        data["logit_bias"] = [[token, bias] for token, bias in self.logit_bias]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SamplingParams:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["stop"] = tuple(values.get("stop", ()))
        values["logit_bias"] = tuple((int(token), float(bias)) for token, bias in values.get("logit_bias", ()))
        return cls(**values)

    def with_changes(self, **changes: Any) -> SamplingParams:
        return replace(self, **changes)


# The answer's room when no longest answer is asked for.
DEFAULT_ANSWER_RESERVE = 512


def answer_reserve(n_ctx: int, max_tokens: int | None) -> int:
    """Context positions the engine keeps free for the answer: ``max_tokens`` (512 when None), at most a quarter of
    the context. Budgets made outside the engine use the same rule, so they agree with what it trims to."""
    return min(max_tokens or DEFAULT_ANSWER_RESERVE, n_ctx // 4)
