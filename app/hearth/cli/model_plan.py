"""``hearth models plan``: the planner's verdict for a model on this (or a "what if") machine."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hearth.cli.common import this_machine, worker_machines
from hearth.core.engine.plan import CACHE_TYPE_WORDS, CACHE_TYPES
from hearth.core.errors import HearthError
from hearth.core.gguf.files import check_model_path
from hearth.core.gguf.header import GgufInfo
from hearth.core.machine.hardware import Hardware
from hearth.core.models.discover.catalog import CatalogService, find_entry, scaled_info
from hearth.core.models.hub.client import HubClient
from hearth.core.models.planning.context import compare_with_advertised, context_table
from hearth.core.models.planning.kv_cache import kv_cache_bytes
from hearth.core.models.planning.planner import (
    VERDICT_WORDS,
    FitReport,
    Placement,
    context_words,
    machine_matrix,
    plan_model,
)
from hearth.core.models.planning.workers import plan_with_workers
from hearth.core.paths import AppPaths
from hearth.core.settings import load_settings
from hearth.core.units import GB, format_size


def add_machine_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("what if")
    group.add_argument("--ram-gb", type=float, metavar="X", help="plan for X GB of RAM instead of this machine's")
    group.add_argument("--vram-gb", type=float, metavar="Y", help="plan for a GPU with Y GB (0: no GPU)")
    group.add_argument("--unified", action="store_true", help="plan for an Apple silicon Mac (unified memory)")
    group.add_argument("--ctx", type=int, metavar="N", help="context size in tokens (default 8,192)")
    group.add_argument("--kv-type", choices=CACHE_TYPES, metavar="T",
                       help="KV cache type f16, q8_0 or q4_0 (default: 16-bit, 8-bit when only that fits)")
    group.add_argument("--contexts", action="store_true",
                       help="list the context sizes this machine holds with each cache type, and their cost")


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--worker", action="append", default=[], metavar="HOST:PORT[:RAM_GB]",
                        help="plan with a llama.cpp RPC worker too: HOST:PORT asks a running `hearth worker` for its "
                             "free memory and measures the network; HOST:PORT:RAM_GB plans for one that need not "
                             "exist (gigabit Ethernet assumed); repeatable")


def machine_from_args(args: argparse.Namespace, paths: AppPaths) -> Hardware:
    if getattr(args, "unified", False):
        hw = this_machine(paths)
        return Hardware.hypothetical(args.ram_gb or hw.ram_total / GB, apple=True, label="Apple silicon (what if)")
    return this_machine(paths).with_overrides(ram_gb=args.ram_gb, vram_gb=args.vram_gb)


@dataclass(frozen=True)
class Target:
    """A model to plan: its header (exact or estimated) and where it is."""

    label: str
    info: GgufInfo
    size: int
    path: str = ""
    exact: bool = True
    mmproj_bytes: int = 0


def resolve_targets(model: str, paths: AppPaths, *, refresh: bool = False) -> list[Target]:
    """A local file, a catalog id or ``REPO[:QUANT]`` as models to plan (several for a repository)."""
    local = Path(model).expanduser()
    if local.exists():
        files = check_model_path(local)
        assert files.info is not None
        beside = sorted(files.first.parent.glob("mmproj*.gguf"))
        return [Target(files.first.name, files.info, files.total_bytes, str(files.first),
                       mmproj_bytes=beside[0].stat().st_size if beside else 0)]
    repo, _, quant = model.partition(":")
    entry = find_entry(repo)
    service = CatalogService(HubClient(offline=load_settings(paths.config_dir / "settings.json").offline),
                             paths.cache_dir)
    repos = entry.repos if entry else (repo,)
    listing = None
    error: HearthError | None = None
    for candidate in repos:
        try:
            listing = service.listing(candidate, refresh=refresh)
            break
        except HearthError as exc:
            error = error or exc
    if listing is None:
        assert error is not None
        raise error
    mmproj = listing.mmproj()
    extra = mmproj.size if mmproj else 0
    if quant:
        chosen = listing.quant(quant)
        info = service.header(listing, chosen)
        return [Target(f"{listing.repo_id}:{chosen.label}", info, chosen.size, exact=True, mmproj_bytes=extra)]
    default = listing.quant(None)
    wanted = {q.upper() for q in entry.quants} if entry else set()
    quants = [q for q in listing.quants if not wanted or q.label.upper() in wanted] or [default]
    reference = service.header(listing, default)
    targets = []
    for q in quants:
        cached = service.cached_header(listing, q)
        info = cached or scaled_info(reference, q.size)
        targets.append(Target(f"{listing.repo_id}:{q.label}", info, q.size, exact=cached is not None,
                              mmproj_bytes=extra))
    return targets


def _placement_words(p: Placement) -> str:
    if p.kind == "cpu":
        return "CPU only"
    if p.kind == "gpu":
        return "all on GPU"
    if p.kind == "experts_in_ram":
        return "all layers on GPU, experts in RAM"
    if p.kind == "some_experts_in_ram":
        return f"all layers on GPU, {p.cpu_expert_layers}/{p.n_layer} layers' experts in RAM"
    return f"{p.n_gpu_layers}/{p.n_layer} layers on GPU" + (", experts in RAM" if p.cpu_expert_layers else "")


def cell(report: FitReport) -> str:
    """A report in a few words for a table cell."""
    if report.verdict == "does_not_fit":
        need = report.placement.ram_bytes + report.placement.vram_bytes
        room = report.usable_ram + (0 if report.unified_memory else report.usable_vram)
        return f"does not fit: needs ~{format_size(need)}, {format_size(room)} usable"
    return (f"{VERDICT_WORDS[report.verdict]}: {_placement_words(report.placement)}, "
            f"~{report.placement.tokens_per_s:.0f} tok/s")


def flags(report: FitReport) -> str:
    """The ``hearth chat`` flags that load this plan."""
    if report.plan is None:
        return ""
    plan = report.plan
    parts = [f"--ctx {plan.n_ctx}"]
    if plan.cache_type_k != "f16":
        parts.append(f"--kv-type {plan.cache_type_k}")
    if plan.n_gpu_layers:
        parts.append(f"--gpu-layers {plan.n_gpu_layers}")
        if report.placement.cpu_expert_layers >= report.placement.n_layer:
            parts.append("--cpu-moe")
        elif report.placement.cpu_expert_layers:
            parts.append(f"--n-cpu-moe {report.placement.cpu_expert_layers}")
    return " ".join(parts)


def matrix_markdown(targets: Sequence[Target], machines: Sequence[Hardware], n_ctx: int | None) -> str:
    """Machines down, models across: the planner's verdict, placement and speed in each cell."""
    head = "| Machine | " + " | ".join(f"{t.label.split(':')[-1]} ({format_size(t.size)})" for t in targets) + " |"
    lines = [head, "|" + "---|" * (len(targets) + 1)]
    for hw in machines:
        cells = [cell(plan_model(t.info, hw, n_ctx=n_ctx)) for t in targets]
        lines.append(f"| {hw.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _describe_workers(report: FitReport) -> list[str]:
    lines = []
    for share in report.workers:
        if share.layers or share.output_layer:
            layers = f"layers {share.first_layer}–{share.first_layer + share.layers - 1}" if share.layers else ""
            output = "the output layer" if share.output_layer else ""
            held = " and ".join(p for p in (layers, output) if p)
            lines.append(f"Worker {share.endpoint}: {held}, {format_size(share.bytes)} of "
                         f"{format_size(share.usable_bytes)} usable")
        else:
            lines.append(f"Worker {share.endpoint}: not needed")
    if report.plan is not None and report.plan.workers:
        lines.append("Loads like: hearth chat --model … " + " ".join(f"--worker {w}" for w in report.plan.workers))
    return lines


def _describe(t: Target, report: FitReport, hw: Hardware) -> list[str]:
    info = t.info
    shape = f"{info.architecture}, {info.block_count} layers"
    if info.expert_count:
        shape += f", {info.expert_count} experts ({info.expert_used_count} used per token)"
    p = report.placement
    lines = [f"{t.label} — {format_size(t.size)}, {shape}" + ("" if t.exact else " (estimated from its size)"),
             f"Verdict: {VERDICT_WORDS[report.verdict]}. {report.explanation}"]
    if report.workers:
        lines.append(f"Memory here: {format_size(p.vram_bytes)} on the GPU (of {format_size(report.usable_vram)} "
                     f"usable), {format_size(p.ram_bytes)} of RAM (of {format_size(report.usable_ram)} usable); KV "
                     f"cache for {report.n_ctx:,} tokens: {format_size(p.kv_bytes)} in all")
        lines += _describe_workers(report)
    elif report.verdict != "does_not_fit":
        lines.append(f"Memory: {format_size(p.vram_bytes)} on the GPU (of {format_size(report.usable_vram)} usable), "
                     f"{format_size(p.ram_bytes)} of RAM (of {format_size(report.usable_ram)} usable); "
                     f"KV cache ({report.cache_type}) for {report.n_ctx:,} tokens: {format_size(p.kv_bytes)}")
        speed = report.tokens_per_s_range
        if speed:
            lines.append(f"Speed: {_rate(speed[0])}–{_rate(speed[1])} tokens/s"
                         + (" (measured here: calibrated by hearth bench)" if report.calibrated
                            else " (estimated; run hearth bench to measure this machine)"))
        lines.append(f"Loads like: hearth chat --model … {flags(report)}")
    lines.append(f"KV cache for {report.n_ctx:,} tokens by type: " + ", ".join(
        f"{kind} ({CACHE_TYPE_WORDS[kind]}) {kv_cache_bytes(info, report.n_ctx, kind) / GB:.2f} GB"
        for kind in CACHE_TYPES))
    lines += [f"Note: {n}" for n in (*hw.notes, *report.notes)]
    return lines


def run(args: argparse.Namespace, paths: AppPaths) -> int:
    targets = resolve_targets(args.model, paths, refresh=args.refresh)
    if args.matrix:
        print(matrix_markdown(targets, machine_matrix(), args.ctx))
        return 0
    hw = machine_from_args(args, paths)
    kv_type = getattr(args, "kv_type", None) or "auto"
    if getattr(args, "contexts", False):
        print("\n\n".join(contexts_text(t, hw) for t in targets))
        return 0
    workers = worker_machines(list(getattr(args, "worker", []) or []))
    reports = [(t, plan_with_workers(t.info, hw, workers, n_ctx=args.ctx, model_path=t.path,
                                     mmproj_bytes=t.mmproj_bytes, cache_type=kv_type)) for t in targets]
    if args.json:
        print(json.dumps([{"model": t.label, "size": t.size, "exact": t.exact, "header": t.info.summary(),
                           **r.to_dict()} for t, r in reports], indent=2))
        return 0
    if len(reports) == 1:
        print("\n".join(_describe(*reports[0], hw)))
        return 0
    print(f"{len(reports)} quantizations (exact for those whose header was read, others estimated from size):")
    for t, r in reports:
        mark = "" if t.exact else " *"
        print(f"  {t.label.split(':')[-1]:<12} {format_size(t.size):>9}  {VERDICT_WORDS[r.verdict]:<13} "
              f"{r.explanation}{mark}")
    return 0


def contexts_text(t: Target, hw: Hardware) -> str:
    """The context sizes this machine holds with each cache type, what they cost, and the comparison with 10M."""
    rows = context_table(t.info, hw, mmproj_bytes=t.mmproj_bytes)
    lines = [f"{t.label}: context sizes on this machine (memory in all: model, cache and buffers)",
             f"{'context':>9}  " + "  ".join(f"{kind + ' (' + CACHE_TYPE_WORDS[kind] + ')':>24}"
                                             for kind in CACHE_TYPES)]
    for n_ctx in sorted({r.n_ctx for r in rows}):
        cells = []
        for kind in CACHE_TYPES:
            row = next(r for r in rows if r.n_ctx == n_ctx and r.cache_type == kind)
            mark = "" if row.fits else " ✗"
            cells.append(f"{row.kv_bytes / GB:7.2f} GB cache / {row.total_bytes / GB:5.1f} GB{mark}".rjust(24))
        lines.append(f"{context_words(n_ctx):>9}  " + "  ".join(cells))
    lines.append(("✗: does not fit. " if not all(r.fits for r in rows) else "") + compare_with_advertised(t.info, rows))
    return "\n".join(lines)


def _rate(tokens_per_s: float) -> str:
    return f"{tokens_per_s:.0f}" if tokens_per_s >= 10 else f"{tokens_per_s:.2g}"
