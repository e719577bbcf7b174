"""What to offer this computer: the catalog's entries with their verdicts, and the one model to recommend first.

``catalog_rows`` gathers each catalog entry's listing (the cache, or the Hub when ``refresh``) and the planner's verdict
per quantization. With ``read_headers`` it also reads one quantization's header per entry (a few MB by Range
requests) so the other quantizations can be estimated from it; without it nothing touches the network unless
``refresh`` does. ``recommend`` picks Llama 4 Scout's best quantization that fits, or, when none does, the first
smaller catalog model that fits, and says why. Both are blocking: the GUI calls them from worker threads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hearth.core.errors import HearthError, OfflineError
from hearth.core.machine.hardware import Hardware
from hearth.core.models.discover.catalog import CATALOG, CatalogEntry, CatalogService, QuantVerdict
from hearth.core.models.hub.repo_files import Quant, RepoListing, default_quant
from hearth.core.models.planning.planner import VERDICT_WORDS
from hearth.core.units import format_size


@dataclass(frozen=True)
class CatalogRow:
    """One catalog entry as this machine sees it.

    Attributes:
        entry: the curated entry.
        listing: the Hub's file list (cached or fresh), or None when never fetched.
        verdicts: the planner's verdict per offered quantization (smallest first).
        error: why the listing could not be fetched, or None.
    """

    entry: CatalogEntry
    listing: RepoListing | None
    verdicts: tuple[QuantVerdict, ...] = ()
    error: HearthError | None = None

    @property
    def mmproj_bytes(self) -> int:
        mmproj = self.listing.mmproj() if self.listing is not None and self.entry.vision else None
        return mmproj.size if mmproj else 0

    def best(self) -> QuantVerdict | None:
        return best_quant(self.verdicts)


@dataclass(frozen=True)
class Recommendation:
    """The model to download first.

    Attributes:
        row: the catalog row it comes from.
        choice: the quantization and its verdict.
        reason: one or two sentences on why this one.
        fallback: Llama 4 Scout does not fit, so this is a smaller model.
        scout_problem: why Scout does not fit ("" when it does).
    """

    row: CatalogRow
    choice: QuantVerdict
    reason: str
    fallback: bool = False
    scout_problem: str = ""

    @property
    def repo_id(self) -> str:
        assert self.row.listing is not None
        return self.row.listing.repo_id

    @property
    def quant(self) -> str:
        return self.choice.quant.label

    @property
    def include_mmproj(self) -> bool:
        return self.row.mmproj_bytes > 0

    @property
    def download_bytes(self) -> int:
        return self.choice.quant.size + self.row.mmproj_bytes

    @property
    def title(self) -> str:
        return f"{self.row.entry.name} · {self.quant}"


Progress = Callable[[str], None]


def _noop(_text: str) -> None:
    pass


@dataclass
class _Fetch:
    service: CatalogService
    refresh: bool
    read_headers: bool
    report: Progress = field(default=_noop)

    def row(self, entry: CatalogEntry, hw: Hardware, n_ctx: int | None) -> CatalogRow:
        listing: RepoListing | None = None
        error: HearthError | None = None
        for repo in entry.repos:
            try:
                if self.refresh:
                    self.report(f"Reading {repo}’s file list…")
                    listing = self.service.listing(repo, refresh=True)
                else:
                    listing = self.service.cached_listing(repo)
            except OfflineError as exc:
                error = exc
                listing = self.service.cached_listing(repo)
            except HearthError as exc:
                error = error or exc
                continue
            if listing is not None:
                break
        if listing is None:
            return CatalogRow(entry, None, (), error)
        if self.read_headers and self._needs_header(listing, entry, hw, n_ctx):
            try:
                self.report(f"Reading {entry.name}’s header…")
                self.service.header(listing, _reference_quant(listing, entry))
            except HearthError as exc:
                error = error or exc
        verdicts = self.service.verdicts(listing, hw, n_ctx=n_ctx, wanted=entry.quants)
        return CatalogRow(entry, listing, tuple(verdicts), error)

    def _needs_header(self, listing: RepoListing, entry: CatalogEntry, hw: Hardware, n_ctx: int | None) -> bool:
        verdicts = self.service.verdicts(listing, hw, n_ctx=n_ctx, wanted=entry.quants)
        return any(v.verdict == "unknown" for v in verdicts)


def _reference_quant(listing: RepoListing, entry: CatalogEntry) -> Quant:
    wanted = {w.upper() for w in entry.quants}
    offered = tuple(q for q in listing.quants if not wanted or q.label.upper() in wanted) or listing.quants
    return default_quant(offered)


def catalog_rows(service: CatalogService, hw: Hardware, *, refresh: bool = False, read_headers: bool = False,
                 n_ctx: int | None = None, entries: Sequence[CatalogEntry] = CATALOG,
                 report: Progress = _noop) -> list[CatalogRow]:
    """Every catalog entry with its listing and verdicts (see the module docstring for what touches the network).

    A listing that cannot be refreshed falls back to the cached one; the error is kept on the row.
    """
    fetch = _Fetch(service, refresh, read_headers, report)
    return [fetch.row(entry, hw, n_ctx) for entry in entries]


def best_quant(verdicts: Sequence[QuantVerdict]) -> QuantVerdict | None:
    """The largest (best quality) quantization that fits well, else the largest that fits at all."""
    for wanted in ("fits_well", "fits_slow"):
        fitting = [v for v in verdicts if v.verdict == wanted]
        if fitting:
            return max(fitting, key=lambda v: v.quant.size)
    return None


def _speed(v: QuantVerdict) -> str:
    speed = v.report.tokens_per_s if v.report is not None else None
    return f" (about {speed:.0f} tokens/s)" if speed else ""


def needs_network(rows: Sequence[CatalogRow]) -> bool:
    """Whether the cache alone cannot settle Scout's verdict (no file list yet, or no header read)."""
    scout = _scout(rows)
    if scout is None:
        return False
    if scout.listing is None or not scout.verdicts:
        return True
    return scout.best() is None and any(v.verdict == "unknown" for v in scout.verdicts)


def scout_problem(rows: Sequence[CatalogRow]) -> str:
    """Why Llama 4 Scout cannot run here, in words ("" when it can, or when that is not known yet)."""
    scout = _scout(rows)
    if scout is None or scout.best() is not None or needs_network(rows):
        return ""
    known = [v for v in scout.verdicts if v.verdict == "does_not_fit"]
    if not known:
        return ""
    smallest = min(known, key=lambda v: v.quant.size)
    why = smallest.explanation.removeprefix("Does not fit: ").replace(" (estimated from its size)", "").rstrip(".")
    return (f"Llama 4 Scout does not fit this computer, even as {smallest.quant.label} "
            f"({format_size(smallest.quant.size)}): {why}.")


def _scout(rows: Sequence[CatalogRow]) -> CatalogRow | None:
    return next((r for r in rows if r.entry.id == "llama4-scout"), None)


def recommend(rows: Sequence[CatalogRow]) -> Recommendation | None:
    """Llama 4 Scout's best fitting quantization, else the first smaller catalog model that fits.

    None when Scout's verdict is not known yet (``needs_network``) or when nothing in the catalog fits.
    """
    scout = _scout(rows)
    if scout is not None and scout.listing is not None:
        choice = scout.best()
        if choice is not None:
            reason = (f"{choice.quant.label} is the best-quality Scout file that "
                      f"{VERDICT_WORDS[choice.verdict]} on this computer{_speed(choice)}. {choice.explanation}")
            return Recommendation(scout, choice, reason)
    if needs_network(rows):
        return None
    problem = scout_problem(rows)
    for row in rows:
        if row is scout or row.listing is None or row.entry.id == "llama4-maverick":
            continue
        choice = row.best()
        if choice is None:
            continue
        reason = (f"{row.entry.name} {choice.quant.label} {VERDICT_WORDS[choice.verdict]} on this computer"
                  f"{_speed(choice)}.")
        reason = f"{problem} {reason}" if problem else reason
        return Recommendation(row, choice, reason, fallback=scout is not None, scout_problem=problem)
    return None
