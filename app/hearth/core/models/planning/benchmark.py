"""``hearth bench``: how fast a model runs on this computer, with the plan the app would use.

Measures, through the same engine the app chats with: load time, prompt processing (tokens/s reading a 512- and a
4,096-token prompt from an empty cache), generation (tokens/s over 128 tokens), time to first token for a short
question, and the engine's peak memory. Results are saved per model so the Models page can show measured speed next
to the planner's estimate.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hearth.core.engine import EngineClient, Finished
from hearth.core.engine.events import AnswerStats
from hearth.core.engine.plan import LoadPlan, expert_patterns
from hearth.core.engine.sampling import SamplingParams
from hearth.core.units import format_size

# Varied, ordinary English so tokenizers see realistic text (and no two runs share a cached prefix).
_FILLER = (
    "The river bends past the old mill where children once gathered chestnuts in the autumn light, and the "
    "baker still opens his shop before dawn so that the first train's passengers can buy warm bread. "
)
WORDS_PER_ANSWER = 500
TOKENS_PER_WORD = 1.33  # English averages about three words per four tokens


@dataclass(frozen=True)
class BenchResult:
    """What ``hearth bench`` measured.

    Attributes:
        model: file name; path: full path.
        plan: the plan's summary; n_ctx, n_threads, n_gpu_layers as loaded.
        load_s: seconds from request to a ready model.
        pp512_tps, pp4096_tps: prompt tokens read per second (None if the context is too small for it).
        tg128_tps: tokens written per second.
        ttft_s: time to the first token of an answer to a short question (fresh cache).
        peak_ram_bytes, peak_vram_bytes: the engine process's peak memory (None where unknown).
        measured_at: Unix time.
        flash_attn: whether llama.cpp used flash attention (as it reported, not as asked).
        cache_type_k, cache_type_v: the KV cache's types as llama.cpp allocated them.
        kv_cache_bytes: the KV cache's buffers as llama.cpp allocated them (its log), all devices.
        compute_buffer_bytes: llama.cpp's work buffers as allocated.
        cpu_expert_layers: layers whose routed experts stayed in RAM.
    """

    model: str
    path: str
    plan: str
    n_ctx: int
    n_threads: int
    n_gpu_layers: int
    load_s: float
    pp512_tps: float | None
    pp4096_tps: float | None
    tg128_tps: float
    ttft_s: float
    peak_ram_bytes: int | None
    peak_vram_bytes: int | None
    measured_at: float
    machine: dict[str, str] = field(default_factory=dict)
    flash_attn: bool | None = None
    cache_type_k: str = "f16"
    cache_type_v: str = "f16"
    kv_cache_bytes: int = 0
    compute_buffer_bytes: int = 0
    cpu_expert_layers: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchResult:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def answer_seconds(self, words: int = WORDS_PER_ANSWER) -> float:
        """About how long an answer of ``words`` words takes (first token, then generation)."""
        return self.ttft_s + words * TOKENS_PER_WORD / max(self.tg128_tps, 1e-6)

    def meaning(self) -> list[str]:
        """What the numbers mean for a person."""
        lines = [f"A {WORDS_PER_ANSWER}-word answer takes about {self.answer_seconds():.0f} s "
                 f"({self.tg128_tps / TOKENS_PER_WORD:.0f} words per second)."]
        if self.tg128_tps < 3:
            lines.append("That is slower than reading speed: a smaller quantization or model will feel better.")
        elif self.tg128_tps >= 10:
            lines.append("That is faster than most people read.")
        if self.pp4096_tps:
            pages = 4096 / 600  # about 600 tokens per printed page
            lines.append(f"Reading a {pages:.0f}-page document takes about {4096 / self.pp4096_tps:.0f} s "
                         "before the answer starts.")
        return lines


def _prompt(tokens: int, salt: str, tokens_per_word: float = TOKENS_PER_WORD) -> str:
    words = max(1, int(tokens / tokens_per_word))
    text = (f"[{salt}] " + _FILLER * (words // len(_FILLER.split()) + 1)).split()
    return " ".join(text[:words])


def _answer(client: EngineClient, text: str, max_tokens: int) -> AnswerStats:
    stats = None
    for event in client.chat([{"role": "user", "content": text}],
                             SamplingParams(temperature=0.0, max_tokens=max_tokens, seed=1)):
        if isinstance(event, Finished):
            stats = event.stats
    assert stats is not None
    return stats


def _tokens_per_word(client: EngineClient) -> float:
    """This model's tokenizer on our filler text (tokenizers differ a lot, toy ones most)."""
    words = 200
    stats = _answer(client, _prompt(int(words * TOKENS_PER_WORD), f"calibrate-{time.time_ns()}"), 1)
    return max(0.3, stats.prompt_tokens / words)


def _prompt_rate(client: EngineClient, tokens: int, n_ctx: int, reps: int, per_word: float) -> float | None:
    if tokens + 64 > n_ctx:
        return None
    rates = []
    for rep in range(reps):
        stats = _answer(client, _prompt(tokens, f"pp{tokens}-{rep}-{time.time_ns()}", per_word), 1)
        if stats.prompt_decode_s and stats.prompt_decoded_tokens:
            rates.append(stats.prompt_decoded_tokens / stats.prompt_decode_s)
    return statistics.median(rates) if rates else None


def _peak_ram(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) * 1024 if match else None


def _gpu_memory(pid: int | None) -> int | None:
    """The engine's GPU memory on NVIDIA GPUs (nvidia-smi), else None."""
    if pid is None:
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0] == str(pid) and parts[1].isdigit():
            return int(parts[1]) * 1024 * 1024
    return None


def run_benchmark(
    plan: LoadPlan,
    *,
    client: EngineClient | None = None,
    reps: int = 3,
    report: Callable[[str], None] = lambda _s: None,
) -> BenchResult:
    """Measure a model with ``plan``; ``report`` hears what is being measured."""
    own = client is None
    engine = client or EngineClient()
    try:
        report("Loading the model")
        started = time.perf_counter()
        info = engine.load(plan)
        load_s = time.perf_counter() - started
        _answer(engine, "Warm up.", 4)  # first-use costs (allocations, repacking) are not speed
        per_word = _tokens_per_word(engine)
        report("Reading a 512-token prompt")
        pp512 = _prompt_rate(engine, 512, info.n_ctx, reps, per_word)
        report("Reading a 4,096-token prompt")
        pp4096 = _prompt_rate(engine, 4096, info.n_ctx, max(1, reps - 1), per_word)
        report("Writing 128 tokens")
        tg, ttft = [], []
        for rep in range(reps):
            stats = _answer(engine, f"({rep}) Tell me a long story about a lighthouse keeper.", 128)
            if stats.tokens_per_s:
                tg.append(stats.tokens_per_s)
            if stats.ttft_s is not None:
                ttft.append(stats.ttft_s)
        pid = engine.pid
        peak_ram = _peak_ram(pid)
        peak_vram = _gpu_memory(pid)
    finally:
        if own:
            engine.close()
    return BenchResult(
        model=Path(plan.model_path).name,
        path=plan.model_path,
        plan=plan.summary,
        n_ctx=info.n_ctx,
        n_threads=info.n_threads,
        n_gpu_layers=plan.n_gpu_layers,
        load_s=load_s,
        pp512_tps=pp512,
        pp4096_tps=pp4096,
        tg128_tps=statistics.median(tg) if tg else 0.0,
        ttft_s=statistics.median(ttft) if ttft else 0.0,
        peak_ram_bytes=peak_ram,
        peak_vram_bytes=peak_vram,
        measured_at=time.time(),
        machine={"cpu": platform.processor() or platform.machine(), "system": platform.platform(),
                 "cores": str(os.cpu_count() or 0)},
        flash_attn=info.flash_attn,
        cache_type_k=info.cache_type_k or plan.cache_type_k,
        cache_type_v=info.cache_type_v or plan.cache_type_v,
        kv_cache_bytes=info.kv_cache_bytes,
        compute_buffer_bytes=info.compute_buffer_bytes,
        cpu_expert_layers=cpu_expert_layers(plan, info.n_layer),
    )


def cpu_expert_layers(plan: LoadPlan, n_layer: int) -> int:
    """How many layers' routed experts a plan keeps in RAM (``--cpu-moe``: all; ``--n-cpu-moe N``: N)."""
    if not plan.cpu_tensor_patterns or plan.n_gpu_layers == 0:
        return 0
    return n_layer if plan.cpu_tensor_patterns == expert_patterns() else len(plan.cpu_tensor_patterns)


def _key(model_path: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(model_path).name)


def save_result(folder: Path, result: BenchResult) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_key(result.path)}.json"
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")
    os.replace(temp, path)
    return path


def load_result(folder: Path, model_path: str) -> BenchResult | None:
    """The last measurement for a model, or None."""
    path = folder / f"{_key(model_path)}.json"
    try:
        return BenchResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def bench_prompt_speed(folder: Path, model_path: str) -> float | None:
    """The prompt speed ``hearth bench`` measured for a model (the long prompt's, else the short one's), or None."""
    result = load_result(folder, model_path)
    if result is None:
        return None
    return result.pp4096_tps or result.pp512_tps or None


def format_table(result: BenchResult) -> str:
    def rate(value: float | None) -> str:
        return f"{value:,.1f} tokens/s" if value else "—"

    def size(value: int | None) -> str:
        return format_size(value) if value else "unknown"

    rows = [
        ("Model", result.model),
        ("Placement", f"{result.plan} · context {result.n_ctx:,} · {result.n_threads} threads"),
        ("Load time", f"{result.load_s:.1f} s"),
        ("Reading (512-token prompt)", rate(result.pp512_tps)),
        ("Reading (4,096-token prompt)", rate(result.pp4096_tps)),
        ("Writing (128 tokens)", rate(result.tg128_tps)),
        ("Time to first token", f"{result.ttft_s * 1000:.0f} ms"),
        ("Peak memory (RAM)", size(result.peak_ram_bytes)),
        ("Peak memory (GPU)", size(result.peak_vram_bytes) if result.peak_vram_bytes else "no GPU used"),
        ("Flash attention", "unknown" if result.flash_attn is None else ("on" if result.flash_attn else "off")),
        ("KV cache", f"{result.cache_type_k}/{result.cache_type_v}, {result.kv_cache_bytes / 2**20:,.1f} MiB "
                     "(as llama.cpp allocated it)"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    return "\n".join([*lines, "", *result.meaning()])
