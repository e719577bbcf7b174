"""Engine overhead and follow-up-turn benchmarks (benchmarks 1 and 2 of tests/bench/README.md).

1. Generation tokens/s and time to first token through Hearth's engine (child process, pipe, detokenization,
   measured where the app sees the tokens) against a bare in-process llama-cpp-python loop on the same model with the
   same settings, in the same run. Targets: >= 0.97x tokens/s, TTFT within +10 ms.
2. TTFT of a follow-up turn after a ~2,000-token first turn against the TTFT of a fresh ~2,000-token prompt.
   Target: <= 0.2x (the cache is reused).

Run: ``python tests/bench/bench_engine.py [--model PATH] [--reps 5] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "app"), str(ROOT)]

from hearth.core.engine import EngineClient, Finished  # noqa: E402
from hearth.core.engine.plan import LoadPlan  # noqa: E402
from hearth.core.engine.sampling import SamplingParams  # noqa: E402
from hearth.core.machine.cpu import detect_cpu  # noqa: E402
from tests.bench import model_or_starter, print_and_save  # noqa: E402

PROMPT = "Write a detailed essay about the history of lighthouses and the people who kept them."
LONG_TEXT = "The keeper climbed the spiral stairs each evening to light the lamp above the sea. " * 110


class BareLoop:
    """The baseline: llama-cpp-python's low-level API in this process, no pipe, same settings as the engine."""

    def __init__(self, path: Path, n_ctx: int, threads: int) -> None:
        import llama_cpp as L

        self.L = L
        L.llama_backend_init()
        mp = L.llama_model_default_params()
        self.model = L.llama_model_load_from_file(str(path).encode(), mp)
        cp = L.llama_context_default_params()
        cp.n_ctx = n_ctx
        cp.n_batch = 512
        cp.n_ubatch = 512
        cp.n_threads = threads
        cp.n_threads_batch = threads
        cp.no_perf = True
        self.ctx = L.llama_init_from_model(self.model, cp)
        self.vocab = L.llama_model_get_vocab(self.model)
        self.batch = L.llama_batch_init(512, 0, 1)
        self.buf = ctypes.create_string_buffer(256)

    def tokenize(self, text: str) -> list[int]:
        data = text.encode()
        out = (self.L.llama_token * (len(data) + 8))()
        n = self.L.llama_tokenize(self.vocab, data, len(data), out, len(out), True, True)
        return list(out[:n])

    def run(self, prompt_text: str, max_tokens: int) -> tuple[float, float]:
        """Return (ttft_s, tokens_per_s) for a greedy answer from an empty cache."""
        L = self.L
        started = time.perf_counter()
        L.llama_memory_clear(L.llama_get_memory(self.ctx), True)
        tokens = self.tokenize(prompt_text)
        pos = 0
        for start in range(0, len(tokens), 512):
            chunk = tokens[start:start + 512]
            for i, t in enumerate(chunk):
                self.batch.token[i] = t
                self.batch.pos[i] = pos + i
                self.batch.n_seq_id[i] = 1
                self.batch.seq_id[i][0] = 0
                self.batch.logits[i] = 0
            self.batch.logits[len(chunk) - 1] = 1
            self.batch.n_tokens = len(chunk)
            L.llama_decode(self.ctx, self.batch)
            pos += len(chunk)
        sampler = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
        L.llama_sampler_chain_add(sampler, L.llama_sampler_init_greedy())
        text = b""
        first = last = 0.0
        for i in range(max_tokens):
            token = L.llama_sampler_sample(sampler, self.ctx, -1)
            n = L.llama_token_to_piece(self.vocab, token, self.buf, len(self.buf), 0, False)
            text += self.buf.raw[:n]
            last = time.perf_counter()
            if i == 0:
                first = last
            self.batch.token[0] = token
            self.batch.pos[0] = pos
            self.batch.n_seq_id[0] = 1
            self.batch.seq_id[0][0] = 0
            self.batch.logits[0] = 1
            self.batch.n_tokens = 1
            L.llama_decode(self.ctx, self.batch)
            pos += 1
        L.llama_sampler_free(sampler)
        return first - started, (max_tokens - 1) / (last - first)


def hearth_answer(client: EngineClient, messages: list[dict[str, str]], max_tokens: int) -> Finished:
    done = None
    # Greedy with the repetition guard off: the bare loop it is compared with samples greedily too.
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, dry_multiplier=0.0, loop_guard=False)
    for event in client.chat(messages, params):
        if isinstance(event, Finished):
            done = event
    assert done is not None
    return done


def run(model: Path, reps: int = 5, max_tokens: int = 128, n_ctx: int = 4096) -> dict[str, Any]:
    threads = detect_cpu().physical_cores
    client = EngineClient()
    client.load(LoadPlan(str(model), n_ctx=n_ctx, n_threads=threads))
    # The bare loop gets the exact prompt text the engine rendered (same template, same tokens).
    from hearth.core.engine.chat_template import fallback_template

    template = fallback_template(client.info.architecture if client.info else "", lambda _t: True)
    rendered = template.render([{"role": "user", "content": PROMPT}], bos_token="")
    bare = BareLoop(model, n_ctx, threads)

    hearth_tps, hearth_ttft, bare_tps, bare_ttft = [], [], [], []
    for rep in range(reps):
        # Different first words defeat the cache so every run reads its prompt from scratch.
        messages = [{"role": "user", "content": f"({rep}) {PROMPT}"}]
        stats = hearth_answer(client, messages, max_tokens).stats
        assert stats.tokens == max_tokens, stats
        hearth_tps.append(stats.tokens_per_s or 0.0)
        hearth_ttft.append(stats.ttft_s or 0.0)
        ttft, tps = bare.run(rendered.replace(PROMPT, f"({rep}) {PROMPT}"), max_tokens)
        bare_tps.append(tps)
        bare_ttft.append(ttft)

    fresh_ttft, follow_ttft, fresh_prompt_tokens, follow_cached = [], [], [], []
    for rep in range(reps):
        first_turn = [{"role": "user", "content": f"Story {rep}: {LONG_TEXT} Summarise it."}]
        first = hearth_answer(client, first_turn, 16)
        fresh_ttft.append(first.stats.ttft_s or 0.0)
        fresh_prompt_tokens.append(first.stats.prompt_tokens)
        second_turn = [*first_turn, {"role": "assistant", "content": "A keeper lit the lamp."},
                       {"role": "user", "content": "Who climbed the stairs?"}]
        second = hearth_answer(client, second_turn, 16)
        follow_ttft.append(second.stats.ttft_s or 0.0)
        follow_cached.append(second.stats.cached_tokens)
    client.close()

    med = statistics.median
    result = {
        "model": model.name,
        "threads": threads,
        "reps": reps,
        "generation_tokens": max_tokens,
        "engine_overhead": {
            "hearth_tokens_per_s": round(med(hearth_tps), 2),
            "bare_tokens_per_s": round(med(bare_tps), 2),
            "tokens_per_s_ratio": round(med(hearth_tps) / med(bare_tps), 4),
            "hearth_ttft_ms": round(1000 * med(hearth_ttft), 2),
            "bare_ttft_ms": round(1000 * med(bare_ttft), 2),
            "ttft_delta_ms": round(1000 * (med(hearth_ttft) - med(bare_ttft)), 2),
            "target": "tokens_per_s_ratio >= 0.97 and ttft_delta_ms <= 10",
        },
        "follow_up_turn": {
            "first_turn_prompt_tokens": int(med(fresh_prompt_tokens)),
            "fresh_ttft_ms": round(1000 * med(fresh_ttft), 2),
            "follow_up_ttft_ms": round(1000 * med(follow_ttft), 2),
            "follow_up_cached_tokens": int(med(follow_cached)),
            "ratio": round(med(follow_ttft) / med(fresh_ttft), 4),
            "target": "ratio <= 0.2",
        },
    }
    overhead = result["engine_overhead"]
    follow = result["follow_up_turn"]
    result["met"] = {
        "tokens_per_s": overhead["tokens_per_s_ratio"] >= 0.97,
        "ttft": overhead["ttft_delta_ms"] <= 10,
        "follow_up": follow["ratio"] <= 0.2,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="GGUF file (default: the starter model)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    model = model_or_starter(args.model)
    result = run(model, reps=args.reps, max_tokens=args.tokens)
    return print_and_save(result, args.json)


if __name__ == "__main__":
    sys.exit(main())
