"""Which model is loaded, how it is placed, and whether it is ready: the GUI's view of the engine's state."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from hearth.core.engine import ModelInfo
from hearth.core.engine.plan import LoadPlan
from hearth.core.errors import HearthError
from hearth.ui.engine_bridge import EngineBridge


class ModelState(Enum):
    NONE = "none"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


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
            name = self.path.name if self.path else "the model"
            return f"Loading {name}… {self.progress:.0%}"
        if self.state is ModelState.READY and self.info is not None:
            name = self.info.name or (self.path.name if self.path else "model")
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

    @Slot(object)
    def _on_worker_load_failed(self, error: HearthError) -> None:
        self._fail(error)

    @Slot()
    def _on_worker_model_unloaded(self) -> None:
        self.state = ModelState.NONE
        self.info = None
        self.plan = None
        self.state_changed.emit()
