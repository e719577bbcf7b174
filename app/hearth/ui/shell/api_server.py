"""The local API server inside the window: started, stopped and restarted with the settings, on threads of its own.

The server runs uvicorn on its own thread and shares the window's ``EngineService``, so both use one engine host
(one copy of the weights) and take turns fairly. Starting and stopping happen off the GUI thread (importing the web
stack and waiting for answers in progress to end must not freeze the window); the outcome comes back as signals.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from hearth.core.engine.plan import LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.engine.service import Activity, EngineService
from hearth.core.errors import HearthError
from hearth.core.settings import Settings
from hearth.ui.tasks import as_hearth_error

if TYPE_CHECKING:
    from hearth.server.guard import RequestStats
    from hearth.server.runner import ApiServer

log = logging.getLogger(__name__)

LAN_WARNING = ("Other computers on your network can reach the server (they still need the API key). Turn this on "
               "only on a network you trust.")


class ApiServerControl(QObject):
    """Keeps the local API running as the settings say.

    Args:
        service: the engine the window uses.
        config_dir: where the API key is kept.
        sampling_for: the loaded model's sampling settings.
        system_prompt_for: the system prompt for a chat request that sends none (see ``ApiContext``).
        models_dir: the models folder (for model names, and switching when allowed).
        plan_for: how to load an installed model.

    Signals:
        state_changed(): started, stopped, failed, or busy with an API request.
        request_seen(): a request was counted (see ``stats``).
        failed(object): the server could not start (a ``HearthError``).
    """

    state_changed = Signal()
    request_seen = Signal()
    failed = Signal(object)
    _settled = Signal(object, object)  # (server or None, error or None), from the worker thread

    def __init__(self, service: EngineService, config_dir: Path, *, sampling_for: Callable[[], SamplingParams],
                 models_dir: Callable[[], Path], plan_for: Callable[[Path], LoadPlan],
                 system_prompt_for: Callable[[], str] = str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._config_dir = config_dir
        self._sampling_for = sampling_for
        self._system_prompt_for = system_prompt_for
        self._models_dir = models_dir
        self._plan_for = plan_for
        self._server: ApiServer | None = None  # the web stack is imported off the GUI thread, when first started
        self._wanted: Settings | None = None
        self._applied: tuple[object, ...] | None = None
        self._busy = False
        self._thread: threading.Thread | None = None
        self.error: HearthError | None = None
        self.answering = False
        self._settled.connect(self._on_settled)

    # --- what the window shows -----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        return self._server.base_url if self._server is not None else ""

    @property
    def port(self) -> int:
        return self._server.port if self._server is not None else 0

    @property
    def key(self) -> str:
        return self._server.ctx.config.api_key if self._server is not None else ""

    @property
    def stats(self) -> RequestStats | None:
        return self._server.ctx.stats if self._server is not None else None

    def status_text(self) -> str:
        """The status bar's words: "API on :8080" (and what it is doing), or "" when off."""
        if self._server is None:
            return "API failed to start" if self.error is not None else ""
        text = f"API on :{self.port}"
        return f"{text} · answering" if self.answering else text

    @Slot(object)
    def on_activity(self, activity: Activity) -> None:
        answering = bool(activity.source and activity.source.startswith("api:"))
        if answering != self.answering:
            self.answering = answering
            self.state_changed.emit()

    # --- starting and stopping -----------------------------------------------------------------------------------

    @staticmethod
    def _key(settings: Settings) -> tuple[object, ...]:
        return (settings.api_server, settings.api_port, settings.api_lan, settings.api_require_key,
                tuple(settings.api_cors_origins), settings.api_model_switch, settings.debug_logging)

    def apply(self, settings: Settings) -> None:
        """Start, stop or restart the server to match ``settings`` (in the background)."""
        self._wanted = settings
        if self._busy or self._key(settings) == self._applied:
            return
        self._busy = True
        wanted, old = settings, self._server
        self._applied = self._key(settings)
        self._thread = threading.Thread(target=self._reconfigure, args=(old, wanted), name="api-control",
                                        daemon=True)
        self._thread.start()

    def _reconfigure(self, old: ApiServer | None, settings: Settings) -> None:
        try:
            if old is not None:
                old.stop()
            server = self._start(settings) if settings.api_server else None
        except Exception as exc:  # a failure to start is shown to the user, never raised on a thread
            self._settled.emit(None, as_hearth_error(exc))
            return
        self._settled.emit(server, None)

    def _start(self, settings: Settings) -> ApiServer:
        from hearth.server.app import ApiContext
        from hearth.server.catalog import ModelCatalog
        from hearth.server.config import ServerConfig, load_or_create_key
        from hearth.server.runner import ApiServer

        require_key = settings.api_require_key or settings.api_lan
        config = ServerConfig(
            host="0.0.0.0" if settings.api_lan else "127.0.0.1", port=settings.api_port,
            api_key=load_or_create_key(self._config_dir) if require_key else "", require_key=require_key,
            cors_origins=tuple(settings.api_cors_origins), allow_model_switch=settings.api_model_switch,
            debug=settings.debug_logging,
        )
        client = self._service.client
        catalog = ModelCatalog(lambda: client.plan.model_path if client.plan else None, self._models_dir)
        ctx = ApiContext(self._service, config, catalog, sampling_for=self._sampling_for,
                         system_prompt_for=self._system_prompt_for, plan_for=self._plan_for)
        ctx.stats.listener = lambda _record: self.request_seen.emit()
        server = ApiServer(ctx)
        server.start()
        return server

    @Slot(object, object)
    def _on_settled(self, server: ApiServer | None, error: HearthError | None) -> None:
        self._busy = False
        self._server = server
        self.error = error
        if error is not None:
            log.warning("local API not started: %s", error.message)
            self.failed.emit(error)
        self.state_changed.emit()
        if self._wanted is not None and self._key(self._wanted) != self._applied:
            self.apply(self._wanted)

    def new_key(self) -> None:
        """Make a new API key and restart the server with it (clients with the old key are refused)."""
        from hearth.server.config import new_key

        try:
            new_key(self._config_dir)
        except HearthError as exc:
            self.failed.emit(exc)
            return
        self._applied = None
        if self._wanted is not None:
            self.apply(self._wanted)

    def stop(self) -> None:
        """Stop now, waiting for the server's thread (at application exit)."""
        thread = self._thread
        if thread is not None:
            thread.join(15)
        server, self._server = self._server, None
        if server is not None:
            server.stop()
