"""The image benchmark runs end to end at toy size (numbers are not judged here; see tests/bench)."""

from __future__ import annotations

from pathlib import Path

from tests.bench.bench_vision import run


def test_benchmark_smoke_run(tiny_llama4_vision: Path, tiny_mmproj: Path) -> None:
    result = run(tiny_llama4_vision, tiny_mmproj, reps=1, side=90, n_ctx=1024, threads=1)
    read = result["read_picture"]
    assert read["image_tokens"] > 0 and read["tiles"] > 1 and read["prompt_eval_ms"] > 0
    assert result["follow_up_turn"]["follow_up_ttft_ms"] > 0
    assert result["stop_while_reading"]["stop_reasons"] in (["cancelled"], ["length"], ["eos"])
