"""The composition root: build the application's objects once, wire them, and run the Qt event loop.

Nothing else creates long-lived objects: the store, the engine, the model session and the windows are made here and
passed in through constructors.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QEvent, QObject, QTimer, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

import hearth
from hearth.core.engine import EngineClient
from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.service import EngineService
from hearth.core.errors import AlreadyRunningError, HearthError, StoreCorruptError
from hearth.core.instance import InstanceLock
from hearth.core.logs import configure_logging
from hearth.core.models.library.model_settings import ModelSettings
from hearth.core.models.library.starter import ensure_starter_model
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings, load_settings, save_settings
from hearth.core.store import Store, default_db_path, quarantine, salvage
from hearth.ui.chat.controller import ChatController
from hearth.ui.chat.view import ChatView
from hearth.ui.engine_bridge import EngineBridge
from hearth.ui.model_session import ModelSession, ModelState
from hearth.ui.models.controller import ModelCoordinator
from hearth.ui.shell.api_panel import ApiPanel
from hearth.ui.shell.api_server import ApiServerControl
from hearth.ui.shell.main_window import MainWindow
from hearth.ui.shell.notices import notice_for
from hearth.ui.shell.settings_dialog import SettingsDialog
from hearth.ui.shell.theme import ThemeController
from hearth.ui.tasks import BackgroundTask

ICON = Path(__file__).resolve().parent / "assets" / "hearth.png"


class HearthApp(QObject):
    """Owns the app's objects for its lifetime and handles what spans several of them (settings, model choice)."""

    def __init__(self, qapp: QApplication, paths: AppPaths, settings: Settings, store: Store,
                 lock: InstanceLock) -> None:
        super().__init__()
        self.qapp = qapp
        self.paths = paths
        self.settings = settings
        self.store = store
        self.lock = lock
        self.client = EngineClient(log_path=paths.log_dir / "engine.log", debug=settings.debug_logging)
        # One engine for the window and the local API: one host process, one copy of the weights, fair turns.
        self.service = EngineService(self.client)
        self.bridge = EngineBridge(self.service)
        self.session = ModelSession(self.bridge, self.plan_for)
        self.api = ApiServerControl(self.service, paths.config_dir, sampling_for=self.sampling,
                                    models_dir=self.models_dir, plan_for=self.plan_for)
        self.bridge.worker.activity.connect(self.api.on_activity)
        self.theme = ThemeController(qapp, _mode(settings.theme), settings.zoom / 100)
        self.chat_view = ChatView(self.theme.apply())
        self.theme.theme_changed.connect(self.chat_view.set_theme)
        self.models = ModelCoordinator(paths=paths, settings=settings, session=self.session,
                                       models_dir=self.models_dir())
        self.window = MainWindow(
            store=store,
            session=self.session,
            chat_view=self.chat_view,
            controller_factory=self._controller,
            settings=settings,
            models_page=self.models.page,
        )
        self.window.set_theme(self.theme.theme)
        self.theme.theme_changed.connect(self.window.set_theme)
        self.window.settings_requested.connect(self.open_settings)
        self.window.zoom_requested.connect(self._on_window_zoom_requested)
        self.models.settings_changed.connect(self._on_settings_changed)
        self.models.model_settings_requested.connect(self._on_models_model_settings_requested)
        self.models.first_run_finished.connect(self._on_models_first_run_finished)
        self.models.attach(self.window)
        self.window.api_panel_requested.connect(self.open_api_panel)
        self.api.state_changed.connect(self._on_api_state_changed)
        self.api.failed.connect(self._on_api_failed)
        self._tasks: list[BackgroundTask] = []
        self._closed = False

    # --- building ------------------------------------------------------------------------------------------------

    def _controller(self, view: ChatView) -> ChatController:
        return ChatController(self.store, self.bridge, self.session, view, self.sampling, self.system_prompt)

    def model_settings(self) -> ModelSettings:
        path = str(self.session.path) if self.session.path else ""
        return ModelSettings.from_dict(self.settings.model_overrides.get(path))

    def sampling(self) -> SamplingParams:
        return self.model_settings().apply_to_sampling(SamplingParams())

    def system_prompt(self) -> str:
        return self.model_settings().system_prompt

    def models_dir(self) -> Path:
        return Path(self.settings.models_dir).expanduser() if self.settings.models_dir else self.paths.models_dir

    def plan_for(self, path: Path) -> LoadPlan:
        """The planner's plan for this computer, with the user's overrides on top."""
        from hearth.core.models.library.library import ModelLibrary
        from hearth.core.models.planning.planner import (
            plan_for_path,  # the planner reads the GGUF header and the hardware
        )

        vision = ModelLibrary(self.models_dir()).vision_file_for(path)
        plan = plan_for_path(path, mmproj_path=str(vision) if vision else None)
        overrides = ModelSettings.from_dict(self.settings.model_overrides.get(str(path)))
        return overrides.apply_to_plan(plan)

    # --- running -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        self.window.show()
        last = self.store.get_state("last_conversation_id")
        if isinstance(last, int):
            try:
                self.window.open_conversation(last)
            except HearthError:
                self.window.new_chat()
        else:
            self.window.new_chat()
        if self.store.recovered_message_ids:
            count = len(self.store.recovered_message_ids)
            self.window.toast.show_message(
                f"{count} answer{'s were' if count > 1 else ' was'} cut off when Hearth last closed; "
                "the text so far is kept and “Continue” finishes it.", seconds=9)
        self.models.start()
        if not self.models.run_first_run(self.theme.theme):
            self.load_default_model()
        self.api.apply(self.settings)

    @Slot(str)
    def _on_models_first_run_finished(self, choice: str) -> None:
        if choice in ("download", "skip"):
            self.load_default_model()  # the starter (if installed) to chat with meanwhile

    def load_default_model(self) -> None:
        default = self.settings.default_model
        if default and Path(default).is_file():
            self.session.load(Path(default))
            return
        models_dir = self.models_dir()
        task = BackgroundTask(lambda _report: ensure_starter_model(models_dir), self)
        task.finished.connect(self._on_starter_ready)
        task.failed.connect(self._on_starter_failed)
        self._tasks.append(task)
        task.start()

    @Slot(object)
    def _on_starter_ready(self, path: object) -> None:
        # Assembling the starter takes a moment; a model the user chose meanwhile (a download that finished, a file
        # they picked) wins.
        if self.session.state in (ModelState.LOADING, ModelState.READY):
            return
        self.session.load(Path(str(path)))

    @Slot(object)
    def _on_starter_failed(self, error: object) -> None:
        if isinstance(error, BaseException):
            self.window.show_notice(notice_for(error))

    @Slot()
    def open_settings(self, model_path: Path | None = None, plan: LoadPlan | None = None) -> None:
        """The settings dialog, on the loaded model's settings or on ``model_path``'s (from the Models page)."""
        if model_path is None or model_path == self.session.path:
            model_path, plan = self.session.path, self.session.plan or plan
        dialog = SettingsDialog(
            self.settings,
            models_dir=self.paths.models_dir,
            model_path=str(model_path) if model_path else None,
            plan=plan,
            parent=self.window,
        )
        dialog.settings_changed.connect(self._on_settings_changed)
        dialog.model_settings_changed.connect(self._on_model_settings_changed)
        dialog.exec()

    @Slot(object, object)
    def _on_models_model_settings_requested(self, path: object, plan: object) -> None:
        self.open_settings(Path(str(path)), plan if isinstance(plan, LoadPlan) else None)

    @Slot(object)
    def _on_settings_changed(self, settings: Settings) -> None:
        self.settings = settings
        save_settings(settings, self.paths.config_dir / "settings.json")
        if settings is not self.models.settings:
            self.models.set_settings(settings, self.models_dir())
        configure_logging(self.paths.log_dir, debug=settings.debug_logging)
        self.client.debug = settings.debug_logging
        self.theme.set_mode(_mode(settings.theme))
        self.theme.set_zoom(settings.zoom / 100)
        self.window.composer.set_send_on_enter(settings.send_on_enter)
        self.api.apply(settings)

    @Slot()
    def open_api_panel(self) -> None:
        ApiPanel(self.api, lan=self.settings.api_lan, parent=self.window).exec()

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

    @Slot(str, object)
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
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.wait()
        self.models.shutdown()
        self.api.stop()
        self.bridge.stop()
        self.store.close()
        self.lock.release()


STARTUP_PROBE_ENV = "HEARTH_STARTUP_PROBE"


class StartupProbe(QObject):
    """For the start-up benchmark: note when the window first paints and the idle memory, write them, and quit."""

    def __init__(self, window: QWidget, out: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._out = out
        self._painted: float | None = None
        self._window = window
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._painted is None and watched is self._window and event.type() == QEvent.Type.Paint:
            self._painted = time.time()
            QTimer.singleShot(1500, self._finish)  # let start-up settle, then read the idle memory
        return False

    @Slot()
    def _finish(self) -> None:
        rss = None
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
        except OSError:
            pass
        self._out.write_text(json.dumps({"first_paint": self._painted, "idle_rss_bytes": rss}))
        QApplication.quit()


def _mode(theme: str) -> Literal["system", "light", "dark"]:
    return theme if theme in ("light", "dark") else "system"  # type: ignore[return-value]


def _open_store(paths: AppPaths, parent: QWidget | None) -> Store | None:
    """Open the conversations, asking before setting a damaged database aside (never deleting it)."""
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


def run_app(screenshot_dir: str | None = None) -> int:
    qapp = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(qapp, QApplication)
    qapp.setApplicationName(hearth.APP_NAME)
    qapp.setApplicationDisplayName(hearth.APP_NAME)
    qapp.setOrganizationName(hearth.APP_NAME)
    if ICON.is_file():
        qapp.setWindowIcon(QIcon(str(ICON)))
    scratch = None
    if screenshot_dir:
        # Screenshots never touch the user's data: a throw-away data folder for this run.
        scratch = tempfile.mkdtemp(prefix="hearth-screenshots-")
        os.environ["HEARTH_HOME"] = scratch
        save_settings(Settings(first_run_done=True), AppPaths.default().ensure().config_dir / "settings.json")
    paths = AppPaths.default().ensure()
    settings = load_settings(paths.config_dir / "settings.json")
    configure_logging(paths.log_dir, debug=settings.debug_logging)
    lock = InstanceLock(paths.data_dir)
    try:
        lock.acquire()
    except AlreadyRunningError as exc:
        QMessageBox.information(None, hearth.APP_NAME, f"{exc.message} {exc.hint}".strip())
        return 0
    try:
        store = _open_store(paths, None)
    except HearthError as exc:
        QMessageBox.critical(None, hearth.APP_NAME, f"{exc.message}\n\n{exc.hint}".strip())
        lock.release()
        return 1
    if store is None:
        lock.release()
        return 0
    app = HearthApp(qapp, paths, settings, store, lock)
    qapp.aboutToQuit.connect(app.shutdown)
    if screenshot_dir:
        from hearth.ui.shell.screenshots import take_screenshots

        try:
            return take_screenshots(app, Path(screenshot_dir))
        finally:
            app.shutdown()
            shutil.rmtree(scratch or "", ignore_errors=True)
    app.start()
    probe = os.environ.get(STARTUP_PROBE_ENV)
    if probe:
        StartupProbe(app.window, Path(probe), parent=app)
    return qapp.exec()
