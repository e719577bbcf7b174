"""The planner costs the KV cache per type, proposes an 8-bit cache when only that fits, and lists the contexts a
machine holds per cache type (on real headers: gemma 270M, Scout's shape)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hearth.core.engine.plan import LoadPlan, resolve_cache_types
from hearth.core.gguf.header import GgufInfo, read_gguf_info, read_model_info
from hearth.core.machine.hardware import Hardware
from hearth.core.models.planning.context import compare_with_advertised, context_table, longest_fitting
from hearth.core.models.planning.kv_cache import kv_cache_bytes, kv_cache_per_layer
from hearth.core.models.planning.planner import context_words, plan_model
from tests.fixtures.synthetic_gguf import write_scout


@pytest.fixture(scope="module")
def scout(tmp_path_factory: pytest.TempPathFactory) -> GgufInfo:
    return read_model_info(write_scout(tmp_path_factory.mktemp("scout"), "UD-IQ1_S"))


def test_cache_bytes_per_type_follow_the_block_sizes(gemma_path: Path) -> None:
    info = read_gguf_info(gemma_path)
    f16, q8, q4 = (kv_cache_bytes(info, 16384, t) for t in ("f16", "q8_0", "q4_0"))
    assert q8 / f16 == pytest.approx(34 / 64) and q8 / f16 <= 0.56
    assert q4 / f16 == pytest.approx(18 / 64)
    # Keys and values may differ: an 8-bit K with a 16-bit V sits in between.
    mixed = sum(kv_cache_per_layer(info, 16384, 512, "q8_0", "f16"))
    assert q8 < mixed < f16


def test_quantized_v_needs_flash_attention() -> None:
    k, v, why = resolve_cache_types(LoadPlan("m.gguf", cache_type_k="q8_0", cache_type_v="q8_0", flash_attn="off"))
    assert (k, v) == ("q8_0", "f16") and "flash attention" in why
    assert resolve_cache_types(LoadPlan("m.gguf", cache_type_k="q4_0", cache_type_v="q4_0"))[:2] == ("q4_0", "q4_0")


def test_an_8_bit_cache_is_proposed_when_only_it_fits(scout: GgufInfo) -> None:
    n_ctx = 65536
    proposed = []
    for ram_gb in range(30, 90):
        hw = Hardware.hypothetical(ram_gb, label=f"{ram_gb} GB")
        f16 = plan_model(scout, hw, n_ctx=n_ctx, cache_type="f16")
        q8 = plan_model(scout, hw, n_ctx=n_ctx, cache_type="q8_0")
        auto = plan_model(scout, hw, n_ctx=n_ctx)
        if f16.verdict != "does_not_fit":
            assert auto.cache_type == "f16" and auto.plan is not None and auto.plan.cache_type_k == "f16"
        elif q8.verdict != "does_not_fit":
            proposed.append(ram_gb)
            assert auto.verdict != "does_not_fit" and auto.cache_type == "q8_0"
            assert auto.plan is not None and (auto.plan.cache_type_k, auto.plan.cache_type_v) == ("q8_0", "q8_0")
            assert "64k context fits with an 8-bit cache" in auto.explanation
            assert auto.placement.kv_bytes < f16.placement.kv_bytes
    assert proposed, "some machine between 30 and 90 GB holds 64k only with an 8-bit cache"


def test_a_4_bit_cache_is_mentioned_when_nothing_else_fits(scout: GgufInfo) -> None:
    for ram_gb in range(30, 90):
        hw = Hardware.hypothetical(ram_gb)
        q4 = plan_model(scout, hw, n_ctx=131072, cache_type="q4_0")
        q8 = plan_model(scout, hw, n_ctx=131072, cache_type="q8_0")
        if q4.verdict != "does_not_fit" and q8.verdict == "does_not_fit":
            auto = plan_model(scout, hw, n_ctx=131072)
            assert auto.verdict == "does_not_fit"
            assert any("4-bit cache" in note for note in auto.notes)
            return
    pytest.fail("no machine in range holds 128k only with a 4-bit cache")


def test_context_table_stops_at_the_first_size_that_fits_nowhere(scout: GgufInfo) -> None:
    hw = Hardware.hypothetical(64, 24)
    rows = context_table(scout, hw)
    sizes = sorted({r.n_ctx for r in rows})
    assert sizes[0] == 4096 and len(rows) == 3 * len(sizes)
    last = [r for r in rows if r.n_ctx == sizes[-1]]
    assert not any(r.fits for r in last) or sizes[-1] == scout.context_length
    longest = longest_fitting(rows)
    assert longest["q4_0"] >= longest["q8_0"] >= longest["f16"] > 0
    for n_ctx in sizes:
        by_type = {r.cache_type: r for r in rows if r.n_ctx == n_ctx}
        assert by_type["q4_0"].kv_bytes < by_type["q8_0"].kv_bytes < by_type["f16"].kv_bytes
    words = compare_with_advertised(scout, rows)
    assert "10M" in words and re.search(r"[\d,]+ GB for the cache alone", words)
    assert f"up to {context_words(longest['q4_0'])} tokens with a 4-bit cache" in words


def test_context_table_of_a_small_model_ends_at_its_trained_context(gemma_path: Path) -> None:
    info = read_gguf_info(gemma_path)
    rows = context_table(info, Hardware.hypothetical(16))
    assert max(r.n_ctx for r in rows) == info.context_length == 32768 and all(r.fits for r in rows)
    assert "all of the 32k tokens this model was trained for" in compare_with_advertised(info, rows)


def test_context_words() -> None:
    assert [context_words(n) for n in (4096, 65536, 131072, 10 * 2**20, 1500)] == ["4k", "64k", "128k", "10M",
                                                                                     "1,500"]
