"""Pieces shared by the sub-commands: paths, settings, choosing the model and its plan, printing errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from hearth.core.engine.plan import CACHE_TYPES, FlashAttention, LoadPlan, expert_patterns
from hearth.core.engine.workers import parse_endpoint, probe_worker
from hearth.core.errors import DoesNotFitError, HearthError, WorkerError
from hearth.core.gguf.files import check_model_path
from hearth.core.machine.hardware import Hardware, detect_hardware
from hearth.core.models.planning.calibration import apply_calibration
from hearth.core.models.planning.planner import DEFAULT_CTX
from hearth.core.models.planning.workers import WorkerMachine, plan_with_workers
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings, load_settings
from hearth.core.units import format_size

PROBE_BYTES = 8 << 20  # written to and read back from each worker to measure the network


def app_paths() -> AppPaths:
    return AppPaths.default().ensure()


def settings_path(paths: AppPaths) -> Path:
    return paths.config_dir / "settings.json"


def current_settings(paths: AppPaths) -> Settings:
    return load_settings(settings_path(paths))


def models_dir(paths: AppPaths, settings: Settings) -> Path:
    return Path(settings.models_dir).expanduser() if settings.models_dir else paths.models_dir


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("placement (default: the planner picks the fastest plan that fits)")
    group.add_argument("--ctx", type=int, metavar="N",
                       help=f"context size in tokens (default {DEFAULT_CTX:,}, or the model's own if smaller)")
    group.add_argument("--threads", type=int, metavar="N", help="CPU threads (default: physical cores)")
    group.add_argument("--gpu-layers", type=int, metavar="N", help="layers on the GPU (-1: all); overrides the planner")
    moe = group.add_mutually_exclusive_group()
    moe.add_argument("--cpu-moe", action="store_true", help="keep all routed-expert tensors in CPU RAM")
    moe.add_argument("--n-cpu-moe", type=int, metavar="N", help="keep the first N layers' experts in CPU RAM")
    group.add_argument(
        "--safe-mode", action="store_true",
        help="don't use llama.cpp's repacked CPU weights (slower; avoids the AMX crash)",
    )
    group.add_argument("--kv-type", choices=CACHE_TYPES, metavar="T",
                       help="KV cache type: f16, q8_0 or q4_0 (default: 16-bit, or 8-bit when the context only fits "
                            "that way; a quantized V cache needs flash attention)")
    group.add_argument("--flash-attn", choices=("auto", "on", "off"), default="auto",
                       help="flash attention (default auto: llama.cpp uses it where it can)")


def this_machine(paths: AppPaths | None = None) -> Hardware:
    """This computer, with llama.cpp's build probed once and cached, and what ``hearth bench`` measured on it."""
    paths = paths or app_paths()
    hw = detect_hardware(models_dir(paths, current_settings(paths)), cache_dir=paths.cache_dir)
    return apply_calibration(hw, paths.config_dir)


def plan_from_args(model: Path, args: argparse.Namespace, hardware: Hardware | None = None,
                   workers: list[WorkerMachine] | None = None) -> LoadPlan:
    """The plan to load with: the planner's (over this computer and ``workers``), unless placement flags say
    otherwise (then the workers get the offloaded layers in proportion to their free memory, as llama.cpp does).

    Raises:
        ModelFileError: the file is not a usable model.
        DoesNotFitError: the planner found no placement that fits (placement flags skip the planner).
    """
    explicit = (getattr(args, "gpu_layers", None) is not None or getattr(args, "cpu_moe", False)
                or getattr(args, "n_cpu_moe", None) is not None)
    safe = False if getattr(args, "safe_mode", False) else None
    mmproj = str(args.mmproj) if getattr(args, "mmproj", None) else None
    files = check_model_path(model)
    ctx = getattr(args, "ctx", None)
    kv_type = getattr(args, "kv_type", None)
    flash: FlashAttention = getattr(args, "flash_attn", None) or "auto"
    speculative = speculative_changes(getattr(args, "speculative", None))
    if not explicit:
        assert files.info is not None
        mmproj_bytes = Path(mmproj).stat().st_size if mmproj and Path(mmproj).is_file() else 0
        report = plan_with_workers(files.info, hardware or this_machine(), workers or [], n_ctx=ctx,
                                   model_path=str(files.first), mmproj_path=mmproj, mmproj_bytes=mmproj_bytes,
                                   cache_type=kv_type or "auto", flash_attn=flash)
        if report.plan is None:
            raise DoesNotFitError(report.explanation, hint="Try a smaller quantization, --ctx or --kv-type q8_0; "
                                  "placement flags (--gpu-layers, --cpu-moe) load it anyway.",
                                  details="\n".join(report.notes))
        extra = {**report.plan.extra, "explanation": report.explanation}
        return report.plan.with_changes(n_threads=args.threads, use_extra_bufts=safe, extra=extra, **speculative)
    patterns: tuple[str, ...] = ()
    if getattr(args, "cpu_moe", False):
        patterns = expert_patterns()
    elif getattr(args, "n_cpu_moe", None) is not None:
        patterns = expert_patterns(args.n_cpu_moe)
    gpu_layers = args.gpu_layers if args.gpu_layers is not None else (-1 if workers else 0)
    trained = files.info.context_length if files.info is not None else 0
    if workers:
        return LoadPlan(
            model_path=str(files.first), n_ctx=ctx or min(DEFAULT_CTX, trained or DEFAULT_CTX),
            n_gpu_layers=gpu_layers, cpu_tensor_patterns=patterns, n_threads=args.threads, use_extra_bufts=safe,
            mmproj_path=mmproj, workers=tuple(w.endpoint for w in workers),
            summary=f"{len(workers)} worker{'s' if len(workers) > 1 else ''}" + (" + experts in RAM" if patterns
                                                                                  else ""),
            flash_attn=flash, cache_type_k=kv_type or "f16", cache_type_v=kv_type or "f16", **speculative)
    return LoadPlan(
        model_path=str(files.first),
        n_ctx=ctx or min(DEFAULT_CTX, trained or DEFAULT_CTX),
        n_gpu_layers=gpu_layers,
        cpu_tensor_patterns=patterns,
        n_threads=args.threads,
        use_extra_bufts=safe,
        mmproj_path=mmproj,
        summary="experts in RAM" if patterns else ("GPU" if gpu_layers else "CPU"),
        flash_attn=flash,
        cache_type_k=kv_type or "f16",
        cache_type_v=kv_type or "f16",
        **speculative,
    )


def speculative_changes(choice: str | None) -> dict[str, Any]:
    """The plan's speculative-decoding fields for ``--speculative lookup|off|auto|DRAFT.gguf``.

    Raises:
        ModelFileError: a draft model file that is missing or not a GGUF model.
    """
    if not choice:
        return {}
    if choice in ("lookup", "off", "auto"):
        return {"speculative": choice}
    draft = check_model_path(Path(choice).expanduser())
    return {"speculative": "draft", "draft_model_path": str(draft.first)}


def worker_machines(specs: list[str], *, err: TextIO | None = None, what_if: bool = True) -> list[WorkerMachine]:
    """``HOST:PORT`` (a real worker: asked for its free memory, round trip and bandwidth) or ``HOST:PORT:RAM_GB``
    (a "what if" worker) as the planner's workers.

    Raises:
        WorkerError: an address is malformed, or a real worker is not ready (named, with the reason).
    """
    machines = []
    for spec in specs:
        if spec.count(":") >= 2:
            if not what_if:
                raise WorkerError(f"“{spec}”: a worker to use is given as HOST:PORT.",
                                  hint="HOST:PORT:RAM_GB (a worker that need not exist) is for `hearth models plan`.",
                                  endpoint=spec)
            machines.append(WorkerMachine.what_if(spec))
            continue
        status = probe_worker(parse_endpoint(spec), timeout=5.0, bandwidth_bytes=PROBE_BYTES)
        if not status.ready:
            raise status.error()
        if err is not None:
            err.write(f"Worker {status.endpoint}: protocol {status.version_text}, {format_size(status.free_bytes)} "
                      f"free, round trip {1000 * (status.round_trip_s or 0):.2f} ms\n")
        machines.append(WorkerMachine.from_status(status))
    return machines


def print_error(error: BaseException) -> None:
    if isinstance(error, HearthError):
        print(f"hearth: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"  {error.hint}", file=sys.stderr)
        if error.details:
            for line in error.details.splitlines()[-4:]:
                print(f"  | {line}", file=sys.stderr)
    else:
        print(f"hearth: unexpected error: {error!r}", file=sys.stderr)
