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
