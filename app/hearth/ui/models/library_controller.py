"""What the "On this computer" tab does to files: delete a model (after asking, showing the space it frees) and
import a GGUF file (a copy, or a link that uses it where it is). The file work runs in the page's ``TaskGroup``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from hearth.core.errors import HearthError
from hearth.core.models.library.library import FoundModel, InstalledModel, ModelLibrary
from hearth.core.units import format_size
from hearth.ui.model_session import ModelSession, ModelState
from hearth.ui.models.download_queue import DownloadQueue
from hearth.ui.models.library_view import display_name
from hearth.ui.shell.dialogs import Ask, ChooseImport
from hearth.ui.shell.notices import Notice, info, notice_for
from hearth.ui.tasks import BackgroundTask, TaskGroup


@dataclass(frozen=True)
class _Deleted:
    """What a deletion did: the bytes freed, the model's path, its name as the user knows it."""

    freed: int
    path: Path
    what: str


class LibraryController(QObject):
    """Deleting and importing models.

    Args:
        library: the current library (the models folder can change with the settings).
        session: to unload a model before its files go.
        queue: to drop a deleted model's unfinished download.
        tasks: where the file work runs.
        dialogs_parent: the widget questions are asked over.
        ask, pick_import: the questions (tests pass their answers).

    Signals:
        notice(Notice): for the window's toast.
        model_deleted(Path): the deleted model's path.
        model_imported(InstalledModel): the new model.
        library_changed(): the models folder changed (list it again).
    """

    notice = Signal(Notice)
    model_deleted = Signal(Path)
    model_imported = Signal(InstalledModel)
    library_changed = Signal()

    def __init__(self, library: Callable[[], ModelLibrary], session: ModelSession, queue: DownloadQueue,
                 tasks: TaskGroup, dialogs_parent: QWidget, ask: Ask, pick_import: ChooseImport) -> None:
        super().__init__(dialogs_parent)
        self._library = library
        self.session = session
        self.queue = queue
        self.tasks = tasks
        self._parent = dialogs_parent
        self._ask = ask
        self._pick_import = pick_import

    @Slot(InstalledModel)
    def delete(self, model: InstalledModel) -> None:
        """Ask, then delete a model's files (unloading it first if it is loaded)."""
        name, quant = display_name(model)
        what = f"{name} {quant}".strip()
        if not self._ask(self._parent, "Delete the model?",
                         f"Delete {what}? This frees {format_size(model.size_bytes)} of disk space. Your "
                         "conversations are kept."):
            return
        if self.session.path == model.path and self.session.state is not ModelState.NONE:
            self.session.unload()
        lib = self._library()

        def work(_report: Callable[[object], None]) -> _Deleted:
            return _Deleted(lib.remove(model), model.path, what)

        self.tasks.run(BackgroundTask(work, parent=self, name="delete model")
                       .success(self._on_delete_finished).failure(self._on_action_failed))

    def _on_delete_finished(self, deleted: _Deleted) -> None:
        for task in list(self.queue.tasks):  # an unfinished download of it has nothing left to resume
            if not task.running and task.model_path == deleted.path:
                self.queue.dismiss(task)
        self.notice.emit(info(f"Deleted {deleted.what}: {format_size(deleted.freed)} freed.", "Model deleted"))
        self.model_deleted.emit(deleted.path)
        self.library_changed.emit()

    @Slot()
    def pick_and_import(self) -> None:
        chosen = self._pick_import(self._parent)
        if chosen is not None:
            self.import_file(*chosen)

    @Slot(FoundModel)
    def import_found(self, found: FoundModel) -> None:
        self.import_file(found.path, link=True)

    def import_file(self, path: Path, link: bool) -> None:
        """Bring a GGUF file into the library (a link when ``link``, else a copy), in the background."""
        lib = self._library()

        def work(_report: Callable[[object], None]) -> InstalledModel:
            return lib.import_model(path, link=link)

        self.notice.emit(info(f"{'Adding' if link else 'Copying'} {path.name}…", "Importing"))
        self.tasks.run(BackgroundTask(work, parent=self, name="import model")
                       .success(self._on_import_finished).failure(self._on_action_failed))

    def _on_import_finished(self, model: InstalledModel) -> None:
        self.notice.emit(info(f"{model.path.name} is ready to load.", "Imported"))
        self.model_imported.emit(model)
        self.library_changed.emit()

    def _on_action_failed(self, error: HearthError) -> None:
        self.notice.emit(notice_for(error))
        self.library_changed.emit()
