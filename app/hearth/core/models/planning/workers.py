"""Planning across this computer and llama.cpp RPC workers: which layers, and which experts, go where, and how fast.

llama.cpp places a model over devices like this: the first layers that are not offloaded stay on this computer's CPU;
the offloaded ones (the last ``n_gpu_layers``, the output layer included) are cut into consecutive blocks, one per
device in list order - the workers first, then this computer's GPU, which holds the output layer when it has a
share - by ``tensor_split``; ``cpu_tensor_patterns`` keep chosen layers' routed experts in this computer's RAM. So a
plan is: ``k0`` layers on the CPU, a block on each worker, ``kg`` layers on the GPU, and the experts of the GPU's
first ``e`` layers in RAM. Every such plan is costed (prefix sums keep it fast) and the fastest that fits wins.

Each worker's layers are computed where they are, so a worker costs its own memory reads plus the network: a
round trip and the hidden state (or, when it holds the output layer, the logits) per token and hop. Workers probed by
``hearth.core.engine.workers`` bring a measured round trip and bandwidth; "what if" workers assume gigabit Ethernet.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from hearth.core.engine.plan import FlashAttention, LoadPlan, layer_expert_patterns, resolve_cache_types
from hearth.core.engine.workers import WorkerStatus, parse_endpoint
from hearth.core.errors import WorkerError
from hearth.core.gguf.header import GgufInfo
from hearth.core.machine.bandwidth import gpus_bandwidth, ram_bandwidth
from hearth.core.machine.hardware import Hardware
from hearth.core.models.planning.planner import (
    DEFAULT_CTX,
    FITS_WELL_TOKENS_PER_S,
    FitReport,
    ModelCosts,
    Placement,
    Verdict,
    context_words,
    plan_model,
    speed_range,
    usable_ram,
    usable_vram,
)
from hearth.core.units import GB, GiB, format_rate, format_size

GIGABIT_BYTES_PER_S = 110e6  # what gigabit Ethernet delivers
GIGABIT_ROUND_TRIP_S = 0.0005
WORKER_MEMORY_GBPS = 50.0  # a worker's RAM, like this computer's default assumption


@dataclass(frozen=True)
class WorkerMachine:
    """A worker as the planner sees it.

    Attributes:
        endpoint: HOST:PORT.
        memory_bytes: memory it lends (for a probed worker: free now).
        round_trip_s: one request's round trip.
        bandwidth_bytes_per_s: the network's rate to it.
        memory_gbps: how fast it reads its memory (assumed).
        measured: the network figures were measured (not assumed).
    """

    endpoint: str
    memory_bytes: int
    round_trip_s: float = GIGABIT_ROUND_TRIP_S
    bandwidth_bytes_per_s: float = GIGABIT_BYTES_PER_S
    memory_gbps: float = WORKER_MEMORY_GBPS
    measured: bool = False

    @property
    def usable_bytes(self) -> int:
        """What a model may use of it: a probed worker's free memory less 5% (at least 1 GiB); a "what if" worker's
        RAM less the same reserve as this computer's (12%, at least 2 GiB), since it runs a system too."""
        if self.measured:
            return max(0, self.memory_bytes - max(GiB, int(0.05 * self.memory_bytes)))
        return max(0, self.memory_bytes - max(2 * GiB, int(0.12 * self.memory_bytes)))

    @classmethod
    def what_if(cls, text: str) -> WorkerMachine:
        """``HOST:PORT:RAM_GB`` (a worker that need not exist).

        Raises:
            WorkerError: the text is not in that form.
        """
        address, sep, ram = text.rpartition(":")
        try:
            gigabytes = float(ram)
        except ValueError:
            gigabytes = -1.0
        if not sep or ":" not in address or gigabytes <= 0:
            raise WorkerError(f"“{text}” is not HOST:PORT:RAM_GB.", hint="For example 192.168.1.20:50052:128.",
                              endpoint=text)
        return cls(str(parse_endpoint(address)), int(gigabytes * 1e9))

    @classmethod
    def from_status(cls, status: WorkerStatus) -> WorkerMachine:
        """A probed worker: its free memory, measured round trip and (when probed) bandwidth."""
        rates = [r for r in (status.upload_bytes_per_s, status.download_bytes_per_s) if r]
        return cls(str(status.endpoint), status.free_bytes, status.round_trip_s or GIGABIT_ROUND_TRIP_S,
                   min(rates) if rates else GIGABIT_BYTES_PER_S, measured=True)


@dataclass(frozen=True)
class WorkerShare:
    """What the plan puts on one worker."""

    endpoint: str
    first_layer: int
    layers: int
    bytes: int
    usable_bytes: int
    output_layer: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "first_layer": self.first_layer, "layers": self.layers,
                "bytes": self.bytes, "usable_bytes": self.usable_bytes, "output_layer": self.output_layer}


class _Sums:
    """Prefix sums of a model's per-layer bytes."""

    def __init__(self, costs: ModelCosts) -> None:
        self.other = [0, *itertools.accumulate(costs.other_bytes)]
        self.experts = [0, *itertools.accumulate(costs.expert_bytes)]
        self.active = [0.0, *itertools.accumulate(costs.expert_active)]
        self.kv = [0, *itertools.accumulate(costs.kv_bytes)]
        self.whole = [o + e + k for o, e, k in zip(self.other, self.experts, self.kv, strict=True)]

    @staticmethod
    def span(values: Sequence[float], a: int, b: int) -> float:
        return values[b] - values[a]

    def read(self, a: int, b: int) -> float:
        """Bytes read per token by layers a..b-1 run where their experts are."""
        return self.span(self.other, a, b) + self.span(self.active, a, b) + self.span(self.kv, a, b) / 2


@dataclass(frozen=True)
class _Candidate:
    k0: int
    gpu_layers: int
    experts_in_ram: int
    shares: tuple[WorkerShare, ...]
    ram: int
    vram: int
    tokens_per_s: float


def plan_with_workers(info: GgufInfo, hw: Hardware, workers: Sequence[WorkerMachine], *, n_ctx: int | None = None,
                      model_path: str = "", mmproj_path: str | None = None, mmproj_bytes: int = 0,
                      n_batch: int = 512, cache_type: str = "auto", flash_attn: FlashAttention = "auto") -> FitReport:
    """The fastest placement over this computer and ``workers`` that fits (``plan_model`` when there are none).

    The report's ``workers`` says what each worker holds; its plan loads with the workers as devices. The KV cache
    is costed as ``cache_type`` (see ``plan_model``); "auto" is 16-bit unless only an 8-bit cache fits, which the
    report then says.
    """
    if not workers:
        return plan_model(info, hw, n_ctx=n_ctx, model_path=model_path, mmproj_path=mmproj_path,
                          mmproj_bytes=mmproj_bytes, n_batch=n_batch, cache_type=cache_type, flash_attn=flash_attn)
    if cache_type != "auto":
        return _plan_over(info, hw, workers, n_ctx, model_path, mmproj_path, mmproj_bytes, n_batch, cache_type,
                          flash_attn)
    f16 = _plan_over(info, hw, workers, n_ctx, model_path, mmproj_path, mmproj_bytes, n_batch, "f16", flash_attn)
    if f16.verdict != "does_not_fit":
        return f16
    q8 = _plan_over(info, hw, workers, n_ctx, model_path, mmproj_path, mmproj_bytes, n_batch, "q8_0", flash_attn)
    if q8.verdict == "does_not_fit" or q8.plan is None:
        return f16
    note = f"A {context_words(q8.n_ctx)} context fits with an 8-bit cache."
    plan = q8.plan.with_changes(extra={**q8.plan.extra, "cache_note": note})
    return replace(q8, explanation=f"{q8.explanation} {note}", plan=plan, notes=(*q8.notes, note), cache_note=note)


def _plan_over(info: GgufInfo, hw: Hardware, workers: Sequence[WorkerMachine], n_ctx: int | None, model_path: str,
               mmproj_path: str | None, mmproj_bytes: int, n_batch: int, cache_type: str,
               flash_attn: FlashAttention) -> FitReport:
    """``plan_with_workers`` for one KV cache type."""
    k, v, _why = resolve_cache_types(LoadPlan("", cache_type_k=cache_type, cache_type_v=cache_type,  # type: ignore[arg-type]
                                              flash_attn=flash_attn))
    cache_words = k if k == v else f"{k}/{v}"
    trained = info.context_length or DEFAULT_CTX
    ctx = max(256, min(n_ctx or DEFAULT_CTX, trained))
    costs = ModelCosts.from_info(info, ctx, n_batch, k, v)
    sums = _Sums(costs)
    n = costs.n_layer
    ram_ok, vram_ok = usable_ram(hw), usable_vram(hw)
    cpu_gbps, cpu_why = ram_bandwidth(hw)
    gpu_gbps, gpu_why = gpus_bandwidth(hw)
    vocab = info.vocab_size or 32000
    hidden = 4 * max(1, info.embedding_length)  # one token's hidden state in f32, sent to and from each worker
    best: _Candidate | None = None
    closest: tuple[int, _Candidate] | None = None
    for k0 in range(n + 1):
        for w_layers in range(n - k0 + 1):
            kg = n - k0 - w_layers
            if kg and not hw.can_offload:
                continue
            shares = _fill(workers, sums, costs, k0, w_layers, output_on_workers=kg == 0)
            gs = k0 + w_layers
            for e in _expert_choices(costs, sums, gs, kg, vram_ok, mmproj_bytes):
                cand = _cost(costs, sums, hw, workers, k0, kg, e, shares, mmproj_bytes, cpu_gbps, gpu_gbps, vocab,
                             hidden)
                over = max(0, cand.ram - ram_ok) + max(0, cand.vram - vram_ok) + sum(
                    max(0, s.bytes - s.usable_bytes) for s in shares)
                if over == 0:
                    if best is None or (round(cand.tokens_per_s, 3), -_worker_bytes(cand)) > (
                            round(best.tokens_per_s, 3), -_worker_bytes(best)):
                        best = cand
                elif closest is None or over < closest[0]:
                    closest = (over, cand)
    notes = [f"RAM: {cpu_why}", *([f"GPU: {gpu_why}"] if hw.gpus else []),
             *(_network_note(w) for w in workers)]
    if n_ctx and n_ctx > trained:
        notes.append(f"The model was trained for {trained:,} tokens of context; planned for that.")
    if best is None:
        assert closest is not None
        over, cand = closest
        need = cand.ram + cand.vram + _worker_bytes(cand)
        short = (f"it needs about {format_size(need)} in all; this computer and the workers are "
                 f"{format_size(over)} short")
        return FitReport("does_not_fit", f"Does not fit, even with the workers: {short}.", None,
                         _placement(cand, costs), ctx, short, ram_ok, vram_ok, tuple(notes), hw.unified_memory,
                         workers=cand.shares, cache_type=cache_words, calibrated=bool(hw.calibration))
    verdict: Verdict = "fits_well" if best.tokens_per_s >= FITS_WELL_TOKENS_PER_S else "fits_slow"
    sent = _worker_bytes(best)
    if sent:
        slowest = min(w.bandwidth_bytes_per_s for w in workers)
        notes.append(f"Loading sends {format_size(sent)} to the workers: about {sent / slowest / 60:.0f} minutes at "
                     f"{format_rate(slowest)} (a worker started with --cache keeps them for the next load).")
    used = [s for s in best.shares if s.layers or s.output_layer]
    if not used:
        notes.append("The model fits on this computer alone, which is faster than sending every token over the "
                     "network: the workers are not used (placement flags such as --gpu-layers -1 use them anyway).")
    low, high = speed_range(best.tokens_per_s, hw)
    split = tuple(float(s.layers + (1 if s.output_layer else 0)) for s in used)
    plan = LoadPlan(
        model_path=model_path, n_ctx=ctx, n_gpu_layers=(n + 1 - best.k0) if (used or best.gpu_layers) else 0,
        cpu_tensor_patterns=layer_expert_patterns(range(n - best.gpu_layers, n - best.gpu_layers
                                                        + best.experts_in_ram)),
        n_batch=n_batch, mmproj_path=mmproj_path, workers=tuple(s.endpoint for s in used),
        flash_attn=flash_attn, cache_type_k=k, cache_type_v=v,  # type: ignore[arg-type]
        tensor_split=(*split, float(best.gpu_layers + 1) if best.gpu_layers else 0.0),
        summary=_summary(best, used),
        extra={"expected_tokens_per_s": round(best.tokens_per_s, 1), "vram_bytes": best.vram,
               "ram_bytes": best.ram, "worker_bytes": {s.endpoint: s.bytes for s in used},
               "kv_bytes": sum(costs.kv_bytes), "tokens_per_s_low": round(low, 1),
               "tokens_per_s_high": round(high, 1), "calibrated": bool(hw.calibration)},
    )
    if not used:
        plan = plan.with_changes(workers=(), tensor_split=())
    return FitReport(verdict, _explain(best, hw, n), plan, _placement(best, costs), ctx, "", ram_ok, vram_ok,
                     tuple(notes), hw.unified_memory, workers=best.shares, cache_type=cache_words,
                     calibrated=bool(hw.calibration))


def _fill(workers: Sequence[WorkerMachine], sums: _Sums, costs: ModelCosts, start: int, count: int, *,
          output_on_workers: bool) -> tuple[WorkerShare, ...]:
    """Consecutive blocks of ``count`` layers from ``start`` over the workers in order, each as full as its memory
    allows and the last one taking the rest (the fit check comes later); with ``output_on_workers`` the worker that
    takes the last layer holds the output layer too."""
    shares = []
    at, end = start, start + count
    output_pending = output_on_workers and count > 0
    for i, worker in enumerate(workers):
        if at >= end:
            shares.append(WorkerShare(worker.endpoint, at, 0, 0, worker.usable_bytes))
            continue
        if i == len(workers) - 1:
            take = end - at
        else:
            room = worker.usable_bytes - costs.compute_bytes
            limit = bisect.bisect_right(sums.whole, sums.whole[at] + room, lo=at) - 1
            take = max(0, min(end, limit) - at)
        holds_output = output_pending and at + take >= end
        held = 0
        if take or holds_output:
            held = sums.whole[at + take] - sums.whole[at] + costs.compute_bytes
            held += costs.output_bytes if holds_output else 0
        output_pending = output_pending and not holds_output
        shares.append(WorkerShare(worker.endpoint, at, take, int(held), worker.usable_bytes, holds_output))
        at += take
    return tuple(shares)


def _expert_choices(costs: ModelCosts, sums: _Sums, gs: int, kg: int, vram_ok: int, extra: int) -> list[int]:
    """How many of the GPU's first layers keep their experts in RAM: none, all, or just enough to fit."""
    if not kg or not costs.is_moe:
        return [0]
    fixed = (sums.span(sums.other, gs, gs + kg) + sums.span(sums.kv, gs, gs + kg) + costs.output_bytes
             + costs.compute_bytes + extra)
    experts_room = vram_ok - fixed
    total = sums.span(sums.experts, gs, gs + kg)
    need = total - experts_room  # expert bytes that must leave the GPU
    e = 0 if need <= 0 else bisect.bisect_left(sums.experts, sums.experts[gs] + need, lo=gs) - gs
    return sorted({0, min(max(e, 0), kg), kg})


def _cost(costs: ModelCosts, sums: _Sums, hw: Hardware, workers: Sequence[WorkerMachine], k0: int, kg: int, e: int,
          shares: tuple[WorkerShare, ...], extra: int, cpu_gbps: float, gpu_gbps: float, vocab: int,
          hidden: int) -> _Candidate:
    n = costs.n_layer
    gs = n - kg
    ram = costs.input_bytes + sums.whole[k0] + sums.span(sums.experts, gs, gs + e) + 400 * 2**20
    cpu_read = sums.read(0, k0) + sums.span(sums.active, gs, gs + e)
    vram = 0.0
    gpu_read = 0.0
    if kg:
        vram = (sums.span(sums.other, gs, n) + sums.span(sums.kv, gs, n) + sums.span(sums.experts, gs + e, n)
                + costs.output_bytes + costs.compute_bytes + extra)
        gpu_read = (sums.span(sums.other, gs, n) + sums.span(sums.kv, gs, n) / 2
                    + sums.span(sums.active, gs + e, n) + costs.output_bytes)
        ram += 256 * 2**20
    else:
        ram += costs.compute_bytes + extra
        if not any(s.output_layer for s in shares):
            ram += costs.output_bytes
            cpu_read += costs.output_bytes
    seconds = cpu_read / (cpu_gbps * GB) + (gpu_read / (gpu_gbps * GB) if gpu_read else 0.0)
    seconds += 0.001 + 0.00015 * k0 + 0.00005 * e + (0.0005 if kg and k0 else 0.0)
    for worker, share in zip(workers, shares, strict=True):
        if not share.layers and not share.output_layer:
            continue
        read = sums.read(share.first_layer, share.first_layer + share.layers)
        read += costs.output_bytes if share.output_layer else 0
        # Each used worker: its memory reads, its layers' launches, a round trip and the activations each way
        # (the logits when it holds the output layer).
        back = 4 * vocab if share.output_layer else hidden
        seconds += read / (worker.memory_gbps * GB) + 0.00015 * share.layers
        seconds += 2 * worker.round_trip_s + (hidden + back) / worker.bandwidth_bytes_per_s
    return _Candidate(k0, kg, e, shares, int(ram), int(vram), 1 / seconds)


def _worker_bytes(c: _Candidate) -> int:
    return sum(s.bytes for s in c.shares)


def _placement(c: _Candidate, costs: ModelCosts) -> Placement:
    n = costs.n_layer
    return Placement(n + 1 - c.k0 if c.gpu_layers or any(s.layers for s in c.shares) else 0, c.experts_in_ram,
                     c.vram, c.ram, sum(costs.kv_bytes), c.tokens_per_s, n)



def _explain(c: _Candidate, hw: Hardware, n: int) -> str:
    parts = []
    if c.k0:
        parts.append(f"{c.k0} layers on this computer's CPU")
    for s in c.shares:
        if s.layers or s.output_layer:
            what = f"{s.layers} layers" + (" and the output layer" if s.output_layer else "")
            parts.append(f"{what} on {s.endpoint} ({format_size(s.bytes)})")
    if c.gpu_layers:
        experts = ""
        if c.experts_in_ram == c.gpu_layers:
            experts = ", their experts in RAM"
        elif c.experts_in_ram:
            experts = f", the experts of {c.experts_in_ram} of them in RAM"
        parts.append(f"{c.gpu_layers} layers on your {hw.vram_total / GB:.0f} GB GPU{experts}")
    speed = f"~{c.tokens_per_s:.0f}" if c.tokens_per_s >= 2 else f"~{c.tokens_per_s:.1f}"
    return f"{'; '.join(parts)}: {speed} tokens/s expected."


def _summary(c: _Candidate, used: Sequence[WorkerShare]) -> str:
    where = f"{len(used)} worker{'s' if len(used) != 1 else ''}"
    if c.gpu_layers:
        where += " + GPU" + (" + experts in RAM" if c.experts_in_ram else "")
    elif c.k0:
        where += " + CPU"
    return where


def _network_note(w: WorkerMachine) -> str:
    how = "measured" if w.measured else "assumed (gigabit Ethernet)"
    return (f"Worker {w.endpoint}: {format_size(w.usable_bytes)} usable of {format_size(w.memory_bytes)}; network "
            f"{how}: {w.round_trip_s * 1000:.2f} ms round trip, {format_rate(w.bandwidth_bytes_per_s)}; its memory "
            f"assumed at {w.memory_gbps:.0f} GB/s.")
