"""``hearth --screenshot DIR`` saves PNGs of the real window in both themes and leaves the user's data alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]


def test_screenshots_are_written_without_touching_user_data(tmp_path: Path, hearth_home: Path) -> None:
    out = tmp_path / "shots"
    env = {**os.environ, "HEARTH_HOME": str(hearth_home), "PYTHONPATH": str(ROOT / "app"),
           "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-m", "hearth", "--screenshot", str(out)], env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    light, dark = QImage(str(out / "main-light.png")), QImage(str(out / "main-dark.png"))
    assert light.width() >= 1000 and dark.width() >= 1000
    # Dark really is darker: compare a pixel of the chat background.
    point = (light.width() // 2, light.height() // 2)
    assert QImage(light).pixelColor(*point).lightness() > QImage(dark).pixelColor(*point).lightness()
    assert not (hearth_home / "data" / "hearth.db").exists(), "the user's database was not created or touched"
    for scene in ("empty-chat", "thinking", "thinking-open", "presets"):
        assert QImage(str(out / f"{scene}.png")).width() >= 1000, scene
