"""How a model already on disk would run on this computer: the planner's verdict and plan phrase, the speed it
expects, and the speed ``hearth bench`` measured, if it was run.

Blocking (reads the GGUF header): the GUI calls ``installed_fit`` from a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hearth.core.engine.plan import LoadPlan
from hearth.core.errors import HearthError
from hearth.core.machine.hardware import Hardware
from hearth.core.models.library.library import InstalledModel
from hearth.core.models.library.starter import is_chat_model
from hearth.core.models.planning.benchmark import load_result
from hearth.core.models.planning.load import plan_for_path
from hearth.core.models.planning.planner import FITS_WELL_TOKENS_PER_S


@dataclass(frozen=True)
class InstalledFit:
    """A model's fit on this machine.

    Attributes:
        path: the model's first file.
        verdict: "fits_well", "fits_slow", "does_not_fit" or "unknown" (the header could not be read).
        summary: the plan in a phrase ("GPU + experts in RAM", "CPU").
        explanation: the planner's sentence, or why the file could not be planned.
        expected_tps: the planner's expected generation speed (tokens/s), None if unknown.
        measured_tps: generation speed measured by ``hearth bench`` on this machine, None if never measured.
        n_ctx: the context size planned for.
        plan: the planner's plan (what "reset to recommended" returns to), None if the file could not be planned.
        expected_range: the speeds to expect, slowest first (narrower once ``hearth bench`` measured this machine).
        calibrated: the estimate uses what ``hearth bench`` measured on this machine.
        chat: the file carries a chat template (False: a base model, made for completion, not chat).
    """

    path: Path
    verdict: str
    summary: str
    explanation: str
    expected_tps: float | None = None
    measured_tps: float | None = None
    n_ctx: int = 0
    plan: LoadPlan | None = None
    expected_range: tuple[float, float] | None = None
    calibrated: bool = False
    chat: bool = True


def installed_fit(model: InstalledModel, hw: Hardware, bench_dir: Path | None = None) -> InstalledFit:
    """The planner's view of ``model`` on ``hw`` (the same plan the app loads with), plus any measured speed."""
    measured = None
    if bench_dir is not None:
        result = load_result(bench_dir, str(model.path))
        measured = result.tg128_tps if result is not None and result.tg128_tps else None
    try:
        plan = plan_for_path(model.path, hardware=hw, mmproj_path=str(model.mmproj) if model.mmproj else None)
    except HearthError as exc:
        return InstalledFit(model.path, "unknown", "", f"{exc.message} {exc.hint}".strip(), None, measured)
    expected = plan.extra.get("expected_tokens_per_s")
    if plan.extra.get("does_not_fit"):
        verdict = "does_not_fit"
    elif isinstance(expected, (int, float)) and expected >= FITS_WELL_TOKENS_PER_S:
        verdict = "fits_well"
    else:
        verdict = "fits_slow"
    low, high = plan.extra.get("tokens_per_s_low"), plan.extra.get("tokens_per_s_high")
    speeds = (float(low), float(high)) if isinstance(low, (int, float)) and isinstance(high, (int, float)) else None
    return InstalledFit(model.path, verdict, plan.summary, str(plan.extra.get("explanation", "")),
                        float(expected) if isinstance(expected, (int, float)) else None, measured, plan.n_ctx, plan,
                        speeds if verdict != "does_not_fit" else None, bool(plan.extra.get("calibrated")),
                        chat=is_chat_model(model.path))
