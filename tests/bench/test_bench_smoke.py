"""Each benchmark in tests/bench runs (tiny sizes, no timing assertions): the numbers come from running them."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from tests.bench import bench_gui_streaming


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
