"""The store benchmark runs end to end on a tiny corpus (the real sizes run by hand: see bench_store.py)."""

from __future__ import annotations

from pathlib import Path

from tests.bench import bench_store


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
