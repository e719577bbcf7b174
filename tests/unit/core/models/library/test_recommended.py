"""A model's recommended sampling: its file's general.sampling keys, else its family's published values, else safe
defaults; the user's settings go on top."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth.core.models.library.model_settings import ModelSettings
from hearth.core.models.library.recommended import (
    SAFE_DEFAULTS,
    SMOLLM_SYSTEM_PROMPT,
    recommendation_from_metadata,
    recommended_sampling,
)
from tests.fixtures.synthetic_gguf import Tensor, write_header_model


def test_llama4_gets_metas_recommendation() -> None:
    rec = recommendation_from_metadata({"general.architecture": "llama4", "general.basename": "Llama-4-Scout"})
    assert (rec.params.temperature, rec.params.top_p, rec.params.min_p) == (0.6, 0.9, 0.01)
    assert rec.source == "Meta's recommendation for Llama 4"
    assert rec.params.dry_multiplier > 0 and rec.params.loop_guard, "the repetition guard is on by default"


def test_the_files_own_sampling_keys_win() -> None:
    rec = recommendation_from_metadata({
        "general.architecture": "llama4", "general.sampling.temp": 0.3, "general.sampling.top_k": 20,
        "general.sampling.top_p": 0.8, "general.sampling.penalty_repeat": 1.1,
    })
    assert (rec.params.temperature, rec.params.top_k, rec.params.top_p) == (0.3, 20, 0.8)
    assert rec.params.repeat_penalty == 1.1 and rec.params.min_p == 0.01, "keys it does not give keep the family's"
    assert rec.source == "the model file"


def test_family_by_basename_before_architecture() -> None:
    smol = recommendation_from_metadata({"general.architecture": "llama", "general.basename": "smollm2"})
    assert smol.source == "Hugging Face's recommendation for SmolLM2" and smol.params.temperature == 0.2
    qwen3 = recommendation_from_metadata({"general.architecture": "qwen3"})
    assert qwen3.params.top_k == 20 and qwen3.params.top_p == 0.95
    llama3 = recommendation_from_metadata({"general.architecture": "llama", "general.basename": "Llama-3.2"})
    assert llama3.source == "Meta's recommendation for Llama 3"


def test_smollm2_gets_a_system_prompt_of_its_own() -> None:
    """SmolLM2's template puts in its own identity line when a conversation has none, and the starter answers
    worse with it; the others have none (their templates' defaults apply)."""
    smol = recommendation_from_metadata({"general.architecture": "llama", "general.basename": "smollm2"})
    assert smol.system_prompt == SMOLLM_SYSTEM_PROMPT
    from_file = recommendation_from_metadata({"general.basename": "smollm2", "general.sampling.temp": 0.3})
    assert from_file.system_prompt == SMOLLM_SYSTEM_PROMPT, "the file's sampling keys do not drop it"
    assert recommendation_from_metadata({"general.architecture": "llama4"}).system_prompt == ""
    assert recommendation_from_metadata({"general.architecture": "mamba"}).system_prompt == ""


def test_unknown_models_get_safe_defaults() -> None:
    rec = recommendation_from_metadata({"general.architecture": "mamba"})
    assert rec.params == SAFE_DEFAULTS and rec.source == "Hearth's safe defaults"
    wrong = recommendation_from_metadata({"general.architecture": "mamba", "general.sampling.temp": "hot"})
    assert wrong.params == SAFE_DEFAULTS, "a value of the wrong type is ignored"


def test_from_a_real_file_and_an_unreadable_one(starter_model: Path, tmp_path: Path) -> None:
    assert recommended_sampling(starter_model).source == "Hugging Face's recommendation for SmolLM2"
    assert recommended_sampling(starter_model).system_prompt == SMOLLM_SYSTEM_PROMPT
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model")
    assert recommended_sampling(broken).params == SAFE_DEFAULTS
    assert recommended_sampling(None).params == SAFE_DEFAULTS


def test_sampling_keys_written_into_a_gguf_are_read(tmp_path: Path) -> None:
    path = write_header_model(tmp_path / "m.gguf", {"general.architecture": "llama", "general.sampling.temp": 0.45,
                                                     "general.sampling.min_p": 0.07},
                              [Tensor("token_embd.weight", (64, 32), "F16")])
    rec = recommended_sampling(path)
    assert rec.source == "the model file"
    assert rec.params.temperature == pytest.approx(0.45) and rec.params.min_p == pytest.approx(0.07)


def test_user_settings_go_on_top_of_the_recommendation() -> None:
    rec = recommendation_from_metadata({"general.architecture": "llama4"})
    mine = ModelSettings(temperature=0.9, dry_multiplier=0.0, loop_guard=False).apply_to_sampling(rec.params)
    assert mine.temperature == 0.9 and mine.top_p == 0.9
    assert mine.dry_multiplier == 0.0 and not mine.loop_guard
