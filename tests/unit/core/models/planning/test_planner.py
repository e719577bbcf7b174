"""The planner on real headers (gemma 270M, the tiny Llama 4) and on headers with Scout's, Maverick's and dense
models' real shapes and quant types (written without their weights)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hearth.core.gguf.header import GgufInfo, read_gguf_info, read_model_info
from hearth.core.machine.hardware import Hardware
from hearth.core.models.planning.kv_cache import kv_cache_per_layer, windowed_layers
from hearth.core.models.planning.planner import (
    ModelCosts,
    candidates,
    fits,
    machine_matrix,
    plan_model,
    usable_ram,
    usable_vram,
)
from tests.fixtures.synthetic_gguf import (
    SCOUT_PUBLISHED_GB,
    SCOUT_QUANTS,
    sparse_size,
    write_dense_llama,
    write_maverick,
    write_scout,
)

GIB = 1024**3
CPU_ONLY = Hardware.hypothetical(32, label="32 GB, no GPU")


@pytest.fixture(scope="module")
def scout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GgufInfo]:
    folder = tmp_path_factory.mktemp("scout")
    infos = {}
    for quant in SCOUT_QUANTS:
        paths = write_scout(folder, quant)
        assert sum(sparse_size(p) for p in paths) < 1_000_000, "headers only: the weights are a sparse hole"
        infos[quant] = read_model_info(paths)
    return infos


def test_scout_headers_have_the_real_shape_and_published_sizes(scout: dict[str, GgufInfo]) -> None:
    for quant, info in scout.items():
        assert (info.block_count, info.expert_count, info.expert_used_count) == (48, 16, 1)
        assert (info.embedding_length, info.head_count, info.head_count_kv[0], info.vocab_size) == (5120, 40, 8, 202048)
        total = (info.data_offset + info.tensor_bytes) / 1e9
        assert total == pytest.approx(SCOUT_PUBLISHED_GB[quant], abs=0.1)
        assert 0.6 < info.expert_bytes / info.tensor_bytes < 0.95
    assert scout["UD-Q4_K_XL"].split_count == 2


def test_scout_kv_cache_uses_chunked_attention(scout: dict[str, GgufInfo]) -> None:
    info = scout["UD-Q4_K_XL"]
    window, windowed = windowed_layers(info)
    assert window == 8192 and sum(windowed) == 36 and not windowed[3] and windowed[0]
    per_cell = 8 * (128 + 128) * 2
    kv8k = kv_cache_per_layer(info, 8192)
    assert sum(kv8k) == 48 * 8192 * per_cell
    assert 1.4 * GIB < sum(kv8k) < 1.7 * GIB, "Scout's 8k context: about 1.5 GiB"
    kv128k = kv_cache_per_layer(info, 131072)
    # Only the 12 full-attention layers grow with the context; the 36 chunked ones keep 8192 + one batch.
    assert sum(kv128k) == 12 * 131072 * per_cell + 36 * (8192 + 512) * per_cell


def test_gemma_sliding_window_and_cpu_plan(gemma_path: Path) -> None:
    info = read_gguf_info(gemma_path)
    window, windowed = windowed_layers(info)
    assert window == 512 and windowed == tuple(il % 6 < 5 for il in range(18))
    kv = kv_cache_per_layer(info, 8192)
    assert kv[5] == 8192 * 1 * 512 * 2 and kv[0] == 1024 * 1 * 512 * 2
    report = plan_model(info, CPU_ONLY, model_path=str(gemma_path))
    assert report.verdict == "fits_well" and report.plan is not None
    assert report.plan.n_gpu_layers == 0 and report.plan.cpu_tensor_patterns == ()
    assert report.plan.n_ctx == 8192 and report.plan.model_path == str(gemma_path)
    gpu = plan_model(info, Hardware.hypothetical(16, 8))
    assert gpu.plan is not None and gpu.plan.n_gpu_layers == 19 and gpu.placement.kind == "gpu"
    assert gpu.tokens_per_s is not None and report.tokens_per_s is not None and gpu.tokens_per_s > report.tokens_per_s


def test_tiny_llama4_plans(tiny_llama4: Path) -> None:
    info = read_gguf_info(tiny_llama4)
    report = plan_model(info, CPU_ONLY, n_ctx=100_000)
    assert report.plan is not None and report.plan.n_ctx == 4096, "capped at the trained context"
    assert any("trained for 4,096" in n for n in report.notes)
    gpu = plan_model(info, Hardware.hypothetical(16, 8))
    assert gpu.placement.kind == "gpu" and gpu.plan is not None and gpu.plan.cpu_tensor_patterns == ()


def test_the_fastest_fitting_placement_is_chosen(scout: dict[str, GgufInfo]) -> None:
    for hw in machine_matrix():
        for info in scout.values():
            report = plan_model(info, hw)
            costs = ModelCosts.from_info(info, report.n_ctx)
            fitting = [p for p in candidates(costs, hw) if fits(p, hw)]
            if report.verdict == "does_not_fit":
                assert not fitting
                continue
            assert report.placement in fitting
            assert report.placement.tokens_per_s == max(p.tokens_per_s for p in fitting)
            assert report.placement.vram_bytes <= usable_vram(hw)
            assert report.placement.ram_bytes <= usable_ram(hw)


def test_scout_on_the_issue_matrix(scout: dict[str, GgufInfo]) -> None:
    laptop, gpu8, gpu16, gpu24, big24, mac64, mac128 = machine_matrix()
    for info in scout.values():
        no = plan_model(info, laptop)
        assert no.verdict == "does_not_fit" and "of RAM" in no.short and no.plan is None
    close = plan_model(scout["UD-IQ1_S"], gpu8)
    assert close.verdict == "does_not_fit" and close.placement.vram_bytes > 0, "the nearest miss uses the GPU"
    q4 = scout["UD-Q4_K_XL"]
    on24 = plan_model(q4, gpu24)
    assert on24.verdict != "does_not_fit" and on24.plan is not None
    assert on24.plan.n_gpu_layers == 49 and 0 < on24.placement.cpu_expert_layers < 48
    assert "All layers on your 24 GB GPU" in on24.explanation and "tokens/s expected" in on24.explanation
    on16 = plan_model(q4, gpu16)
    assert on16.placement.cpu_expert_layers > on24.placement.cpu_expert_layers
    assert on16.placement.tokens_per_s < on24.placement.tokens_per_s
    assert plan_model(q4, mac64).verdict == "does_not_fit"
    assert plan_model(q4, mac128).placement.kind == "gpu"
    # On one machine a bigger quant is never faster (more bytes are read per token, and more of them from RAM).
    for hw in (gpu16, gpu24, big24, mac128):
        speeds = [plan_model(scout[q], hw).placement.tokens_per_s for q in SCOUT_QUANTS]
        assert speeds == sorted(speeds, reverse=True)


def test_expert_patterns_keep_exactly_the_first_layers_experts(scout: dict[str, GgufInfo]) -> None:
    info = scout["UD-Q3_K_XL"]
    report = plan_model(info, Hardware.hypothetical(64, 24))
    assert report.plan is not None
    n = report.placement.cpu_expert_layers
    kept = {t.name for t in info.tensors if any(re.search(p, t.name) for p in report.plan.cpu_tensor_patterns)}
    expected = {t.name for t in info.tensors if t.is_routed_expert and t.layer is not None and t.layer < n}
    assert kept == expected and len(kept) == 3 * n


def test_small_gpu_gets_some_layers_and_every_expert_in_ram(tmp_path: Path) -> None:
    info = read_model_info(write_maverick(tmp_path, "Q2_K"))
    assert info.expert_count == 128 and sum(1 for t in info.tensors if t.name.endswith("ffn_up_exps.weight")) == 24
    report = plan_model(info, Hardware.hypothetical(256, 8))
    assert report.placement.kind in ("partial", "experts_in_ram") and report.verdict != "does_not_fit"
    assert plan_model(info, Hardware.hypothetical(64, 24)).verdict == "does_not_fit"


def test_dense_models(tmp_path: Path) -> None:
    small = read_gguf_info(write_dense_llama(tmp_path))
    assert plan_model(small, Hardware.hypothetical(16, 8)).placement.kind == "gpu"
    big = read_gguf_info(write_dense_llama(tmp_path, n_layer=80, n_embd=8192, n_ff=28672, n_head=64,
                                           name="Llama-3.1-70B"))
    report = plan_model(big, Hardware.hypothetical(64, 24))
    assert report.placement.kind == "partial" and 0 < report.placement.n_gpu_layers < 80
    assert report.verdict == "fits_slow" and report.plan is not None and report.plan.cpu_tensor_patterns == ()


def test_what_if_overrides_and_shortfall_words(scout: dict[str, GgufInfo]) -> None:
    hw = Hardware.hypothetical(16).with_overrides(ram_gb=128, vram_gb=24)
    assert hw.ram_total == 128e9 and hw.vram_total == 24e9 and "RAM set to 128 GB" in hw.notes
    assert plan_model(scout["UD-Q4_K_XL"], hw).verdict != "does_not_fit"
    short = plan_model(scout["UD-Q2_K_XL"], Hardware.hypothetical(32, 8))
    assert short.verdict == "does_not_fit" and "short in RAM" in short.short


def test_context_that_does_not_fit_suggests_a_smaller_one(scout: dict[str, GgufInfo]) -> None:
    report = plan_model(scout["UD-IQ1_S"], Hardware.hypothetical(64, 24), n_ctx=10_000_000)
    assert report.verdict == "does_not_fit"
    assert any(re.search(r"fit with a [\d,]+-token context", n) for n in report.notes)


def test_plan_for_path_is_what_the_app_loads_with(tiny_llama4: Path, tiny_llama4_split: list[Path],
                                                  tmp_path: Path) -> None:
    from hearth.core.models.planning.load import plan_for_path

    plan = plan_for_path(tiny_llama4_split[1], hardware=CPU_ONLY)
    assert plan.model_path == str(tiny_llama4_split[0]) and plan.n_gpu_layers == 0
    assert "tokens/s expected" in plan.extra["explanation"] and "does_not_fit" not in plan.extra
    assert plan_for_path(tiny_llama4).n_ctx == 4096, "detects this machine by itself"
    tiny_machine = Hardware.hypothetical(2.1)
    big = write_dense_llama(tmp_path)
    squeezed = plan_for_path(big, hardware=tiny_machine)
    assert squeezed.extra["does_not_fit"].startswith("Does not fit")
