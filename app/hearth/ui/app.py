"""The composition root: ``build_app`` builds every long-lived object once and wires them (``hearth.ui.launch``
shows the window's frame first, then builds the app into it and runs the Qt event loop).

Nothing else creates long-lived objects: the store, the engine, the model session, the Hub client, the download
manager, the library, the Models page and the main window are made in ``build_app`` and passed in through
constructors. Tests, the app-kill test's child process and the screenshot tool build the app the same way, replacing
only what ``AppSeams`` names.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from hearth.core.engine import EngineApi
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.remote_keys import KeyStore
from hearth.core.engine.routing import RoutingEngineClient
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.service import EngineService
from hearth.core.errors import HearthError, StoreCorruptError
from hearth.core.instance import InstanceLock
from hearth.core.logs import configure_logging
from hearth.core.machine.hardware import Hardware, detect_hardware
from hearth.core.models.download.active import ActiveDownloads
from hearth.core.models.download.manager import DownloadManager
from hearth.core.models.hub.client import HubClient
from hearth.core.models.library.library import ModelLibrary
from hearth.core.models.library.model_settings import ModelSettings
from hearth.core.models.planning.benchmark import bench_prompt_speed
from hearth.core.models.planning.calibration import apply_calibration
from hearth.core.paths import AppPaths
from hearth.core.retrieval import estimated_prompt_speed
from hearth.core.settings import Settings, save_settings
from hearth.core.store import Store, default_db_path, quarantine, salvage
from hearth.core.tools.config import ToolsConfig, load_tools_config, save_tools_config, tools_path
from hearth.core.tools.mcp_client import McpManager
from hearth.core.tools.toolbox import Toolbox
from hearth.ui.chat.controller import ChatController
from hearth.ui.chat.conversations import ConversationsController
from hearth.ui.chat.preset_picker import PresetPicker
from hearth.ui.chat.tool_approval import AskTool, ask_tool
from hearth.ui.chat.tool_runner import ChatTools
from hearth.ui.chat.view import ChatView
from hearth.ui.engine_bridge import EngineBridge
from hearth.ui.model_session import ModelPreferences, ModelSession
from hearth.ui.models.controller import ModelsController
from hearth.ui.models.download_queue import DownloadQueue
from hearth.ui.models.folder import ModelsFolder
from hearth.ui.shell.api_server import ApiServerControl
from hearth.ui.shell.dialogs import Ask, AskPassword, ChooseImport, ask_password, ask_user, choose_import
from hearth.ui.shell.main_window import MainWindow
from hearth.ui.shell.notices import notice_for
from hearth.ui.shell.theme import ThemeController, theme_mode
from hearth.ui.shell.tools_settings import ToolsTab

if TYPE_CHECKING:
    from hearth.ui.models.page import ModelsPage

@dataclass(frozen=True)
class AppSeams:
    """The parts a test, a benchmark or the screenshot tool puts in place of the real app's; None (or the default)
    is what the app itself uses.

    Attributes:
        engine: the engine (None: an ``EngineClient`` logging to the app's log folder; tests may pass the
            scripted ``FakeEngineClient``).
        hub: the Hugging Face client (None: the real Hub, following the offline setting).
        plan_for: how a model path becomes its load plan (None: the planner with the user's overrides).
        sampling: the sampling settings for the next answer (None: the loaded model's settings).
        hardware: detects this machine for a models folder (None: the real detection).
        download_manager: builds the download manager for a models folder and the Hub client.
        ask, password, pick_import: the questions put to the user (yes/no, a document's password, a file to import).
        discover_home: the home folder searched for other apps' models (None: the user's).
        ask_tool: asks whether a tool call may run (the approval dialog).
    """

    engine: EngineApi | None = None
    hub: HubClient | None = None
    plan_for: Callable[[Path], LoadPlan] | None = None
    sampling: Callable[[], SamplingParams] | None = None
    hardware: Callable[[Path], Hardware] | None = None
    download_manager: Callable[[Path, HubClient], DownloadManager] = DownloadManager
    ask: Ask = ask_user
    password: AskPassword = ask_password
    pick_import: ChooseImport = choose_import
    discover_home: Path | None = None
    ask_tool: AskTool = ask_tool


class HearthApp(QObject):
    """The app's objects for its lifetime (built by ``build_app``), and what spans several of them: the settings,
    the model to start with, the settings dialog, start and shutdown."""

    def __init__(self, *, qapp: QApplication, paths: AppPaths, store: Store, lock: InstanceLock | None,
                 preferences: ModelPreferences, client: EngineApi, bridge: EngineBridge, session: ModelSession,
                 theme: ThemeController, chat_view: ChatView, models: ModelsController, window: MainWindow,
                 api: ApiServerControl, toolbox: Toolbox) -> None:
        super().__init__()
        self.qapp = qapp
        self.paths = paths
        self.store = store
        self.lock = lock
        self.preferences = preferences
        self.client = client
        self.bridge = bridge
        self.session = session
        self.theme = theme
        self.chat_view = chat_view
        self.models = models
        self.window = window
        self.api = api
        self.toolbox = toolbox
        self._closed = False
        window.settings_requested.connect(self.open_settings)
        window.api_panel_requested.connect(self.open_api_panel)
        api.state_changed.connect(self._on_api_state_changed)
        api.failed.connect(self._on_api_failed)
        window.zoom_requested.connect(self._on_window_zoom_requested)
        models.settings_changed.connect(self._on_settings_changed)
        models.model_settings_requested.connect(self._on_models_model_settings_requested)
        models.first_run_finished.connect(self._on_models_first_run_finished)

    @property
    def settings(self) -> Settings:
        return self.preferences.settings

    def models_dir(self) -> Path:
        return self.preferences.models_dir

    # --- running -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Show the window on the last conversation, start the Models page's work, and the first run or the model
        to start with."""
        self.window.show()
        composer = self.window.composer
        if not (composer.text() or composer.attachments):  # else a message put back after a crash: stay on its chat
            self._open_last_conversation()
        if self.store.recovered_message_ids:
            count = len(self.store.recovered_message_ids)
            self.window.toast.show_message(
                f"{count} answer{'s were' if count > 1 else ' was'} cut off when Hearth last closed; "
                "the text so far is kept and “Continue” finishes it.", seconds=9)
        self.models.start()
        if not self.models.run_first_run(self.theme.theme):
            self.load_default_model()
        self.api.apply(self.settings)

    def _open_last_conversation(self) -> None:
        last = self.window.controller.last_conversation_id()
        if last is not None:
            try:
                self.window.open_conversation(last)
                return
            except HearthError:
                pass  # deleted since
        self.window.new_chat()

    @Slot(str)
    def _on_models_first_run_finished(self, choice: str) -> None:
        if choice in ("download", "skip"):
            self.load_default_model()  # the starter (if installed) to chat with meanwhile

    def load_default_model(self) -> None:
        """Load the default chat model: the user's default if it is a chat model, else the starter
        (``default_chat_model``; a base model an older Hearth made the default is passed over)."""
        self.models.load_default_model()

    @Slot()
    def open_settings(self, model_path: Path | None = None, plan: LoadPlan | None = None) -> None:
        """The settings dialog, on the loaded model's settings or on ``model_path``'s (from the Models page)."""
        from hearth.ui.shell.settings_dialog import SettingsDialog  # not needed for the window's first paint

        if model_path is None or model_path == self.session.path:
            model_path, plan = self.session.path, self.session.plan or plan
        dialog = SettingsDialog(
            self.settings,
            models_dir=self.paths.models_dir,
            model_path=str(model_path) if model_path else None,
            plan=plan,
            context_choices=functools.partial(self.preferences.context_choices, model_path) if model_path else None,
            tools_tab=ToolsTab(self.toolbox.config, self.toolbox.manager),
            parent=self.window,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.settings_changed.connect(self._on_settings_changed)
        dialog.tools_changed.connect(self._on_tools_changed)
        dialog.model_settings_changed.connect(self._on_model_settings_changed)
        dialog.open()  # modal to the window, without a nested event loop

    @Slot(Path, object)
    def _on_models_model_settings_requested(self, path: Path, plan: LoadPlan | None) -> None:
        self.open_settings(path, plan)

    @Slot(Settings)
    def _on_settings_changed(self, settings: Settings) -> None:
        self.preferences.settings = settings
        save_settings(settings, self.paths.config_dir / "settings.json")
        if settings is not self.models.settings:
            self.models.set_settings(settings, self.models_dir())
        configure_logging(self.paths.log_dir, debug=settings.debug_logging)
        self.client.debug = settings.debug_logging
        self.theme.set_mode(theme_mode(settings.theme))
        self.theme.set_zoom(settings.zoom / 100)
        self.window.composer.set_send_on_enter(settings.send_on_enter)
        self.api.apply(settings)

    @Slot()
    def open_api_panel(self) -> None:
        from hearth.ui.shell.api_panel import ApiPanel  # not needed for the window's first paint

        panel = ApiPanel(self.api, lan=self.settings.api_lan, parent=self.window)
        panel.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        panel.open()

    @Slot()
    def _on_api_state_changed(self) -> None:
        tooltip = ""
        if self.api.running:
            tooltip = f"Other apps can use the model at {self.api.base_url}. Click for the key and recent requests."
            if self.api.answering:
                tooltip += " The model is answering an app now; your messages wait their turn."
        self.window.set_api_status(self.api.status_text(), tooltip)

    @Slot(object)
    def _on_api_failed(self, error: object) -> None:
        if isinstance(error, BaseException):
            self.window.show_notice(notice_for(error))

    @Slot(ToolsConfig)
    def _on_tools_changed(self, config: ToolsConfig) -> None:
        save_tools_config(config, tools_path(self.paths.config_dir))
        self.toolbox.set_config(config)

    @Slot(str, ModelSettings)
    def _on_model_settings_changed(self, path: str, _settings: ModelSettings) -> None:
        if self.session.path is not None and path == str(self.session.path):
            self.session.reload()

    @Slot(int)
    def _on_window_zoom_requested(self, step: int) -> None:
        if step > 0:
            self.theme.zoom_in()
        elif step < 0:
            self.theme.zoom_out()
        else:
            self.theme.set_zoom(1.0)
        zoom = round(self.theme.theme.zoom * 100)
        self._on_settings_changed(self.settings.with_changes(zoom=zoom))

    def shutdown(self) -> None:
        """Stop the background work, the downloads (they resume at the next start) and the engine; close the store."""
        if self._closed:
            return
        self._closed = True
        self.models.shutdown()
        self.api.stop()
        if self.toolbox.manager is not None:
            self.toolbox.manager.close()  # the tool servers' processes end with Hearth
        self.bridge.stop()
        self.store.close()
        if self.lock is not None:
            self.lock.release()
        self.theme.deleteLater()  # it belongs to the QApplication, which may outlive this app (tests build several)


GUI_SWITCH_INTERVAL_S = 0.001


def build_app(qapp: QApplication, paths: AppPaths, settings: Settings, store: Store,
              lock: InstanceLock | None = None, seams: AppSeams | None = None,
              theme: ThemeController | None = None) -> HearthApp:
    """Build and wire the app's objects (nothing runs until ``HearthApp.start``).

    Args:
        qapp: the application (its palette and style follow the theme).
        paths: the app's folders.
        settings: the settings read at start.
        store: the open conversations database (the app closes it at shutdown).
        lock: the single-instance lock, released at shutdown (None: not held, as in tests).
        seams: what to use instead of the real parts (None: the real app's own).
        theme: the theme, already applied to ``qapp`` (the launch made it for the window's frame; None: made here).
    """
    seams = seams or AppSeams()
    # Workers (reading a PDF, ranking passages) run Python beside the GUI thread, and the interpreter hands its lock
    # over only every switch interval: at the default 5 ms, a repaint that needs it a dozen times waited tens of
    # milliseconds. At 1 ms the window gets its turns about five times sooner.
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    preferences = ModelPreferences(settings, paths)
    keys = KeyStore(paths.config_dir)
    client: EngineApi = seams.engine or RoutingEngineClient(
        log_path=paths.log_dir / "engine.log", debug=settings.debug_logging, key_for=keys.get,
        offline=lambda: preferences.settings.offline)
    # One engine for the window and the local API: one host process, one copy of the weights, fair turns.
    service = EngineService(client)
    bridge = EngineBridge(service)
    session = ModelSession(bridge, seams.plan_for or preferences.plan_for)
    theme = theme or ThemeController(qapp, theme_mode(settings.theme), settings.zoom / 100)
    chat_view = ChatView(theme.apply())
    theme.theme_changed.connect(chat_view.set_theme)

    toolbox = Toolbox(load_tools_config(tools_path(paths.config_dir)),
                      McpManager(paths.log_dir, offline=lambda: preferences.settings.offline))
    hub = seams.hub or HubClient(offline=settings.offline)
    make_manager = seams.download_manager

    def open_folder(models_dir: Path) -> ModelsFolder:
        return ModelsFolder(ModelLibrary(models_dir), make_manager(models_dir, hub))

    def detect(models_dir: Path) -> Hardware:
        # With what ``hearth bench`` measured on this machine: estimates say "measured here".
        return apply_calibration(detect_hardware(models_dir, cache_dir=paths.cache_dir), paths.config_dir)

    folder = open_folder(preferences.models_dir)
    queue = DownloadQueue(folder.downloads, ActiveDownloads(paths.data_dir / "active-downloads.json"))

    def make_page(current: ModelsFolder) -> ModelsPage:
        # Built the first time the page is shown (or the first-run wizard needs it): its widgets, the catalog and
        # the modules behind them are not part of the window's start.
        from hearth.core.models.discover.catalog import CatalogService
        from hearth.ui.models.page import ModelsPage

        return ModelsPage(library=current.library, queue=queue, catalog=CatalogService(hub, paths.cache_dir),
                          hub=hub, session=session, hardware=seams.hardware or detect,
                          bench_dir=paths.data_dir / "bench", settings=models.settings,
                          discover_home=seams.discover_home, ask=seams.ask, pick_import=seams.pick_import,
                          keys=keys)

    models = ModelsController(folder=folder, queue=queue, hub=hub, make_page=make_page, session=session,
                              settings=settings, open_folder=open_folder)

    def sampling() -> SamplingParams:
        return preferences.sampling(session.path)

    def system_prompt() -> str:
        return preferences.system_prompt(session.path)

    def default_system_prompt() -> str:
        return preferences.recommended_system_prompt(session.path)

    def prompt_speed() -> float | None:
        """This machine's prompt speed for the loaded model: ``hearth bench``'s, else the plan's guess."""
        if session.path is None:
            return None
        expected = session.plan.extra.get("expected_tokens_per_s") if session.plan else None
        return estimated_prompt_speed(bench=bench_prompt_speed(paths.data_dir / "bench", str(session.path)),
                                      expected_writing=float(expected) if isinstance(expected, (int, float))
                                      else None)

    conversations = ConversationsController(store)

    def chat_controller(view: ChatView) -> ChatController:
        return ChatController(store, bridge, session, view, seams.sampling or sampling, system_prompt,
                              conversations=conversations, ask=seams.ask, password=seams.password,
                              prompt_speed_for=prompt_speed, tools=ChatTools(toolbox), ask_tool=seams.ask_tool,
                              default_system_prompt_for=default_system_prompt)

    api = ApiServerControl(service, paths.config_dir, sampling_for=seams.sampling or sampling,
                           models_dir=lambda: preferences.models_dir, plan_for=seams.plan_for or preferences.plan_for,
                           system_prompt_for=lambda: system_prompt() or default_system_prompt())
    bridge.worker.activity.connect(api.on_activity)
    window = MainWindow(session=session, chat_view=chat_view, controller_factory=chat_controller,
                        preset_picker=PresetPicker(store), settings=settings, models_page=models.page_widget)
    window.set_theme(theme.theme)
    theme.theme_changed.connect(window.set_theme)
    models.attach(window)
    return HearthApp(qapp=qapp, paths=paths, store=store, lock=lock, preferences=preferences, client=client,
                     bridge=bridge, session=session, theme=theme, chat_view=chat_view, models=models, window=window,
                     api=api, toolbox=toolbox)


def open_store(paths: AppPaths, parent: QWidget | None) -> Store | None:
    """Open the conversations, asking before setting a damaged database aside (never deleting it); None when the
    user declines."""
    path = default_db_path(paths)
    try:
        return Store.open(path)
    except StoreCorruptError as exc:
        answer = QMessageBox.question(
            parent,
            "Your conversations could not be opened",
            f"{exc.message}\n\nHearth can keep the damaged file aside (nothing is deleted), start a fresh "
            "database and recover the conversations it can still read.",
            QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Ok:
            return None
        moved = quarantine(path)
        store = Store.open(path)
        salvage(store, moved)
        return store
