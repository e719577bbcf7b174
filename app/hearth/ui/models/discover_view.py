"""The Discover tab: the recommended catalog (Llama 4 Scout first) with a verdict per quantization for this machine,
a "Refresh from Hugging Face" button, and a search box for any GGUF repository on the Hub.

Everything that needs the network happens only on a click, in the page's background tasks; this view only shows.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from hearth.core.machine.hardware import Hardware
from hearth.core.models.discover.recommend import CatalogRow
from hearth.core.models.hub.client import SearchHit
from hearth.core.models.hub.repo_files import RepoListing
from hearth.ui.models.catalog_card import ButtonState, CatalogCard
from hearth.ui.models.widgets import badge, button, card, row, text_label


class SearchResult(QWidget):
    """A repository found on the Hub, before its file list is read.

    Signals:
        files_clicked(str): the repository id.
    """

    files_clicked = Signal(str)

    def __init__(self, hit: SearchHit) -> None:
        super().__init__()
        self.hit = hit
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        frame = card()
        outer.addWidget(frame)
        layout = QVBoxLayout(frame)
        layout.setContentsMargins(18, 12, 18, 12)
        layout.setSpacing(6)
        self.files_button = button("Show files", accessible=f"Show the files of {hit.repo_id}")
        self.files_button.clicked.connect(self._on_files_clicked)
        tags: list[QWidget | None] = [text_label(hit.repo_id, "title")]
        if hit.gated:
            tags.append(badge("Licence to accept", "warn"))
        if hit.has_mmproj:
            tags.append(badge("Vision", "plain"))
        layout.addLayout(row(*tags, None, text_label(f"↓ {hit.downloads:,}  ·  ♥ {hit.likes:,}", "muted"),
                             self.files_button, stretch_at=len(tags)))
        quants = ", ".join(hit.quants[:10]) + (" …" if len(hit.quants) > 10 else "")
        layout.addWidget(text_label(f"Quantizations: {quants}" if quants else "No GGUF quantizations found by name.",
                                    "small", wrap=True))

    def set_busy(self, busy: bool) -> None:
        self.files_button.setEnabled(not busy)
        self.files_button.setText("Reading…" if busy else "Show files")

    @Slot()
    def _on_files_clicked(self) -> None:
        self.set_busy(True)
        self.files_clicked.emit(self.hit.repo_id)


class DiscoverView(QWidget):
    """Catalog cards and Hub search.

    Signals:
        refresh_requested(): fetch the catalog's file lists from the Hub.
        search_requested(str): search the Hub for GGUF repositories.
        files_requested(str): read one repository's files (a search result).
        download_requested(str, str, bool, RepoListing): repository, quantization, include vision file, listing.
        downloads_requested(): show the Downloads tab (a "Downloading…" button was clicked).
    """

    refresh_requested = Signal()
    search_requested = Signal(str)
    files_requested = Signal(str)
    download_requested = Signal(str, str, bool, RepoListing)
    downloads_requested = Signal()

    def __init__(self, button_state: ButtonState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._button_state = button_state
        self.cards: list[CatalogCard] = []
        self.results: list[QWidget] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)

        self.search = QLineEdit()
        self.search.setObjectName("hubSearch")
        self.search.setPlaceholderText("Search Hugging Face for GGUF models (e.g. “qwen3 gguf”)")
        self.search.setAccessibleName("Search Hugging Face")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self._on_search_return_pressed)
        self.search_button = button("Search", accessible="Search Hugging Face")
        self.search_button.clicked.connect(self._on_search_return_pressed)
        search_row = row(self.search, self.search_button, stretch_at=-1)
        search_row.setStretch(0, 1)
        layout.addLayout(search_row)
        self.search_note = text_label("", "muted", wrap=True)
        self.search_note.hide()
        layout.addWidget(self.search_note)
        self.results_layout = QVBoxLayout()
        self.results_layout.setSpacing(10)
        layout.addLayout(self.results_layout)

        self.heading = text_label("Recommended models", "section")
        self.refresh_button = button("Refresh from Hugging Face", accessible="Refresh the catalog from Hugging Face",
                                     tooltip="Read the current file lists and sizes (needs the internet)")
        self.refresh_button.clicked.connect(self.refresh_requested)
        layout.addLayout(row(self.heading, None, self.refresh_button, stretch_at=1))
        self.note = text_label("", "muted", wrap=True)
        self.note.setObjectName("catalogNote")
        layout.addWidget(self.note)
        self.recommendation = text_label("", "callout", wrap=True)
        self.recommendation.hide()
        layout.addWidget(self.recommendation)
        self.cards_layout = QVBoxLayout()
        self.cards_layout.setSpacing(14)
        layout.addLayout(self.cards_layout)
        layout.addStretch(1)

    # --- catalog -------------------------------------------------------------------------------------------------

    def set_rows(self, rows: list[CatalogRow], hw: Hardware | None, *, offline: bool,
                 recommended: dict[str, str], recommendation: str = "") -> None:
        """Show the catalog; ``recommended`` maps a repository to its quantization to highlight."""
        for c in self.cards:
            c.hide()
            self.cards_layout.removeWidget(c)
            c.deleteLater()
        self.cards = []
        for r in rows:
            rec = recommended.get(r.listing.repo_id) if r.listing is not None else None
            c = CatalogCard(r, hw, recommended=rec, offline=offline, button_state=self._button_state)
            c.download_clicked.connect(self.download_requested)
            c.busy_clicked.connect(self._on_card_busy_clicked)
            self.cards_layout.addWidget(c)
            self.cards.append(c)
        self.recommendation.setText(recommendation)
        self.recommendation.setVisible(bool(recommendation))

    def set_note(self, text: str, *, error: bool = False) -> None:
        self.note.setText(text)
        self.note.setProperty("role", "error" if error else "muted")
        self.note.style().polish(self.note)
        self.note.setVisible(bool(text))

    def set_refreshing(self, busy: bool) -> None:
        self.refresh_button.setEnabled(not busy)
        self.refresh_button.setText("Refreshing…" if busy else "Refresh from Hugging Face")

    def card_for(self, repo_or_id: str) -> CatalogCard | None:
        for c in [*self.cards, *[w for w in self.results if isinstance(w, CatalogCard)]]:
            listing = c.row.listing
            if c.row.entry.id == repo_or_id or (listing is not None and listing.repo_id == repo_or_id) \
                    or repo_or_id in c.row.entry.repos:
                return c
        return None

    def update_buttons(self) -> None:
        for c in self.cards:
            c.update_buttons()
        for w in self.results:
            if isinstance(w, CatalogCard):
                w.update_buttons()

    # --- search --------------------------------------------------------------------------------------------------

    def set_search_busy(self, busy: bool) -> None:
        self.search_button.setEnabled(not busy)
        self.search_button.setText("Searching…" if busy else "Search")

    def set_search_note(self, text: str, *, error: bool = False) -> None:
        self.search_note.setText(text)
        self.search_note.setProperty("role", "error" if error else "muted")
        self.search_note.style().polish(self.search_note)
        self.search_note.setVisible(bool(text))

    def set_results(self, hits: list[SearchHit]) -> None:
        self._clear_results()
        for hit in hits:
            result = SearchResult(hit)
            result.files_clicked.connect(self.files_requested)
            self.results_layout.addWidget(result)
            self.results.append(result)

    def show_files(self, catalog_row: CatalogRow, hw: Hardware | None, recommended: str | None) -> None:
        """Replace a search result with its quantizations and verdicts."""
        assert catalog_row.listing is not None
        repo = catalog_row.listing.repo_id
        c = CatalogCard(catalog_row, hw, recommended=recommended, button_state=self._button_state)
        c.download_clicked.connect(self.download_requested)
        c.busy_clicked.connect(self._on_card_busy_clicked)
        for i, w in enumerate(self.results):
            if isinstance(w, SearchResult) and w.hit.repo_id == repo:
                self.results_layout.replaceWidget(w, c)
                w.hide()
                w.deleteLater()
                self.results[i] = c
                return
        self.results_layout.addWidget(c)
        self.results.append(c)

    def files_failed(self, repo_id: str) -> None:
        for w in self.results:
            if isinstance(w, SearchResult) and w.hit.repo_id == repo_id:
                w.set_busy(False)

    def _clear_results(self) -> None:
        for w in self.results:
            w.hide()
            self.results_layout.removeWidget(w)
            w.deleteLater()
        self.results = []

    @Slot()
    def _on_search_return_pressed(self) -> None:
        text = self.search.text().strip()
        if text:
            self.search_requested.emit(text)

    @Slot(str, str)
    def _on_card_busy_clicked(self, _repo: str, _quant: str) -> None:
        self.downloads_requested.emit()
