"""Screenshots of the whole app from a source checkout: ``python tools/screenshots.py DIR``.

Saves the window with a conversation (light and dark, as ``hearth --screenshot DIR`` does), the Models page
mid-download (its three tabs, light and dark) and the first-run wizard (a gaming PC, and a 16 GB laptop for which
Scout cannot fit).

The scene is real, not painted. The app is built by ``build_app`` like the real one, with two parts replaced
(``AppSeams``): the Hub client talks to a loopback Hugging Face Hub (the test suite's ``tests.fixtures.hub_server``)
that serves Llama 4 Scout-shaped GGUF files with unsloth's published sizes (sparse files: a "65 GB" file takes a few
MB), and the machine is an example one ("64 GB RAM + RTX 4080", labelled as such), so the verdicts show a realistic
mix. The page refreshes its catalog from that Hub, reads the headers and plans each file, and a real download runs,
throttled, while the shot is taken; a second, paused download is restored from its record on disk like after a
restart. Everything lives in a temporary folder. The laptop's wizard gets a Gemma-3-4B-sized file (a dense
Llama-shaped header with Gemma 3 4B's size) as the smaller model that fits.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "app"), str(ROOT)]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "0"  # the Hub here is the loopback one

from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402
from tests.fixtures import synthetic_gguf as gguf  # noqa: E402
from tests.fixtures.hub_server import HubServer  # noqa: E402

from hearth.core.machine.hardware import Hardware  # noqa: E402
from hearth.core.models.discover.recommend import catalog_rows, recommend  # noqa: E402
from hearth.core.models.download.state import (  # noqa: E402
    DownloadState,
    FileRecord,
    FileState,
    Manifest,
    mark_verified,
    save_manifest,
)
from hearth.core.models.hub.client import HubClient  # noqa: E402
from hearth.core.models.library.starter import ensure_starter_model, starter_available  # noqa: E402
from hearth.core.paths import AppPaths  # noqa: E402
from hearth.core.settings import Settings  # noqa: E402
from hearth.core.store import Store, default_db_path  # noqa: E402
from hearth.ui.app import AppSeams, HearthApp, build_app  # noqa: E402
from hearth.ui.models.first_run import FirstRunDialog  # noqa: E402
from hearth.ui.models.page import DISCOVER, DOWNLOADS, LIBRARY, ModelsPage  # noqa: E402
from hearth.ui.shell.screenshots import settle, window_screenshots  # noqa: E402

SCOUT = "unsloth/Llama-4-Scout-17B-16E-Instruct-GGUF"
GEMMA = "ggml-org/gemma-3-4b-it-GGUF"
SCOUT_Q2 = "Llama-4-Scout-17B-16E-Instruct-UD-Q2_K_XL.gguf"
MACHINE = Hardware.hypothetical(64, 16, gpu_name="NVIDIA GeForce RTX 4080", cores=8,
                                label="Example PC (64 GB RAM + RTX 4080 16 GB)")


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    settle(qapp, timeout, until=condition)
    return condition()


def _hub_files(folder: Path) -> dict[str, dict[str, Path]]:
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


def _installed(models: Path, hub_files: dict[str, Path]) -> None:
    """A downloaded, verified Scout UD-Q2_K_XL and a paused UD-Q3_K_XL download, as records on disk."""
    folder = models / "unsloth" / "Llama-4-Scout-17B-16E-Instruct-GGUF"
    gguf.write_scout(folder, "UD-Q2_K_XL")
    mmproj = folder / "mmproj-F16.gguf"
    mmproj.hardlink_to(hub_files["mmproj-F16.gguf"])
    records = [FileRecord(SCOUT_Q2, hub_files[SCOUT_Q2].stat().st_size, None, "model", FileState.READY),
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


@dataclass
class Scene:
    app: HearthApp
    server: HubServer

    @property
    def page(self) -> ModelsPage:
        return self.app.models.page


@contextmanager
def scene(qapp: QApplication) -> Iterator[Scene]:
    """The app on the loopback Hub, with a models folder holding one Scout download and a paused second one."""
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hearth-shots-")))
        files = _hub_files(tmp / "hub")
        server = stack.enter_context(HubServer())
        shas = {p: f"{i:064x}" for i, p in enumerate(files[SCOUT])}
        server.add_repo(SCOUT, files[SCOUT], shas=shas).downloads = 184_312
        server.add_repo(GEMMA, files[GEMMA], shas={p: "f" * 64 for p in files[GEMMA]})
        paths = AppPaths.under(tmp / "home").ensure()
        _installed(paths.models_dir, files[SCOUT])
        if starter_available():
            ensure_starter_model(paths.models_dir)
        store = Store.open(default_db_path(paths))
        seams = AppSeams(hub=HubClient(endpoint=server.url), hardware=lambda _models_dir: MACHINE,
                         discover_home=tmp / "elsewhere")
        app = build_app(qapp, paths, Settings(first_run_done=True), store, seams=seams)
        try:
            yield Scene(app, server)
        finally:
            for task in app.models.page.queue.tasks:
                app.models.page.queue.cancel(task)
            wait_until(lambda: not any(t.running for t in app.models.page.queue.tasks), 30)
            app.window.close()
            app.shutdown()
            settle(qapp, 0.1)


def _grab(widget: QWidget, path: Path) -> Path:
    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    settle(qapp, 0.2)
    widget.grab().save(str(path))
    return path


def take_all(out: Path) -> list[Path]:
    """Every screenshot; returns the files written."""
    qapp = QApplication.instance() or QApplication([])
    assert isinstance(qapp, QApplication)
    with scene(qapp) as shot:
        page = shot.page
        for repo in (SCOUT, GEMMA):  # what "Refresh from Hugging Face" fetches, for the repositories served here
            listing = page.catalog.listing(repo, refresh=True)
            page.catalog.header(listing, listing.quants[0])
        written = window_screenshots(shot.app, out)
        written += models_screenshots(shot, out)
    return written


def models_screenshots(shot: Scene, out: Path) -> list[Path]:
    """The Models page (three tabs, light and dark) mid-download, and the first-run wizard; returns the files."""
    app, page = shot.app, shot.page
    written: list[Path] = []
    window = app.window
    window.resize(1400, 940)
    default = page.library.models_dir / "unsloth" / "Llama-4-Scout-17B-16E-Instruct-GGUF" / SCOUT_Q2
    page.set_settings(app.settings.with_changes(default_model=str(default)))  # its "Default" badge
    window.show_models()
    if not wait_until(lambda: page.hardware is not None and not page.busy and bool(page.rows)):
        raise RuntimeError("the Models page did not list the catalog")
    shot.server.faults.throttle_bps = 90_000_000
    task = page.start_download(SCOUT, "UD-Q4_K_XL", include_mmproj=True, listing=page.rows[0].listing)
    wait_until(lambda: task.done_bytes > 250_000_000 and task.progress is not None
               and task.progress.speed_bps > 0, 60)
    for mode in ("light", "dark"):
        app.theme.set_mode(mode)
        for index, name in ((DISCOVER, "discover"), (DOWNLOADS, "downloads"), (LIBRARY, "library")):
            page.show_tab(index)
            written.append(_grab(window, out / f"models-{name}-{mode}.png"))
    app.theme.set_mode("light")
    written += _wizard_shots(app, page, out)
    window.show_chat()
    return written


def _wizard_shots(app: HearthApp, page: ModelsPage, out: Path) -> list[Path]:
    written = []
    for name, hw in (("first-run", MACHINE), ("first-run-laptop", None)):
        wizard = FirstRunDialog(app.theme.theme, starter=starter_available(), offline=False)
        if hw is None:
            laptop = replace(Hardware.hypothetical(16, cores=4, label="16 GB laptop"),
                             disk_free=page.hardware.disk_free if page.hardware else None)
            rows = catalog_rows(page.catalog, laptop)
            wizard.set_hardware(laptop)
            wizard.set_catalog(rows, recommend(rows))
        else:
            wizard.set_hardware(page.hardware or hw)
            wizard.set_catalog(page.rows, page.recommendation)
        wizard.show()
        written.append(_grab(wizard, out / f"{name}-welcome.png"))
        wizard.next_button.click()
        written.append(_grab(wizard, out / f"{name}-model.png"))
        wizard.choice = "closed"
        wizard.close()
        wizard.deleteLater()
    return written


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "screenshots")
    for path in take_all(out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
