"""Memory bandwidth assumptions behind the planner's speed estimates.

Generating one token reads every active weight once, so tokens per second ≈ effective bandwidth ÷ bytes read per
token. The numbers below are *effective* rates for llama.cpp's token generation, not datasheet peaks:

- **System RAM, x86 desktops and laptops**: 50 GB/s. Dual-channel DDR5 peaks at 77–96 GB/s and DDR4 at 43–51 GB/s;
  llama.cpp reaches 55–70% of peak. Checked against a user's published run (RTX 4080 + Ryzen, Scout Q6_K,
  experts in RAM, ~10.5 tokens/s): this model predicts ~9.
- **Per core**: one core streams at most ~12 GB/s, so a machine with few cores cannot reach the RAM's rate.
- **NVIDIA/AMD GPUs**: 75% of the card's peak (table below by name); an unknown card by its memory size class.
- **Apple silicon**: 70% of the chip's peak (M-series table); an unknown chip by its RAM size (64 GB machines are
  Pro/Max class, 128 GB Max, 192 GB and more Ultra).

Measured values (``Hardware.cpu_bandwidth_gbps``/``gpu_bandwidth_gbps``, from ``hearth bench``) replace all of this.
"""

from __future__ import annotations

import re

from hearth.core.machine.hardware import GpuInfo, Hardware
from hearth.core.units import GB

RAM_EFFECTIVE_GBPS = 50.0
PER_CORE_GBPS = 12.0
GPU_EFFICIENCY = 0.75
APPLE_EFFICIENCY = 0.70

# Peak memory bandwidth in GB/s, matched against the lower-cased GPU name (longest match wins).
GPU_PEAK_GBPS: dict[str, float] = {
    "rtx 5090": 1792, "rtx 5080": 960, "rtx 5070 ti": 896, "rtx 5070": 672, "rtx 5060 ti": 448, "rtx 5060": 448,
    "rtx 4090": 1008, "rtx 4080 super": 736, "rtx 4080": 717, "rtx 4070 ti super": 672, "rtx 4070 ti": 504,
    "rtx 4070 super": 504, "rtx 4070": 504, "rtx 4060 ti": 288, "rtx 4060": 272,
    "rtx 3090 ti": 1008, "rtx 3090": 936, "rtx 3080 ti": 912, "rtx 3080": 760, "rtx 3070 ti": 608, "rtx 3070": 448,
    "rtx 3060 ti": 448, "rtx 3060": 360, "rtx 2080 ti": 616, "rtx 2080": 448, "rtx 2070": 448, "rtx 2060": 336,
    "titan rtx": 672, "rtx a6000": 768, "rtx 6000 ada": 960, "rtx a5000": 768, "rtx a4000": 448, "l40s": 864,
    "l4": 300, "a100": 1935, "h100": 3350, "h200": 4800, "b200": 8000, "a10": 600, "t4": 320, "v100": 900,
    "rx 7900 xtx": 960, "rx 7900 xt": 800, "rx 7800 xt": 624, "rx 7700 xt": 432, "rx 7600": 288,
    "rx 6900 xt": 512, "rx 6800 xt": 512, "rx 6800": 512, "rx 6700 xt": 384, "rx 9070 xt": 640, "rx 9070": 640,
    "mi300x": 5300, "mi250": 3200, "arc a770": 560, "arc a750": 512, "arc b580": 456,
}

APPLE_PEAK_GBPS: dict[str, float] = {
    "m1": 68, "m1 pro": 200, "m1 max": 400, "m1 ultra": 800, "m2": 100, "m2 pro": 200, "m2 max": 400,
    "m2 ultra": 800, "m3": 100, "m3 pro": 150, "m3 max": 400, "m3 ultra": 819, "m4": 120, "m4 pro": 273,
    "m4 max": 546, "m5": 153,
}


def _longest_match(name: str, table: dict[str, float]) -> float | None:
    text = re.sub(r"\s+", " ", name.lower())
    hits = [key for key in table if re.search(rf"(^|[^a-z0-9]){re.escape(key)}($|[^a-z0-9])", text)]
    return table[max(hits, key=len)] if hits else None


def gpu_bandwidth(gpu: GpuInfo, ram_total: int = 0) -> tuple[float, str]:
    """Effective GB/s of a GPU's memory for token generation, and where the number comes from."""
    if gpu.vendor == "apple":
        peak = _longest_match(gpu.name.replace("Apple ", ""), APPLE_PEAK_GBPS)
        if peak is not None:
            return peak * APPLE_EFFICIENCY, f"{gpu.name}: {peak:.0f} GB/s peak"
        ram_gb = ram_total / GB
        peak = 800 if ram_gb >= 180 else 400 if ram_gb >= 96 else 300 if ram_gb >= 48 else 150 if ram_gb >= 24 else 100
        return peak * APPLE_EFFICIENCY, f"Apple silicon with {ram_gb:.0f} GB: assumed {peak} GB/s peak"
    peak = _longest_match(gpu.name, GPU_PEAK_GBPS)
    if peak is not None:
        return peak * GPU_EFFICIENCY, f"{gpu.name}: {peak:.0f} GB/s peak"
    vram_gb = (gpu.total_bytes or 0) / GB
    peak = 300 if vram_gb <= 8.6 else 400 if vram_gb <= 12.9 else 500 if vram_gb <= 17.2 else 900 if vram_gb <= 25.8 \
        else 1500
    return peak * GPU_EFFICIENCY, f"a {vram_gb:.0f} GB GPU: assumed {peak} GB/s peak"


def ram_bandwidth(hw: Hardware) -> tuple[float, str]:
    """Effective GB/s of system RAM for token generation, and where the number comes from."""
    if hw.cpu_bandwidth_gbps:
        return hw.cpu_bandwidth_gbps, "measured"
    if hw.unified_memory and hw.gpus:
        gbps, why = gpu_bandwidth(hw.gpus[0], hw.ram_total)
        # The CPU cores of an Apple chip reach about half of what its GPU does.
        return gbps * 0.5, f"CPU side of {why}"
    by_cores = hw.cpu.physical_cores * PER_CORE_GBPS
    if by_cores < RAM_EFFECTIVE_GBPS:
        return by_cores, f"{hw.cpu.physical_cores} cores × {PER_CORE_GBPS:.0f} GB/s"
    return RAM_EFFECTIVE_GBPS, "typical dual-channel DDR4/DDR5"


def gpus_bandwidth(hw: Hardware) -> tuple[float, str]:
    """Effective GB/s of the GPU(s) (the slowest, if several: layers are spread and run one after another)."""
    if hw.gpu_bandwidth_gbps:
        return hw.gpu_bandwidth_gbps, "measured"
    if not hw.gpus:
        return 0.0, "no GPU"
    rates = [gpu_bandwidth(g, hw.ram_total) for g in hw.gpus]
    return min(rates)
