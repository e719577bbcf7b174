"""Download benchmark: Hearth's downloader against ``curl`` on the same file from the same loopback server, and the
bytes fetched twice after a download process is killed and started again.

    python tests/bench/bench_downloads.py --json out.json [--size-mb 256] [--runs 5]

Both clients fetch the Hub's resolve URL and follow its redirect to the CDN-like path; Hearth's number includes what
it does beyond curl (sha256 of every byte, fsync, manifest). The server is tests/fixtures/hub_server.py serving from
disk with sendfile. The medians of ``--runs`` alternating runs are compared (target: Hearth >= 0.9 x curl).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "app"), str(ROOT)]

from hearth.core.models.download.manager import CHUNK, DownloadManager  # noqa: E402
from hearth.core.models.hub.client import HubClient  # noqa: E402
from tests.bench import print_and_save  # noqa: E402
from tests.fixtures.hub_server import HubServer  # noqa: E402
from tests.fixtures.synthetic_gguf import write_filled_model  # noqa: E402

REPO = "bench/big-GGUF"
NAME = "big-F16.gguf"


def _allow_network() -> None:
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = False


def time_hearth(hub: HubServer, work: Path) -> float:
    models = work / "models-hearth"
    shutil.rmtree(models, ignore_errors=True)
    manager = DownloadManager(models, HubClient(endpoint=hub.url, token=False), disk_margin=0)
    job = manager.prepare(REPO)
    started = time.perf_counter()
    manager.run(job)
    elapsed = time.perf_counter() - started
    assert job.state == "ready"
    return elapsed


def time_curl(hub: HubServer, work: Path, revision: str) -> float:
    out = work / "curl.out"
    out.unlink(missing_ok=True)
    url = f"{hub.url}/{REPO}/resolve/{revision}/{NAME}"
    started = time.perf_counter()
    subprocess.run(["curl", "-sS", "-L", "-o", str(out), url], check=True)
    return time.perf_counter() - started


def kill_and_resume(hub: HubServer, work: Path, size: int) -> dict[str, Any]:
    """Start ``hearth models download`` (throttled server), SIGKILL it mid-file, run it again; count bytes."""
    home = work / "kill-home"
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "HEARTH_HOME": str(home), "PYTHONPATH": str(ROOT / "app"), "HF_ENDPOINT": hub.url,
           "HF_HUB_OFFLINE": "0", "HF_HOME": str(home / "hf")}
    part = home / "models" / "bench" / "big-GGUF" / (NAME + ".part")
    before = hub.sent_bytes(NAME)
    hub.faults.throttle_bps = max(size // 12, 4_000_000)  # slow enough to kill it mid-file, fast enough to finish
    proc = subprocess.Popen([sys.executable, "-m", "hearth", "models", "download", REPO], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (part.is_file() and part.stat().st_size > size * 0.4):
        if proc.poll() is not None:
            raise RuntimeError("the download process ended early")
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = part.stat().st_size
    first = hub.sent_bytes(NAME) - before
    hub.faults.throttle_bps = None
    subprocess.run([sys.executable, "-m", "hearth", "models", "download", REPO], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    total = hub.sent_bytes(NAME) - before
    return {"file_bytes": size, "sent_before_kill": first, "part_bytes_after_kill": kept,
            "sent_total": total, "refetched_bytes": total - size, "chunk_bytes": CHUNK,
            "at_most_one_chunk": total - size <= CHUNK}


def run_bench(size_mb: int = 256, runs: int = 5, work: Path | None = None, kill: bool = True) -> dict[str, Any]:
    _allow_network()
    own = work is None
    work = work or Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    try:
        source = write_filled_model(work / "served" / NAME, size_mb)
        size = source.stat().st_size
        with HubServer() as hub:
            repo = hub.add_repo(REPO, {NAME: source})
            hearth_s, curl_s = [], []
            for _ in range(runs):
                curl_s.append(time_curl(hub, work, repo.sha))
                hearth_s.append(time_hearth(hub, work))
            result: dict[str, Any] = {
                "file_bytes": size, "runs": runs,
                "hearth_s": hearth_s, "curl_s": curl_s,
                "hearth_MBps": size / statistics.median(hearth_s) / 1e6,
                "curl_MBps": size / statistics.median(curl_s) / 1e6,
            }
            result["ratio_hearth_over_curl"] = result["hearth_MBps"] / result["curl_MBps"]
            if kill:
                result["kill_and_resume"] = kill_and_resume(hub, work, size)
        return result
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    result = run_bench(args.size_mb, args.runs)
    return print_and_save(result, args.json)


if __name__ == "__main__":
    sys.exit(main())
