"""Screenshots of the Models page mid-download and of the first-run wizard, for ``hearth --screenshot DIR``.

The scene is real, not painted: a loopback Hugging Face Hub (the test suite's ``tests.fixtures.hub_server``, so this
needs a source checkout) serves Llama 4 Scout-shaped GGUF files with unsloth's published sizes (sparse files: a
"65 GB" file takes a few MB), the page refreshes its catalog from it, reads the headers and plans each file, and a
real download runs, throttled, while the shot is taken. A second, paused download is restored from its record on disk
like after a restart. Everything lives in a temporary folder; the machine is an example one ("64 GB RAM + RTX 4080"),
labelled as such, so the verdicts show a realistic mix. The fallback wizard uses a 16 GB laptop, for which a
Gemma-3-4B-sized file (a dense Llama-shaped header with Gemma 3 4B's size) is the smaller model that fits.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QApplication, QWidget

import hearth
from hearth.core.machine.hardware import Hardware
from hearth.core.models.discover.catalog import CatalogService
from hearth.core.models.discover.recommend import catalog_rows, recommend
from hearth.core.models.download.active import ActiveDownloads
from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.download.state import (
    DownloadState,
    FileRecord,
    FileState,
    Manifest,
    mark_verified,
    save_manifest,
)
from hearth.core.models.hub.client import HubClient, hub_offline
from hearth.core.models.library.library import ModelLibrary
from hearth.core.models.library.starter import ensure_starter_model, starter_available
from hearth.ui.models.download_queue import DownloadQueue
from hearth.ui.models.first_run import FirstRunDialog
from hearth.ui.models.page import DISCOVER, DOWNLOADS, LIBRARY, ModelsPage

if TYPE_CHECKING:
    from hearth.ui.app import HearthApp

SCOUT = "unsloth/Llama-4-Scout-17B-16E-Instruct-GGUF"
GEMMA = "ggml-org/gemma-3-4b-it-GGUF"


def _fixtures() -> tuple[Any, Any] | None:
    """The test suite's loopback Hub and GGUF writers, if this is a source checkout."""
    root = Path(hearth.__file__).resolve().parents[2]
    if not (root / "tests" / "fixtures" / "hub_server.py").is_file():
        return None
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return (importlib.import_module("tests.fixtures.hub_server"),
            importlib.import_module("tests.fixtures.synthetic_gguf"))


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    app = QApplication.instance()
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        if app is not None:
            app.processEvents()
        time.sleep(0.01)
    return True


def _settle(seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    app = QApplication.instance()
    while time.monotonic() < end:
        if app is not None:
            app.processEvents()
        time.sleep(0.01)


def _hub_files(gguf: Any, folder: Path) -> dict[str, dict[str, Path]]:
    scout: dict[str, Path] = {}
    for quant in gguf.SCOUT_QUANTS:
        paths = gguf.write_scout(folder / "scout", quant)
        sub = f"{quant}/" if len(paths) > 1 else ""
        scout.update({sub + p.name: p for p in paths})
    projector = [gguf.Tensor("mm.model.fc.weight", (1024, 840_000), "F16")]
    scout["mmproj-F16.gguf"] = gguf.write_header_model(folder / "scout" / "mmproj-F16.gguf", {
        "general.architecture": "clip", "clip.has_vision_encoder": True, "clip.projector_type": "llama4"}, projector)
    gemma = gguf.write_dense_llama(folder / "gemma", n_layer=34, n_embd=2560, n_ff=10240, n_head=8, n_head_kv=4,
                                   vocab=262144, name="gemma-3-4b-it")
    return {SCOUT: scout, GEMMA: {"gemma-3-4b-it-Q4_K_M.gguf": gemma}}


def _installed(gguf: Any, models: Path, hub_files: dict[str, Path]) -> None:
    """A downloaded, verified Scout UD-Q2_K_XL and a paused UD-Q3_K_XL download, as records on disk."""
    folder = models / "unsloth" / "Llama-4-Scout-17B-16E-Instruct-GGUF"
    gguf.write_scout(folder, "UD-Q2_K_XL")
    mmproj = folder / "mmproj-F16.gguf"
    mmproj.hardlink_to(hub_files["mmproj-F16.gguf"])
    records = [FileRecord("Llama-4-Scout-17B-16E-Instruct-UD-Q2_K_XL.gguf",
                          hub_files["Llama-4-Scout-17B-16E-Instruct-UD-Q2_K_XL.gguf"].stat().st_size, None, "model",
                          FileState.READY),
               FileRecord("mmproj-F16.gguf", mmproj.stat().st_size, None, "mmproj", FileState.READY)]
    save_manifest(folder, Manifest(SCOUT, "main", "UD-Q2_K_XL", records, state=DownloadState.READY))
    for r in records:
        mark_verified(folder, r.path, None, folder / r.path)
    q3 = "Llama-4-Scout-17B-16E-Instruct-UD-Q3_K_XL.gguf"
    size = hub_files[q3].stat().st_size
    with (folder / (q3 + ".part")).open("wb") as fh:
        fh.truncate(int(size * 0.41))
    partial = FileRecord(q3, size, None, "model", FileState.PARTIAL)
    save_manifest(folder, Manifest(SCOUT, "main", "UD-Q3_K_XL", [partial], state=DownloadState.PAUSED))


@contextmanager
def _scene(app: HearthApp, hw: Hardware) -> Iterator[tuple[ModelsPage, Any]]:
    found = _fixtures()
    if found is None:
        raise RuntimeError("the Models page screenshots need a source checkout (tests/fixtures)")
    hub_server, gguf = found
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hearth-shots-")))
        files = _hub_files(gguf, tmp / "hub")
        server = stack.enter_context(hub_server.HubServer())
        shas = {p: f"{i:064x}" for i, p in enumerate(files[SCOUT])}
        server.add_repo(SCOUT, files[SCOUT], shas=shas).downloads = 184_312
        server.add_repo(GEMMA, files[GEMMA], shas={p: "f" * 64 for p in files[GEMMA]})
        models = tmp / "models"
        _installed(gguf, models, files[SCOUT])
        if starter_available():
            ensure_starter_model(models)
        default = models / "unsloth" / "Llama-4-Scout-17B-16E-Instruct-GGUF" / \
            "Llama-4-Scout-17B-16E-Instruct-UD-Q2_K_XL.gguf"
        hub = HubClient(endpoint=server.url)
        queue = DownloadQueue(DownloadManager(models, hub), ActiveDownloads(tmp / "active.json"))
        page = ModelsPage(library=ModelLibrary(models), queue=queue, catalog=CatalogService(hub, tmp / "cache"),
                          hub=hub, session=app.session, hardware=lambda: hw, bench_dir=tmp / "bench",
                          settings=app.settings.with_changes(offline=False, default_model=str(default)),
                          discover_home=tmp / "home")
        try:
            yield page, server
        finally:
            for task in queue.tasks:
                queue.cancel(task)
            page.shutdown()
            wait_until(lambda: not any(t.running for t in queue.tasks), 30)
            page.deleteLater()
            _settle(0.1)


def _grab(widget: QWidget, path: Path) -> Path:
    _settle(0.2)
    widget.grab().save(str(path))
    return path


def models_screenshots(app: HearthApp, out: Path) -> list[Path]:
    """The Models page (three tabs, light and dark) mid-download, and the first-run wizard; returns the files."""
    if hub_offline():
        print("hearth: skipping the Models page screenshots: HF_HUB_OFFLINE is set", file=sys.stderr)
        return []
    written: list[Path] = []
    machine = Hardware.hypothetical(64, 16, gpu_name="NVIDIA GeForce RTX 4080", cores=8,
                                    label="Example PC (64 GB RAM + RTX 4080 16 GB)")
    window = app.window
    window.resize(1400, 940)
    window.show()
    with _scene(app, machine) as (page, server):
        pages = window.pages
        pages.addWidget(page)
        pages.setCurrentWidget(page)
        for repo in (SCOUT, GEMMA):  # what "Refresh from Hugging Face" fetches, for the repositories served here
            listing = page.catalog.listing(repo, refresh=True)
            page.catalog.header(listing, listing.quants[0])
        page.start()
        wait_until(lambda: page.hardware is not None and not page.busy and bool(page.rows))
        server.faults.throttle_bps = 90_000_000
        page.start_download(SCOUT, "UD-Q4_K_XL", include_mmproj=True, listing=page.rows[0].listing)
        task = page.queue.find(SCOUT, "UD-Q4_K_XL")
        wait_until(lambda: task is not None and task.done_bytes > 250_000_000 and task.progress is not None
                   and task.progress.speed_bps > 0, 60)
        for mode in ("light", "dark"):
            app.theme.set_mode(mode)
            for index, name in ((DISCOVER, "discover"), (DOWNLOADS, "downloads"), (LIBRARY, "library")):
                page.show_tab(index)
                written.append(_grab(window, out / f"models-{name}-{mode}.png"))
        app.theme.set_mode("light")
        written += _wizard_shots(app, page, machine, out)
        pages.setCurrentIndex(0)
        pages.removeWidget(page)
    return written


def _wizard_shots(app: HearthApp, page: ModelsPage, machine: Hardware, out: Path) -> list[Path]:
    written = []
    for name, hw, rows_page in (("first-run", machine, page), ("first-run-laptop", None, page)):
        wizard = FirstRunDialog(app.theme.theme, starter=starter_available(), offline=False)
        if hw is None:
            laptop = replace(Hardware.hypothetical(16, cores=4, label="16 GB laptop"),
                             disk_free=page.hardware.disk_free if page.hardware else None)
            rows = catalog_rows(page.catalog, laptop)
            wizard.set_hardware(laptop)
            wizard.set_catalog(rows, recommend(rows))
        else:
            wizard.set_hardware(page.hardware or machine)
            wizard.set_catalog(rows_page.rows, rows_page.recommendation)
        wizard.show()
        written.append(_grab(wizard, out / f"{name}-welcome.png"))
        wizard._on_next_clicked()
        written.append(_grab(wizard, out / f"{name}-model.png"))
        wizard.choice = "closed"
        wizard.close()
        wizard.deleteLater()
    return written
