"""Start-up benchmark: launch to the first painted window, against a bare PySide6 ``QMainWindow`` launched the same
way in the same run; launch to the main window painted inside it (the app built and started); and the app's idle
memory with no model in it. All run with compiled bytecode, as an installed app does (a first, uncounted launch of
each writes it).

Each launch is a fresh process (offscreen). The app (``startup_child.py``: ``run_app`` with a probe attached) writes
when its window first painted (the frame ``run_app`` shows before importing the app), when the main window inside it
first painted, and its resident memory 1.5 s later, then quits. The bare window has one paint, counted for both.
The model runs in the engine's own process, so the app's memory is "with no model" by construction.
Run: ``python tests/bench/bench_startup.py [--reps 5] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench import print_and_save  # noqa: E402

CHILD = Path(__file__).with_name("startup_child.py")

BARE = r"""
import json, sys, time
from pathlib import Path
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.setCentralWidget(QLabel("Hello"))
window.resize(1240, 820)
out = Path(sys.argv[1])
class Probe(QObject):
    painted = None
    def eventFilter(self, watched, event):
        if self.painted is None and watched is window and event.type() == QEvent.Type.Paint:
            self.painted = time.time()
            QTimer.singleShot(1500, self.finish)
        return False
    def finish(self):
        rss = None
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
        out.write_text(json.dumps({"first_paint": self.painted, "idle_rss_bytes": rss}))
        app.quit()
probe = Probe()
window.installEventFilter(probe)
window.show()
app.exec()
"""


def _launch(command: list[str], env: dict[str, str], out: Path) -> dict[str, Any]:
    out.unlink(missing_ok=True)
    started = time.time()
    subprocess.run(command, env=env, timeout=180, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data = json.loads(out.read_text())
    painted = data["first_paint"]
    return {"first_paint_s": painted - started, "ready_s": data.get("window_ready", painted) - started,
            "idle_rss_bytes": data["idle_rss_bytes"]}


def run(reps: int = 5) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hearth-startup-") as tmp:
        home = Path(tmp) / "home"
        (home / "config").mkdir(parents=True)
        (home / "config" / "settings.json").write_text(json.dumps({"version": 1, "first_run_done": True}))
        out = Path(tmp) / "probe.json"
        # Bytecode as an installed app has it (Briefcase ships compiled modules): written by the first launch into
        # a folder of this run's own, even where the environment turns writing it off.
        env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "HEARTH_HOME": str(home),
               "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT / "app"),
               "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
        hearth_cmd = [sys.executable, str(CHILD), str(out)]
        bare_cmd = [sys.executable, "-c", BARE, str(out)]
        _launch(hearth_cmd, env, out)  # first launch assembles the starter model and compiles: not start-up speed
        _launch(bare_cmd, env, out)
        hearth, bare = [], []
        for _ in range(reps):
            bare.append(_launch(bare_cmd, env, out))
            hearth.append(_launch(hearth_cmd, env, out))
    med = statistics.median
    h_paint = med(r["first_paint_s"] for r in hearth)
    b_paint = med(r["first_paint_s"] for r in bare)
    h_ready = med(r["ready_s"] for r in hearth)
    h_rss = med(r["idle_rss_bytes"] for r in hearth if r["idle_rss_bytes"])
    b_rss = med(r["idle_rss_bytes"] for r in bare if r["idle_rss_bytes"])
    return {
        "reps": reps,
        "hearth_first_paint_s": round(h_paint, 3),
        "bare_qmainwindow_first_paint_s": round(b_paint, 3),
        "first_paint_ratio": round(h_paint / b_paint, 2),
        "first_paint_extra_s": round(h_paint - b_paint, 3),
        "hearth_ready_s": round(h_ready, 3),
        "ready_ratio": round(h_ready / b_paint, 2),
        "hearth_idle_rss_mib": round(h_rss / 2**20, 1),
        "bare_idle_rss_mib": round(b_rss / 2**20, 1),
        "samples": {"hearth": hearth, "bare": bare},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = run(args.reps)
    return print_and_save(result, args.json)


if __name__ == "__main__":
    sys.exit(main())
