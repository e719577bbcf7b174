"""Per-model overrides layered over the recommended plan and sampling."""

from __future__ import annotations

import re

from hearth.core.engine.plan import LoadPlan, expert_patterns
from hearth.core.engine.sampling import SamplingParams
from hearth.core.models.library.model_settings import ModelSettings


def test_defaults_change_nothing() -> None:
    plan = LoadPlan("m.gguf", n_ctx=8192, n_gpu_layers=-1, cpu_tensor_patterns=expert_patterns(), summary="GPU")
    assert ModelSettings().apply_to_plan(plan) is plan
    assert ModelSettings().apply_to_sampling(SamplingParams()) == SamplingParams()
    assert ModelSettings().to_dict() == {} and ModelSettings().is_default


def test_overrides_apply_and_are_marked_custom() -> None:
    plan = LoadPlan("m.gguf", n_ctx=8192, n_gpu_layers=-1, summary="GPU + experts in RAM")
    custom = ModelSettings(n_ctx=2048, expert_placement="first:3", n_threads=4).apply_to_plan(plan, n_layers=48)
    assert custom.n_ctx == 2048 and custom.n_threads == 4
    assert custom.summary == "GPU + experts in RAM (custom)"
    assert any(re.search(p, "blk.2.ffn_up_exps.weight") for p in custom.cpu_tensor_patterns)
    assert not any(re.search(p, "blk.3.ffn_up_exps.weight") for p in custom.cpu_tensor_patterns)
    on_gpu = ModelSettings(expert_placement="gpu").apply_to_plan(plan.with_changes(cpu_tensor_patterns=("x",)))
    assert on_gpu.cpu_tensor_patterns == ()


def test_round_trip_keeps_only_changes() -> None:
    settings = ModelSettings(temperature=0.2, max_tokens=64, system_prompt="Be terse.")
    assert settings.to_dict() == {"temperature": 0.2, "max_tokens": 64, "system_prompt": "Be terse."}
    assert ModelSettings.from_dict(settings.to_dict()) == settings
    assert ModelSettings.from_dict({"temperature": 0.2, "unknown": 1}).temperature == 0.2
    params = settings.apply_to_sampling(SamplingParams())
    assert params.temperature == 0.2 and params.max_tokens == 64 and params.top_p == 0.9
