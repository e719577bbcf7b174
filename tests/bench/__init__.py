"""Hearth's benchmarks (see README.md here). Each script puts the checkout's root and ``app`` on ``sys.path`` before
importing this package, so it runs both as ``python tests/bench/bench_x.py`` and from ``run_all.py``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def print_and_save(result: dict[str, Any], path: Path | None) -> int:
    """Print a benchmark's result as JSON and write it to ``path`` too (when given); the script's exit status."""
    text = json.dumps(result, indent=2)
    print(text)
    if path is not None:
        path.write_text(text + "\n", encoding="utf-8")
    return 0


def model_or_starter(model: Path | None) -> Path:
    """``model``, or the starter model as the app installs it in its own models folder (made on first use)."""
    if model is not None:
        return model
    from hearth.core.models.library.starter import ensure_starter_model
    from hearth.core.paths import AppPaths

    return ensure_starter_model(AppPaths.default().ensure().models_dir)
