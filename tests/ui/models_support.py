"""Shared set-up for the Models page and first-run tests: a models folder with real GGUF files, the page built on
the real engine and the real download manager, and a catalog repository (Llama 4 Scout's real name) on the loopback
Hub that serves the tiny Llama 4 model, so the catalog's own code paths run end to end."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from hearth.core.engine import EngineClient
from hearth.core.machine import hardware as hardware_module
from hearth.core.machine.gpu import BackendInfo
from hearth.core.machine.hardware import Hardware, detect_hardware
from hearth.core.models.discover.catalog import CatalogService
from hearth.core.models.download.active import ActiveDownloads
from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.hub.client import HubClient
from hearth.core.models.library.library import ModelLibrary
from hearth.core.models.library.starter import STARTER_NAME
from hearth.core.models.planning.planner import plan_for_path
from hearth.core.settings import Settings
from hearth.ui.engine_bridge import EngineBridge
from hearth.ui.model_session import ModelSession
from hearth.ui.models.download_queue import DownloadQueue
from hearth.ui.models.page import ModelsPage
from tests.fixtures.hub_server import HubServer

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


@dataclass
class PageHarness:
    page: ModelsPage
    session: ModelSession
    bridge: EngineBridge
    queue: DownloadQueue
    hub: HubClient
    models_dir: Path
    cache_dir: Path
    asked: list[str] = field(default_factory=list)

    def wait_idle(self, qtbot: QtBot, timeout: int = 30_000) -> None:
        qtbot.waitUntil(lambda: self.page.hardware is not None and not self.page.busy, timeout=timeout)

    def close(self, qtbot: QtBot) -> None:
        self.page.shutdown()
        qtbot.waitUntil(lambda: not any(t.running for t in self.queue.tasks), timeout=30_000)
        self.bridge.stop()


def build_page(qtbot: QtBot, root: Path, models_dir: Path, *, endpoint: str | None = None, offline: bool = False,
               settings: Settings | None = None, answer: bool = True, active: Path | None = None,
               hub: HubClient | None = None, parent: QObject | None = None) -> PageHarness:
    """The page on real objects: engine, session (with the real planner), library, downloads, catalog."""
    bridge = EngineBridge(EngineClient())
    hw = this_machine(models_dir)
    session = ModelSession(bridge, lambda path: plan_for_path(path, hardware=hw).with_changes(n_ctx=2048))
    hub = hub or HubClient(endpoint=endpoint, offline=offline)
    queue = DownloadQueue(DownloadManager(models_dir, hub, progress_interval=0.05),
                          ActiveDownloads(active or root / "active-downloads.json"))
    asked: list[str] = []

    def ask(_parent: object, _title: str, text: str) -> bool:
        asked.append(text)
        return answer

    cache = root / "cache"
    page = ModelsPage(library=ModelLibrary(models_dir), queue=queue, catalog=CatalogService(hub, cache), hub=hub,
                      session=session, hardware=lambda: this_machine(models_dir), bench_dir=root / "bench",
                      settings=settings or Settings(offline=offline), discover_home=root / "home", ask=ask)
    qtbot.addWidget(page)
    page.resize(1200, 900)
    page.show()
    return PageHarness(page, session, bridge, queue, hub, models_dir, cache, asked)
