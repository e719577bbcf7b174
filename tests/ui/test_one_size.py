"""One file shows one size everywhere it is shown: the Downloads row, the library card and summary (from a library
snapshot), ``hearth models list`` and a message's attachment chip all say the same words, in decimal units."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from hearth.core.machine.hardware import detect_hardware
from hearth.core.models.download.active import ActiveDownloads
from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.download.state import DownloadState
from hearth.core.models.hub.client import HubClient
from hearth.core.models.library.library import ModelLibrary
from hearth.core.models.library.snapshot import take_snapshot
from hearth.core.paths import AppPaths
from hearth.ui.chat.message_chips import AttachmentRow
from hearth.ui.chat.message_types import AttachmentChip
from hearth.ui.models.download_queue import DownloadQueue
from hearth.ui.models.download_row import DownloadRow
from hearth.ui.models.library_view import LibraryView
from tests.fixtures.hub_fixtures import TINY
from tests.fixtures.hub_server import HubServer

ROOT = Path(__file__).resolve().parents[2]


def texts(widget: object) -> str:
    assert hasattr(widget, "findChildren")
    return " | ".join(label.text() for label in widget.findChildren(QLabel))


def test_one_file_one_size(qtbot: QtBot, hub: HubServer, hearth_home: Path, tmp_path: Path,
                           hub_files: dict[str, Path]) -> None:
    size = hub_files["single"].stat().st_size
    # Decimal megabytes to three significant digits, worked out here rather than by the formatter under test.
    assert 1_000_000 <= size < 10_000_000
    words = f"{size / 1e6:.2f} MB"

    # Downloaded the window's way; the Downloads tab's row shows the finished download.
    models = AppPaths.default().ensure().models_dir
    queue = DownloadQueue(DownloadManager(models, HubClient(endpoint=hub.url)),
                          ActiveDownloads(tmp_path / "active.json"))
    task = queue.download(TINY)
    row = DownloadRow(task, queue)
    qtbot.addWidget(row)
    qtbot.waitUntil(lambda: task.state is DownloadState.READY and not task.running, timeout=30_000)
    job = task.job
    assert job is not None and job.model_path.stat().st_size == size
    assert f"{words} in 1 file" in row.detail.text()

    # The library card and the library's summary, from a snapshot of the models folder.
    snapshot = take_snapshot(ModelLibrary(models), detect_hardware(models, probe=False), None,
                             discover_home=tmp_path / "home")
    (model,) = snapshot.models
    view = LibraryView(models)
    qtbot.addWidget(view)
    view.set_models(snapshot.models, snapshot.fits, None)
    (card,) = view.cards
    assert f"· {words}" in texts(card)
    assert f"1 model ready · {words} on disk" in view.summary.text()

    # The CLI.
    listed = subprocess.run([sys.executable, "-m", "hearth", "models", "list"], capture_output=True, text=True,
                            timeout=120, check=False,
                            env={**os.environ, "HEARTH_HOME": str(hearth_home), "PYTHONPATH": str(ROOT / "app")})
    assert listed.returncode == 0, listed.stderr
    assert f" {words}  {model.name}" in listed.stdout, listed.stdout

    # The same file attached to a message.
    chips = AttachmentRow((AttachmentChip(job.model_path.name, size, "file"),))
    qtbot.addWidget(chips)
    assert f"·&nbsp;{words}" in texts(chips) and chips.chips[0].accessibleName().endswith(words)
