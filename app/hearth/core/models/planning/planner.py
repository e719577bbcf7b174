"""From a model's header, a machine and a wanted context to the fastest placement that fits, and why.

Placements follow llama.cpp's own rules: ``n_gpu_layers`` puts the *last* N repeating layers on the GPU (all of them
plus the output layer at ``n_layer + 1``); the token embeddings always stay in RAM; a layer's KV cache lives with the
layer; ``--n-cpu-moe N`` (``cpu_tensor_patterns``) keeps the *first* N layers' routed-expert tensors in RAM. For a
mixture-of-experts model the candidates are: everything on the GPU; all layers on the GPU with the experts of the first
N layers in RAM (N = 1 … all, like ``--n-cpu-moe``); the last K layers on the GPU with every expert in RAM; and the CPU
alone. Each is costed in VRAM, RAM and time per token (see ``hearth.core.machine.bandwidth``); the fastest one that fits
with a safety margin wins.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from hearth.core.engine.plan import FlashAttention, LoadPlan, expert_patterns, resolve_cache_types
from hearth.core.gguf.header import GgufInfo
from hearth.core.machine.bandwidth import gpus_bandwidth, ram_bandwidth
from hearth.core.machine.hardware import Hardware, metal_working_set
from hearth.core.models.planning.kv_cache import kv_cache_per_layer
from hearth.core.units import GB, GiB, format_size

Verdict = Literal["fits_well", "fits_slow", "does_not_fit"]
FITS_WELL_TOKENS_PER_S = 8.0  # faster than most people read: the answer never makes them wait
DEFAULT_CTX = 8192
# The engine process before it loads a model (Python, llama.cpp's CPU libraries): 44.5 MB measured on Linux x86-64;
# ``Hardware.engine_overhead_bytes`` replaces it once ``hearth bench`` has measured this machine.
ENGINE_OVERHEAD_BYTES = 48 * 2**20
VOCAB_BYTES_PER_TOKEN = 256  # llama.cpp's vocabulary tables (token texts, merges, maps) per token
CPU_LAYER_SECONDS = 0.00015  # kernel launches and thread synchronisation per layer run on the CPU, per token

VERDICT_WORDS: dict[str, str] = {"fits_well": "fits well", "fits_slow": "fits but slow", "does_not_fit": "does not fit"}


def usable_ram(hw: Hardware) -> int:
    """RAM a model may use: all of it less a reserve for the system and other apps (12%, at least 2 GiB)."""
    return max(0, hw.ram_total - max(2 * GiB, int(0.12 * hw.ram_total)))


def usable_vram(hw: Hardware) -> int:
    """GPU memory a model may use: free memory (or the total) less a reserve for the display and the driver."""
    if not hw.can_offload:
        return 0
    if hw.unified_memory:
        limit = min(g.total_bytes or metal_working_set(hw.ram_total) for g in hw.gpus)
        return max(0, min(limit, usable_ram(hw)) - GiB // 2)
    reserve = max(GiB // 2, int(0.05 * hw.vram_total))
    return max(0, hw.vram_free - reserve)


@dataclass(frozen=True)
class ModelCosts:
    """A model's bytes by where llama.cpp would put them, for one context size."""

    n_layer: int
    expert_bytes: tuple[int, ...]  # routed experts, per layer
    other_bytes: tuple[int, ...]  # everything else of the layer
    expert_active: tuple[float, ...]  # expert bytes read per token (the used share)
    kv_bytes: tuple[int, ...]
    input_bytes: int  # token embeddings and other tensors outside the layers that stay in RAM
    output_bytes: int  # output layer (a copy of the embeddings when they are tied)
    compute_bytes: int  # llama.cpp's work buffers as allocated on a GPU
    tied_output: bool = False  # the output layer is the token embeddings (no second copy while both are in RAM)
    compute_resident_bytes: int = 0  # the part of the work buffers a CPU run touches (untouched pages cost no RAM)
    vocab_bytes: int = 0  # llama.cpp's vocabulary tables
    cache_type_k: str = "f16"
    cache_type_v: str = "f16"

    @classmethod
    def from_info(cls, info: GgufInfo, n_ctx: int, n_batch: int = 512, cache_type_k: str = "f16",
                  cache_type_v: str = "f16") -> ModelCosts:
        n_layer = max(info.block_count, 1 + max((t.layer for t in info.tensors if t.layer is not None), default=-1))
        experts = [0] * n_layer
        others = [0] * n_layer
        share = info.expert_used_count / info.expert_count if info.expert_count and info.expert_used_count else 1.0
        input_bytes = output_bytes = 0
        names = {t.name for t in info.tensors}
        for t in info.tensors:
            if t.layer is not None and t.layer < n_layer:
                if t.is_routed_expert:
                    experts[t.layer] += t.nbytes
                else:
                    others[t.layer] += t.nbytes
            elif t.name.startswith("output"):
                output_bytes += t.nbytes
            else:
                input_bytes += t.nbytes
                if t.name == "token_embd.weight" and "output.weight" not in names:
                    output_bytes += t.nbytes  # tied embeddings: llama.cpp duplicates them for the output layer
        widths = [info.arch_value("feed_forward_length", 0), info.arch_value("expert_feed_forward_length", 0)]
        ffn = max([w for w in widths if isinstance(w, int)] + [4 * info.embedding_length])
        compute = 256 * 2**20 + n_batch * 4 * (12 * info.embedding_length + 3 * ffn)
        # On the CPU: one batch's activations, the attention mask (f16, a row per cached position) and the graph;
        # the logits are kept for the last token only (and the drafted ones), so their reserve stays untouched.
        resident = n_batch * 4 * (3 * info.embedding_length + 2 * ffn) + n_ctx * n_batch * 2 + 8 * 2**20
        return cls(
            n_layer=n_layer, expert_bytes=tuple(experts), other_bytes=tuple(others),
            expert_active=tuple(e * share for e in experts),
            kv_bytes=kv_cache_per_layer(info, n_ctx, n_batch, cache_type_k, cache_type_v),
            input_bytes=input_bytes, output_bytes=output_bytes, compute_bytes=compute,
            tied_output="output.weight" not in names, compute_resident_bytes=resident,
            vocab_bytes=info.vocab_size * VOCAB_BYTES_PER_TOKEN, cache_type_k=cache_type_k,
            cache_type_v=cache_type_v,
        )

    @property
    def total_bytes(self) -> int:
        return (sum(self.expert_bytes) + sum(self.other_bytes) + sum(self.kv_bytes) + self.input_bytes
                + self.output_bytes + self.compute_bytes)

    @property
    def is_moe(self) -> bool:
        return sum(self.expert_bytes) > 0


@dataclass(frozen=True)
class Placement:
    """Where a model's parts go, what that costs, and how fast it should run.

    Attributes:
        n_gpu_layers: llama.cpp's ``n_gpu_layers`` (0 … n_layer + 1; n_layer + 1 includes the output layer).
        cpu_expert_layers: the first N layers keep their routed experts in RAM (``--n-cpu-moe N``).
        vram_bytes: GPU memory needed.
        ram_bytes: RAM needed.
        kv_bytes: the KV cache (part of the two numbers above).
        tokens_per_s: expected generation speed.
    """

    n_gpu_layers: int
    cpu_expert_layers: int
    vram_bytes: int
    ram_bytes: int
    kv_bytes: int
    tokens_per_s: float
    n_layer: int
    cpu_read_bytes: float = 0.0  # read from RAM per token
    gpu_read_bytes: float = 0.0  # read from GPU memory per token

    @property
    def kind(self) -> str:
        if self.n_gpu_layers == 0:
            return "cpu"
        if self.n_gpu_layers < self.n_layer + 1:
            return "partial"
        if self.cpu_expert_layers >= self.n_layer:
            return "experts_in_ram"
        return "some_experts_in_ram" if self.cpu_expert_layers else "gpu"


def cost(costs: ModelCosts, n_gpu_layers: int, cpu_expert_layers: int, hw: Hardware,
         extra_bytes: int = 0) -> Placement:
    """VRAM, RAM and speed of one placement."""
    n = costs.n_layer
    first_gpu = max(0, n - n_gpu_layers)
    on_gpu_output = n_gpu_layers > n
    ram = costs.input_bytes
    vram = 0
    gpu_read = cpu_read = 0.0
    for il in range(n):
        kv = costs.kv_bytes[il]
        if il >= first_gpu and n_gpu_layers > 0:
            vram += costs.other_bytes[il] + kv
            gpu_read += costs.other_bytes[il] + kv / 2
            if il < cpu_expert_layers:
                ram += costs.expert_bytes[il]
                cpu_read += costs.expert_active[il]
            else:
                vram += costs.expert_bytes[il]
                gpu_read += costs.expert_active[il]
        else:
            ram += costs.other_bytes[il] + costs.expert_bytes[il] + kv
            cpu_read += costs.other_bytes[il] + costs.expert_active[il] + kv / 2
    if on_gpu_output:
        vram += costs.output_bytes
        gpu_read += costs.output_bytes
    else:
        # Tied embeddings on the CPU are one tensor, mapped once; they are still read for every token.
        ram += 0 if costs.tied_output else costs.output_bytes
        cpu_read += costs.output_bytes
    process = costs.vocab_bytes + (hw.engine_overhead_bytes or ENGINE_OVERHEAD_BYTES)
    if n_gpu_layers > 0:
        vram += costs.compute_bytes + extra_bytes
        # The GPU runtime's host side, llama.cpp's host buffers and the engine process itself.
        ram += 256 * 2**20 + max(400 * 2**20, process)
    else:
        ram += costs.compute_resident_bytes + extra_bytes + process
    gpu_gbps, _ = gpus_bandwidth(hw)
    cpu_gbps, _ = ram_bandwidth(hw)
    seconds = cpu_read / (cpu_gbps * GB) + (gpu_read / (gpu_gbps * GB) if gpu_read else 0.0)
    # Fixed costs per token: kernel launches and thread synchronisation (~0.15 ms per layer run on the CPU, or as
    # measured here), and a round trip per layer whose experts run on the CPU while the rest is on the GPU.
    cpu_layers = n - (n_gpu_layers if n_gpu_layers <= n else n)
    per_layer = hw.cpu_layer_seconds if hw.cpu_layer_seconds is not None else CPU_LAYER_SECONDS
    seconds += 0.001 + per_layer * cpu_layers
    seconds += 0.00005 * min(cpu_expert_layers, n) if n_gpu_layers else 0.0
    seconds += 0.0005 if 0 < n_gpu_layers <= n else 0.0
    return Placement(n_gpu_layers, min(cpu_expert_layers, n), vram, ram, sum(costs.kv_bytes), 1 / seconds, n,
                     cpu_read, gpu_read)


def candidates(costs: ModelCosts, hw: Hardware, extra_bytes: int = 0) -> list[Placement]:
    """Every placement worth costing on this machine."""
    n = costs.n_layer
    found = [cost(costs, 0, 0, hw, extra_bytes)]
    if not hw.can_offload:
        return found
    if costs.is_moe:
        found += [cost(costs, n + 1, k, hw, extra_bytes) for k in range(n + 1)]
        found += [cost(costs, k, n, hw, extra_bytes) for k in range(1, n + 1)]
    else:
        found += [cost(costs, k, 0, hw, extra_bytes) for k in range(1, n + 2)]
    return found


def fits(p: Placement, hw: Hardware) -> bool:
    if hw.unified_memory:
        return p.vram_bytes <= usable_vram(hw) and p.vram_bytes + p.ram_bytes <= usable_ram(hw)
    return p.vram_bytes <= usable_vram(hw) and p.ram_bytes <= usable_ram(hw)


@dataclass(frozen=True)
class FitReport:
    """The planner's answer for one model on one machine.

    Attributes:
        verdict: "fits_well", "fits_slow" or "does_not_fit".
        explanation: one sentence for a person.
        plan: what the engine loads with (None when it does not fit).
        placement: the chosen placement (for "does_not_fit": the one closest to fitting).
        n_ctx: the context size planned for.
        short: what is missing when it does not fit, in words ("" otherwise).
        usable_ram: RAM the plan may use.
        usable_vram: GPU memory the plan may use.
        notes: assumptions and warnings.
        unified_memory: the machine's GPU shares its RAM (usable_vram is part of usable_ram).
        workers: what each llama.cpp RPC worker holds (``hearth.core.models.planning.workers``), when planned with
            workers.
    """

    verdict: Verdict
    explanation: str
    plan: LoadPlan | None
    placement: Placement
    n_ctx: int
    short: str
    usable_ram: int
    usable_vram: int
    notes: tuple[str, ...] = field(default=())
    unified_memory: bool = False
    cache_type: str = "f16"
    cache_note: str = ""
    calibrated: bool = False
    workers: tuple[Any, ...] = field(default=())

    @property
    def tokens_per_s(self) -> float | None:
        return self.placement.tokens_per_s if self.verdict != "does_not_fit" else None

    @property
    def tokens_per_s_range(self) -> tuple[float, float] | None:
        """The speeds to expect, slowest first (narrower once this machine was measured)."""
        if self.verdict == "does_not_fit":
            return None
        low, high = CALIBRATED_RANGE if self.calibrated else UNCALIBRATED_RANGE
        return self.placement.tokens_per_s * low, self.placement.tokens_per_s * high

    def to_dict(self) -> dict[str, Any]:
        p = self.placement
        return {
            "verdict": self.verdict, "verdict_words": VERDICT_WORDS[self.verdict], "explanation": self.explanation,
            "n_ctx": self.n_ctx, "short": self.short, "tokens_per_s": round(p.tokens_per_s, 1),
            "placement": {**asdict(p), "kind": p.kind}, "usable_ram": self.usable_ram,
            "usable_vram": self.usable_vram, "notes": list(self.notes), "unified_memory": self.unified_memory,
            "plan": self.plan.to_dict() if self.plan else None, "cache_type": self.cache_type,
            "cache_note": self.cache_note, "calibrated": self.calibrated,
            "tokens_per_s_range": [round(x, 1) for x in self.tokens_per_s_range or ()],
            "workers": [w.to_dict() for w in self.workers],
        }


def _gpu_words(hw: Hardware) -> str:
    if hw.unified_memory:
        return "your Mac's GPU (unified memory)"
    return f"your {hw.vram_total / GB:.0f} GB GPU"  # the GPU's name as sold, not a measured size


def explain(p: Placement, hw: Hardware) -> str:
    speed = f"~{p.tokens_per_s:.0f} tokens/s expected" if p.tokens_per_s >= 2 else \
        f"~{p.tokens_per_s:.2g} tokens/s expected"
    n = p.n_layer
    if p.kind == "cpu":
        where = "On the CPU from RAM" + ("" if hw.gpus else " (no GPU)")
    elif p.kind == "gpu":
        where = f"Everything on {_gpu_words(hw)}"
    elif p.kind == "experts_in_ram":
        where = f"All layers on {_gpu_words(hw)}, experts in RAM"
    elif p.kind == "some_experts_in_ram":
        where = f"All layers on {_gpu_words(hw)}, the experts of {p.cpu_expert_layers} of {n} layers in RAM"
    else:
        experts = ", all experts" if p.cpu_expert_layers else ""
        where = f"{p.n_gpu_layers} of {n} layers on {_gpu_words(hw)}, the rest{experts} in RAM"
    return f"{where}: {speed}."


def _summary(p: Placement) -> str:
    return {"cpu": "CPU", "gpu": "GPU", "experts_in_ram": "GPU + experts in RAM",
            "some_experts_in_ram": f"GPU + {p.cpu_expert_layers} layers' experts in RAM",
            "partial": f"GPU {p.n_gpu_layers}/{p.n_layer} layers"}[p.kind]


def plan_model(info: GgufInfo, hw: Hardware, *, n_ctx: int | None = None, model_path: str = "",
               mmproj_path: str | None = None, mmproj_bytes: int = 0, n_batch: int = 512,
               cache_type: str = "auto", flash_attn: FlashAttention = "auto") -> FitReport:
    """The fastest placement of a model that fits this machine, or why none does.

    Args:
        info: the model's header (merged over shards).
        hw: the machine (real, overridden or hypothetical).
        n_ctx: wanted context in tokens (default: 8192, or the model's trained context if smaller).
        model_path: the file the plan loads (the first shard).
        mmproj_path: a vision projector to load with it.
        mmproj_bytes: its size, counted with the GPU part (or RAM without a GPU).
        n_batch: prompt-processing batch size.
        cache_type: the KV cache's type ("f16", "q8_0", "q4_0"), or "auto": 16-bit, unless the context only fits
            (or runs much faster) with an 8-bit cache, which the report then says.
        flash_attn: the flash-attention setting (off keeps a quantized V cache at 16 bits).
    """
    trained = info.context_length or DEFAULT_CTX
    ctx = max(256, min(n_ctx or DEFAULT_CTX, trained))
    tried = [_try_cache_type(info, hw, ctx, n_batch, t, flash_attn, mmproj_bytes)
             for t in (("f16", "q8_0") if cache_type == "auto" else (cache_type,))]
    chosen = tried[0]
    cache_note = ""
    if len(tried) > 1:
        f16, q8 = tried
        if not f16.good and q8.good:
            chosen = q8
            cache_note = f"A {context_words(ctx)} context fits with an 8-bit cache."
        elif f16.good and q8.good and q8.best.tokens_per_s >= 1.3 * f16.best.tokens_per_s:
            chosen = q8
            cache_note = (f"An 8-bit cache lets more of the model on the GPU: ~{q8.best.tokens_per_s:.0f} instead "
                          f"of ~{f16.best.tokens_per_s:.0f} tokens/s.")
    ram_ok, vram_ok = usable_ram(hw), usable_vram(hw)
    notes = [f"RAM: {ram_bandwidth(hw)[1]}"]
    if hw.gpus:
        notes.append(f"GPU: {gpus_bandwidth(hw)[1]}")
    if hw.calibration:
        notes.append(hw.calibration)
    if n_ctx and n_ctx > trained:
        notes.append(f"The model was trained for {trained:,} tokens of context; planned for that.")
    if hw.gpus and not hw.can_offload:
        notes.append("This build of llama.cpp cannot use the GPU (see `hearth doctor`).")
    if cache_note:
        notes.append(cache_note)
    k, v = chosen.costs.cache_type_k, chosen.costs.cache_type_v
    if chosen.good:
        best = chosen.best
        verdict: Verdict = "fits_well" if best.tokens_per_s >= FITS_WELL_TOKENS_PER_S else "fits_slow"
        if hw.ram_available is not None and best.ram_bytes > hw.ram_available:
            notes.append(f"Only {format_size(hw.ram_available)} of RAM is free right now; close other apps first.")
        low, high = speed_range(best.tokens_per_s, hw)
        plan = LoadPlan(
            model_path=model_path, n_ctx=ctx, n_gpu_layers=best.n_gpu_layers,
            cpu_tensor_patterns=_patterns(best), n_batch=n_batch, mmproj_path=mmproj_path, summary=_summary(best),
            flash_attn=flash_attn, cache_type_k=k, cache_type_v=v,  # type: ignore[arg-type]
            extra={"expected_tokens_per_s": round(best.tokens_per_s, 1), "vram_bytes": best.vram_bytes,
                   "ram_bytes": best.ram_bytes, "kv_bytes": best.kv_bytes, "tokens_per_s_low": round(low, 1),
                   "tokens_per_s_high": round(high, 1), "calibrated": bool(hw.calibration),
                   "cache_note": cache_note},
        )
        explanation = explain(best, hw) + (f" {cache_note}" if cache_note else "")
        return FitReport(verdict, explanation, plan, best, ctx, "", ram_ok, vram_ok, tuple(notes),
                         hw.unified_memory, cache_type=k if k == v else f"{k}/{v}", cache_note=cache_note,
                         calibrated=bool(hw.calibration))
    # The placement that comes closest: within the GPU's memory, the one that needs the least RAM.
    closest = min(chosen.options, key=lambda p: (p.vram_bytes > vram_ok, p.ram_bytes, p.vram_bytes))
    short = _shortfall(closest, hw)
    smaller = _fits_with_less_context(info, hw, ctx, n_batch, mmproj_bytes, k, v)
    if smaller:
        notes.append(f"It would fit with a {smaller:,}-token context.")
    if cache_type == "auto" and _try_cache_type(info, hw, ctx, n_batch, "q4_0", flash_attn, mmproj_bytes).good:
        notes.append(f"A {context_words(ctx)} context would fit with a 4-bit cache (q4_0; answers may suffer a "
                     "little).")
    return FitReport("does_not_fit", f"Does not fit: {short}.", None, closest, ctx, short, ram_ok, vram_ok,
                     tuple(notes), hw.unified_memory, cache_type=k if k == v else f"{k}/{v}",
                     calibrated=bool(hw.calibration))


@dataclass(frozen=True)
class _Tried:
    costs: ModelCosts
    options: list[Placement]
    good: list[Placement]

    @property
    def best(self) -> Placement:
        return max(self.good, key=lambda p: (round(p.tokens_per_s, 3), -p.vram_bytes))


def _try_cache_type(info: GgufInfo, hw: Hardware, ctx: int, n_batch: int, cache_type: str,
                    flash_attn: FlashAttention, mmproj_bytes: int) -> _Tried:
    k, v, _why = resolve_cache_types(LoadPlan("", cache_type_k=cache_type, cache_type_v=cache_type,  # type: ignore[arg-type]
                                              flash_attn=flash_attn))
    costs = ModelCosts.from_info(info, ctx, n_batch, k, v)
    options = candidates(costs, hw, mmproj_bytes)
    return _Tried(costs, options, [p for p in options if fits(p, hw)])


def context_words(n_ctx: int) -> str:
    """A context size as people say it: 65,536 -> "64k", 10,485,760 -> "10M"."""
    if n_ctx >= 2**20 and n_ctx % 2**20 == 0:
        return f"{n_ctx // 2**20}M"
    if n_ctx >= 1000 * 2**10:
        return f"{n_ctx / 2**20:.1f}M".replace(".0M", "M")
    if n_ctx % 1024 == 0:
        return f"{n_ctx // 1024}k"
    return f"{n_ctx:,}"


# Without a measurement the planner's figure is the fast end: llama.cpp reaches it on a quiet machine, and
# measured speeds have come in up to ~40% lower (Gemma 3 270M here: 67 expected, 46 measured). Once ``hearth bench``
# has calibrated the machine, the estimate sits in the middle of a narrower band.
UNCALIBRATED_RANGE = (0.6, 1.0)
CALIBRATED_RANGE = (0.85, 1.15)


def speed_range(tokens_per_s: float, hw: Hardware) -> tuple[float, float]:
    """The range of generation speeds to show for an estimate (narrower once this machine was measured)."""
    low, high = CALIBRATED_RANGE if hw.calibration else UNCALIBRATED_RANGE
    return tokens_per_s * low, tokens_per_s * high


def _patterns(p: Placement) -> tuple[str, ...]:
    if p.cpu_expert_layers <= 0 or p.n_gpu_layers == 0:
        return ()
    return expert_patterns() if p.cpu_expert_layers >= p.n_layer else expert_patterns(p.cpu_expert_layers)


def _shortfall(p: Placement, hw: Hardware) -> str:
    ram_ok, vram_ok = usable_ram(hw), usable_vram(hw)
    need = p.vram_bytes + p.ram_bytes
    if hw.unified_memory:
        return (f"it needs about {format_size(need)} of memory and {format_size(ram_ok)} of this Mac's "
                f"{format_size(hw.ram_total)} is usable")
    if vram_ok and p.vram_bytes:
        return (f"it needs about {format_size(need)} of RAM and GPU memory together; usable are "
                f"{format_size(ram_ok)} of RAM and {format_size(vram_ok)} on the GPU "
                f"({format_size(need - ram_ok - vram_ok)} short in RAM)")
    return (f"it needs about {format_size(p.ram_bytes)} of RAM and {format_size(ram_ok)} of this machine's "
            f"{format_size(hw.ram_total)} is usable")


def _fits_with_less_context(info: GgufInfo, hw: Hardware, ctx: int, n_batch: int, extra: int,
                            type_k: str = "f16", type_v: str = "f16") -> int | None:
    smaller = ctx // 2
    while smaller >= 2048:
        costs = ModelCosts.from_info(info, smaller, n_batch, type_k, type_v)
        if any(fits(p, hw) for p in candidates(costs, hw, extra)):
            return smaller
        smaller //= 2
    return None


def machine_matrix() -> list[Hardware]:
    """The machines of the README's table, as hypothetical ``Hardware``."""
    return [
        Hardware.hypothetical(16, label="16 GB laptop, no GPU", cores=4),
        Hardware.hypothetical(32, 8, label="32 GB RAM + 8 GB GPU"),
        Hardware.hypothetical(64, 16, label="64 GB RAM + 16 GB GPU"),
        Hardware.hypothetical(64, 24, label="64 GB RAM + 24 GB GPU"),
        Hardware.hypothetical(128, 24, label="128 GB RAM + 24 GB GPU"),
        Hardware.hypothetical(64, apple=True, label="Apple, 64 GB unified"),
        Hardware.hypothetical(128, apple=True, label="Apple, 128 GB unified"),
    ]


def plan_from_report(report: FitReport, model_path: str, mmproj_path: str | None,
                     flash_attn: FlashAttention = "auto") -> LoadPlan:
    """The plan a report leads to: its own plan when a placement fits, else the nearest one anyway, with the reason
    in ``plan.extra["does_not_fit"]`` (the app says so and lets the user try, since the margins are conservative)."""
    if report.plan is not None:
        return report.plan.with_changes(extra={**report.plan.extra, "explanation": report.explanation})
    p = report.placement
    k, _, v = report.cache_type.partition("/")
    return LoadPlan(model_path=model_path, n_ctx=report.n_ctx, n_gpu_layers=p.n_gpu_layers,
                    cpu_tensor_patterns=_patterns(p), mmproj_path=mmproj_path, summary=_summary(p),
                    flash_attn=flash_attn, cache_type_k=k, cache_type_v=v or k,  # type: ignore[arg-type]
                    extra={"does_not_fit": report.explanation, "explanation": report.explanation})
