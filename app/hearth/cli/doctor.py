"""``hearth doctor``: what this computer offers for running models, and what to fix."""

from __future__ import annotations

import argparse
import json
import os

from hearth.cli.common import app_paths, current_settings, models_dir
from hearth.core.engine.workers import PROTOCOL_VERSION
from hearth.core.machine.bandwidth import gpus_bandwidth, ram_bandwidth
from hearth.core.machine.gpu import offload_advice
from hearth.core.machine.hardware import BackendInfo, Hardware, detect_hardware
from hearth.core.models.planning.planner import usable_ram, usable_vram
from hearth.core.units import format_size


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("doctor", help="check this computer: CPU, RAM, GPU, llama.cpp build, disk",
                            description="Show what this computer offers for running models and what to fix.")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--cached", action="store_true", help="use the cached llama.cpp probe (faster)")


def report(hw: Hardware) -> list[str]:
    """The doctor's findings as lines of text."""
    cpu = hw.cpu
    lines = [f"CPU: {cpu.model} — {cpu.physical_cores} cores, {cpu.logical_cores} threads; {cpu.feature_summary}"]
    if cpu.has_amx:
        lines.append("Safe mode: ON — this CPU has Intel AMX, whose llama.cpp kernels crash in this build, so Hearth "
                     "loads without repacked weights (a little slower).")
    else:
        lines.append("Safe mode: off (no Intel AMX); `hearth chat --safe-mode` turns it on if a model crashes.")
    if not cpu.has_avx2 and "neon" not in cpu.flags:
        lines.append("  No AVX2: models will run slowly on this CPU.")
    lines.append(f"RAM: {format_size(hw.ram_total)} total, {format_size(hw.ram_available)} available now, "
                 f"{format_size(usable_ram(hw))} usable for a model")
    if hw.gpus:
        for gpu in hw.gpus:
            lines.append(f"GPU: {gpu.name} — {format_size(gpu.total_bytes)} memory, {format_size(gpu.free_bytes)} free "
                         f"(from {gpu.source})")
        if hw.unified_memory:
            lines.append("  Unified memory: the GPU uses system RAM (Metal's default share shown above).")
    else:
        lines.append("GPU: none found" + (" (" + "; ".join(hw.notes) + ")" if hw.notes else ""))
    backend = hw.backend
    if backend is not None:
        lines.append(f"llama.cpp: llama-cpp-python {backend.version or '?'}, backend {backend.name}, "
                     f"GPU offload {'yes' if backend.gpu_offload else 'no' if backend.gpu_offload is False else '?'}")
        if backend.system_info:
            lines.append(f"  {backend.system_info}")
        for dev in backend.devices:
            lines.append(f"  device {dev.name} ({dev.kind}): {dev.description}, "
                         f"{format_size(dev.memory_free)} free of {format_size(dev.memory_total)}")
    lines.append(f"GPU offload: {offload_advice(hw.gpus, backend)}")
    lines.append(f"Workers: {workers_advice(backend)}")
    cpu_bw, cpu_why = ram_bandwidth(hw)
    lines.append(f"Speed estimates assume RAM at {cpu_bw:.0f} GB/s ({cpu_why})")
    if hw.gpus:
        gpu_bw, gpu_why = gpus_bandwidth(hw)
        lines.append(f"  and the GPU at {gpu_bw:.0f} GB/s ({gpu_why}); {format_size(usable_vram(hw))} of it usable.")
    lines.append(f"Models folder: {hw.models_dir} — {format_size(hw.disk_free)} free on that disk")
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        lines.append("Hugging Face: offline (HF_HUB_OFFLINE is set).")
    return lines


def workers_advice(backend: BackendInfo | None) -> str:
    """Whether this build of llama.cpp can use worker computers (its RPC backend), and how to get one that can."""
    can = backend.can_use_workers if backend is not None else None
    if can:
        return (f"this build can use worker computers (llama.cpp RPC protocol {'.'.join(map(str, PROTOCOL_VERSION))}): "
                "`hearth worker` lends this computer, `hearth chat --worker HOST:PORT` uses others.")
    if can is None:
        return "unknown (llama.cpp's build was not probed; run `hearth doctor` without --cached)."
    return ("this build of llama.cpp cannot use worker computers (it was built without RPC). From Hearth's source "
            "folder run `python installers/llama_rpc.py` with the Python that runs Hearth (it rebuilds "
            "llama-cpp-python with CMAKE_ARGS=\"-DGGML_RPC=on\", past a cached build without it), or install a "
            "Hearth installer: every variant has it.")


def run(args: argparse.Namespace) -> int:
    paths = app_paths()
    settings = current_settings(paths)
    folder = models_dir(paths, settings)
    hw = detect_hardware(folder, cache_dir=paths.cache_dir, refresh=not args.cached)
    if args.json:
        data = hw.to_dict()
        data["gpu_offload_advice"] = offload_advice(hw.gpus, hw.backend)
        data["workers"] = {"available": hw.backend.can_use_workers if hw.backend else None,
                           "advice": workers_advice(hw.backend),
                           "protocol": ".".join(map(str, PROTOCOL_VERSION))}
        data["usable_ram"], data["usable_vram"] = usable_ram(hw), usable_vram(hw)
        data["offline"] = settings.offline
        print(json.dumps(data, indent=2, default=str))
        return 0
    print("\n".join(report(hw)))
    if settings.offline:
        print("Hearth is in offline mode: it will not contact Hugging Face.")
    return 0
