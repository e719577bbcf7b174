"""The "On this computer" tab: the models in the models folder with how they run here, and GGUF files found in other
apps' folders that can be imported."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from hearth.core.models.hub.repo_files import quant_label
from hearth.core.models.library.fit import InstalledFit
from hearth.core.models.library.library import FoundModel, InstalledModel, InstalledState
from hearth.core.models.library.names import model_display_name
from hearth.core.models.library.starter import is_starter
from hearth.core.units import format_size
from hearth.ui.models.widgets import (
    badge,
    button,
    card,
    row,
    speed_range_words,
    text_label,
    tokens_words,
    verdict_chip,
    with_avatar,
)


def display_name(model: InstalledModel) -> tuple[str, str]:
    """A person's name for an installed model and its quantization ("Llama 4 Scout 17B-16E Instruct", "Q4_K_M")."""
    name = model_display_name(model.path, model.repo_id)
    if model.repo_id:
        return name, model.quant or ""
    quant = quant_label(model.path.name)
    return name, quant if quant != model.path.name.removesuffix(".gguf") else ""


class ModelCard(QWidget):
    """One installed model.

    Signals:
        load_clicked(Path), unload_clicked(), default_clicked(Path), settings_clicked(Path), folder_clicked(Path):
            the model's path (folder: its folder).
        delete_clicked(InstalledModel): the model.
        downloads_clicked(): the model is still downloading; show the Downloads tab.
    """

    load_clicked = Signal(Path)
    unload_clicked = Signal()
    default_clicked = Signal(Path)
    settings_clicked = Signal(Path)
    delete_clicked = Signal(InstalledModel)
    folder_clicked = Signal(Path)
    downloads_clicked = Signal()

    def __init__(self, model: InstalledModel, fit: InstalledFit | None, *, is_default: bool) -> None:
        super().__init__()
        self.model = model
        self.setObjectName("modelRow")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        frame = card()
        outer.addWidget(frame)
        name, quant = display_name(model)
        layout = with_avatar(frame, name)
        self.title = text_label(name, "title")
        self.loaded_badge = badge("Loaded", "good")
        self.loading_badge = badge("Loading…", "accent")
        badges = [badge(quant, "mono") if quant else None]
        if is_starter(model.path):
            badges.append(badge("Starter", "plain"))
        if model.mmproj is not None:
            badges.append(badge("Vision", "plain"))
        if is_default:
            badges.append(badge("Default", "accent"))
        layout.addLayout(row(self.title, *badges, self.loaded_badge, self.loading_badge))

        where = model.repo_id or str(model.path.parent)
        size = format_size(model.total_bytes)
        files = f" · {len(model.files)} files" if len(model.files) > 1 else ""
        layout.addWidget(text_label(f"{where} · {size}{files}", "muted", selectable=True))

        self.fit_line = QWidget()
        fit_layout = row()
        self.fit_line.setLayout(fit_layout)
        if model.usable:
            self._fit_widgets(fit_layout, fit)
        elif model.state.unfinished_download:
            share = model.size_bytes / model.total_bytes if model.total_bytes else 0
            words = {InstalledState.DOWNLOADING: "Downloading", InstalledState.PAUSED: "Paused",
                     InstalledState.FAILED: "Download stopped"}[model.state]
            fit_layout.insertWidget(0, badge(f"{words} · {share:.0%}", "accent"))
        else:
            fit_layout.insertWidget(0, text_label(f"Broken: {model.problem}. Delete it, or download it again.",
                                                  "error", wrap=True))
        layout.addWidget(self.fit_line)

        self.load_button = button("Load", "primary", accessible=f"Load {name}")
        self.unload_button = button("Unload", accessible=f"Unload {name}")
        self.default_button = button("Make default", "flat", tooltip="Load this model when Hearth starts")
        self.settings_button = button("Settings", "flat", accessible=f"Settings for {name}")
        self.folder_button = button("Show in folder", "flat")
        self.delete_button = button("Delete", "danger", accessible=f"Delete {name}")
        self.downloads_button = button("Show download", accessible="Show this download")
        self.default_button.setVisible(model.usable and not is_default and (fit is None or fit.chat))
        self.settings_button.setVisible(model.usable)
        self.downloads_button.setVisible(model.state.unfinished_download)
        self.delete_button.setVisible(model.state is not InstalledState.DOWNLOADING)
        layout.addLayout(row(self.load_button, self.unload_button, self.downloads_button, self.default_button,
                             self.settings_button, self.folder_button, None, self.delete_button, stretch_at=6))
        self.load_button.clicked.connect(self._on_load_clicked)
        self.unload_button.clicked.connect(self.unload_clicked)
        self.default_button.clicked.connect(self._on_default_clicked)
        self.settings_button.clicked.connect(self._on_settings_clicked)
        self.folder_button.clicked.connect(self._on_folder_clicked)
        self.delete_button.clicked.connect(self._on_delete_clicked)
        self.downloads_button.clicked.connect(self.downloads_clicked)
        self.set_session(None, loading=False)

    def _fit_widgets(self, layout: QHBoxLayout, fit: InstalledFit | None) -> None:
        widgets: list[QWidget] = []
        if fit is None:
            widgets.append(text_label("Checking how it runs here…", "muted"))
        else:
            widgets.append(verdict_chip(fit.verdict))
            if not fit.chat:
                completion = badge("Made for completion, not chat", "warn")
                completion.setToolTip("This is a base model: it has no chat template, so it continues text rather "
                                      "than answering. Hearth never picks it to chat with.")
                widgets.append(completion)
            words = [fit.summary] if fit.summary else []
            if fit.expected_range:
                words.append(f"{speed_range_words(fit.expected_range)} expected"
                             + (" (calibrated by hearth bench here)" if fit.calibrated else ""))
            elif fit.expected_tps:
                words.append(f"{tokens_words(fit.expected_tps)} expected")
            if fit.measured_tps:
                words.append(f"measured {fit.measured_tps:.1f} tokens/s")
            if fit.verdict == "unknown":
                words = [fit.explanation]
            widgets.append(text_label(" · ".join(words), "muted"))
            self.setToolTip(fit.explanation)
        for i, w in enumerate(widgets):
            layout.insertWidget(i, w)

    def set_session(self, loaded: Path | None, *, loading: bool) -> None:
        """Show whether this model is the one loaded (or loading)."""
        mine = loaded is not None and loaded == self.model.path
        ready = self.model.usable
        self.loaded_badge.setVisible(mine and not loading)
        self.loading_badge.setVisible(mine and loading)
        self.load_button.setVisible(ready and not mine)
        self.unload_button.setVisible(ready and mine and not loading)

    @Slot()
    def _on_load_clicked(self) -> None:
        self.load_clicked.emit(self.model.path)

    @Slot()
    def _on_default_clicked(self) -> None:
        self.default_clicked.emit(self.model.path)

    @Slot()
    def _on_settings_clicked(self) -> None:
        self.settings_clicked.emit(self.model.path)

    @Slot()
    def _on_folder_clicked(self) -> None:
        self.folder_clicked.emit(self.model.path.parent)

    @Slot()
    def _on_delete_clicked(self) -> None:
        self.delete_clicked.emit(self.model)


class FoundRow(QWidget):
    """A GGUF file in another app's folder.

    Signals:
        import_clicked(FoundModel): the file.
    """

    import_clicked = Signal(FoundModel)

    def __init__(self, found: FoundModel) -> None:
        super().__init__()
        self.found = found
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        frame = card("foundCard")
        layout.addWidget(frame)
        inner = QVBoxLayout(frame)
        inner.setContentsMargins(16, 10, 16, 10)
        self.import_button = button("Use in Hearth", accessible=f"Import {found.path.name}",
                                    tooltip="Link the file into Hearth's models folder (no copy, no extra space)")
        self.import_button.clicked.connect(self._on_import_clicked)
        inner.addLayout(row(text_label(found.path.name, "title"), badge(found.source, "plain"), None,
                            text_label(format_size(found.size_bytes), "muted"), self.import_button, stretch_at=2))
        inner.addWidget(text_label(str(found.path.parent), "small", selectable=True))

    @Slot()
    def _on_import_clicked(self) -> None:
        self.import_button.setEnabled(False)
        self.import_button.setText("Importing…")
        self.import_clicked.emit(self.found)


class LibraryView(QWidget):
    """Installed models, then the ones found elsewhere.

    Signals:
        load_requested(Path), default_requested(Path), settings_requested(Path), folder_requested(Path): a path.
        unload_requested(): unload the loaded model.
        delete_requested(InstalledModel): the model to delete.
        import_file_requested(): the "Import a GGUF file…" button.
        import_found_requested(FoundModel): a file found in another app's folder.
        downloads_requested(): show the Downloads tab.
    """

    load_requested = Signal(Path)
    unload_requested = Signal()
    default_requested = Signal(Path)
    settings_requested = Signal(Path)
    folder_requested = Signal(Path)
    delete_requested = Signal(InstalledModel)
    import_file_requested = Signal()
    import_found_requested = Signal(FoundModel)
    downloads_requested = Signal()

    def __init__(self, models_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models_dir = models_dir
        self.cards: list[ModelCard] = []
        self.found_rows: list[FoundRow] = []
        self._loaded: Path | None = None
        self._loading = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        self.import_button = button("Import a GGUF file…", accessible="Import a GGUF model file")
        self.open_folder_button = button("Open models folder", "flat")
        self.summary = text_label("", "muted")
        layout.addLayout(row(self.summary, None, self.open_folder_button, self.import_button, stretch_at=1))
        self.empty = text_label("No models yet. Download one under Discover, or import a GGUF file you already "
                                "have.", "muted", wrap=True)
        layout.addWidget(self.empty)
        self.list_layout = QVBoxLayout()
        self.list_layout.setSpacing(10)
        layout.addLayout(self.list_layout)
        self.found_heading = text_label("Found elsewhere on this computer", "section")
        self.found_note = text_label("GGUF files in Hugging Face's cache and LM Studio's folders. Hearth can use them "
                                     "where they are.", "muted", wrap=True)
        layout.addWidget(self.found_heading)
        layout.addWidget(self.found_note)
        self.found_layout = QVBoxLayout()
        self.found_layout.setSpacing(8)
        layout.addLayout(self.found_layout)
        layout.addStretch(1)
        self.import_button.clicked.connect(self.import_file_requested)
        self.open_folder_button.clicked.connect(self._on_open_folder_clicked)
        self.set_found([])

    def set_models(self, models: list[InstalledModel], fits: dict[Path, InstalledFit], default: Path | None) -> None:
        for c in self.cards:
            c.hide()
            self.list_layout.removeWidget(c)
            c.deleteLater()
        self.cards = []
        order = {InstalledState.READY: 0, InstalledState.DOWNLOADING: 1, InstalledState.PAUSED: 1,
                 InstalledState.FAILED: 2, InstalledState.BROKEN: 3}
        for model in sorted(models, key=lambda m: (order.get(m.state, 4), display_name(m)[0].lower())):
            c = ModelCard(model, fits.get(model.path), is_default=default is not None and model.path == default)
            c.load_clicked.connect(self.load_requested)
            c.unload_clicked.connect(self.unload_requested)
            c.default_clicked.connect(self.default_requested)
            c.settings_clicked.connect(self.settings_requested)
            c.folder_clicked.connect(self.folder_requested)
            c.delete_clicked.connect(self.delete_requested)
            c.downloads_clicked.connect(self.downloads_requested)
            c.set_session(self._loaded, loading=self._loading)
            self.list_layout.addWidget(c)
            self.cards.append(c)
        ready = [m for m in models if m.usable]
        total = sum(m.size_bytes for m in models)
        self.summary.setText(f"{len(ready)} model{'s' if len(ready) != 1 else ''} ready · {format_size(total)} on disk"
                             if models else "")
        self.empty.setVisible(not models)

    def set_found(self, found: list[FoundModel]) -> None:
        for r in self.found_rows:
            r.hide()
            self.found_layout.removeWidget(r)
            r.deleteLater()
        self.found_rows = []
        for f in found:
            r = FoundRow(f)
            r.import_clicked.connect(self.import_found_requested)
            self.found_layout.addWidget(r)
            self.found_rows.append(r)
        for w in (self.found_heading, self.found_note):
            w.setVisible(bool(found))

    def set_session(self, loaded: Path | None, loading: bool) -> None:
        self._loaded, self._loading = loaded, loading
        for c in self.cards:
            c.set_session(loaded, loading=loading)

    def card_for(self, path: Path) -> ModelCard | None:
        return next((c for c in self.cards if c.model.path == path), None)

    @Slot()
    def _on_open_folder_clicked(self) -> None:
        self.folder_requested.emit(self.models_dir)
