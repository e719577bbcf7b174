"""``hearth bench`` on a real model: a table a person can read, JSON for tools, and a saved result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hearth.core.models.planning.benchmark import BenchResult, format_table, load_result, save_result

ROOT = Path(__file__).resolve().parents[2]


def bench(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_HOME": str(home), "PYTHONPATH": str(ROOT / "app")}
    return subprocess.run([sys.executable, "-m", "hearth", "bench", *args], capture_output=True, text=True,
                          env=env, timeout=600, check=False)


def test_bench_json_and_saved_result(tiny_llama4: Path, hearth_home: Path) -> None:
    result = bench("--model", str(tiny_llama4), "--reps", "1", "--json", home=hearth_home)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["tg128_tps"] > 0 and data["pp512_tps"] > 0 and data["pp4096_tps"] > 0
    assert data["load_s"] > 0 and data["ttft_s"] > 0 and data["n_ctx"] >= 4608
    assert data["peak_ram_bytes"] is None or data["peak_ram_bytes"] > 1_000_000
    saved = load_result(hearth_home / "data" / "bench", str(tiny_llama4))
    assert saved is not None and saved.tg128_tps == data["tg128_tps"]


def test_bench_reports_the_kv_cache_llama_cpp_allocated(gemma_path: Path, hearth_home: Path) -> None:
    from hearth.core.gguf.header import read_gguf_info
    from hearth.core.models.planning.kv_cache import kv_cache_bytes

    result = bench("--model", str(gemma_path), "--reps", "1", "--ctx", "16384", "--kv-type", "q8_0", "--json",
                   home=hearth_home)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["cache_type_k"], data["cache_type_v"]) == ("q8_0", "q8_0") and data["flash_attn"] is True
    info = read_gguf_info(gemma_path)
    # Measured (llama.cpp's own buffer sizes), and what the planner computes agrees with it.
    assert data["kv_cache_bytes"] == pytest.approx(kv_cache_bytes(info, 16384, "q8_0"), rel=0.02)
    assert data["kv_cache_bytes"] / kv_cache_bytes(info, 16384, "f16") <= 0.56
    calibration = json.loads((hearth_home / "config" / "calibration.json").read_text())
    (samples,) = calibration["machines"].values()
    assert samples[-1]["model"] == gemma_path.name, "hearth bench calibrates the planner"


@pytest.mark.timeout(900)  # a whole `hearth bench`: 12 s quiet, 270 s beside stress-ng; a hang guard
def test_bench_table_explains_the_numbers(gemma_path: Path, hearth_home: Path) -> None:
    result = bench("--model", str(gemma_path), "--reps", "1", home=hearth_home)
    assert result.returncode == 0, result.stderr
    assert "Writing (128 tokens)" in result.stdout and "tokens/s" in result.stdout
    assert "A 500-word answer takes about" in result.stdout


def test_result_round_trip_and_wording(tmp_path: Path) -> None:
    result = BenchResult("m.gguf", "/m/m.gguf", "GPU + experts in RAM", 8192, 8, -1, 12.0, 300.0, 250.0, 2.0,
                         1.5, 40 * 2**30, None, 0.0)
    save_result(tmp_path, result)
    assert load_result(tmp_path, "/m/m.gguf") == result
    table = format_table(result)
    assert "slower than reading speed" in table
    assert "about 334 s" in table  # 1.5 s + 500 words * 1.33 tokens/word / 2 tokens/s
    assert load_result(tmp_path, "/other.gguf") is None
