"""Speculative decoding, KV cache types and flash attention on the starter model, through Hearth's engine.

Three measurements, each a ratio within the same run (no absolute targets; the machine's load cancels out as far as
it can):

1. **Prompt lookup on a quoting task**: the answer quotes a ~1,500-token passage of an attached document; greedy,
   same model, with prompt lookup and without (token by token). ``summary.speedup`` is the generation rate with
   lookup over the rate without (target >= 1.3); ``summary.identical_output`` says whether the two answers are the
   same text (must be true). The runs alternate (off, lookup, off, lookup, ...) and the medians are compared.
2. **KV cache bytes at a 16k context**, as llama.cpp allocated them (its own report, not Hearth's arithmetic):
   f16, q8_0 and q4_0; ``kv.q8_0_over_f16`` (target <= 0.56).
3. **Flash attention on against off**: prompt (tokens/s reading a ~1,000-token prompt) and generation speed.
4. **What a batch costs**: reading 1, 2, 4 and 8 tokens in one batch after the prompt (why drafting does or does not
   pay on this machine: ``summary.batch_of_8_over_one_token``).

Run: ``python tests/bench/bench_speculative.py --json FILE`` (``--quick`` for a short smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "app"), str(ROOT)]

from hearth.core.engine import EngineClient  # noqa: E402
from hearth.core.engine.events import AnswerStats  # noqa: E402
from hearth.core.engine.plan import CACHE_TYPES, LoadPlan  # noqa: E402
from hearth.core.engine.sampling import SamplingParams  # noqa: E402
from tests.bench import model_or_starter, print_and_save  # noqa: E402
from tests.fixtures.passages import engine_answer as answer  # noqa: E402
from tests.fixtures.passages import quoting_messages, quoting_passage  # noqa: E402


def generation_rate(stats: AnswerStats) -> float:
    """Tokens written per second, measured in the engine from the first token to the last."""
    return stats.host_tokens_per_s or stats.tokens_per_s or 0.0


def measure_lookup(model: Path, reps: int, max_tokens: int, n_ctx: int, words: int = 1100) -> dict[str, Any]:
    passage = quoting_passage(words=words)
    messages = quoting_messages(passage)
    params = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=max_tokens, seed=1)
    clients = {mode: EngineClient() for mode in ("off", "lookup")}
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "lookup": []}
    texts: dict[str, list[str]] = {"off": [], "lookup": []}
    try:
        for mode, client in clients.items():
            client.load(LoadPlan(str(model), n_ctx=n_ctx, speculative=mode))  # type: ignore[arg-type]
            answer(client, messages, params.with_changes(max_tokens=4), continue_last=True)  # warm, prompt cached
        for _ in range(reps):
            for mode, client in clients.items():
                text, stats = answer(client, messages, params, continue_last=True)
                texts[mode].append(text)
                runs[mode].append({"tokens": stats.tokens, "tokens_per_s": generation_rate(stats),
                                   "drafted": stats.drafted_tokens, "accepted": stats.accepted_tokens,
                                   "prompt_tokens": stats.prompt_tokens})
    finally:
        for client in clients.values():
            client.close()
    off = statistics.median(r["tokens_per_s"] for r in runs["off"])
    on = statistics.median(r["tokens_per_s"] for r in runs["lookup"])
    drafted = sum(r["drafted"] for r in runs["lookup"])
    accepted = sum(r["accepted"] for r in runs["lookup"])
    return {
        "task": f"quote a {runs['off'][0]['prompt_tokens']:,}-token prompt's passage, greedy, {max_tokens} tokens",
        "runs": runs,
        "tokens_per_s_off": round(off, 2),
        "tokens_per_s_lookup": round(on, 2),
        "speedup": round(on / off, 3) if off else None,
        "identical_output": len(set(texts["off"] + texts["lookup"])) == 1,
        "acceptance": round(accepted / drafted, 3) if drafted else None,
        "answer_start": texts["lookup"][0][:200],
    }


def measure_block_cost(model: Path, n_ctx: int, reps: int = 9) -> dict[str, Any]:
    """What reading k tokens in one batch costs against one token, after a ~1,500-token prompt (median ms).

    Drafting pays only when a batch of k costs little more than one token (weights read once): true where memory
    bandwidth bounds the model, not for a small model on a few CPU cores. Measured in this process with llama.cpp
    directly (the same runtime class the engine host uses)."""
    import threading

    from hearth.core.engine.runtime import ModelRuntime
    from hearth.core.machine.cpu import detect_cpu

    runtime = ModelRuntime(LoadPlan(str(model), n_ctx=n_ctx), use_extra_bufts=False, on_progress=lambda _f: True,
                           abort_flag=threading.Event(), n_threads=detect_cpu().physical_cores)
    try:
        tokens = runtime.tokenize(quoting_passage(words=1100), add_special=False)[:1500]
        runtime.decode(tokens, 0)
        at = len(tokens)
        ms: dict[str, float] = {}
        for k in (1, 2, 4, 8):
            times = []
            for rep in range(reps):
                started = time.perf_counter()
                if k == 1:
                    runtime.decode_one(tokens[rep], at)
                else:
                    runtime.decode_block(tokens[rep:rep + k], at)
                times.append(time.perf_counter() - started)
                runtime.keep_prefix(at)
            ms[str(k)] = round(statistics.median(times) * 1000, 2)
    finally:
        runtime.close()
    return {"ms": ms, "over_one": {k: round(v / ms["1"], 2) for k, v in ms.items()}}


def measure_kv(model: Path, n_ctx: int) -> dict[str, Any]:
    out: dict[str, Any] = {"n_ctx": n_ctx}
    for kind in CACHE_TYPES:
        with EngineClient() as client:
            info = client.load(LoadPlan(str(model), n_ctx=n_ctx, cache_type_k=kind, cache_type_v=kind))  # type: ignore[arg-type]
            out[kind] = {"kv_cache_bytes": info.kv_cache_bytes, "cache_type_k": info.cache_type_k,
                         "cache_type_v": info.cache_type_v, "flash_attn": info.flash_attn}
    f16 = out["f16"]["kv_cache_bytes"]
    out["q8_0_over_f16"] = round(out["q8_0"]["kv_cache_bytes"] / f16, 4) if f16 else None
    out["q4_0_over_f16"] = round(out["q4_0"]["kv_cache_bytes"] / f16, 4) if f16 else None
    return out


def measure_flash(model: Path, reps: int, n_ctx: int, words: int = 750) -> dict[str, Any]:
    prompt = quoting_passage(words=words, seed=11)
    clients = {mode: EngineClient() for mode in ("on", "off")}
    rates: dict[str, dict[str, list[float]]] = {m: {"prompt": [], "generation": []} for m in clients}
    reported: dict[str, bool | None] = {}
    try:
        for mode, client in clients.items():
            info = client.load(LoadPlan(str(model), n_ctx=n_ctx, flash_attn=mode, speculative="off"))  # type: ignore[arg-type]
            reported[mode] = info.flash_attn
        for rep in range(reps):
            for mode, client in clients.items():
                # A fresh prefix each time, so the whole prompt is read again.
                messages = [{"role": "user", "content": f"({rep}-{mode}-{time.time_ns()}) {prompt}\n\nSummarise."}]
                params = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=64, seed=1)
                _, stats = answer(client, messages, params)
                if stats.prompt_decode_s:
                    rates[mode]["prompt"].append(stats.prompt_decoded_tokens / stats.prompt_decode_s)
                rates[mode]["generation"].append(generation_rate(stats))
    finally:
        for client in clients.values():
            client.close()
    med = {m: {k: round(statistics.median(v), 2) if v else None for k, v in r.items()} for m, r in rates.items()}
    return {"reported_flash_attn": reported, "tokens_per_s": med,
            "prompt_on_over_off": _ratio(med["on"]["prompt"], med["off"]["prompt"]),
            "generation_on_over_off": _ratio(med["on"]["generation"], med["off"]["generation"])}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def run(model: Path, *, reps: int = 3, max_tokens: int = 400, n_ctx: int = 4096, kv_ctx: int = 16384,
        words: int = 1100) -> dict[str, Any]:
    """All three measurements; ``words``: the quoted passage's length (~1,500 tokens for 1,100 words)."""
    lookup = measure_lookup(model, reps, max_tokens, n_ctx=n_ctx, words=words)
    block = measure_block_cost(model, n_ctx)
    kv = measure_kv(model, kv_ctx)
    flash = measure_flash(model, reps, n_ctx=n_ctx, words=min(750, words))
    return {
        "model": model.name,
        "lookup": lookup,
        "block_cost": block,
        "kv_cache": kv,
        "flash_attention": flash,
        "summary": {
            "speedup": lookup["speedup"],
            "identical_output": lookup["identical_output"],
            "acceptance": lookup["acceptance"],
            "batch_of_8_over_one_token": block["over_one"]["8"],
            "kv_q8_0_over_f16": kv["q8_0_over_f16"],
            "flash_prompt_on_over_off": flash["prompt_on_over_off"],
            "flash_generation_on_over_off": flash["generation_on_over_off"],
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument("--model", type=Path, help="GGUF (default: the starter model)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=400, help="length of the quoted answer")
    parser.add_argument("--quick", action="store_true", help="one repetition, short answers (a smoke run)")
    args = parser.parse_args()
    model = model_or_starter(args.model)
    reps, max_tokens = (1, 48) if args.quick else (args.reps, args.max_tokens)
    return print_and_save(run(model, reps=reps, max_tokens=max_tokens), args.json)


if __name__ == "__main__":
    sys.exit(main())
