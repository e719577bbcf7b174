"""The sampling a model is meant to be used with: what its file says, else what its makers published, else safe
defaults. This is what "Recommended" means in a model's settings; the user's own choices go on top
(``ModelSettings.apply_to_sampling``).

Some families also get a recommended system prompt: what a new conversation starts with when the user has set none
for the model. It matters for templates that put in their own system message when a conversation has none:
SmolLM2's writes "You are a helpful AI assistant named SmolLM, trained by Hugging Face", and the 135M starter,
given that line, answers worse. Asked "What is the capital of France?" it starts with "The" (on to "Paris") at
probability 0.14 and with "L" (on to "L'Étoile, la Marseillaise, la femme, ...") at 0.15; given "You are a helpful
assistant. Keep your answers short." it starts with "The" at 0.62. Over the everyday prompts of
``tests/quality`` the short instruction also makes it end its answers by itself instead of running into loops (a
list of the days of the week begun again, a walk through emoji): see the answer-quality section of the benchmarks
README.

A GGUF may carry its makers' sampling under ``general.sampling.*`` (``temp``, ``top_k``, ``top_p``, ``min_p``,
``penalty_repeat``, ``penalty_last_n``); those values win. Otherwise the model family decides, by the file's
``general.basename`` and ``general.architecture``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth.core.engine.sampling import SamplingParams
from hearth.core.errors import HearthError
from hearth.core.gguf.header import read_gguf_info
from hearth.core.models.library.model_settings import ModelSettings

#: When nothing is known about a model: a moderate temperature, min_p to cut the long tail, DRY against loops.
SAFE_DEFAULTS = SamplingParams(temperature=0.7, top_p=0.9, top_k=40, min_p=0.05)

#: The starter's system prompt (see the module's docstring for why it has one).
SMOLLM_SYSTEM_PROMPT = "You are a helpful assistant. Keep your answers short."

# (words in the basename or architecture, who recommends, the values, the system prompt). The first match wins;
# order matters (``llama4`` before ``llama``, ``qwen3`` before ``qwen``).
_FAMILIES: tuple[tuple[tuple[str, ...], str, dict[str, Any], str], ...] = (
    (("llama4", "llama-4"), "Meta's recommendation for Llama 4",
     {"temperature": 0.6, "top_p": 0.9, "min_p": 0.01, "top_k": 0}, ""),
    (("smollm",), "Hugging Face's recommendation for SmolLM2",
     {"temperature": 0.2, "top_p": 0.9, "top_k": 0, "min_p": 0.0}, SMOLLM_SYSTEM_PROMPT),
    (("gemma",), "Google's recommendation for Gemma 3",
     {"temperature": 1.0, "top_k": 64, "top_p": 0.95, "min_p": 0.0}, ""),
    (("qwen3",), "Qwen's recommendation for Qwen3",
     {"temperature": 0.6, "top_p": 0.95, "top_k": 20, "min_p": 0.0}, ""),
    (("qwen",), "Qwen's recommendation for Qwen2.5",
     {"temperature": 0.7, "top_p": 0.8, "top_k": 20, "min_p": 0.0, "repeat_penalty": 1.05}, ""),
    (("llama",), "Meta's recommendation for Llama 3",
     {"temperature": 0.6, "top_p": 0.9, "top_k": 0, "min_p": 0.0}, ""),
)

# general.sampling.<key> -> SamplingParams field, and the type it must have.
_GGUF_KEYS: dict[str, tuple[str, type]] = {
    "temp": ("temperature", float),
    "top_k": ("top_k", int),
    "top_p": ("top_p", float),
    "min_p": ("min_p", float),
    "penalty_repeat": ("repeat_penalty", float),
    "penalty_last_n": ("repeat_last_n", int),
}


@dataclass(frozen=True)
class Recommendation:
    """A model's recommended sampling and where it comes from.

    Attributes:
        params: the recommended values (with the repetition guard on).
        source: who recommends them, in words ("the model file", "Meta's recommendation for Llama 4",
            "Hearth's safe defaults").
        system_prompt: what a new conversation with the model starts with when the user has set no system prompt
            for it ("": none, the chat template's own default applies).
    """

    params: SamplingParams
    source: str
    system_prompt: str = ""


def recommendation_from_metadata(metadata: Mapping[str, Any]) -> Recommendation:
    """The recommendation for a model with this GGUF metadata."""
    words = " ".join(str(metadata.get(key, "")).lower() for key in ("general.basename", "general.architecture",
                                                                     "general.name"))
    params, source, system_prompt = SAFE_DEFAULTS, "Hearth's safe defaults", ""
    for keys, who, values, system in _FAMILIES:
        if any(key in words for key in keys):
            params, source, system_prompt = SAFE_DEFAULTS.with_changes(**values), who, system
            break
    from_file: dict[str, Any] = {}
    for key, (field, kind) in _GGUF_KEYS.items():
        value = metadata.get(f"general.sampling.{key}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            from_file[field] = kind(value)
    if from_file:
        params = params.with_changes(**from_file)
        source = "the model file"
    return Recommendation(params, source, system_prompt)


def recommended_sampling(path: Path | str | None) -> Recommendation:
    """The recommendation for the model at ``path``; safe defaults when its header cannot be read.

    The header is read once per file version (a large model's header takes a moment to parse).
    """
    if path is None:
        return Recommendation(SAFE_DEFAULTS, "Hearth's safe defaults")
    try:
        stat = Path(path).stat()
    except OSError:
        return Recommendation(SAFE_DEFAULTS, "Hearth's safe defaults")
    return _recommended(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _recommended(path: str, _mtime_ns: int, _size: int) -> Recommendation:
    try:
        info = read_gguf_info(path)
    except (HearthError, OSError):
        return Recommendation(SAFE_DEFAULTS, "Hearth's safe defaults")
    return recommendation_from_metadata(info.metadata)


def model_defaults(path: Path | str | None, overrides: Mapping[str, Mapping[str, Any]]) -> tuple[SamplingParams, str]:
    """What a request that sets nothing gets with this model: its recommended sampling with the user's choices for
    the model on top, and the system prompt for a conversation that has none (the user's for the model, else the
    recommended one; "" for none).

    Args:
        path: the model file (None: nothing loaded).
        overrides: the user's per-model settings (``Settings.model_overrides``), keyed by the file's path.
    """
    recommendation = recommended_sampling(path)
    own = ModelSettings.from_dict(dict(overrides.get(str(path)) or {}) if path else None)
    return own.apply_to_sampling(recommendation.params), own.system_prompt or recommendation.system_prompt
