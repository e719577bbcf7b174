"""Wiring between the Models page, the first-run wizard and the rest of the app: builds the page with what it needs,
and carries out what the user chose (load, make default, the wizard's paths).

Kept out of ``app.py`` so the composition root stays short; like it, this module only connects objects.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from hearth.core.machine.hardware import Hardware, detect_hardware
from hearth.core.models.discover.catalog import CatalogService
from hearth.core.models.discover.recommend import Recommendation
from hearth.core.models.download.active import ActiveDownloads
from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.hub.client import HubClient
from hearth.core.models.library.library import InstalledModel, ModelLibrary
from hearth.core.models.library.starter import starter_available, starter_path
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings
from hearth.ui.model_session import ModelSession
from hearth.ui.models.download_queue import DownloadQueue
from hearth.ui.models.download_task import DownloadTask
from hearth.ui.models.first_run import FirstRunDialog
from hearth.ui.models.page import ModelsPage
from hearth.ui.shell.main_window import MainWindow
from hearth.ui.shell.notices import Notice, info
from hearth.ui.shell.theme import Theme
from hearth.ui.tasks import BackgroundTask


class _Detector:
    """Detects this machine for a models folder (a callable the page runs on a worker thread)."""

    def __init__(self, models_dir: Path, cache_dir: Path) -> None:
        self.models_dir = models_dir
        self.cache_dir = cache_dir

    def __call__(self) -> Hardware:
        return detect_hardware(self.models_dir, cache_dir=self.cache_dir)


class ModelCoordinator(QObject):
    """Owns the models page's services and answers its requests.

    Args:
        paths: the app's folders (cache, data).
        settings: the settings now (``set_settings`` keeps them current).
        session: the model session.
        models_dir: where models live.
        hub: the Hub client (None: one that follows ``settings.offline``).
        page: a page built elsewhere (tests); None builds the real one.

    Signals:
        settings_changed(object): new ``Settings`` to save and apply (default model, first run done).
        model_settings_requested(object, object): open the settings dialog for a model ``Path`` with its plan.
        first_run_finished(str): "download", "file", "starter" or "skip".
    """

    settings_changed = Signal(object)
    model_settings_requested = Signal(object, object)
    first_run_finished = Signal(str)

    def __init__(self, *, paths: AppPaths, settings: Settings, session: ModelSession, models_dir: Path,
                 hub: HubClient | None = None, page: ModelsPage | None = None) -> None:
        super().__init__()
        self.paths = paths
        self.settings = settings
        self.session = session
        self.models_dir = models_dir
        self.hub = hub or HubClient(offline=settings.offline)
        if page is None:
            manager = DownloadManager(models_dir, self.hub)
            queue = DownloadQueue(manager, ActiveDownloads(paths.data_dir / "active-downloads.json"), self)
            page = ModelsPage(library=ModelLibrary(models_dir), queue=queue,
                              catalog=CatalogService(self.hub, paths.cache_dir), hub=self.hub, session=session,
                              hardware=_Detector(models_dir, paths.cache_dir), bench_dir=paths.data_dir / "bench",
                              settings=settings)
        self.page = page
        self.window: MainWindow | None = None
        self.wizard: FirstRunDialog | None = None
        self._first_run_task: DownloadTask | None = None
        self._first_run_import = False
        self._awaiting_recommended = False
        self._tasks: list[BackgroundTask] = []
        page.default_requested.connect(self._on_page_default_requested)
        page.model_deleted.connect(self._on_page_model_deleted)
        page.model_imported.connect(self._on_page_model_imported)
        page.settings_requested.connect(self.model_settings_requested)
        page.download_finished.connect(self._on_page_download_finished)
        page.recommended_started.connect(self._on_page_recommended_started)

    def attach(self, window: MainWindow) -> None:
        """Connect to the window (toasts, going back to the chat)."""
        self.window = window
        self.page.notice.connect(self._on_page_notice)
        self.page.back_requested.connect(window.show_chat)

    def start(self) -> None:
        """Start the page's background work: hardware, library, and the downloads left unfinished last time."""
        self.page.start()

    def set_settings(self, settings: Settings, models_dir: Path | None = None) -> None:
        self.settings = settings
        if models_dir is not None and models_dir != self.models_dir:
            self.models_dir = models_dir
            self.page.set_models_dir(models_dir)
        self.page.set_settings(settings)

    def _change(self, **changes: object) -> None:
        self.settings = self.settings.with_changes(**changes)
        self.settings_changed.emit(self.settings)

    # --- page requests -------------------------------------------------------------------------------------------

    @Slot(object)
    def _on_page_default_requested(self, path: object) -> None:
        self._change(default_model=str(path))
        self._toast(info(f"{Path(str(path)).name} will load when Hearth starts.", "Default model"))

    @Slot(object)
    def _on_page_model_deleted(self, path: object) -> None:
        if self.settings.default_model == str(path):
            self._change(default_model=None)

    @Slot(object)
    def _on_page_notice(self, notice: object) -> None:
        if isinstance(notice, Notice):
            self._toast(notice)

    def _toast(self, notice: Notice) -> None:
        if self.window is not None:
            self.window.show_notice(notice)

    @Slot(object)
    def _on_page_download_finished(self, task: object) -> None:
        if task is not self._first_run_task or not isinstance(task, DownloadTask):
            return
        self._first_run_task = None
        path = task.model_path
        if path is None:
            return
        self._change(default_model=str(path))
        if not self._busy_answering():
            self.session.load(path)

    @Slot(object)
    def _on_page_recommended_started(self, task: object) -> None:
        if isinstance(task, DownloadTask) and self._awaiting_recommended:
            self._awaiting_recommended = False
            self._first_run_task = task

    @Slot(object)
    def _on_page_model_imported(self, model: object) -> None:
        if self._first_run_import and isinstance(model, InstalledModel):
            self._first_run_import = False
            self._change(default_model=str(model.path))
            self.session.load(model.path)

    def _busy_answering(self) -> bool:
        return self.window is not None and self.window.controller.busy

    # --- first run -----------------------------------------------------------------------------------------------

    def run_first_run(self, theme: Theme) -> bool:
        """Show the wizard if this is the first start; returns whether it was shown (it is not modal to the app's
        event loop: choices arrive as signals)."""
        if self.settings.first_run_done:
            return False
        wizard = FirstRunDialog(theme, starter=starter_available(), offline=self.settings.offline,
                                parent=self.window)
        self.wizard = wizard
        if self.page.hardware is not None:
            wizard.set_hardware(self.page.hardware)
        if self.page.rows:
            wizard.set_catalog(self.page.rows, self.page.recommendation)
        self.page.hardware_ready.connect(wizard.set_hardware)
        self.page.catalog_ready.connect(self._on_page_catalog_ready)
        wizard.download_chosen.connect(self._on_wizard_download_chosen)
        wizard.file_chosen.connect(self._on_wizard_file_chosen)
        wizard.starter_chosen.connect(self._on_wizard_starter_chosen)
        wizard.skipped.connect(self._on_wizard_skipped)
        wizard.open()
        return True

    @Slot()
    def _on_page_catalog_ready(self) -> None:
        if self.wizard is not None:
            self.wizard.set_catalog(self.page.rows, self.page.recommendation)

    def _finish_first_run(self, choice: str) -> None:
        if self.wizard is not None:
            self.page.hardware_ready.disconnect(self.wizard.set_hardware)
            self.page.catalog_ready.disconnect(self._on_page_catalog_ready)
            self.wizard.deleteLater()
            self.wizard = None
        self._change(first_run_done=True)
        self.first_run_finished.emit(choice)

    @Slot(object)
    def _on_wizard_download_chosen(self, rec: object) -> None:
        if isinstance(rec, Recommendation):
            self._first_run_task = self.page.start_download(rec.repo_id, rec.quant, include_mmproj=rec.include_mmproj,
                                                            listing=rec.row.listing)
        else:
            self._awaiting_recommended = True
            self.page.download_recommended()
        if self.window is not None:
            self.window.show_models()
        self._finish_first_run("download")

    @Slot(object, bool)
    def _on_wizard_file_chosen(self, path: object, link: bool) -> None:
        self._first_run_import = True
        self.page.import_file(Path(str(path)), link)
        self._finish_first_run("file")

    @Slot()
    def _on_wizard_starter_chosen(self) -> None:
        # The starter becomes the default; the app loads the default chat model (assembling the starter) when told.
        self._change(default_model=str(starter_path(self.models_dir)))
        self._finish_first_run("starter")

    @Slot()
    def _on_wizard_skipped(self) -> None:
        self._finish_first_run("skip")

    # --- ending --------------------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        for task in self._tasks:
            task.wait()
        self.page.shutdown()
