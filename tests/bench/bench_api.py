"""Local API overhead: generation speed and first-token time through ``hearth serve`` against the engine client.

Both paths answer the same conversations with the same model and settings (greedy, ``ignore_eos`` so every answer
has exactly ``--tokens`` tokens), in the same run, alternating: the engine client called directly in this process,
and the official ``openai`` client streaming from ``hearth serve`` (a separate process, on loopback, with its key).
Times are taken where each caller sees the tokens: first token from the moment the request is made, tokens/s from
the first to the last token. Targets: >= 0.97x tokens/s, first token within +10 ms.

Run: ``python tests/bench/bench_api.py [--model PATH] [--reps 5] [--tokens 128] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import os
import re
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

from hearth.core.engine import EngineClient, TokenDelta  # noqa: E402
from hearth.core.engine.plan import LoadPlan  # noqa: E402
from hearth.core.engine.sampling import SamplingParams  # noqa: E402
from hearth.core.machine.cpu import detect_cpu  # noqa: E402
from tests.bench import model_or_starter, print_and_save  # noqa: E402

PROMPT = "Write a detailed essay about the history of lighthouses and the people who kept them."


def direct(client: EngineClient, messages: list[dict[str, str]], tokens: int) -> tuple[float, float]:
    """(first-token seconds, tokens/s) through the engine client."""
    params = SamplingParams(temperature=0.0, max_tokens=tokens, ignore_eos=True)
    started = time.perf_counter()
    first = last = 0.0
    count = 0
    for event in client.chat(messages, params):
        if isinstance(event, TokenDelta):
            last = time.perf_counter()
            if not count:
                first = last
            count += 1
    assert first, "no tokens"
    return first - started, (tokens - 1) / (last - first)


def through_api(api: Any, model: str, messages: list[dict[str, str]], tokens: int) -> tuple[float, float]:
    """(first-token seconds, tokens/s) through the local API, streamed."""
    started = time.perf_counter()
    first = last = 0.0
    used = 0
    stream = api.chat.completions.create(model=model, messages=messages, max_tokens=tokens, temperature=0,
                                         stream=True, stream_options={"include_usage": True},
                                         extra_body={"ignore_eos": True})
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            last = time.perf_counter()
            if not first:
                first = last
        if chunk.usage is not None:
            used = chunk.usage.completion_tokens
    assert first and used == tokens, used
    return first - started, (tokens - 1) / (last - first)


def start_server(model: Path, n_ctx: int, threads: int, home: Path) -> tuple[subprocess.Popen[str], str, str]:
    env = {**os.environ, "HEARTH_HOME": str(home), "PYTHONPATH": str(ROOT / "app")}
    process = subprocess.Popen(
        [sys.executable, "-m", "hearth", "serve", "--model", str(model), "--port", "0", "--ctx", str(n_ctx),
         "--threads", str(threads)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert process.stdout is not None
    base_url = ""
    for line in iter(process.stdout.readline, ""):
        found = re.search(r"at (http://\S+/v1)", line)
        if found:
            base_url = found.group(1)
        if line.startswith("Press Ctrl+C"):
            break
    if not base_url:
        process.kill()
        raise RuntimeError("hearth serve did not start")
    return process, base_url, (home / "config" / "api-key").read_text().strip()


def run(model: Path, reps: int = 5, tokens: int = 128, n_ctx: int = 4096) -> dict[str, Any]:
    import openai

    threads = detect_cpu().physical_cores
    client = EngineClient()
    client.load(LoadPlan(str(model), n_ctx=n_ctx, n_threads=threads))
    with tempfile.TemporaryDirectory(prefix="hearth-bench-api-") as home:
        process, base_url, key = start_server(model, n_ctx, threads, Path(home))
        api = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0)
        try:
            model_id = api.models.list().data[0].id
            warm = [{"role": "user", "content": "warm up"}]
            direct(client, warm, 8)
            through_api(api, model_id, warm, 8)
            d_ttft, d_tps, a_ttft, a_tps = [], [], [], []
            for rep in range(reps):
                # Different first words defeat the cache, so every answer reads its prompt from scratch.
                ttft, tps = direct(client, [{"role": "user", "content": f"({rep}) {PROMPT}"}], tokens)
                d_ttft.append(ttft)
                d_tps.append(tps)
                ttft, tps = through_api(api, model_id, [{"role": "user", "content": f"[{rep}] {PROMPT}"}], tokens)
                a_ttft.append(ttft)
                a_tps.append(tps)
        finally:
            api.close()
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
            if process.stdout is not None:
                process.stdout.close()
            client.close()
    med = statistics.median
    result: dict[str, Any] = {
        "model": model.name,
        "threads": threads,
        "reps": reps,
        "generation_tokens": tokens,
        "api_overhead": {
            "direct_tokens_per_s": round(med(d_tps), 2),
            "api_tokens_per_s": round(med(a_tps), 2),
            "tokens_per_s_ratio": round(med(a_tps) / med(d_tps), 4),
            "direct_ttft_ms": round(1000 * med(d_ttft), 2),
            "api_ttft_ms": round(1000 * med(a_ttft), 2),
            "ttft_delta_ms": round(1000 * (med(a_ttft) - med(d_ttft)), 2),
            "target": "tokens_per_s_ratio >= 0.97 and ttft_delta_ms <= 10",
        },
    }
    overhead = result["api_overhead"]
    result["met"] = {"tokens_per_s": overhead["tokens_per_s_ratio"] >= 0.97, "ttft": overhead["ttft_delta_ms"] <= 10}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="GGUF file (default: the starter model)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    model = model_or_starter(args.model)
    return print_and_save(run(model, reps=args.reps, tokens=args.tokens), args.json)


if __name__ == "__main__":
    sys.exit(main())
