"""The app as the start-up benchmark launches it: ``python startup_child.py OUT`` opens Hearth's window exactly as
``hearth`` does (``run_app``), notes when the window first paints (its frame, shown before the app is imported) and
when the main window inside it first paints (the app built and started), the resident memory 1.5 s later, writes
them to OUT as JSON, and quits.

The probe is attached through ``run_app``'s ``on_frame`` and ``on_started`` seams, so the shipped app carries no
benchmark code.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication, QWidget

from hearth.ui.launch import run_app
from hearth.ui.shell.frame import WindowFrame

if TYPE_CHECKING:
    from hearth.ui.app import HearthApp


class StartupProbe(QObject):
    """Notes when the frame and then the main window first paint, and the idle memory; writes them and quits."""

    def __init__(self, out: Path) -> None:
        super().__init__()
        self._out = out
        self.frame_painted: float | None = None
        self.window_painted: float | None = None
        self._window: QWidget | None = None

    def on_frame(self, frame: WindowFrame) -> None:
        frame.first_painted.connect(self._on_frame_painted)

    @Slot()
    def _on_frame_painted(self) -> None:
        if self.frame_painted is None:
            self.frame_painted = time.time()

    def on_started(self, app: HearthApp) -> None:
        self._window = app.window
        app.window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.window_painted is None and watched is self._window and event.type() == QEvent.Type.Paint:
            self.window_painted = time.time()
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
        self._out.write_text(json.dumps({"first_paint": self.frame_painted, "window_ready": self.window_painted,
                                         "idle_rss_bytes": rss}))
        QApplication.quit()


def main(out: Path) -> int:
    probe = StartupProbe(out)
    return run_app(on_started=probe.on_started, on_frame=probe.on_frame)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
