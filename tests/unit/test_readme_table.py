"""README.md's table of Scout verdicts is the planner's current output (tools/planner_table.py writes it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_table_matches_the_planner() -> None:
    spec = importlib.util.spec_from_file_location("planner_table", ROOT / "tools" / "planner_table.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    fresh = tool.replace_table(readme, tool.scout_table())
    assert fresh == readme, "run: python tools/planner_table.py --update-readme"
    assert "| 64 GB RAM + 24 GB GPU |" in readme and "UD-Q4_K_XL (65.6 GB)" in readme
