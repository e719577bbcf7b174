"""The cost of llama.cpp's RPC path itself: generation tokens/s with a model spread over two ``hearth worker``
processes on loopback against the same model loaded on this computer alone, in the same run.

Both loads use the CPU, greedy sampling and the same prompt; the two workers get half of the layers each (the last
one also the output layer), so every token crosses the loopback network three times (to the first worker, to the
second, back). Reported: tokens/s (the engine host's own measure, and the app's), time to first token, and the ratio
workers / local. On a real network add the round trip per hop and the transfer of the hidden state per token; the
planner's estimate (``hearth models plan --worker``) does.

Run: ``python tests/bench/bench_rpc.py [--model PATH] [--reps 3] [--tokens 64] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "app"), str(ROOT)]

from hearth.core.engine import EngineClient, Finished  # noqa: E402
from hearth.core.engine.plan import LoadPlan  # noqa: E402
from hearth.core.engine.sampling import SamplingParams  # noqa: E402
from tests.bench import print_and_save  # noqa: E402
from tests.fixtures.rpc_workers import start_worker  # noqa: E402

PROMPT = "Write a detailed essay about the history of lighthouses and the people who kept them."


def measure(plan: LoadPlan, reps: int, tokens: int) -> dict[str, Any]:
    params = SamplingParams(temperature=0.0, max_tokens=tokens, seed=1)
    host_rates, app_rates, ttfts = [], [], []
    with EngineClient() as client:
        info = client.load(plan)
        for _ in range(reps + 1):  # the first answer warms caches and is not counted
            client.chat([{"role": "user", "content": "Hi"}], SamplingParams(max_tokens=1))
            done = next(e for e in client.chat([{"role": "user", "content": PROMPT}], params)
                        if isinstance(e, Finished))
            host_rates.append(done.stats.host_tokens_per_s or 0.0)
            app_rates.append(done.stats.tokens_per_s or 0.0)
            ttfts.append(done.stats.ttft_s or 0.0)
    return {
        "tokens_per_s": round(statistics.median(host_rates[1:]), 2),
        "app_tokens_per_s": round(statistics.median(app_rates[1:]), 2),
        "ttft_ms": round(1000 * statistics.median(ttfts[1:]), 1),
        "workers": [{"endpoint": w.endpoint, "bytes": w.bytes} for w in info.workers],
    }


def run(model: Path, *, reps: int = 3, tokens: int = 64, threads: int | None = None) -> dict[str, Any]:
    from hearth.core.machine.cpu import detect_cpu

    threads = threads or detect_cpu().physical_cores  # the same threads here and on each worker
    local = measure(LoadPlan(str(model), n_ctx=1024, n_threads=threads), reps, tokens)
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        workers = [stack.enter_context(start_worker(Path(folder), "--threads", str(threads)))
                   for _ in range(2)]
        spread = measure(LoadPlan(str(model), n_ctx=1024, n_threads=threads, n_gpu_layers=-1,
                                  workers=tuple(w.endpoint for w in workers), tensor_split=(1.0, 1.0, 0.0)),
                         reps, tokens)
    return {
        "model": model.name, "reps": reps, "tokens": tokens, "threads": threads,
        "local": local, "two_loopback_workers": spread,
        "ratio_tokens_per_s": (round(spread["tokens_per_s"] / local["tokens_per_s"], 3) if local["tokens_per_s"]
                               else None),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a GGUF model (default: the starter model)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, help="threads for this computer and each worker (default: cores)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    model = args.model
    if model is None:
        from hearth.core.models.library.starter import ensure_starter_model

        model = ensure_starter_model(Path(tempfile.gettempdir()) / "hearth-bench-models")
    return print_and_save(run(model, reps=args.reps, tokens=args.tokens, threads=args.threads), args.json)


if __name__ == "__main__":
    sys.exit(main())
