"""What the window's start does not load: the app, launched as ``hearth`` launches it (``run_app``, offscreen, in a
fresh process), paints its window's frame before it imports the app at all (``hearth.ui.app``), and has imported none
of the heavy packages it needs only later (Markdown, highlighting, the Hub client, GGUF tables, images, PDFs) nor
built the Models page when its main window first paints; the page is built when it is first shown. A structural
guard of the start-up benchmark's figures (tests/bench/bench_startup.py), which it cannot flake on: it counts
modules, not milliseconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

NOT_AT_START = ("markdown_it", "pygments", "huggingface_hub", "httpx2", "gguf", "numpy", "PIL", "pypdf", "docx",
                "hearth.ui.models.page", "hearth.ui.models.first_run", "hearth.ui.shell.settings_dialog",
                "hearth.ui.markdown.qt_html")

CHILD = r"""
import json, sys
from PySide6.QtCore import QEvent, QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication
from hearth.ui.launch import run_app

WATCHED = json.loads(sys.argv[2])
out = {"before_launch": sorted(name for name in sys.modules if name.startswith("hearth.ui.app"))}

def loaded():
    return sorted(name for name in WATCHED if name in sys.modules)

def on_frame(frame):
    def painted():
        out["frame_painted_with_app_imported"] = "hearth.ui.app" in sys.modules
        out["at_frame_paint"] = loaded()
    frame.first_painted.connect(painted)

class Probe(QObject):
    def __init__(self, app):
        super().__init__(app)
        self.app = app
        app.window.installEventFilter(self)
        out["page_built_at_start"] = app.models.page_built

    def eventFilter(self, watched, event):
        if "at_first_paint" not in out and event.type() == QEvent.Type.Paint:
            out["at_first_paint"] = loaded()
            QTimer.singleShot(0, self.show_models)
        return False

    @Slot()
    def show_models(self):
        out["page_built_before_shown"] = self.app.models.page_built
        self.app.window.show_models()
        out["page_built_when_shown"] = self.app.models.page_built
        out["shown"] = self.app.window.pages.currentWidget() is self.app.models.page
        with open(sys.argv[1], "w") as fh:
            json.dump(out, fh)
        QApplication.quit()

sys.exit(run_app(on_started=Probe, on_frame=on_frame))
"""


def test_the_first_paint_loads_nothing_it_does_not_show(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.json").write_text(json.dumps({"version": 1, "first_run_done": True}))
    out = tmp_path / "modules.json"
    env = {**os.environ, "HEARTH_HOME": str(home), "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT / "app")}
    done = subprocess.run([sys.executable, "-c", CHILD, str(out), json.dumps(NOT_AT_START)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["before_launch"] == []
    assert result["frame_painted_with_app_imported"] is False, "the frame paints before the app is imported"
    assert result["at_frame_paint"] == []
    assert result["at_first_paint"] == [], f"imported before the first paint: {result['at_first_paint']}"
    assert result["page_built_at_start"] is False and result["page_built_before_shown"] is False
    assert result["page_built_when_shown"] is True and result["shown"] is True
