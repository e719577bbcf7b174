"""Pieces shared by the sub-commands: paths, settings, choosing the model and its plan, printing errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hearth.core.errors import HearthError
from hearth.core.paths import AppPaths
from hearth.core.plan import LoadPlan, expert_patterns
from hearth.core.settings import Settings, load_settings
from hearth.core.starter import ensure_starter_model


def app_paths() -> AppPaths:
    return AppPaths.default().ensure()


def settings_path(paths: AppPaths) -> Path:
    return paths.config_dir / "settings.json"


def current_settings(paths: AppPaths) -> Settings:
    return load_settings(settings_path(paths))


def models_dir(paths: AppPaths, settings: Settings) -> Path:
    return Path(settings.models_dir).expanduser() if settings.models_dir else paths.models_dir


def default_model(paths: AppPaths, settings: Settings) -> Path:
    """The model to use when none is named: the user's default, else the starter model."""
    if settings.default_model and Path(settings.default_model).is_file():
        return Path(settings.default_model)
    return ensure_starter_model(models_dir(paths, settings))


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("placement")
    group.add_argument("--ctx", type=int, default=4096, metavar="N", help="context size in tokens (default 4096)")
    group.add_argument("--threads", type=int, metavar="N", help="CPU threads (default: physical cores)")
    group.add_argument("--gpu-layers", type=int, default=0, metavar="N", help="layers on the GPU (-1: all)")
    moe = group.add_mutually_exclusive_group()
    moe.add_argument("--cpu-moe", action="store_true", help="keep all routed-expert tensors in CPU RAM")
    moe.add_argument("--n-cpu-moe", type=int, metavar="N", help="keep the first N layers' experts in CPU RAM")
    group.add_argument(
        "--safe-mode", action="store_true",
        help="don't use llama.cpp's repacked CPU weights (slower; avoids the AMX crash)",
    )


def plan_from_args(model: Path, args: argparse.Namespace) -> LoadPlan:
    patterns: tuple[str, ...] = ()
    if getattr(args, "cpu_moe", False):
        patterns = expert_patterns()
    elif getattr(args, "n_cpu_moe", None) is not None:
        patterns = expert_patterns(args.n_cpu_moe)
    return LoadPlan(
        model_path=str(model),
        n_ctx=args.ctx,
        n_gpu_layers=args.gpu_layers,
        cpu_tensor_patterns=patterns,
        n_threads=args.threads,
        use_extra_bufts=False if args.safe_mode else None,
        mmproj_path=str(args.mmproj) if getattr(args, "mmproj", None) else None,
        summary="experts in RAM" if patterns else ("GPU" if args.gpu_layers else "CPU"),
    )


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
