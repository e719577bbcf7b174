"""What the Models page and the first-run wizard ask of the rest of the app: load a model, make it the default, the
wizard's ways in (a download, a file, the starter model), and a new models folder when the settings change.

The folder's services, the download queue and the session are built by the composition root
(``hearth.ui.app.build_app``) and passed in, with a way to build the page; this object only carries out the user's
choices. The page itself (its widgets, the catalog, the Hub client's modules) is built the first time it is needed:
shown, or asked for by the first-run wizard. Until then the app's start only brings back unfinished downloads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from hearth.core.engine.remote import RemoteServer, remote_plan
from hearth.core.errors import HearthError
from hearth.core.models.discover.recommend import Recommendation
from hearth.core.models.hub.client import HubClient
from hearth.core.models.library.library import InstalledModel, ModelLibrary
from hearth.core.models.library.starter import default_chat_model, starter_available, starter_path
from hearth.core.settings import Settings
from hearth.ui.model_session import ModelSession, ModelState
from hearth.ui.models.download_queue import DownloadQueue, download_complete
from hearth.ui.models.download_task import DownloadTask
from hearth.ui.models.folder import ModelsFolder
from hearth.ui.shell.main_window import MainWindow
from hearth.ui.shell.notices import Notice, info, notice_for
from hearth.ui.shell.theme import Theme
from hearth.ui.tasks import BackgroundTask, TaskGroup

if TYPE_CHECKING:
    from hearth.ui.models.first_run import FirstRunDialog
    from hearth.ui.models.page import ModelsPage


class ModelsController(QObject):
    """Answers the Models page's and the wizard's requests.

    Args:
        folder: the models folder's services.
        queue: the app's downloads.
        hub: the Hub client (its ``offline`` follows the setting).
        make_page: builds the Models page on a folder (called once, when the page is first needed).
        session: the model session.
        settings: the settings now (``set_settings`` keeps them current).
        open_folder: the services for a models folder (called again when the user picks another folder).

    Signals:
        settings_changed(Settings): new settings to save and apply (default model, first run done).
        model_settings_requested(Path, object): open the settings dialog for a model, with its ``LoadPlan`` (or
            None).
        first_run_finished(str): "download", "file", "starter" or "skip".
    """

    settings_changed = Signal(Settings)
    model_settings_requested = Signal(Path, object)
    first_run_finished = Signal(str)

    def __init__(self, *, folder: ModelsFolder, queue: DownloadQueue, hub: HubClient,
                 make_page: Callable[[ModelsFolder], ModelsPage], session: ModelSession, settings: Settings,
                 open_folder: Callable[[Path], ModelsFolder]) -> None:
        super().__init__()
        self._folder = folder
        self.queue = queue
        self._hub = hub
        self._make_page = make_page
        self._page: ModelsPage | None = None
        self._started = False
        self.session = session
        self.settings = settings
        self._open_folder = open_folder
        self.window: MainWindow | None = None
        self.wizard: FirstRunDialog | None = None
        self._first_run_task: DownloadTask | None = None
        self._first_run_import = False
        self._awaiting_recommended = False
        self._tasks = TaskGroup()
        queue.task_finished.connect(self._on_queue_task_finished)

    @property
    def page(self) -> ModelsPage:
        """The Models page, built (and, once the app has started, started) the first time it is asked for."""
        if self._page is None:
            self._page = page = self._make_page(self._folder)
            page.default_requested.connect(self._on_page_default_requested)
            page.model_deleted.connect(self._on_page_model_deleted)
            page.model_imported.connect(self._on_page_model_imported)
            page.settings_requested.connect(self.model_settings_requested)
            page.download_finished.connect(self._on_page_download_finished)
            page.recommended_started.connect(self._on_page_recommended_started)
            page.workers_changed.connect(self._on_page_workers_changed)
            page.servers_changed.connect(self._on_page_servers_changed)
            page.remote_use_requested.connect(self._on_page_remote_use_requested)
            page.notice.connect(self._on_page_notice)
            if self.window is not None:
                page.back_requested.connect(self.window.show_chat)
            if self._started:
                page.start()
        return self._page

    @property
    def page_built(self) -> bool:
        return self._page is not None

    def page_widget(self) -> QWidget:
        """The page, for the window's stack (built now if it is not yet)."""
        return self.page

    @property
    def library(self) -> ModelLibrary:
        """The current models folder's library."""
        return self._folder.library

    @property
    def models_dir(self) -> Path:
        return self._folder.library.models_dir

    def attach(self, window: MainWindow) -> None:
        """Connect to the window (toasts, going back to the chat)."""
        self.window = window
        if self._page is not None:
            self._page.back_requested.connect(window.show_chat)

    def start(self) -> None:
        """Bring back the downloads left unfinished last time; the page's own work (hardware, library) starts with
        the page."""
        self._started = True
        self.queue.restore()
        if self._page is not None:
            self._page.start()

    def set_settings(self, settings: Settings, models_dir: Path | None = None) -> None:
        self.settings = settings
        if models_dir is not None and models_dir != self.models_dir:
            self._folder = self._open_folder(models_dir)
            if self._page is not None:
                self._page.set_models_folder(self._folder)
            else:
                self.queue.manager = self._folder.downloads
                self.queue.restore()
        if self._page is not None:
            self._page.set_settings(settings)
        else:
            self._hub.offline = settings.offline

    @Slot(DownloadTask)
    def _on_queue_task_finished(self, task: DownloadTask) -> None:
        if self._page is None:  # else the page says it (and lists the model)
            self._toast(download_complete(task))

    def _change(self, **changes: object) -> None:
        self.settings = self.settings.with_changes(**changes)
        self.settings_changed.emit(self.settings)

    # --- page requests -------------------------------------------------------------------------------------------

    @Slot(Path)
    def _on_page_default_requested(self, path: Path) -> None:
        self._change(default_model=str(path))
        self._toast(info(f"{path.name} will load when Hearth starts.", "Default model"))

    @Slot(list)
    def _on_page_workers_changed(self, endpoints: list[str]) -> None:
        self._change(workers=list(endpoints))

    @Slot(list)
    def _on_page_servers_changed(self, urls: list[str]) -> None:
        self._change(remote_servers=list(urls))

    @Slot(str, str)
    def _on_page_remote_use_requested(self, base_url: str, model: str) -> None:
        """Chat with a server's model: the session "loads" it (the server is asked; no weights move)."""
        self.session.load_plan(remote_plan(RemoteServer(base_url), model))
        if self.window is not None:
            self.window.show_chat()

    @Slot(Path)
    def _on_page_model_deleted(self, path: Path) -> None:
        if self.settings.default_model == str(path):
            self._change(default_model=None)

    @Slot(Notice)
    def _on_page_notice(self, notice: Notice) -> None:
        self._toast(notice)

    def _toast(self, notice: Notice) -> None:
        if self.window is not None:
            self.window.show_notice(notice)

    @Slot(DownloadTask)
    def _on_page_download_finished(self, task: DownloadTask) -> None:
        if task is not self._first_run_task:
            return
        self._first_run_task = None
        path = task.model_path
        if path is None:
            return
        self._change(default_model=str(path))
        if not self._busy_answering():
            self.session.load(path)

    @Slot(DownloadTask)
    def _on_page_recommended_started(self, task: DownloadTask) -> None:
        if self._awaiting_recommended:
            self._awaiting_recommended = False
            self._first_run_task = task

    @Slot(InstalledModel)
    def _on_page_model_imported(self, model: InstalledModel) -> None:
        if self._first_run_import:
            self._first_run_import = False
            self._change(default_model=str(model.path))
            self.session.load(model.path)

    def _busy_answering(self) -> bool:
        return self.window is not None and self.window.controller.busy

    # --- the default chat model ----------------------------------------------------------------------------------

    def load_default_model(self, *, starter_chosen: bool = False) -> None:
        """Load the default chat model, as ``default_chat_model`` decides (the user's default if its file is there,
        else the starter model, assembled in the models folder in the background).

        Args:
            starter_chosen: the user chose the starter (the wizard): it becomes the default model. Otherwise the
                model is what to chat with until the user picks one, and a model they chose meanwhile wins.
        """
        if starter_chosen:
            self._change(default_model=str(starter_path(self.models_dir)))
        settings, models_dir = self.settings, self.models_dir

        def work(_report: Callable[[object], None]) -> Path:
            return default_chat_model(settings, models_dir)

        def ready(path: Path) -> None:
            self._on_default_model_ready(path, starter_chosen)

        self._tasks.run(BackgroundTask(work, parent=self, name="default model")
                        .success(ready).failure(self._on_starter_failed))

    def _on_default_model_ready(self, path: Path, chosen: bool) -> None:
        if not chosen and self.session.state in (ModelState.LOADING, ModelState.READY):
            return  # assembling the starter takes a moment; a model the user chose meanwhile (a download, a file) wins
        self.session.load(path)
        if path == starter_path(self.models_dir) and self._page is not None:
            self._page.refresh_library()  # it may have just been assembled

    def _on_starter_failed(self, error: HearthError) -> None:
        self._toast(notice_for(error))

    # --- first run -----------------------------------------------------------------------------------------------

    def run_first_run(self, theme: Theme) -> bool:
        """Show the wizard if this is the first start; returns whether it was shown (it is not modal to the app's
        event loop: choices arrive as signals)."""
        if self.settings.first_run_done:
            return False
        from hearth.ui.models.first_run import FirstRunDialog

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
        wizard.best_download_chosen.connect(self._on_wizard_best_download_chosen)
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

    @Slot(Recommendation)
    def _on_wizard_download_chosen(self, rec: Recommendation) -> None:
        self._first_run_task = self.page.start_download(rec.repo_id, rec.quant, include_mmproj=rec.include_mmproj,
                                                        listing=rec.row.listing)
        self._show_downloads_and_finish()

    @Slot()
    def _on_wizard_best_download_chosen(self) -> None:
        self._awaiting_recommended = True
        self.page.download_recommended()
        self._show_downloads_and_finish()

    def _show_downloads_and_finish(self) -> None:
        if self.window is not None:
            self.window.show_models()
        self._finish_first_run("download")

    @Slot(Path, bool)
    def _on_wizard_file_chosen(self, path: Path, link: bool) -> None:
        self._first_run_import = True
        self.page.import_file(path, link)
        self._finish_first_run("file")

    @Slot()
    def _on_wizard_starter_chosen(self) -> None:
        self.load_default_model(starter_chosen=True)
        self._finish_first_run("starter")

    @Slot()
    def _on_wizard_skipped(self) -> None:
        self._finish_first_run("skip")

    # --- ending --------------------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        self._tasks.close()
        if self._page is not None:
            self._page.shutdown()
        else:
            self.queue.shutdown()
