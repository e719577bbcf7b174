"""One model of the catalog (or of a Hugging Face search) with a row per quantization: size, the planner's verdict
for this machine and why, expected speed, disk space needed against free, and a Download button."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QGridLayout, QPushButton, QVBoxLayout, QWidget

from hearth.core.machine.hardware import Hardware
from hearth.core.models.discover.catalog import QuantVerdict, listing_age_words
from hearth.core.models.discover.recommend import CatalogRow
from hearth.core.models.hub.repo_files import RepoListing
from hearth.core.units import format_size
from hearth.ui.models.widgets import (
    badge,
    button,
    card,
    row,
    speed_range_words,
    text_label,
    verdict_chip,
    with_avatar,
)
from hearth.ui.shell.notices import notice_for

# (repo, quant) -> (button text, enabled, kind) for a quantization already downloaded or downloading.
ButtonState = Callable[[str, str], tuple[str, bool, str] | None]


class QuantRow:
    """The widgets of one quantization inside a card's grid."""

    def __init__(self, verdict: QuantVerdict, button_widget: QPushButton, recommended: bool) -> None:
        self.verdict = verdict
        self.button = button_widget
        self.recommended = recommended

    @property
    def label(self) -> str:
        return self.verdict.quant.label


class CatalogCard(QWidget):
    """A catalog entry with its quantizations.

    Signals:
        download_clicked(str, str, bool, RepoListing): repository, quantization, include the vision file, the listing.
        busy_clicked(str, str): a quantization that is already downloading (show the download).
    """

    download_clicked = Signal(str, str, bool, RepoListing)
    busy_clicked = Signal(str, str)

    def __init__(self, catalog_row: CatalogRow, hw: Hardware | None, *, recommended: str | None = None,
                 offline: bool = False, button_state: ButtonState | None = None, show_blurb: bool = True) -> None:
        super().__init__()
        self.row = catalog_row
        self.setObjectName("catalogCard")
        self.quant_rows: list[QuantRow] = []
        self._button_state = button_state
        entry, listing = catalog_row.entry, catalog_row.listing
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        frame = card()
        outer.addWidget(frame)
        layout = with_avatar(frame, entry.name)
        badges: list[QWidget | None] = [text_label(entry.name, "title")]
        if entry.vision:
            badges.append(badge("Vision", "plain"))
        if entry.moe:
            badges.append(badge("Mixture of experts", "plain"))
        if listing is not None and listing.gated:
            badges.append(badge("Licence to accept", "warn"))
        layout.addLayout(row(*badges))
        if show_blurb and entry.blurb:
            layout.addWidget(text_label(entry.blurb, "muted", wrap=True))
        self.source = text_label(self._source_words(offline), "small", wrap=True)
        layout.addWidget(self.source)
        if catalog_row.error is not None and listing is None:
            layout.addWidget(text_label(notice_for(catalog_row.error).text, "error", wrap=True))
        if listing is None:
            layout.addWidget(text_label(
                "Offline mode is on, so the file list was never fetched. Turn it off in Settings to see sizes and "
                "download." if offline else "Its file list has not been fetched yet: “Refresh from Hugging Face” "
                "reads it (sizes and whether each file fits this computer).", "muted", wrap=True))
            return
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(4, 1)
        layout.addSpacing(6)
        layout.addLayout(grid)
        mmproj = catalog_row.mmproj_bytes
        for i, v in enumerate(catalog_row.verdicts):
            is_rec = recommended is not None and v.quant.label == recommended
            self._add_quant(grid, 3 * i, v, hw, mmproj, is_rec)
        if not catalog_row.verdicts:
            layout.addWidget(text_label("None of the quantizations Hearth offers for this model is listed.", "muted"))

    def _source_words(self, offline: bool) -> str:
        listing = self.row.listing
        if listing is None:
            return self.row.entry.repos[0]
        words = f"{listing.repo_id} · file list from {listing_age_words(listing)}"
        if offline and listing.from_cache:
            words += " (saved copy; Hearth is offline)"
        elif self.row.error is not None:
            words += f" (saved copy: {self.row.error.message})"
        return words

    def _add_quant(self, grid: QGridLayout, r: int, v: QuantVerdict, hw: Hardware | None, mmproj: int,
                   recommended: bool) -> None:
        name_cell = QWidget()
        name_cell.setLayout(row(text_label(v.quant.label, "mono"),
                                badge("Best for this computer", "good") if recommended else None))
        grid.addWidget(name_cell, r, 0)
        grid.addWidget(text_label(format_size(v.quant.size), "strong"), r, 1)
        grid.addWidget(verdict_chip(v.verdict), r, 2)
        speed = speed_range_words(v.report.tokens_per_s_range, v.report.calibrated) if v.report is not None else ""
        grid.addWidget(text_label(speed, "muted"), r, 3)
        b = button("Download", "primary" if recommended else "secondary",
                   accessible=f"Download {self.row.entry.name} {v.quant.label}")
        b.setMinimumWidth(150)
        b.setProperty("quant", v.quant.label)
        b.clicked.connect(self._on_button_clicked)
        grid.addWidget(b, r, 5)
        need = v.quant.size + mmproj
        free = hw.disk_free if hw is not None else None
        words = [v.explanation.replace(". (estimated from its size)", " (estimated from the file size).")]
        if mmproj:
            words.append(f"With the {format_size(mmproj)} vision file.")
        disk = f"Needs {format_size(need)} of disk" + (f" ({format_size(free)} free)." if free is not None else ".")
        short = free is not None and free < need
        if not short:
            words.append(disk)
        explanation = text_label(" ".join(words), "small", wrap=True)
        explanation.setContentsMargins(0, 0, 0, 0 if short else 12)
        grid.addWidget(explanation, r + 1, 0, 1, 6)
        if short and free is not None:
            lack = text_label(f"{disk} Free up {format_size(need - free)} first, or choose another models folder in "
                              "Settings.", "error", wrap=True)
            lack.setContentsMargins(0, 0, 0, 12)
            grid.addWidget(lack, r + 2, 0, 1, 6)
        self.quant_rows.append(QuantRow(v, b, recommended))
        self._update_button(self.quant_rows[-1])

    def update_buttons(self) -> None:
        for q in self.quant_rows:
            self._update_button(q)

    def _update_button(self, q: QuantRow) -> None:
        listing = self.row.listing
        state = self._button_state(listing.repo_id, q.label) if self._button_state and listing else None
        text, enabled, kind = state or ("Download", True, "primary" if q.recommended else "secondary")
        if q.button.text() != text:
            q.button.setText(text)
        q.button.setEnabled(enabled)
        if q.button.property("kind") != kind:
            q.button.setProperty("kind", kind)
            q.button.style().polish(q.button)

    def button_for(self, quant: str) -> QPushButton | None:
        return next((q.button for q in self.quant_rows if q.label.lower() == quant.lower()), None)

    @Slot()
    def _on_button_clicked(self) -> None:
        b = self.sender()
        listing = self.row.listing
        if not isinstance(b, QPushButton) or listing is None:
            return
        quant = str(b.property("quant"))
        if b.text() != "Download":
            self.busy_clicked.emit(listing.repo_id, quant)
            return
        self.download_clicked.emit(listing.repo_id, quant, self.row.mmproj_bytes > 0, listing)
