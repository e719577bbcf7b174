"""The plan a model file is loaded with on this computer: what the app and ``hearth chat`` call before loading.

It reads the file's header, detects the machine (with what ``hearth bench`` measured here applied: see
``calibration``), and asks the planner (with the RPC workers the user saved, if any:
``hearth.core.models.planning.workers``), which is why it sits above both.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hearth.core.engine.plan import FlashAttention, LoadPlan
from hearth.core.gguf.files import check_model_path
from hearth.core.machine.hardware import Hardware
from hearth.core.models.planning.calibration import this_computer
from hearth.core.models.planning.planner import plan_from_report
from hearth.core.models.planning.workers import plan_with_workers


def plan_for_path(path: Path, *, hardware: Hardware | None = None, n_ctx: int | None = None,
                  mmproj_path: str | None = None, cache_type: str = "auto", flash_attn: FlashAttention = "auto",
                  config_dir: Path | None = None, workers: Sequence[Any] = ()) -> LoadPlan:
    """The plan to load a model file with on this computer (what the app calls before loading).

    The header is checked (``check_model_path``) and the machine detected (llama.cpp's probe is cached under the
    app's cache folder, and the calibration kept in ``config_dir`` is applied). The planner costs the KV cache as
    ``cache_type`` ("auto": 16-bit unless only an 8-bit cache fits) with ``flash_attn``. When no placement fits, the
    nearest one is returned anyway, with the reason in ``plan.extra["does_not_fit"]``: the app says so and lets the
    user try, since the margins are conservative.

    ``workers`` (``hearth.core.models.planning.workers.WorkerMachine``) are llama.cpp RPC workers the plan may use.

    Raises:
        ModelFileError: the file is not a usable model.
    """
    files = check_model_path(path)
    assert files.info is not None
    hw = hardware or this_computer(config_dir)
    extra = Path(mmproj_path).stat().st_size if mmproj_path and Path(mmproj_path).is_file() else 0
    report = plan_with_workers(files.info, hw, list(workers), n_ctx=n_ctx, model_path=str(files.first),
                               mmproj_path=mmproj_path, mmproj_bytes=extra, cache_type=cache_type,
                               flash_attn=flash_attn)
    return plan_from_report(report, str(files.first), mmproj_path, flash_attn)
