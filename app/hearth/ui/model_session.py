"""Which model is loaded, how it is placed, and whether it is ready: the GUI's view of the engine's state; and the
user's per-model choices (``ModelPreferences``) applied where they are used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from hearth.core.engine import ModelInfo
from hearth.core.engine.plan import FlashAttention, LoadPlan
from hearth.core.engine.sampling import SamplingParams
from hearth.core.errors import HearthError
from hearth.core.models.library.library import ModelLibrary
from hearth.core.models.library.model_settings import KV_TYPES, ModelSettings
from hearth.core.models.library.names import model_display_name
from hearth.core.models.library.recommended import recommended_sampling
from hearth.core.models.planning.context import ContextChoices
from hearth.core.paths import AppPaths
from hearth.core.settings import Settings
from hearth.ui.engine_bridge import EngineBridge

if TYPE_CHECKING:
    from hearth.core.models.planning.workers import WorkerMachine

log = logging.getLogger(__name__)


class ModelState(Enum):
    NONE = "none"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


class ModelPreferences:
    """The user's choices for each model (``Settings.model_overrides``) where they apply: the plan a model loads with
    (the planner's, with the overrides on top), the sampling settings and the system prompt.

    Read when used, not copied: ``settings`` is replaced when the user changes them (``HearthApp`` does).

    Args:
        settings: the settings now.
        paths: the app's folders (the default models folder).
    """

    def __init__(self, settings: Settings, paths: AppPaths) -> None:
        self.settings = settings
        self.paths = paths

    @property
    def models_dir(self) -> Path:
        """The models folder: the one chosen in the settings, else the default one."""
        chosen = self.settings.models_dir
        return Path(chosen).expanduser() if chosen else self.paths.models_dir

    def for_model(self, path: Path | None) -> ModelSettings:
        """What the user set for this model (the defaults for None, or for a model with nothing set)."""
        return ModelSettings.from_dict(self.settings.model_overrides.get(str(path)) if path else None)

    def sampling(self, path: Path | None) -> SamplingParams:
        """The model's recommended sampling with the user's choices for it on top."""
        return self.for_model(path).apply_to_sampling(recommended_sampling(path).params)

    def system_prompt(self, path: Path | None) -> str:
        return self.for_model(path).system_prompt

    def recommended_system_prompt(self, path: Path | None) -> str:
        """What the model is told in a conversation that has no system prompt of its own ("": nothing, the chat
        template's own default applies)."""
        return recommended_sampling(path).system_prompt

    def plan_for(self, path: Path) -> LoadPlan:
        """The planner's plan for this computer, with the user's overrides on top (reads the GGUF header and the
        hardware: called on the engine's thread).

        The planner costs the user's context size, cache type and flash attention itself (it may then put less on
        the GPU), on this machine as ``hearth bench`` measured it.
        """
        from hearth.core.models.planning.load import plan_for_path  # heavy imports, only when a model loads

        vision = ModelLibrary(self.models_dir).vision_file_for(path)
        chosen = self.for_model(path)
        plan = plan_for_path(path, mmproj_path=str(vision) if vision else None, n_ctx=chosen.n_ctx,
                             cache_type=chosen.kv_type if chosen.kv_type in KV_TYPES else "auto",
                             flash_attn=flash_choice(chosen), config_dir=self.paths.config_dir,
                             workers=self.ready_workers())
        return chosen.apply_to_plan(plan)

    def context_choices(self, path: Path) -> ContextChoices:
        """The context sizes this machine holds for a model, per cache type (reads the header: a worker's job)."""
        from hearth.core.models.planning.context import context_choices

        return context_choices(path, self.paths.config_dir, flash_attn=flash_choice(self.for_model(path)))

    def ready_workers(self) -> list[WorkerMachine]:
        """The saved llama.cpp RPC workers that answer now, with their network measured (on the engine's thread)."""
        from hearth.core.engine.workers import probe_worker
        from hearth.core.models.planning.workers import WorkerMachine

        ready = []
        for endpoint in self.settings.workers:
            status = probe_worker(endpoint, timeout=3.0, bandwidth_bytes=4 << 20)
            if status.ready:
                ready.append(WorkerMachine.from_status(status))
            else:
                log.warning("worker %s not used: %s", endpoint, status.message)
        return ready


class ModelSession(QObject):
    """Loads models through the engine bridge and remembers the outcome.

    Args:
        bridge: the engine.
        plan_for: turns a model path into the plan to load it with (the planner plus the user's overrides).

    Signals:
        state_changed(): ``state``, ``info``, ``plan`` or ``error`` changed.
        load_progress(float): 0..1 while loading.
        notice(str): something to tell the user (e.g. the engine restarted in safe mode).
    """

    state_changed = Signal()
    load_progress = Signal(float)
    notice = Signal(str)

    def __init__(self, bridge: EngineBridge, plan_for: Callable[[Path], LoadPlan]) -> None:
        super().__init__()
        self.bridge = bridge
        self._plan_for = plan_for
        self.state = ModelState.NONE
        self.info: ModelInfo | None = None
        self.plan: LoadPlan | None = None
        self.error: HearthError | None = None
        self.path: Path | None = None
        self.progress = 0.0
        worker = bridge.worker
        worker.load_progress.connect(self._on_worker_load_progress)
        worker.plan_chosen.connect(self._on_worker_plan_chosen)
        worker.model_loaded.connect(self._on_worker_model_loaded)
        worker.load_failed.connect(self._on_worker_load_failed)
        worker.model_unloaded.connect(self._on_worker_model_unloaded)
        worker.notice.connect(self.notice)

    @property
    def ready(self) -> bool:
        return self.state is ModelState.READY

    def load(self, path: Path) -> None:
        """Plan and load ``path`` in the background (replacing any loaded model)."""
        self.path = Path(path)
        self.plan = None
        self.info = None
        self.error = None
        self.progress = 0.0
        self.state = ModelState.LOADING
        self.state_changed.emit()
        self.bridge.load_path(self.path, self._plan_for)

    def load_plan(self, plan: LoadPlan) -> None:
        self.path = Path(plan.model_path)
        self.plan = plan
        self.info = None
        self.error = None
        self.progress = 0.0
        self.state = ModelState.LOADING
        self.state_changed.emit()
        self.bridge.load(plan)

    def reload(self) -> None:
        """Load the same model again with a fresh plan (after its settings changed)."""
        if self.path is not None:
            self.load(self.path)

    def unload(self) -> None:
        self.bridge.unload()

    def cancel_load(self) -> None:
        if self.state is ModelState.LOADING:
            self.bridge.cancel_load()

    def describe(self) -> str:
        """The status-bar phrase: model name and plan, or what is happening."""
        if self.state is ModelState.LOADING:
            name = model_display_name(self.path) if self.path else "the model"
            return f"Loading {name}… {self.progress:.0%}"
        if self.state is ModelState.READY and self.info is not None:
            name = model_display_name(self.path) if self.path else (self.info.name or "model")
            summary = self.info.plan_summary or (self.plan.summary if self.plan else "")
            return f"{name} · {summary}" if summary else name
        if self.state is ModelState.FAILED:
            return "Model failed to load"
        return "No model loaded"

    def _fail(self, error: HearthError) -> None:
        self.state = ModelState.FAILED
        self.error = error
        self.info = None
        self.state_changed.emit()

    @Slot(object)
    def _on_worker_plan_chosen(self, plan: LoadPlan) -> None:
        self.plan = plan
        self.path = Path(plan.model_path)  # also when another source (the local API) switched the model
        self.state_changed.emit()

    @Slot(float)
    def _on_worker_load_progress(self, fraction: float) -> None:
        self.progress = fraction
        self.load_progress.emit(fraction)

    @Slot(object)
    def _on_worker_model_loaded(self, info: ModelInfo) -> None:
        self.info = info
        self.state = ModelState.READY
        self.error = None
        self.state_changed.emit()
        # What the engine could not do as asked (a quantized V cache without flash attention, a draft model with
        # another tokenizer) is said once, when the model is ready.
        for note in (info.cache_note, info.speculative_note):
            if note:
                self.notice.emit(note)

    @Slot(object)
    def _on_worker_load_failed(self, error: HearthError) -> None:
        self._fail(error)

    @Slot()
    def _on_worker_model_unloaded(self) -> None:
        self.state = ModelState.NONE
        self.info = None
        self.plan = None
        self.state_changed.emit()


def flash_choice(chosen: ModelSettings) -> FlashAttention:
    """The flash-attention setting of a model's choices ("auto" for anything unknown)."""
    return "on" if chosen.flash_attn == "on" else "off" if chosen.flash_attn == "off" else "auto"
