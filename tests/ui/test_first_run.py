"""The first-run wizard inside the real app (built by ``build_app``): each way out leaves the app in the right state
and marks the first run done, on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from hearth.core.instance import InstanceLock
from hearth.core.models.discover.catalog import CatalogService
from hearth.core.models.hub.client import HubClient
from hearth.core.models.library.starter import starter_available, starter_path
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings, load_settings
from hearth.core.store import Store, default_db_path
from hearth.ui.app import HearthApp, build_app
from hearth.ui.model_session import ModelState
from hearth.ui.models.first_run import FirstRunDialog
from hearth.ui.models.page import DOWNLOADS
from tests.fixtures.hub_server import HubServer
from tests.ui.models_support import SCOUT_FILE, SCOUT_REPO, no_probe, serve_scout_named_tiny


class AppHarness:
    def __init__(self, qapp: QApplication, settings: Settings) -> None:
        self.paths = AppPaths.default().ensure()
        self.store = Store.open(default_db_path(self.paths))
        lock = InstanceLock(self.paths.data_dir)
        lock.acquire()
        self.app: HearthApp = build_app(qapp, self.paths, settings, self.store, lock)
        self.closed = False

    @property
    def wizard(self) -> FirstRunDialog:
        wizard = self.app.models.wizard
        assert wizard is not None
        return wizard

    def saved(self) -> Settings:
        return load_settings(self.paths.config_dir / "settings.json")

    def close(self, qtbot: QtBot) -> None:
        if self.closed:
            return
        self.closed = True
        self.app.window.close()
        for timer in self.app.window.findChildren(QTimer):  # a toast's timer outlives a closed window
            timer.stop()
        queue = self.app.models.page.queue
        self.app.shutdown()
        qtbot.waitUntil(lambda: not any(t.running for t in queue.tasks), timeout=30_000)


@pytest.fixture
def make_app(qtbot: QtBot, qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[AppHarness]]:
    no_probe(monkeypatch)
    made: list[AppHarness] = []

    class Made(AppHarness):
        def __init__(self, settings: Settings | None = None) -> None:
            super().__init__(qapp, settings or Settings())
            made.append(self)

    yield Made
    for harness in made:
        harness.close(qtbot)


def _wait_for_wizard_facts(qtbot: QtBot, h: AppHarness) -> None:
    qtbot.waitUntil(lambda: h.app.models.wizard is not None and h.wizard.hardware is not None
                    and not h.app.models.page.busy, timeout=60_000)


@pytest.mark.parametrize("cached", [True, False], ids=["listing-cached", "no-listing-yet"])
def test_download_the_recommended_model(qtbot: QtBot, make_app: type[AppHarness], hub: HubServer,
                                        tiny_llama4: Path, cached: bool) -> None:
    serve_scout_named_tiny(hub, tiny_llama4)
    h = make_app()
    if cached:  # an earlier "Refresh from Hugging Face": the file list and the header are on disk
        service = CatalogService(HubClient(endpoint=hub.url), h.paths.cache_dir)
        listing = service.listing(SCOUT_REPO, refresh=True)
        service.header(listing, listing.quants[0])
    requests_before = len(hub.log)
    h.app.start()
    _wait_for_wizard_facts(qtbot, h)
    wizard = h.wizard
    assert wizard.isVisible() and wizard.steps.currentIndex() == 0
    assert "Memory" in [wizard.facts.itemAtPosition(0, 0).widget().text()]  # type: ignore[union-attr]
    qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
    if cached:
        qtbot.waitUntil(lambda: wizard.recommendation is not None, timeout=30_000)
        assert wizard.recommendation is not None and wizard.recommendation.quant == "UD-IQ1_S"
        assert "Download Llama 4 Scout" in wizard.download_button.text()
        assert len(hub.log) == requests_before, "the wizard itself asks the Hub nothing"
    else:
        assert wizard.recommendation is None and "Hugging Face" in wizard.rec_reason.text()
        assert len(hub.log) == requests_before, "no file list is fetched before the user clicks"
    assert wizard.download_button.isEnabled()
    qtbot.mouseClick(wizard.download_button, Qt.MouseButton.LeftButton)
    assert h.app.models.wizard is None
    assert h.app.window.pages.currentWidget() is h.app.models.page
    page = h.app.models.page
    qtbot.waitUntil(lambda: bool(page.queue.tasks), timeout=60_000)
    assert page.pages.currentIndex() == DOWNLOADS
    (task,) = page.queue.tasks
    qtbot.waitUntil(lambda: task.state == "ready", timeout=60_000)
    assert task.model_path is not None and task.model_path.name == SCOUT_FILE
    qtbot.waitUntil(lambda: h.app.session.state is ModelState.READY and h.app.session.path == task.model_path,
                    timeout=90_000)
    saved = h.saved()
    assert saved.first_run_done and saved.default_model == str(task.model_path)


def test_i_already_have_a_gguf_file(qtbot: QtBot, make_app: type[AppHarness], tiny_llama4: Path) -> None:
    h = make_app()
    h.app.start()
    _wait_for_wizard_facts(qtbot, h)
    h.wizard.choose_file(tiny_llama4, link=True)
    qtbot.waitUntil(lambda: h.app.session.state is ModelState.READY, timeout=90_000)
    loaded = h.app.session.path
    assert loaded is not None and loaded.is_symlink() and loaded.resolve() == tiny_llama4.resolve()
    assert loaded.parent == h.app.models.models_dir / "imported"
    saved = h.saved()
    assert saved.first_run_done and saved.default_model == str(loaded)


@pytest.mark.skipif(not starter_available(), reason="the starter model package is not installed")
def test_use_the_starter_model(qtbot: QtBot, make_app: type[AppHarness]) -> None:
    h = make_app()
    h.app.start()
    _wait_for_wizard_facts(qtbot, h)
    qtbot.mouseClick(h.wizard.next_button, Qt.MouseButton.LeftButton)
    assert h.wizard.starter_button.isVisible()
    qtbot.mouseClick(h.wizard.starter_button, Qt.MouseButton.LeftButton)
    starter = starter_path(h.app.models.models_dir)
    qtbot.waitUntil(lambda: h.app.session.state is ModelState.READY and h.app.session.path == starter,
                    timeout=90_000)
    saved = h.saved()
    assert saved.first_run_done and saved.default_model == str(starter)


def test_skip_then_no_wizard_at_the_next_start(qtbot: QtBot, make_app: type[AppHarness]) -> None:
    h = make_app()
    h.app.start()
    _wait_for_wizard_facts(qtbot, h)
    qtbot.mouseClick(h.wizard.skip_button, Qt.MouseButton.LeftButton)
    assert h.app.models.wizard is None
    saved = h.saved()
    assert saved.first_run_done and saved.default_model is None
    if starter_available():  # as before the wizard existed: the starter model, to chat with right away
        qtbot.waitUntil(lambda: h.app.session.state is ModelState.READY, timeout=90_000)
    h.close(qtbot)
    again = make_app(h.saved())
    again.app.start()
    assert again.app.models.wizard is None
