"""The Discover tab's work: the catalog's verdicts for this machine (from the cache, or refreshed from the Hub when
the user asks), the recommendation, a Hub search and one repository's files. Blocking calls run in the page's
``TaskGroup``; this object keeps the results and hands them to the ``DiscoverView``.

Offline mode is respected here, before any request: a refresh, a search or a file list is refused with words saying
why and what to do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject, Signal

from hearth.core.errors import HearthError, OfflineError
from hearth.core.machine.hardware import Hardware
from hearth.core.models.discover.catalog import CATALOG, CatalogEntry, CatalogService
from hearth.core.models.discover.recommend import CatalogRow, Recommendation, catalog_rows, recommend, scout_problem
from hearth.core.models.hub.client import HubClient, SearchHit
from hearth.core.models.planning.planner import VERDICT_WORDS
from hearth.core.units import format_size
from hearth.ui.models.discover_view import DiscoverView
from hearth.ui.shell.notices import Notice, info, notice_for
from hearth.ui.tasks import BackgroundTask, TaskGroup

OFFLINE_WORDS = "Hearth is in offline mode, so it did not contact Hugging Face."


class CatalogController(QObject):
    """Catalog rows, the recommendation, search results.

    Args:
        catalog: listings and headers, cached.
        hub: the Hub client (searches).
        view: the Discover tab.
        tasks: where blocking work runs.
        offline: whether Hearth is offline now.

    Signals:
        notice(Notice): for the window's toast.
        catalog_ready(): ``rows`` and ``recommendation`` were recomputed.
        recommended_found(Recommendation): what ``download_recommended`` found (download it).
    """

    notice = Signal(Notice)
    catalog_ready = Signal()
    recommended_found = Signal(Recommendation)

    def __init__(self, catalog: CatalogService, hub: HubClient, view: DiscoverView, tasks: TaskGroup,
                 offline: Callable[[], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.hub = hub
        self.view = view
        self.tasks = tasks
        self._offline = offline
        self.hardware: Hardware | None = None
        self.rows: list[CatalogRow] = []
        self.recommendation: Recommendation | None = None
        self._refreshing = False
        self._pending_recommended = False

    def set_hardware(self, hw: Hardware) -> None:
        """The machine is known (or its free disk changed): compute the verdicts, or do what was waiting for it."""
        first = self.hardware is None
        self.hardware = hw
        if not first:
            return
        if self._pending_recommended:
            self._pending_recommended = False
            self.download_recommended()
        else:
            self.refresh(network=False)

    # --- the catalog ---------------------------------------------------------------------------------------------

    def refresh(self, *, network: bool) -> None:
        """Recompute the catalog's verdicts; ``network`` also fetches file lists and headers (the user asked)."""
        if self.hardware is None or self._refreshing:
            return
        if network and self._offline():
            self.view.set_note(f"{OFFLINE_WORDS} Showing the file lists saved earlier. Turn off offline mode in "
                               "Settings to refresh them.", error=True)
            self.notice.emit(info(f"{OFFLINE_WORDS} Turn off offline mode in Settings to refresh the catalog.",
                                  "Offline"))
            return
        self._refreshing = True
        self.view.set_refreshing(network)
        hw, service = self.hardware, self.catalog

        def work(report: Callable[[str], None]) -> list[CatalogRow]:
            return catalog_rows(service, hw, refresh=network, read_headers=network, report=report)

        self.tasks.run(BackgroundTask(work, parent=self, name="catalog")
                       .with_progress(self.view.set_note)
                       .success(self._on_rows_finished)
                       .failure(self._on_rows_failed), kind="catalog")

    def download_recommended(self) -> None:
        """Find the best catalog file for this computer on the Hub (file lists, one header per model), then emit
        ``recommended_found``: Llama 4 Scout if any of its files fits, otherwise the first smaller model that does."""
        if self._offline():
            self.notice.emit(info(f"{OFFLINE_WORDS} Turn off offline mode in Settings to download models.",
                                  "Offline"))
            return
        if self.hardware is None or self._refreshing:
            self._pending_recommended = True
            return
        self._refreshing = True
        self.view.set_refreshing(True)
        self.notice.emit(info("Finding the best model for this computer on Hugging Face…", "Download"))
        hw, service = self.hardware, self.catalog

        def work(report: Callable[[str], None]) -> list[CatalogRow]:
            first = catalog_rows(service, hw, refresh=True, read_headers=True, entries=CATALOG[:1], report=report)
            online = recommend(first) is None  # only when Scout cannot fit are the others worth a request
            rest = catalog_rows(service, hw, refresh=online, read_headers=online, entries=CATALOG[1:], report=report)
            return first + rest

        self.tasks.run(BackgroundTask(work, parent=self, name="catalog")
                       .success(self._on_recommended_rows)
                       .failure(self._on_rows_failed), kind="catalog")

    def _on_rows_finished(self, rows: list[CatalogRow]) -> None:
        self._refreshing = False
        self.view.set_refreshing(False)
        self.rows = rows
        rec = self.recommendation = recommend(rows)
        self.view.set_rows(rows, self.hardware, offline=self._offline(),
                           recommended={rec.repo_id: rec.quant} if rec is not None else {},
                           recommendation=_recommendation_words(rec))
        errors = [r.error for r in rows if r.error is not None and not isinstance(r.error, OfflineError)]
        if errors:
            self.view.set_note(f"Some file lists could not be refreshed: {notice_for(errors[0]).text}", error=True)
        elif not any(r.listing for r in rows):
            self.view.set_note("The catalog’s file lists have not been fetched yet."
                               + (" Offline mode is on." if self._offline() else ""))
        else:
            self.view.set_note("")
        self.catalog_ready.emit()
        if self._pending_recommended:
            self._pending_recommended = False
            self.download_recommended()

    def _on_recommended_rows(self, rows: list[CatalogRow]) -> None:
        self._on_rows_finished(rows)
        rec = self.recommendation
        if rec is None:
            problem = scout_problem(self.rows) or "Hearth could not read the catalog's file lists."
            self.notice.emit(info(f"{problem} Nothing in the catalog fits this computer; try a smaller GGUF file.",
                                  "No model fits"))
            return
        self.recommended_found.emit(rec)

    def _on_rows_failed(self, error: HearthError) -> None:
        self._refreshing = False
        self.view.set_refreshing(False)
        self.view.set_note(notice_for(error).text, error=True)

    # --- search --------------------------------------------------------------------------------------------------

    def search(self, text: str) -> None:
        if self._offline():
            self.view.set_search_note(f"{OFFLINE_WORDS} Turn off offline mode in Settings to search.", error=True)
            return
        self.view.set_search_busy(True)
        self.view.set_search_note(f"Searching Hugging Face for “{text}”…")
        hub = self.hub

        def work(_report: Callable[[object], None]) -> list[SearchHit]:
            return hub.search(text)

        self.tasks.run(BackgroundTask(work, parent=self, name="hub search")
                       .success(self._on_search_finished).failure(self._on_search_failed))

    def _on_search_finished(self, hits: list[SearchHit]) -> None:
        self.view.set_search_busy(False)
        self.view.set_results(hits)
        self.view.set_search_note("" if hits else "No GGUF models match that search.")

    def _on_search_failed(self, error: HearthError) -> None:
        self.view.set_search_busy(False)
        self.view.set_search_note(notice_for(error).text, error=True)

    def show_files(self, repo_id: str) -> None:
        """Read a repository's files and one header, then show its quantizations with verdicts."""
        if self.hardware is None:
            self.view.files_failed(repo_id)
            return
        if self._offline():
            self.view.files_failed(repo_id)
            self.view.set_search_note(f"{OFFLINE_WORDS} Turn off offline mode in Settings.", error=True)
            return
        hw, service = self.hardware, self.catalog
        entry = CatalogEntry(repo_id, repo_id, (repo_id,), (), "", moe=False)

        def work(_report: Callable[[object], None]) -> CatalogRow:
            (found,) = catalog_rows(service, hw, refresh=True, read_headers=True, entries=(entry,))
            if found.listing is None and found.error is not None:
                raise found.error
            vision = found.listing is not None and found.listing.mmproj() is not None
            return replace(found, entry=replace(entry, vision=vision))

        self.tasks.run(BackgroundTask(work, parent=self, name="hub files")
                       .success(self._on_files_finished)
                       .failure(functools.partial(self._on_files_failed, repo_id)))

    def _on_files_finished(self, found: CatalogRow) -> None:
        best = found.best()
        self.view.show_files(found, self.hardware, best.quant.label if best else None)

    def _on_files_failed(self, repo_id: str, error: HearthError) -> None:
        self.view.files_failed(repo_id)
        self.view.set_search_note(notice_for(error).text, error=True)


def _recommendation_words(rec: Recommendation | None) -> str:
    if rec is None:
        return ""
    speed = rec.choice.report.tokens_per_s if rec.choice.report is not None else None
    words = (f"Best for this computer: {rec.row.entry.name} {rec.quant}, {format_size(rec.download_bytes)}"
             f"{' with its vision file' if rec.include_mmproj else ''} — "
             f"{VERDICT_WORDS[rec.choice.verdict]}{f', about {speed:.0f} tokens/s' if speed else ''}.")
    return f"{rec.scout_problem} {words}" if rec.scout_problem else words
