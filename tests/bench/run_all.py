"""Run every benchmark with one command and write one JSON file.

    python tests/bench/run_all.py                       # full sizes (about 15 minutes on 2 cores)
    python tests/bench/run_all.py --quick               # toy sizes, a minute: checks they all run
    python tests/bench/run_all.py --only engine startup --json out.json

Each benchmark measures against a baseline in the same run and reports medians (see tests/bench/README.md). A
benchmark that fails is recorded with its error and the others still run.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT))

from tests.bench import (  # noqa: E402
    bench_api,
    bench_documents,
    bench_downloads,
    bench_engine,
    bench_speculative,
    bench_startup,
    bench_store,
    bench_vision,
    model_or_starter,
)


def _starter() -> Path:
    return model_or_starter(None)


def _vision_pair(work: Path, quick: bool) -> tuple[Path, Path]:
    from tests.fixtures.tiny_llama4 import write_tiny_llama4
    from tests.fixtures.tiny_mmproj import SLOW_SHAPE, write_tiny_mmproj

    model = write_tiny_llama4(work / "tiny-vision.gguf", vision=True, weight_scale=0.2)[0]
    return model, write_tiny_mmproj(work / "tiny-mmproj.gguf", shape=None if quick else SLOW_SHAPE)


def _gui_process(script: str, quick: bool) -> dict[str, Any]:
    # The GUI benchmarks need a QApplication of their own: each runs as a process.
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "gui.json"
        args = ["--quick"] if quick else []
        subprocess.run([sys.executable, str(Path(__file__).with_name(script)), *args, "--json", str(out)],
                       check=True, timeout=3600)
        return dict(json.loads(out.read_text()))


def benchmarks(quick: bool, work: Path) -> dict[str, Callable[[], dict[str, Any]]]:
    return {
        "engine": lambda: bench_engine.run(_starter(), reps=1 if quick else 5, max_tokens=16 if quick else 128),
        "api": lambda: bench_api.run(_starter(), reps=1 if quick else 5, tokens=16 if quick else 128),
        "gui_streaming": lambda: _gui_process("bench_gui_streaming.py", quick),
        "gui_blocks": lambda: _gui_process("bench_gui_blocks.py", quick),
        "startup": lambda: bench_startup.run(reps=1 if quick else 5),
        "store": lambda: bench_store.run(conversations=40 if quick else 10_000, messages=400 if quick else 200_000,
                                         reps=1 if quick else 7, db=work / "bench-store.db"),
        "documents": lambda: bench_documents.run(pages=10 if quick else 300, chunks=200 if quick else 10_000,
                                                 repeats=1 if quick else 3),
        "downloads": lambda: bench_downloads.run_bench(size_mb=4 if quick else 256, runs=1 if quick else 5,
                                                       work=work / "downloads", kill=not quick),
        "vision": lambda: bench_vision.run(*_vision_pair(work, quick), reps=1 if quick else 3,
                                           side=90 if quick else 1400),
        "speculative": lambda: bench_speculative.run(_starter(), reps=1 if quick else 3,
                                                     max_tokens=48 if quick else 400),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="toy sizes: check that every benchmark runs")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these")
    parser.add_argument("--json", type=Path, default=ROOT / "tests" / ".artifacts" / "bench-latest.json")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"system": platform.platform(), "python": platform.python_version(),
                    "cpu": platform.processor() or platform.machine()},
        "quick": args.quick,
        "results": {},
    }
    with tempfile.TemporaryDirectory(prefix="hearth-bench-") as tmp:
        work = Path(tmp)
        (work / "downloads").mkdir()
        for name, bench in benchmarks(args.quick, work).items():
            if args.only and name not in args.only:
                continue
            print(f"== {name}", file=sys.stderr, flush=True)
            started = time.perf_counter()
            try:
                result = bench()
            except Exception as exc:  # one broken benchmark must not hide the others' numbers
                traceback.print_exc()
                result = {"error": f"{type(exc).__name__}: {exc}"}
            result["elapsed_s"] = round(time.perf_counter() - started, 1)
            report["results"][name] = result
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}", file=sys.stderr)
    return 1 if any("error" in r for r in report["results"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
