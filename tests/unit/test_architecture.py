"""The layering rules, checked by import-linter on every test run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
         "sys.exit(lint_imports_command())"],
        cwd=ROOT, capture_output=True, text=True, check=False,
        env={"PYTHONPATH": str(ROOT / "app"), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken." in result.stdout
    assert "no import circles" in result.stdout, "the acyclic contract is still checked"


def test_the_shipped_package_holds_no_test_scaffolding() -> None:
    """Nothing under app/ reaches into the test suite (its fixtures live in tests/, the tools that need them in
    tools/) or edits the import path."""
    offenders = []
    for path in sorted((ROOT / "app" / "hearth").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if "sys.path" in code or code.lstrip().startswith(("import tests", "from tests")) \
                    or "import_module(\"tests" in code or "import_module('tests" in code:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_background_results_are_typed() -> None:
    """Worker results reach the GUI thread through ``BackgroundTask``'s typed callbacks, and signals name the types
    they carry: a ``Signal(object)`` is left only where a payload is genuinely of several kinds (or optional)."""
    count = sum(path.read_text(encoding="utf-8").count("Signal(object")
                for path in (ROOT / "app" / "hearth").rglob("*.py"))
    assert count <= 20, count


def test_the_architecture_map_names_every_package_and_the_folders_stay_small() -> None:
    """ARCHITECTURE.md's code map names every package under app/hearth/, and the loose modules of core/ and ui/
    stay few (a new concern gets a folder of its own)."""
    package = ROOT / "app" / "hearth"
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    packages = sorted(p.parent.relative_to(package).as_posix() for p in package.rglob("__init__.py")
                      if p.parent != package)
    missing = [name for name in packages if f"`{name}/`" not in text and f"**`{name}/`**" not in text]
    assert not missing, f"ARCHITECTURE.md's code map does not name {missing}"
    loose_core = [p for p in (package / "core").glob("*.py") if p.name != "__init__.py"]
    loose_ui = [p for p in (package / "ui").glob("*.py") if p.name != "__init__.py"]
    assert len(loose_core) <= 12, sorted(p.name for p in loose_core)
    assert len(loose_ui) <= 6, sorted(p.name for p in loose_ui)
