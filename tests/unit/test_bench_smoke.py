"""The download benchmark runs (tiny size, one round); its numbers are for tests/bench, not for assertions here."""

from __future__ import annotations

from pathlib import Path

from tests.bench.bench_downloads import run_bench


def test_download_bench_smoke(tmp_path: Path, hub_files: dict[str, Path]) -> None:
    result = run_bench(size_mb=4, runs=1, work=tmp_path, kill=False)
    assert result["file_bytes"] > 3_000_000 and len(result["hearth_s"]) == len(result["curl_s"]) == 1
    assert result["hearth_MBps"] > 0 and result["curl_MBps"] > 0 and "ratio_hearth_over_curl" in result
