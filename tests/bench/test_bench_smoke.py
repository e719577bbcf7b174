"""Each benchmark in tests/bench runs at toy size (no timing assertions: the numbers come from running them).

``python tests/bench/run_all.py`` runs them all at full size and writes one JSON file; see tests/bench/README.md.
"""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.bench import bench_api, bench_engine, bench_gui_blocks, bench_gui_streaming, bench_startup, bench_store
from tests.bench.bench_documents import run as run_documents
from tests.bench.bench_downloads import run_bench
from tests.bench.bench_vision import run as run_vision


def test_gui_streaming_benchmark_runs(qtbot: QtBot) -> None:
    report = bench_gui_streaming.run(lengths=(20, 40), repetitions=1, window=10)
    results = report["results"]
    assert isinstance(results, dict)
    assert set(results) == {"chat_view", "naive_setMarkdown"}
    for rows in results.values():
        assert set(rows) == {"20", "40"}
        for row in rows.values():
            assert row["worst_stall_ms"] >= 0
            assert len(row["samples"]) == 1
    summary = report["summary"]
    assert isinstance(summary, dict) and "chat_view_marginal_ratio_40_vs_20" in summary


def test_documents_benchmark_runs() -> None:
    results = run_documents(pages=4, chunks=40, repeats=1)
    extraction, retrieval = results["extraction"], results["retrieval"]
    assert extraction["pages"] == 4 and extraction["passages"] >= 4
    assert extraction["hearth_pages_per_s"] > 0 and extraction["pypdf_pages_per_s"] > 0
    assert retrieval["chunks"] == 40
    assert retrieval["fts_search_median_ms"] > 0 and retrieval["brute_force_scan_median_ms"] > 0


def test_download_bench_smoke(tmp_path: Path, hub_files: dict[str, Path]) -> None:
    result = run_bench(size_mb=4, runs=1, work=tmp_path, kill=False)
    assert result["file_bytes"] > 3_000_000 and len(result["hearth_s"]) == len(result["curl_s"]) == 1
    assert result["hearth_MBps"] > 0 and result["curl_MBps"] > 0 and "ratio_hearth_over_curl" in result


def test_vision_benchmark_runs(tiny_llama4_vision: Path, tiny_mmproj: Path) -> None:
    result = run_vision(tiny_llama4_vision, tiny_mmproj, reps=1, side=90, n_ctx=1024, threads=1)
    read = result["read_picture"]
    assert read["image_tokens"] > 0 and read["tiles"] > 1 and read["prompt_eval_ms"] > 0
    assert result["follow_up_turn"]["follow_up_ttft_ms"] > 0
    assert result["stop_while_reading"]["stop_reasons"] in (["cancelled"], ["length"], ["eos"])


def test_bench_store_runs_small(tmp_path: Path) -> None:
    result = bench_store.run(conversations=40, messages=400, reps=1, db=tmp_path / "bench.db", stream_tokens=200)
    assert result["corpus"]["conversations"] == 40 and result["corpus"]["messages"] == 400
    queries = {q["query"]: q for q in result["search"]["queries"]}
    assert queries["very common word, typed"]["matches"] > 0
    assert queries["no match"]["matches"] == 0
    for q in queries.values():
        assert q["fts_ms"] >= 0 and q["like_scan_ms"] >= 0
    assert result["streaming"]["tokens"] == 200 and result["streaming"]["saves_per_answer"] == 4
    assert result["context"]["db_mib"] >= 0
    # A reused database is left with the same conversations it had.
    again = bench_store.run(conversations=40, messages=400, reps=1, db=tmp_path / "bench.db", stream_tokens=50)
    assert again["corpus"] == {"conversations": 40, "messages": 400, "build_s": None}


def test_engine_benchmark_runs(tiny_llama4: Path) -> None:
    result = bench_engine.run(tiny_llama4, reps=1, max_tokens=8, n_ctx=8192)
    overhead, follow = result["engine_overhead"], result["follow_up_turn"]
    assert overhead["hearth_tokens_per_s"] > 0 and overhead["bare_tokens_per_s"] > 0
    assert follow["follow_up_cached_tokens"] > 0 and follow["ratio"] > 0


def test_startup_benchmark_runs() -> None:
    result = bench_startup.run(reps=1)
    assert result["hearth_first_paint_s"] > 0 and result["bare_qmainwindow_first_paint_s"] > 0
    assert result["hearth_ready_s"] >= result["hearth_first_paint_s"], "the frame paints before the app inside it"
    assert result["hearth_idle_rss_mib"] > 0


def test_speculative_benchmark_runs(tiny_llama4: Path) -> None:
    from tests.bench import bench_speculative

    result = bench_speculative.run(tiny_llama4, reps=1, max_tokens=8, n_ctx=2048, kv_ctx=2048, words=60)
    summary = result["summary"]
    assert set(summary) >= {"speedup", "identical_output", "kv_q8_0_over_f16", "flash_prompt_on_over_off"}
    assert result["lookup"]["runs"]["lookup"][0]["tokens"] == 8
    assert result["kv_cache"]["f16"]["kv_cache_bytes"] > 0


def test_gui_blocks_benchmark_runs(qtbot: QtBot) -> None:
    result = bench_gui_blocks.run(["idle", "hostile"], reps=1, quick=True, hostile_names=["pdf-nested-dictionaries"])
    assert result["idle"]["runs"][0]["ticks"] > 0
    nested = result["hostile"]["pdf-nested-dictionaries"]
    assert nested["worst_block_ms_median"] >= 0 and nested["runs"][0]["ticks"] > 0


def test_gui_blocks_download_runs(qtbot: QtBot) -> None:
    result = bench_gui_blocks.run(["download"], reps=1, quick=True)
    run = result["download"]["runs"][0]
    assert run["ticks"] > 0 and run["worst_event_cpu_ms"] >= 0


def test_api_benchmark_runs(tiny_llama4: Path) -> None:
    result = bench_api.run(tiny_llama4, reps=1, tokens=8, n_ctx=1024)
    overhead = result["api_overhead"]
    assert overhead["direct_tokens_per_s"] > 0 and overhead["api_tokens_per_s"] > 0
    assert "tokens_per_s_ratio" in overhead and "ttft_delta_ms" in overhead
