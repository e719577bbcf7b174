"""Shared set-up for the Models page and first-run tests: a models folder with real GGUF files, the app built by
``build_app`` (the real engine, download manager, library and page, in the main window), and a catalog repository
(Llama 4 Scout's real name) on the loopback Hub that serves the tiny Llama 4 model, so the catalog's own code paths
run end to end."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from hearth.core.engine.plan import LoadPlan
from hearth.core.machine import hardware as hardware_module
from hearth.core.machine.gpu import BackendInfo
from hearth.core.machine.hardware import Hardware, detect_hardware
from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.hub.client import HubClient
from hearth.core.models.library.starter import STARTER_NAME
from hearth.core.models.planning.load import plan_for_path
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings
from hearth.core.store import Store, default_db_path
from hearth.ui.app import AppSeams, HearthApp, build_app
from hearth.ui.model_session import ModelSession
from hearth.ui.models.download_queue import DownloadQueue
from hearth.ui.models.page import ModelsPage
from tests.fixtures.hub_server import HubServer
from tests.ui.window_support import qt_app

SCOUT_REPO = "unsloth/Llama-4-Scout-17B-16E-Instruct-GGUF"
SCOUT_FILE = "Llama-4-Scout-17B-16E-Instruct-UD-IQ1_S.gguf"


def no_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip the llama.cpp probe child process: this build is CPU-only (as ``hearth doctor`` reports here)."""
    monkeypatch.setattr(hardware_module, "probe_backend",
                        lambda *a, **k: BackendInfo(gpu_offload=False, backends=("CPU",)))


def this_machine(models_dir: Path) -> Hardware:
    return detect_hardware(models_dir, probe=False)


def fill_models_dir(models_dir: Path, tiny_llama4: Path, starter_model: Path) -> dict[str, Path]:
    """The starter model (a link to the session's copy) and a loose tiny Llama 4 file."""
    starter = models_dir / "starter" / STARTER_NAME
    starter.parent.mkdir(parents=True, exist_ok=True)
    starter.symlink_to(starter_model)
    tiny = models_dir / "mine" / "tiny-llama4-F32.gguf"
    tiny.parent.mkdir(parents=True)
    shutil.copyfile(tiny_llama4, tiny)
    return {"starter": starter, "tiny": tiny}


def serve_scout_named_tiny(hub: HubServer, tiny_llama4: Path) -> None:
    """The tiny Llama 4 under Scout's repository and one of its quant names (so the catalog offers it)."""
    hub.add_repo(SCOUT_REPO, {SCOUT_FILE: tiny_llama4})


def age_cached_listing(cache_dir: Path, repo_id: str, seconds: float) -> None:
    """Make a cached listing look ``seconds`` old."""
    path = cache_dir / "hub-listings" / (repo_id.replace("/", "--") + ".json")
    data = json.loads(path.read_text())
    data["fetched_at"] = time.time() - seconds
    path.write_text(json.dumps(data))


def app_paths(root: Path) -> AppPaths:
    """The app's folders in a test's ``root`` (the same at every ``build_page`` on that root: a restart)."""
    return AppPaths.under(root)


@dataclass
class PageHarness:
    app: HearthApp
    models_dir: Path
    asked: list[str] = field(default_factory=list)

    @property
    def page(self) -> ModelsPage:
        return self.app.models.page

    @property
    def session(self) -> ModelSession:
        return self.app.session

    @property
    def queue(self) -> DownloadQueue:
        return self.page.queue

    def wait_idle(self, qtbot: QtBot, timeout: int = 30_000) -> None:
        """Until the page's background work is done and its results are laid out (a widget added to a shown page
        is shown by an event of its own)."""
        qtbot.waitUntil(lambda: self.page.hardware is not None and not self.page.busy, timeout=timeout)
        QApplication.processEvents()

    def close(self, qtbot: QtBot) -> None:
        """Close the app as at exit: downloads stop where they are (and resume at the next start)."""
        self.app.window.close()
        self.app.shutdown()
        qtbot.waitUntil(lambda: not any(t.running for t in self.queue.tasks), timeout=30_000)


def build_page(qtbot: QtBot, root: Path, models_dir: Path, *, endpoint: str | None = None, offline: bool = False,
               settings: Settings | None = None, answer: bool = True) -> PageHarness:
    """The app on real objects, built by ``build_app``, its Models page shown: engine, session (with the real
    planner), library, downloads, catalog; the Hub at ``endpoint``, models in ``models_dir``."""
    paths = app_paths(root).ensure()
    hw = this_machine(models_dir)
    asked: list[str] = []

    def ask(_parent: QWidget, _title: str, text: str) -> bool:
        asked.append(text)
        return answer

    def plan_for(path: Path) -> LoadPlan:
        return plan_for_path(path, hardware=hw).with_changes(n_ctx=2048)

    def downloads(folder: Path, hub: HubClient) -> DownloadManager:
        return DownloadManager(folder, hub, progress_interval=0.05)  # progress often enough to see it mid-way

    seams = AppSeams(hub=HubClient(endpoint=endpoint, offline=offline), plan_for=plan_for, hardware=this_machine,
                     download_manager=downloads, ask=ask, discover_home=root / "home")
    chosen = (settings or Settings(offline=offline)).with_changes(models_dir=str(models_dir))
    app = build_app(qt_app(), paths, chosen, Store.open(default_db_path(paths)), seams=seams)
    qtbot.addWidget(app.window)
    app.window.resize(1500, 950)
    app.window.show()
    app.window.show_models()
    return PageHarness(app, models_dir, asked)
