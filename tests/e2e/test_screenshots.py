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


def test_the_screenshot_tool_shows_the_models_page_mid_download(tmp_path: Path, hearth_home: Path) -> None:
    """``tools/screenshots.py``: the app built by ``build_app`` on a loopback Hub, the Models page and the wizard."""
    out = tmp_path / "shots"
    env = {**os.environ, "HEARTH_HOME": str(hearth_home), "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "0"}
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "screenshots.py"), str(out)], env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    names = {p.name for p in out.iterdir()}
    tabs, modes = ("discover", "downloads", "library"), ("light", "dark")
    expected = {f"models-{tab}-{mode}.png" for tab in tabs for mode in modes}
    expected |= {"main-light.png", "main-dark.png", "first-run-welcome.png", "first-run-model.png",
                 "first-run-laptop-welcome.png", "first-run-laptop-model.png"}
    assert expected <= names, sorted(names)
    assert all(QImage(str(out / name)).width() >= 800 for name in expected)
    assert not (hearth_home / "data").exists(), "the user's data folder was not touched"
