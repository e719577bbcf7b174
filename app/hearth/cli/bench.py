"""``hearth bench``: measure a model's speed on this computer with the plan the app would use."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hearth.cli.common import (
    add_plan_arguments,
    app_paths,
    current_settings,
    models_dir,
    plan_from_args,
    print_error,
    this_machine,
)
from hearth.core.errors import HearthError
from hearth.core.gguf.files import check_model_path
from hearth.core.models.library.starter import default_chat_model
from hearth.core.models.planning.benchmark import BenchResult, format_table, run_benchmark, save_result
from hearth.core.models.planning.calibration import add_sample, make_sample
from hearth.core.paths import AppPaths

BENCH_MIN_CTX = 4608


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "bench", help="measure how fast a model runs on this computer",
        description="Measure prompt reading and answer writing speed, first-token time, load time and memory.",
    )
    parser.add_argument("--model", type=Path, help="GGUF file (default: your default model)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per measurement (median reported)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_plan_arguments(parser)


def run(args: argparse.Namespace) -> int:
    paths = app_paths()
    try:
        settings = current_settings(paths)
        model = args.model or default_chat_model(settings, models_dir(paths, settings))
        plan = plan_from_args(model, args)
        if plan.n_ctx < BENCH_MIN_CTX:
            # Room for the 4,096-token prompt measurement; the placement stays the app's.
            plan = plan.with_changes(n_ctx=BENCH_MIN_CTX)
        if not args.json:
            print(f"Measuring {model.name} ({plan.summary}). This takes a minute…", file=sys.stderr)
        result = run_benchmark(plan, reps=max(1, args.reps),
                               report=lambda s: None if args.json else print(f"  {s}…", file=sys.stderr))
    except HearthError as exc:
        print_error(exc)
        return 1
    save_result(paths.data_dir / "bench", result)
    _calibrate(paths, model, result)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(format_table(result))
    return 0


def _calibrate(paths: AppPaths, model: Path, result: BenchResult) -> None:
    """Teach the planner what this run measured (its speed and memory assumptions, for this machine)."""
    if not result.tg128_tps:
        return
    try:
        info = check_model_path(model).info
    except HearthError:
        return
    if info is None:
        return
    sample = make_sample(info, this_machine(paths), model=result.model, n_ctx=result.n_ctx,
                         n_gpu_layers=result.n_gpu_layers, cpu_expert_layers=result.cpu_expert_layers,
                         tokens_per_s=result.tg128_tps, peak_ram_bytes=result.peak_ram_bytes,
                         cache_type_k=result.cache_type_k, cache_type_v=result.cache_type_v)
    add_sample(paths.config_dir, this_machine(paths), sample)
