"""``hearth --screenshot DIR``: save PNGs of the app's screens and exit.

Each part of the app adds its scenes here; a scene that cannot be set up (say, outside a source checkout) is skipped
with a note on stderr rather than failing the others.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hearth.ui.app import HearthApp


def take_screenshots(app: HearthApp, out: Path) -> int:
    """Render every scene into ``out``; print the files written; 0 when all scenes were saved."""
    from hearth.ui.screenshot_models import models_screenshots

    out.mkdir(parents=True, exist_ok=True)
    failures = 0
    written: list[Path] = []
    for scene in (models_screenshots,):
        try:
            written += scene(app, out)
        except Exception as exc:  # one broken scene must not cost the others
            failures += 1
            print(f"hearth: screenshot scene {scene.__name__} failed: {exc!r}", file=sys.stderr)
    for path in written:
        print(path)
    app.window.close()
    app.shutdown()
    return 1 if failures else 0
