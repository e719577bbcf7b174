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
