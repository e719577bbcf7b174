"""The planner's assumptions corrected by what ``hearth bench`` measured on this machine.

The planner predicts a token's time as bytes read ÷ bandwidth plus a fixed cost per layer run on the CPU, and a
process's memory as the model, its cache and work buffers plus the engine's own overhead. Every benchmark adds a
sample: what the planner's model says the run reads per token (bytes, CPU layers), the generation speed measured,
and the engine's peak memory against its estimate. From the samples:

- **CPU speed**: with samples of two or more sizes, bandwidth and per-layer cost are fitted together (least squares
  on seconds = bytes / bandwidth + layers × per_layer + 1 ms, neither cost negative); with one, only the bandwidth.
- **GPU speed**: the GPU bandwidth is scaled by how far the GPU runs' measured speed was from the prediction.
- **Memory**: the engine's overhead is set so that every sample's estimate is at least its measured peak (the
  estimate stays on the safe side), plus 2% of the largest peak: what is fitted on one model must stay safe for
  another, whose own parts the planner estimates a little differently (SmolLM2 135M's came out 1.4% under its peak
  with the overhead fitted exactly on Gemma 3 270M).

Samples are kept per machine (CPU, RAM, GPUs, llama.cpp's build) in ``calibration.json`` in the config folder;
``apply_calibration`` returns the ``Hardware`` the planner then uses, which says "measured here".
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from hearth.core.gguf.header import GgufInfo
from hearth.core.machine.bandwidth import ram_bandwidth
from hearth.core.machine.hardware import Hardware
from hearth.core.models.planning.planner import (
    CPU_LAYER_SECONDS,
    ENGINE_OVERHEAD_BYTES,
    GB,
    ModelCosts,
    cost,
)

FILE_NAME = "calibration.json"
MAX_SAMPLES = 12
FIXED_SECONDS = 0.001  # the planner's fixed cost per token
MEMORY_MARGIN = 0.02  # of the largest measured peak, added to the fitted overhead


@dataclass(frozen=True)
class Sample:
    """One benchmark, seen through the planner's model of it.

    Attributes:
        model: file name; n_ctx, n_gpu_layers, cpu_expert_layers: how it ran.
        cpu_bytes, gpu_bytes: bytes the planner says each token reads from RAM and from GPU memory.
        cpu_layers: layers run on the CPU per token.
        tokens_per_s: measured generation speed.
        peak_ram_bytes: measured peak of the engine process (None if unknown).
        ram_without_overhead: the planner's RAM estimate for the run, less its engine overhead.
        measured_at: Unix time.
    """

    model: str
    n_ctx: int
    n_gpu_layers: int
    cpu_expert_layers: int
    cpu_bytes: float
    gpu_bytes: float
    cpu_layers: int
    tokens_per_s: float
    peak_ram_bytes: int | None
    ram_without_overhead: int
    measured_at: float


def machine_key(hw: Hardware) -> str:
    """What identifies this machine's performance: processor, RAM, GPUs and llama.cpp's build."""
    parts = [hw.cpu.model, str(hw.cpu.physical_cores), str(round(hw.ram_total / GB)),
             *(f"{g.name}:{round((g.total_bytes or 0) / GB)}" for g in hw.gpus),
             str(hw.backend.gpu_offload) if hw.backend else ""]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def make_sample(info: GgufInfo, hw: Hardware, *, model: str, n_ctx: int, n_gpu_layers: int, cpu_expert_layers: int,
                tokens_per_s: float, peak_ram_bytes: int | None, cache_type_k: str = "f16",
                cache_type_v: str = "f16") -> Sample:
    """A sample from a benchmark of ``info`` run with this placement (costed on the uncalibrated ``hw``)."""
    costs = ModelCosts.from_info(info, n_ctx, 512, cache_type_k, cache_type_v)
    placement = cost(costs, n_gpu_layers, cpu_expert_layers, uncalibrated(hw))
    return Sample(model=model, n_ctx=n_ctx, n_gpu_layers=n_gpu_layers, cpu_expert_layers=cpu_expert_layers,
                  cpu_bytes=placement.cpu_read_bytes, gpu_bytes=placement.gpu_read_bytes,
                  cpu_layers=costs.n_layer - min(n_gpu_layers, costs.n_layer), tokens_per_s=tokens_per_s,
                  peak_ram_bytes=peak_ram_bytes, ram_without_overhead=placement.ram_bytes - ENGINE_OVERHEAD_BYTES,
                  measured_at=time.time())


def uncalibrated(hw: Hardware) -> Hardware:
    return replace(hw, cpu_bandwidth_gbps=None, gpu_bandwidth_gbps=None, cpu_layer_seconds=None,
                   engine_overhead_bytes=None, calibration="")


def fit(samples: list[Sample], hw: Hardware) -> Hardware:
    """``hw`` with its assumptions replaced by what the samples measured."""
    bare = uncalibrated(hw)
    if not samples:
        return bare
    changes: dict[str, Any] = {}
    cpu_only = [s for s in samples if s.n_gpu_layers == 0 and s.tokens_per_s > 0]
    if cpu_only:
        bandwidth, per_layer = _fit_cpu(cpu_only, ram_bandwidth(bare)[0])
        changes["cpu_bandwidth_gbps"] = bandwidth
        changes["cpu_layer_seconds"] = per_layer
    gpu_runs = [s for s in samples if s.n_gpu_layers > 0 and s.gpu_bytes > 0 and s.tokens_per_s > 0]
    if gpu_runs and bare.gpus:
        cpu_gbps = changes.get("cpu_bandwidth_gbps") or ram_bandwidth(bare)[0]
        per_layer = changes.get("cpu_layer_seconds", CPU_LAYER_SECONDS)
        rates = []
        for s in gpu_runs:
            left = 1 / s.tokens_per_s - FIXED_SECONDS - per_layer * s.cpu_layers - s.cpu_bytes / (cpu_gbps * GB)
            if left > 0:
                rates.append(s.gpu_bytes / left / GB)
        if rates:
            changes["gpu_bandwidth_gbps"] = statistics.median(rates)
    peaks = [s for s in samples if s.peak_ram_bytes and s.n_gpu_layers == 0]  # a GPU runtime's host side varies
    if peaks:
        overhead = (max((s.peak_ram_bytes or 0) - s.ram_without_overhead for s in peaks)
                    + MEMORY_MARGIN * max(s.peak_ram_bytes or 0 for s in peaks))
        changes["engine_overhead_bytes"] = max(16 * 2**20, int(overhead))
    models = sorted({s.model for s in samples})
    when = time.strftime("%Y-%m-%d", time.localtime(max(s.measured_at for s in samples)))
    changes["calibration"] = (f"Measured here: hearth bench on {len(models)} model{'s' if len(models) > 1 else ''} "
                              f"({', '.join(models[:3])}{'…' if len(models) > 3 else ''}), {when}.")
    return replace(bare, **changes)


def _fit_cpu(samples: list[Sample], assumed_gbps: float) -> tuple[float, float]:
    """Bandwidth (GB/s) and per-layer seconds from CPU-only runs."""
    ys = [1 / s.tokens_per_s - FIXED_SECONDS for s in samples]
    xs = [(s.cpu_bytes / GB, float(s.cpu_layers)) for s in samples]
    distinct = len({round(x[0], 6) for x in xs}) > 1 and len({x[1] for x in xs}) > 1
    if distinct:
        # Least squares for y = a·bytes + b·layers (a = 1/bandwidth); kept when both come out positive.
        saa = sum(x[0] * x[0] for x in xs)
        sbb = sum(x[1] * x[1] for x in xs)
        sab = sum(x[0] * x[1] for x in xs)
        say = sum(x[0] * y for x, y in zip(xs, ys, strict=True))
        sby = sum(x[1] * y for x, y in zip(xs, ys, strict=True))
        det = saa * sbb - sab * sab
        if det > 0:
            a = (say * sbb - sby * sab) / det
            b = (sby * saa - say * sab) / det
            if a > 0 and b >= 0:
                return 1 / a, b
            if b < 0 < say:
                # The per-layer cost came out negative (models that differ in more than their bytes and layers:
                # SmolLM2 135M with 30 layers wrote faster than Gemma 3 270M with 18 for the bytes it reads). The
                # best fit with no negative cost is then the bandwidth alone (non-negative least squares).
                return saa / say, 0.0
    # Otherwise each run corrects the term that dominates its time: the bandwidth for a big model, the fixed cost
    # per layer for a small one (a toy model's speed says nothing about the RAM's).
    rates, per_layers = [], []
    for (gbytes, layers), y in zip(xs, ys, strict=True):
        reading = gbytes / assumed_gbps
        fixed = CPU_LAYER_SECONDS * layers
        if reading >= fixed and y - fixed > 0:
            rates.append(gbytes / (y - fixed))
        elif layers > 0:
            per_layers.append(max(0.0, y - reading) / layers)
    bandwidth = statistics.median(rates) if rates else assumed_gbps
    per_layer = statistics.median(per_layers) if per_layers else CPU_LAYER_SECONDS
    return bandwidth, per_layer


# --- storage ---------------------------------------------------------------------------------------------------------


def load_samples(config_dir: Path, hw: Hardware) -> list[Sample]:
    """This machine's samples (none when the file is missing, damaged or for another machine)."""
    try:
        data = json.loads((config_dir / FILE_NAME).read_text(encoding="utf-8"))
        entries = data.get("machines", {}).get(machine_key(hw), [])
        return [Sample(**entry) for entry in entries]
    except (OSError, ValueError, TypeError, AttributeError):
        return []


def add_sample(config_dir: Path, hw: Hardware, sample: Sample) -> list[Sample]:
    """Keep ``sample`` (replacing an earlier one of the same model and context); returns this machine's samples."""
    path = config_dir / FILE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("machines"), dict):
            data = {"machines": {}}
    except (OSError, ValueError):
        data = {"machines": {}}
    key = machine_key(hw)
    kept = [s for s in load_samples(config_dir, hw)
            if not (s.model == sample.model and s.n_ctx == sample.n_ctx and s.n_gpu_layers == sample.n_gpu_layers)]
    kept = [*kept, sample][-MAX_SAMPLES:]
    data["machines"][key] = [asdict(s) for s in kept]
    config_dir.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(temp, path)
    return kept


def apply_calibration(hw: Hardware, config_dir: Path) -> Hardware:
    """``hw`` as the planner should see it: with this machine's measurements, when there are any."""
    samples = load_samples(config_dir, hw)
    return fit(samples, hw) if samples else hw


def this_computer(config_dir: Path | None = None) -> Hardware:
    """This machine as the planner sees it: detected, with what ``hearth bench`` measured here applied."""
    from hearth.core.machine.hardware import detect_hardware
    from hearth.core.paths import AppPaths

    paths = AppPaths.default()
    return apply_calibration(detect_hardware(cache_dir=paths.cache_dir), config_dir or paths.config_dir)
