"""The app as the start-up benchmark launches it: ``python startup_child.py OUT`` opens Hearth's window exactly as
``hearth`` does (``run_app``), notes when the window first paints and the resident memory 1.5 s later, writes both to
OUT as JSON, and quits.

The probe is attached through ``run_app``'s ``on_started`` seam, so the shipped app carries no benchmark code.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication, QWidget

from hearth.ui.app import HearthApp, run_app


class StartupProbe(QObject):
    """Notes when ``window`` first paints and the idle memory, writes them to ``out``, and quits."""

    def __init__(self, window: QWidget, out: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._out = out
        self._painted: float | None = None
        self._window = window
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._painted is None and watched is self._window and event.type() == QEvent.Type.Paint:
            self._painted = time.time()
            QTimer.singleShot(1500, self._finish)  # let start-up settle, then read the idle memory
        return False

    @Slot()
    def _finish(self) -> None:
        rss = None
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
        except OSError:
            pass
        self._out.write_text(json.dumps({"first_paint": self._painted, "idle_rss_bytes": rss}))
        QApplication.quit()


def main(out: Path) -> int:
    def probe(app: HearthApp) -> None:
        StartupProbe(app.window, out, parent=app)

    return run_app(on_started=probe)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
