"""The documents benchmark runs end to end at toy size (numbers are not judged here; see tests/bench)."""

from __future__ import annotations

from tests.bench.bench_documents import run


def test_benchmark_smoke_run() -> None:
    results = run(pages=4, chunks=40, repeats=1)
    extraction, retrieval = results["extraction"], results["retrieval"]
    assert extraction["pages"] == 4 and extraction["passages"] >= 4
    assert extraction["hearth_pages_per_s"] > 0 and extraction["pypdf_pages_per_s"] > 0
    assert retrieval["chunks"] == 40
    assert retrieval["fts_search_median_ms"] > 0 and retrieval["brute_force_scan_median_ms"] > 0
