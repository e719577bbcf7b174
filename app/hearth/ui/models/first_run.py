"""The first-run wizard: what Hearth is, what this computer has, and one click to the first model.

Two short steps. The first says what Hearth is (private, offline) and shows the hardware it sees. The second
recommends Llama 4 Scout's best quantization for this machine (or a smaller catalog model when Scout cannot fit,
saying why), with the disk space it needs, and offers the other ways in: a GGUF file the user already has, the
starter model when its package is installed, or skipping. The wizard only decides; the app carries the choice out
(``hearth.ui.models.controller``) and marks the first run done.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QGridLayout,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

import hearth
from hearth.core.machine.hardware import Hardware
from hearth.core.models.discover.recommend import CatalogRow, Recommendation, needs_network, scout_problem
from hearth.core.models.library.starter import STARTER_DISPLAY_NAME
from hearth.core.units import format_size
from hearth.ui.models.style import models_stylesheet
from hearth.ui.models.widgets import (
    button,
    card,
    hardware_facts,
    row,
    speed_range_words,
    text_label,
    verdict_chip,
)
from hearth.ui.shell.dialogs import ChooseImport, choose_import
from hearth.ui.shell.style import window_stylesheet
from hearth.ui.shell.theme import Theme

_ICON = Path(hearth.__file__).resolve().parents[2] / "resources" / "icons" / "hearth-128.png"


class FirstRunDialog(QDialog):
    """The wizard. Feed it the hardware and the catalog as they arrive (``set_hardware``, ``set_catalog``).

    Args:
        theme: the app's theme.
        starter: the starter model's package is installed.
        offline: Hearth's offline setting.
        pick_import: asks for a GGUF file and whether to copy it (tests pass their own).

    Signals:
        download_chosen(Recommendation): download this file (the catalog's file lists were known).
        best_download_chosen(): find the best file for this computer on the Hub first, then download it.
        file_chosen(Path, bool): a GGUF file the user has, and whether to use it where it is (a link).
        starter_chosen(): use the starter model.
        skipped(): decide later.
    """

    download_chosen = Signal(Recommendation)
    best_download_chosen = Signal()
    file_chosen = Signal(Path, bool)
    starter_chosen = Signal()
    skipped = Signal()

    def __init__(self, theme: Theme, *, starter: bool, offline: bool, pick_import: ChooseImport = choose_import,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pick_import = pick_import
        self.setObjectName("firstRun")
        self.setWindowTitle(f"Welcome to {hearth.APP_NAME}")
        self.setModal(True)
        self.resize(820, 640)
        self.setStyleSheet(window_stylesheet(theme) + models_stylesheet(theme, "#firstRun"))
        self.hardware: Hardware | None = None
        self.recommendation: Recommendation | None = None
        self._rows: list[CatalogRow] = []
        self._starter = starter
        self._offline = offline
        self.choice = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 32, 40, 28)
        self.steps = QStackedWidget()
        layout.addWidget(self.steps, 1)
        self.steps.addWidget(self._welcome_step())
        self.steps.addWidget(self._model_step())
        self.skip_button = button("Skip for now", "flat", tooltip="Choose a model later on the Models page")
        self.back_button = button("Back", "flat")
        self.next_button = button("Next", "primary")
        self.skip_button.clicked.connect(self._on_skip_clicked)
        self.back_button.clicked.connect(self._on_back_clicked)
        self.next_button.clicked.connect(self._on_next_clicked)
        self.step_label = text_label("", "small")
        footer = row(self.skip_button, self.step_label, self.back_button, self.next_button, stretch_at=1)
        footer.insertStretch(3, 1)  # the step label centred between the two groups of buttons
        layout.addLayout(footer)
        self._show_step(0)
        self._update_choice()

    # --- step 1: welcome -----------------------------------------------------------------------------------------

    def _welcome_step(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)
        logo = QLabel()
        pixmap = QPixmap(str(_ICON)) if _ICON.is_file() else QApplication.windowIcon().pixmap(72, 72)
        if not pixmap.isNull():
            logo.setPixmap(pixmap.scaled(72, 72, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation))
        layout.addWidget(logo)
        layout.addWidget(text_label(f"Welcome to {hearth.APP_NAME}", "heading"))
        layout.addWidget(text_label(
            "Hearth chats with AI models that run entirely on this computer. What you type, the files you attach "
            "and the answers never leave it: there is no account and no cloud, and once a model is downloaded "
            "Hearth works without the internet.", "", wrap=True))
        layout.addSpacing(6)
        box = card("hardwareCard")
        inner = QVBoxLayout(box)
        inner.setContentsMargins(22, 18, 22, 18)
        inner.setSpacing(10)
        inner.addWidget(text_label("What Hearth sees on this computer", "title"))
        self.facts = QGridLayout()
        self.facts.setHorizontalSpacing(18)
        self.facts.setVerticalSpacing(8)
        self.facts.setColumnStretch(1, 1)
        inner.addLayout(self.facts)
        self.facts_waiting = text_label("Looking at the memory, graphics card and processor…", "muted")
        inner.addWidget(self.facts_waiting)
        layout.addWidget(box)
        layout.addWidget(text_label("Models need a lot of memory: Hearth plans each one for this machine, so it "
                                    "can tell you before you download what will run well.", "small", wrap=True))
        layout.addStretch(1)
        return page

    def set_hardware(self, hw: Hardware) -> None:
        self.hardware = hw
        while self.facts.count():
            item = self.facts.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for i, (what, words) in enumerate(hardware_facts(hw)):
            self.facts.addWidget(text_label(what, "muted"), i, 0)
            self.facts.addWidget(text_label(words, "strong", wrap=True), i, 1)
        self.facts_waiting.hide()
        self._update_choice()

    # --- step 2: the first model ---------------------------------------------------------------------------------

    def _model_step(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)
        layout.addWidget(text_label("Your first model", "heading"))
        layout.addWidget(text_label("Hearth is built around Meta’s Llama 4 Scout, a mixture-of-experts model that "
                                    "runs well on ordinary computers when its experts are kept in memory.", "muted",
                                    wrap=True))
        box = card("recommendCard")
        inner = QVBoxLayout(box)
        inner.setContentsMargins(22, 18, 22, 18)
        inner.setSpacing(8)
        self.rec_kicker = text_label("RECOMMENDED FOR THIS COMPUTER", "small")
        self.rec_title = text_label("", "title")
        self.rec_chip = verdict_chip("unknown")
        self.rec_speed = text_label("", "muted")
        self.rec_problem = text_label("", "callout", wrap=True)
        inner.addWidget(self.rec_problem)
        inner.addWidget(self.rec_kicker)
        inner.addLayout(row(self.rec_title, None, self.rec_chip, self.rec_speed, stretch_at=1))
        self.rec_reason = text_label("", "", wrap=True)
        self.rec_disk = text_label("", "muted", wrap=True)
        inner.addWidget(self.rec_reason)
        inner.addWidget(self.rec_disk)
        self.download_button = button("Download", "primary")
        self.download_button.setMinimumHeight(40)
        self.download_button.clicked.connect(self._on_download_clicked)
        inner.addSpacing(4)
        inner.addLayout(row(self.download_button))
        layout.addWidget(box)
        layout.addWidget(text_label("Other ways to start", "section"))
        self.file_button = button("I already have a GGUF file…", accessible="Use a GGUF file I already have")
        self.file_button.clicked.connect(self._on_file_clicked)
        self.starter_button = button("Use the starter model",
                                     tooltip=f"A tiny chat model ({STARTER_DISPLAY_NAME}) that comes with Hearth: "
                                     "fine for trying things out, not for real questions")
        self.starter_button.clicked.connect(self._on_starter_clicked)
        self.starter_button.setVisible(self._starter)
        layout.addLayout(row(self.file_button, self.starter_button))
        note = (f"The starter model ({STARTER_DISPLAY_NAME}) comes with Hearth and works right away; it is tiny, "
                "so its answers are simple and often wrong. " if self._starter else "")
        layout.addWidget(text_label(note + "Downloads continue in the background while you chat; you can pause "
                                    "them on the Models page.", "small", wrap=True))
        layout.addStretch(1)
        return page

    def set_catalog(self, rows: list[CatalogRow], recommendation: Recommendation | None) -> None:
        self._rows = rows
        self.recommendation = recommendation
        self._update_choice()

    def _update_choice(self) -> None:
        rec = self.recommendation
        free = self.hardware.disk_free if self.hardware is not None else None
        free_words = f" · {format_size(free)} free on this disk" if free is not None else ""
        self.rec_problem.hide()
        self.rec_chip.hide()
        self.rec_speed.setText("")
        if rec is not None:
            vision = rec.row.mmproj_bytes
            self.rec_kicker.setText("A SMALLER MODEL THAT FITS" if rec.fallback else "RECOMMENDED FOR THIS COMPUTER")
            self.rec_title.setText(rec.title)
            self._set_chip(rec.choice.verdict)
            report = rec.choice.report
            self.rec_speed.setText(speed_range_words(report.tokens_per_s_range, report.calibrated) if report else "")
            self.rec_reason.setText(rec.choice.explanation)
            if rec.scout_problem:
                self.rec_problem.setText(rec.scout_problem)
                self.rec_problem.show()
            extra = f" (including the {format_size(vision)} vision file)" if vision else ""
            self.rec_disk.setText(f"Download: {format_size(rec.download_bytes)}{extra}{free_words}")
            enough = free is None or free >= rec.download_bytes
            if free is not None and not enough:
                self.rec_disk.setText(self.rec_disk.text() + f" — free up {format_size(rec.download_bytes - free)} "
                                      "first, or choose another models folder in Settings.")
            self.rec_disk.setProperty("role", "muted" if enough else "error")
            self.rec_disk.style().polish(self.rec_disk)
            self.download_button.setText(f"Download {rec.row.entry.name.split(' Instruct')[0]} "
                                         f"({format_size(rec.download_bytes)})")
            self.download_button.setEnabled(enough and not self._offline)
        elif self._rows and not needs_network(self._rows):
            problem = scout_problem(self._rows)
            self.rec_kicker.setText("NOTHING IN THE CATALOG FITS")
            self.rec_title.setText("No recommended model fits this computer")
            self.rec_reason.setText(problem or "None of the catalog's models fits in this computer's memory.")
            self.rec_disk.setText("You can still use a smaller GGUF file you have" +
                                  (", or the starter model." if self._starter else "."))
            self.download_button.setText("Download")
            self.download_button.setEnabled(False)
        else:
            self.rec_kicker.setText("RECOMMENDED")
            self.rec_title.setText("Llama 4 Scout 17B-16E Instruct")
            if self._offline:
                self.rec_reason.setText("Offline mode is on, so Hearth cannot read the list of Scout's files. Turn "
                                        "it off in Settings to download, or start with a file you have.")
            else:
                self.rec_reason.setText("When you click Download, Hearth reads the list of Scout's files from "
                                        "Hugging Face, picks the largest version that fits this computer, and "
                                        "starts downloading it (if Scout cannot fit, a smaller model instead).")
            self.rec_disk.setText(f"Scout's files are 34 to 66 GB{free_words}." if not self._offline else "")
            self.download_button.setText("Download the recommended model")
            self.download_button.setEnabled(not self._offline and self.hardware is not None)
        self.rec_disk.setVisible(bool(self.rec_disk.text()))

    def _set_chip(self, verdict: str) -> None:
        fresh = verdict_chip(verdict)
        self.rec_chip.setText(fresh.text())
        self.rec_chip.setObjectName(fresh.objectName())
        self.rec_chip.style().polish(self.rec_chip)
        self.rec_chip.show()
        fresh.deleteLater()

    # --- navigation and choices ----------------------------------------------------------------------------------

    def _show_step(self, index: int) -> None:
        self.steps.setCurrentIndex(index)
        self.step_label.setText(f"Step {index + 1} of {self.steps.count()}")
        self.back_button.setVisible(index > 0)
        self.next_button.setVisible(index == 0)
        self.next_button.setDefault(index == 0)

    @Slot()
    def _on_next_clicked(self) -> None:
        self._show_step(1)

    @Slot()
    def _on_back_clicked(self) -> None:
        self._show_step(0)

    @Slot()
    def _on_download_clicked(self) -> None:
        self.choice = "download"
        if self.recommendation is not None:
            self.download_chosen.emit(self.recommendation)
        else:
            self.best_download_chosen.emit()
        self.accept()

    @Slot()
    def _on_file_clicked(self) -> None:
        chosen = self._pick_import(self)
        if chosen is not None:
            self.choose_file(chosen[0], link=chosen[1])

    def choose_file(self, path: Path, *, link: bool = True) -> None:
        """Use ``path`` (a link into the models folder when ``link``, else a copy) and close."""
        self.choice = "file"
        self.file_chosen.emit(path, link)
        self.accept()

    @Slot()
    def _on_starter_clicked(self) -> None:
        self.choice = "starter"
        self.starter_chosen.emit()
        self.accept()

    @Slot()
    def _on_skip_clicked(self) -> None:
        self.reject()

    def reject(self) -> None:
        if not self.choice:
            self.choice = "skip"
            self.skipped.emit()
        super().reject()
