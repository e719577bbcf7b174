"""Render ``resources/hearth.svg`` into every icon Briefcase needs.

Writes ``resources/icons/hearth-{16..1024}.png`` (Linux and the app's own window icon), ``hearth.ico`` (Windows) and
``hearth.icns`` (macOS). Run after editing the SVG: ``python installers/make_icons.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "resources" / "hearth.svg"
OUT = ROOT / "resources" / "icons"
APP_ICON = ROOT / "app" / "hearth" / "ui" / "assets" / "hearth.png"  # the window icon, shipped in the package
SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv)
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        print(f"cannot read {SOURCE}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    images = {size: render(renderer, size) for size in SIZES}
    for size, image in images.items():
        image.save(str(OUT / f"hearth-{size}.png"))
    images[256].save(str(OUT / "hearth.ico"))
    APP_ICON.parent.mkdir(parents=True, exist_ok=True)
    images[256].save(str(APP_ICON))
    images[1024].save(str(OUT / "hearth.icns"))
    print(f"wrote {len(SIZES)} PNGs, hearth.ico and hearth.icns to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
