"""The Models page: what is on this computer and how it runs here, what to download (the catalog, Llama 4 Scout
first, and a Hub search), and the downloads themselves.

Everything slow runs off the GUI thread: hardware detection, reading model headers for verdicts, scanning other apps'
folders, Hub requests (only ones the user asked for: a refresh, a search, a download, a sign-in) and the downloads
(``DownloadQueue``). Results come back as signals to this page, which only lays them out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QPushButton, QStackedWidget, QVBoxLayout, QWidget

from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.remote_keys import KeyStore
from hearth.core.errors import HearthError
from hearth.core.machine.hardware import Hardware, free_disk
from hearth.core.models.discover.catalog import CatalogService
from hearth.core.models.discover.recommend import CatalogRow, Recommendation
from hearth.core.models.download.state import DownloadState
from hearth.core.models.hub.client import HubClient, hub_offline
from hearth.core.models.hub.repo_files import RepoListing
from hearth.core.models.library.library import InstalledModel, ModelLibrary
from hearth.core.models.library.snapshot import LibrarySnapshot, take_snapshot
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings
from hearth.ui.model_session import ModelSession, ModelState
from hearth.ui.models.catalog_controller import OFFLINE_WORDS, CatalogController
from hearth.ui.models.discover_view import DiscoverView
from hearth.ui.models.download_queue import DownloadQueue, download_complete
from hearth.ui.models.download_task import DownloadTask
from hearth.ui.models.downloads_view import DownloadsView
from hearth.ui.models.folder import ModelsFolder
from hearth.ui.models.hub_sign_in import HubSignIn
from hearth.ui.models.library_controller import LibraryController
from hearth.ui.models.library_view import LibraryView
from hearth.ui.models.scroll import scrolled
from hearth.ui.models.servers_view import ServersView
from hearth.ui.models.widgets import button, hardware_line, row, text_label
from hearth.ui.models.workers_view import WorkersView
from hearth.ui.shell.dialogs import Ask, ChooseImport, ask_user, choose_import
from hearth.ui.shell.notices import Notice, info, notice_for
from hearth.ui.tasks import BackgroundTask, TaskGroup

LIBRARY, DISCOVER, DOWNLOADS, WORKERS, SERVERS = 0, 1, 2, 3, 4


class ModelsPage(QWidget):
    """The page; built by the app with the objects it works with.

    Args:
        library: the models folder.
        queue: the app's downloads (they outlive this page's views).
        catalog: listings and headers, cached.
        hub: the Hub client (its ``offline`` follows the setting).
        session: loads and unloads models.
        hardware: detects this machine for a models folder (blocking; called on a worker thread).
        bench_dir: where ``hearth bench`` saves measured speeds.
        settings: the current settings (``set_settings`` keeps them current).
        discover_home: the home folder to search for other apps' models (tests pass their own).
        ask: asks a yes/no question (tests pass an answer).
        pick_import: asks which file to import and how (tests pass their own).

    Signals:
        settings_requested(Path, object): a model and its recommended ``LoadPlan`` (None: not planned yet).
        default_requested(Path): make this model the default.
        model_deleted(Path): a model was deleted.
        model_imported(InstalledModel): a model was imported.
        download_finished(DownloadTask): a download whose model is ready.
        notice(Notice): for the window's toast.
        back_requested(): back to the chat.
        hardware_ready(Hardware): this machine, detected.
        catalog_ready(): the catalog rows (and the recommendation) were recomputed.
        recommended_started(DownloadTask): ``download_recommended`` found a model and started this download.
        workers_changed(list): the Workers tab's endpoints changed (to save in the settings).
        servers_changed(list): the Servers tab's base URLs changed (to save in the settings).
        remote_use_requested(str, str): a server's base URL and model to chat with.
    """

    settings_requested = Signal(Path, object)
    default_requested = Signal(Path)
    model_deleted = Signal(Path)
    model_imported = Signal(InstalledModel)
    download_finished = Signal(DownloadTask)
    notice = Signal(Notice)
    back_requested = Signal()
    hardware_ready = Signal(Hardware)
    catalog_ready = Signal()
    recommended_started = Signal(DownloadTask)
    workers_changed = Signal(list)
    servers_changed = Signal(list)
    remote_use_requested = Signal(str, str)

    def __init__(self, *, library: ModelLibrary, queue: DownloadQueue, catalog: CatalogService, hub: HubClient,
                 session: ModelSession, hardware: Callable[[Path], Hardware], bench_dir: Path, settings: Settings,
                 discover_home: Path | None = None, ask: Ask = ask_user,
                 pick_import: ChooseImport = choose_import, keys: KeyStore | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPage")
        self.library, self.queue, self.catalog, self.hub = library, queue, catalog, hub
        self.session = session
        self.settings = settings
        self._detect = hardware
        self._bench_dir = bench_dir
        self._home = discover_home
        self.hardware: Hardware | None = None
        self.snapshot = LibrarySnapshot()
        self.tasks = TaskGroup()
        self._library_again = False
        self._task_states: dict[int, tuple[bool, str]] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 20, 32, 0)
        layout.setSpacing(10)
        back = button("←  Chat", "flat", accessible="Back to the chat")
        back.clicked.connect(self.back_requested)
        self.hardware_label = text_label("Looking at this computer…", "muted", selectable=True)
        self.hardware_label.setObjectName("hardwareLine")
        layout.addLayout(row(text_label("Models", "heading"), None, self.hardware_label, back, stretch_at=1))
        self.tab_buttons: list[QPushButton] = []
        tabs = []
        for i, name in enumerate(("On this computer", "Discover", "Downloads", "Workers", "Servers")):
            b = button(name, "tab", accessible=f"{name} tab")
            b.setCheckable(True)
            b.setObjectName("modelsTab")
            b.setProperty("index", i)
            b.clicked.connect(self._on_tab_clicked)
            self.tab_buttons.append(b)
            tabs.append(b)
        layout.addLayout(row(*tabs, spacing=4))
        self.pages = QStackedWidget()
        layout.addWidget(self.pages, 1)

        self.library_view = LibraryView(library.models_dir)
        self.discover_view = DiscoverView(self._quant_button_state)
        self.downloads_view = DownloadsView(queue)
        self.workers_view = WorkersView(list(settings.workers), self.tasks)
        self.servers_view = ServersView(list(settings.remote_servers),
                                        keys or KeyStore(AppPaths.default().config_dir), self.tasks, self._is_offline)
        for view in (self.library_view, self.discover_view, self.downloads_view, self.workers_view,
                     self.servers_view):
            self.pages.addWidget(scrolled(view))
        self.workers_view.workers_changed.connect(self.workers_changed)
        self.servers_view.servers_changed.connect(self.servers_changed)
        self.servers_view.use_requested.connect(self.remote_use_requested)
        self.library_controller = LibraryController(self._current_library, session, queue, self.tasks, self, ask,
                                                    pick_import)
        self.catalog_controller = CatalogController(catalog, hub, self.discover_view, self.tasks, self._is_offline,
                                                    self)
        self._wire()
        self.show_tab(LIBRARY)

    def _wire(self) -> None:
        lib = self.library_view
        lib.load_requested.connect(self.load_model)
        lib.unload_requested.connect(self._on_library_unload_requested)
        lib.default_requested.connect(self.default_requested)
        lib.settings_requested.connect(self._on_library_settings_requested)
        lib.folder_requested.connect(self.open_folder)
        library = self.library_controller
        lib.delete_requested.connect(library.delete)
        lib.import_file_requested.connect(library.pick_and_import)
        lib.import_found_requested.connect(library.import_found)
        library.notice.connect(self.notice)
        library.model_deleted.connect(self.model_deleted)
        library.model_imported.connect(self._on_library_controller_model_imported)
        library.library_changed.connect(self.refresh_library)
        lib.downloads_requested.connect(self._on_any_downloads_requested)
        cat = self.catalog_controller
        cat.notice.connect(self.notice)
        cat.catalog_ready.connect(self.catalog_ready)
        cat.recommended_found.connect(self._on_catalog_recommended_found)
        disc = self.discover_view
        disc.refresh_requested.connect(self._on_discover_refresh_requested)
        disc.search_requested.connect(self.search)
        disc.files_requested.connect(self.show_files)
        disc.download_requested.connect(self._on_discover_download_requested)
        disc.downloads_requested.connect(self._on_any_downloads_requested)
        self.downloads_view.load_requested.connect(self.load_model)
        self.sign_in = HubSignIn(self.hub, self.queue, self.downloads_view, self.tasks, self)
        self.sign_in.notice.connect(self.notice)
        self.downloads_view.login_requested.connect(self.sign_in.sign_in)
        self.queue.task_added.connect(self._on_queue_task_added)
        self.queue.task_finished.connect(self._on_queue_task_finished)
        self.queue.task_removed.connect(self._on_queue_task_removed)
        self.queue.activity_changed.connect(self._on_queue_activity_changed)
        self.session.state_changed.connect(self._on_session_state_changed)
        for task in self.queue.tasks:
            task.changed.connect(self._on_task_changed)

    # --- starting and refreshing ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Detect the hardware, bring back unfinished downloads and list the library (all in the background)."""
        self.queue.restore()
        self._update_tab_titles()
        detect, models_dir = self._detect, self.library.models_dir

        def work(_report: Callable[[object], None]) -> Hardware:
            hw = detect(models_dir)
            if hw.disk_free is None:
                hw = replace(hw, models_dir=models_dir, disk_free=free_disk(models_dir))
            return hw

        self.tasks.run(BackgroundTask(work, parent=self, name="hardware")
                       .success(self._on_hardware_finished).failure(self._on_hardware_failed))

    def _on_hardware_finished(self, hw: Hardware) -> None:
        self.hardware = hw
        self.hardware_label.setText(hardware_line(hw))
        self.hardware_ready.emit(hw)
        self.refresh_library()
        self.catalog_controller.set_hardware(hw)

    def _on_hardware_failed(self, error: HearthError) -> None:
        self.hardware_label.setText(f"Hearth could not look at this computer’s hardware: {notice_for(error).text}")

    def refresh_library(self) -> None:
        """List the models folder again, with verdicts for this machine (in the background)."""
        if self.hardware is None:
            return
        if self.tasks.running("library"):
            self._library_again = True
            return
        hw, previous, lib, bench, home = self.hardware, self.snapshot, self.library, self._bench_dir, self._home

        def work(_report: Callable[[object], None]) -> LibrarySnapshot:
            return take_snapshot(lib, hw, bench, previous, home)

        self.tasks.run(BackgroundTask(work, parent=self, name="library")
                       .success(self._on_library_finished).failure(self._on_action_failed), kind="library")

    def _on_library_finished(self, snapshot: LibrarySnapshot) -> None:
        self.snapshot = snapshot
        if self.hardware is not None and snapshot.disk_free is not None:
            self.hardware = replace(self.hardware, disk_free=snapshot.disk_free)
            self.hardware_label.setText(hardware_line(self.hardware))
            self.catalog_controller.set_hardware(self.hardware)
        default = Path(self.settings.default_model) if self.settings.default_model else None
        self.library_view.set_models(snapshot.models, snapshot.fits, default)
        self.library_view.set_found(snapshot.found)
        self._on_session_state_changed()
        self.discover_view.update_buttons()
        self._update_tab_titles()
        if self._library_again:
            self._library_again = False
            self.refresh_library()

    # --- the catalog (the Discover tab's work is the catalog controller's) --------------------------------------

    def refresh_catalog(self, *, network: bool) -> None:
        """Recompute the catalog's verdicts; ``network`` also fetches file lists and headers (the user asked)."""
        self.catalog_controller.refresh(network=network)

    def download_recommended(self) -> None:
        """Find the best catalog file for this computer on the Hub, then download it (``recommended_started``)."""
        self.show_tab(DOWNLOADS)
        self.catalog_controller.download_recommended()

    @Slot(str)
    def search(self, text: str) -> None:
        self.catalog_controller.search(text)

    @Slot(str)
    def show_files(self, repo_id: str) -> None:
        self.catalog_controller.show_files(repo_id)

    @property
    def rows(self) -> list[CatalogRow]:
        return self.catalog_controller.rows

    @property
    def recommendation(self) -> Recommendation | None:
        return self.catalog_controller.recommendation

    @Slot(Recommendation)
    def _on_catalog_recommended_found(self, rec: Recommendation) -> None:
        task = self.start_download(rec.repo_id, rec.quant, include_mmproj=rec.include_mmproj,
                                   listing=rec.row.listing)
        self.recommended_started.emit(task)

    # --- downloads -----------------------------------------------------------------------------------------------

    def start_download(self, repo_id: str, quant: str | None, *, include_mmproj: bool = False,
                       listing: RepoListing | None = None) -> DownloadTask:
        """Download a quantization (``listing``: its repository's files, if already fetched) and show the
        Downloads tab."""
        task = self.queue.download(repo_id, quant, include_mmproj=include_mmproj, listing=listing)
        self.show_tab(DOWNLOADS)
        return task

    @Slot(str, str, bool, RepoListing)
    def _on_discover_download_requested(self, repo_id: str, quant: str, include_mmproj: bool,
                                        listing: RepoListing | None) -> None:
        if self.offline:
            self.notice.emit(info(f"{OFFLINE_WORDS} Turn off offline mode in Settings to download models.",
                                  "Offline"))
            return
        self.start_download(repo_id, quant, include_mmproj=include_mmproj, listing=listing)

    @Slot(DownloadTask)
    def _on_queue_task_added(self, task: DownloadTask) -> None:
        task.changed.connect(self._on_task_changed)
        self._update_tab_titles()

    @Slot(DownloadTask)
    def _on_queue_task_removed(self, _task: DownloadTask) -> None:
        self._update_tab_titles()
        self.discover_view.update_buttons()
        self.refresh_library()

    @Slot(DownloadTask)
    def _on_queue_task_finished(self, task: DownloadTask) -> None:
        self.refresh_library()
        self.notice.emit(download_complete(task))
        self.download_finished.emit(task)

    @Slot()
    def _on_task_changed(self) -> None:
        self.discover_view.update_buttons()
        task = self.sender()
        if isinstance(task, DownloadTask):
            # The library shows downloads too: list it again when one starts, stops or fails (not on progress).
            state = (task.running, task.state)
            if self._task_states.get(id(task)) != state:
                self._task_states[id(task)] = state
                self.refresh_library()

    @Slot(int)
    def _on_queue_activity_changed(self, _running: int) -> None:
        self._update_tab_titles()

    def _quant_button_state(self, repo_id: str, quant: str) -> tuple[str, bool, str] | None:
        task = self.queue.find(repo_id, quant)
        if task is not None and task.state not in (DownloadState.CANCELLED, DownloadState.READY):
            share = task.done_bytes / task.total_bytes if task.total_bytes else 0
            if task.running:
                return f"Downloading {share:.0%}", True, "secondary"
            words = "Paused" if task.state is DownloadState.PAUSED else "Stopped"
            return f"{words} · {share:.0%}", True, "secondary"
        for model in self.snapshot.models:
            if model.repo_id == repo_id and (model.quant or "").lower() == quant.lower() and model.usable:
                return "Downloaded", False, "secondary"
        return None

    # --- library actions -----------------------------------------------------------------------------------------

    @Slot(Path)
    def load_model(self, path: Path) -> None:
        self.session.load(path)

    @Slot()
    def _on_library_unload_requested(self) -> None:
        self.session.unload()

    @Slot(Path)
    def _on_library_settings_requested(self, path: Path) -> None:
        fit = self.snapshot.fits.get(path)
        plan: LoadPlan | None = fit.plan if fit is not None else None
        self.settings_requested.emit(path, plan)

    @Slot(Path)
    def open_folder(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def delete_model(self, model: InstalledModel) -> None:
        self.library_controller.delete(model)

    def import_file(self, path: Path, link: bool) -> None:
        """Bring a GGUF file into the library (a link when ``link``, else a copy), in the background."""
        self.library_controller.import_file(path, link)

    @Slot(InstalledModel)
    def _on_library_controller_model_imported(self, model: InstalledModel) -> None:
        self.model_imported.emit(model)
        self.show_tab(LIBRARY)

    def _on_action_failed(self, error: HearthError) -> None:
        self.notice.emit(notice_for(error))
        self.refresh_library()

    # --- showing -------------------------------------------------------------------------------------------------

    @property
    def offline(self) -> bool:
        return self.settings.offline or self.hub.offline or hub_offline()

    def _is_offline(self) -> bool:
        return self.offline

    def _current_library(self) -> ModelLibrary:
        return self.library

    @property
    def busy(self) -> bool:
        """Background work (not downloads) is still running."""
        return self.tasks.busy

    def set_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.hub.offline = settings.offline
        self.servers_view.set_offline(self.offline)
        self.refresh_library()

    def set_models_folder(self, folder: ModelsFolder) -> None:
        """Use another models folder (a setting changed); downloads already running finish where they are."""
        self.library = folder.library
        models_dir = folder.library.models_dir
        self.library_view.models_dir = models_dir
        self.queue.manager = folder.downloads
        if self.hardware is not None:
            self.hardware = replace(self.hardware, models_dir=models_dir, disk_free=free_disk(models_dir))
            self.catalog_controller.set_hardware(self.hardware)
        self.snapshot = LibrarySnapshot()
        self.queue.restore()

    def show_tab(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        if index == WORKERS and not self.tasks.running("worker-probe"):
            self.workers_view.check_all()
        elif index == SERVERS and not self.tasks.running("server-models"):
            self.servers_view.refresh_all()
        for i, b in enumerate(self.tab_buttons):
            b.setChecked(i == index)

    def _update_tab_titles(self) -> None:
        ready = sum(1 for m in self.snapshot.models if m.usable)
        running = self.queue.running_count()
        self.tab_buttons[LIBRARY].setText(f"On this computer · {ready}" if ready else "On this computer")
        self.tab_buttons[DOWNLOADS].setText(f"Downloads · {running} active" if running else
                                            f"Downloads · {len(self.queue.tasks)}" if self.queue.tasks else
                                            "Downloads")

    @Slot()
    def _on_tab_clicked(self) -> None:
        sender = self.sender()
        if isinstance(sender, QPushButton):
            self.show_tab(int(sender.property("index")))

    @Slot()
    def _on_any_downloads_requested(self) -> None:
        self.show_tab(DOWNLOADS)

    @Slot()
    def _on_discover_refresh_requested(self) -> None:
        self.refresh_catalog(network=True)

    @Slot()
    def _on_session_state_changed(self) -> None:
        s = self.session
        loaded = s.path if s.state in (ModelState.READY, ModelState.LOADING) else None
        self.library_view.set_session(loaded, s.state is ModelState.LOADING)

    def show_notice(self, notice: Notice) -> None:
        self.notice.emit(notice)

    # --- ending --------------------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Wait for background work and stop downloads where they are (they resume at the next start)."""
        self.tasks.close()
        self.queue.shutdown()
