"""The curated model list, and what the Hub says about each repository (cached on disk for offline use).

Entries name repositories and the quantizations worth offering, never file paths, sizes or hashes: those come from
the Hub's API when the user refreshes (``CatalogService.listing``) and are kept with their fetch time, so the catalog
still shows — with its age — when the app is offline. Verdicts per quantization come from the planner: exactly, once a
quantization's header has been read (Range requests, cached), otherwise estimated from another quantization of the
same model scaled to this file's size, otherwise only what the file size alone proves.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hearth.core.errors import HearthError
from hearth.core.gguf.header import GgufInfo, TensorInfo
from hearth.core.machine.hardware import Hardware
from hearth.core.models.hub.client import HeaderCache, HubClient, NeedsNetworkError
from hearth.core.models.hub.repo_files import Quant, RepoListing, safe_repo_id
from hearth.core.models.planning.planner import FitReport, plan_model, usable_ram, usable_vram


@dataclass(frozen=True)
class CatalogEntry:
    """A model Hearth recommends.

    Attributes:
        id: short name for the command line ("llama4-scout").
        name: display name.
        repos: repositories that publish it, preferred first.
        quants: quantizations to offer (labels as in the file names); empty: all.
        blurb: one line on what it is good for.
        vision: it can read images (with its mmproj file).
        moe: mixture of experts (the planner keeps experts in RAM on small GPUs).
    """

    id: str
    name: str
    repos: tuple[str, ...]
    quants: tuple[str, ...]
    blurb: str
    vision: bool = False
    moe: bool = True


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "llama4-scout", "Llama 4 Scout 17B-16E Instruct",
        ("unsloth/Llama-4-Scout-17B-16E-Instruct-GGUF", "ggml-org/Llama-4-Scout-17B-16E-Instruct-GGUF"),
        ("UD-IQ1_S", "UD-IQ2_XXS", "UD-Q2_K_XL", "UD-Q3_K_XL", "UD-Q4_K_XL", "Q4_K_M"),
        "Meta's mixture-of-experts model: 109B parameters, 17B active, reads images. Hearth's first choice.",
        vision=True,
    ),
    CatalogEntry(
        "llama4-maverick", "Llama 4 Maverick 17B-128E Instruct",
        ("unsloth/Llama-4-Maverick-17B-128E-Instruct-GGUF",),
        ("UD-IQ1_S", "UD-IQ2_XXS", "UD-Q2_K_XL", "UD-Q3_K_XL", "UD-Q4_K_XL"),
        "Scout's big sibling (400B parameters, 17B active) for machines with 128 GB or more.",
        vision=True,
    ),
    CatalogEntry(
        "qwen3-30b-a3b", "Qwen3 30B-A3B", ("unsloth/Qwen3-30B-A3B-GGUF", "Qwen/Qwen3-30B-A3B-GGUF"),
        ("Q3_K_M", "Q4_K_M", "Q5_K_M", "Q8_0"),
        "A fast mixture-of-experts model (3B active) that fits 32 GB machines.",
    ),
    CatalogEntry(
        "gpt-oss-20b", "gpt-oss 20B", ("ggml-org/gpt-oss-20b-GGUF", "unsloth/gpt-oss-20b-GGUF"), ("MXFP4",),
        "OpenAI's open mixture-of-experts model (3.6B active); about 12 GB.",
    ),
    CatalogEntry(
        "olmoe-1b-7b", "OLMoE 1B-7B Instruct", ("allenai/OLMoE-1B-7B-0125-Instruct-GGUF",), ("Q4_K_M", "Q8_0"),
        "A small, fully open mixture-of-experts model for 8–16 GB machines.",
    ),
    CatalogEntry(
        "gemma3-4b", "Gemma 3 4B Instruct (vision)", ("ggml-org/gemma-3-4b-it-GGUF", "unsloth/gemma-3-4b-it-GGUF"),
        ("Q4_K_M", "Q8_0"), "A small dense model that reads images; runs on any machine.", vision=True, moe=False,
    ),
)


def find_entry(name: str) -> CatalogEntry | None:
    """A catalog entry by id, or by one of its repository names (case-insensitive)."""
    low = name.lower()
    for entry in CATALOG:
        if entry.id == low or low in (r.lower() for r in entry.repos):
            return entry
    return None


@dataclass(frozen=True)
class QuantVerdict:
    """A quantization with the planner's verdict for a machine.

    Attributes:
        quant: the files.
        verdict: "fits_well", "fits_slow", "does_not_fit" or "unknown" (no header read yet).
        explanation: one sentence.
        report: the planner's report (None when no header is known).
        exact: the report comes from this file's own header (not scaled from another quantization).
    """

    quant: Quant
    verdict: str
    explanation: str
    report: FitReport | None = None
    exact: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.quant.label, "size": self.quant.size, "files": [f.path for f in self.quant.files],
                "verdict": self.verdict, "explanation": self.explanation, "exact": self.exact,
                "report": self.report.to_dict() if self.report else None}


@dataclass
class CatalogService:
    """Listings and headers from the Hub, cached on disk.

    Args:
        hub: the Hub client (offline clients still serve the cache).
        cache_dir: where listings and header bytes are kept.
    """

    hub: HubClient
    cache_dir: Path
    _memo: dict[str, RepoListing] = field(default_factory=dict)

    @property
    def headers(self) -> HeaderCache:
        return HeaderCache(self.cache_dir / "gguf-headers")

    def _listing_path(self, repo_id: str) -> Path:
        return self.cache_dir / "hub-listings" / (safe_repo_id(repo_id).replace("/", "--") + ".json")

    def cached_listing(self, repo_id: str) -> RepoListing | None:
        try:
            return RepoListing.from_dict(json.loads(self._listing_path(repo_id).read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def listing(self, repo_id: str, *, refresh: bool = False) -> RepoListing:
        """The repository's files: from the cache unless ``refresh`` (or nothing is cached yet).

        When the Hub cannot be reached and a cached listing exists, that is returned (``from_cache`` True, with its
        ``fetched_at``); otherwise the error is raised.
        """
        if not refresh:
            cached = self._memo.get(repo_id) or self.cached_listing(repo_id)
            if cached is not None:
                return cached
        try:
            listing = self.hub.listing(repo_id)
        except HearthError:
            cached = self.cached_listing(repo_id)
            if cached is not None and not refresh:
                return cached
            raise
        path = self._listing_path(repo_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(listing.to_dict()))
        os.replace(tmp, path)
        self._memo[repo_id] = listing
        return listing

    def header(self, listing: RepoListing, quant: Quant) -> GgufInfo:
        """The quantization's header (Range requests the first time, the cache afterwards)."""
        return self.hub.remote_info(listing, quant.files, self.headers)

    def cached_header(self, listing: RepoListing, quant: Quant) -> GgufInfo | None:
        """The header if its bytes are cached (no network)."""
        try:
            return self.hub.remote_info(listing, quant.files, self.headers, network=False)
        except (NeedsNetworkError, HearthError):
            return None

    def verdicts(self, listing: RepoListing, hw: Hardware, *, n_ctx: int | None = None,
                 wanted: Sequence[str] = ()) -> list[QuantVerdict]:
        """Each quantization's verdict on ``hw``, from cached headers only (no network)."""
        quants = [q for q in listing.quants if not wanted or q.label.upper() in {w.upper() for w in wanted}]
        known = {q.label: self.cached_header(listing, q) for q in quants}
        reference = next((info for info in known.values() if info is not None), None)
        result = []
        mmproj = listing.mmproj()
        for q in quants:
            info = known[q.label]
            exact = info is not None
            if info is None and reference is not None:
                info = scaled_info(reference, q.size)
            if info is not None:
                report = plan_model(info, hw, n_ctx=n_ctx, mmproj_bytes=mmproj.size if mmproj else 0)
                words = report.explanation if exact else f"{report.explanation} (estimated from its size)"
                result.append(QuantVerdict(q, report.verdict, words, report, exact))
            elif size_rules_out(q, hw):
                result.append(QuantVerdict(q, "does_not_fit", "Does not fit: the file is larger than this machine's "
                                           "usable RAM and GPU memory together."))
            else:
                result.append(QuantVerdict(q, "unknown", "Not checked yet: plan it to read its header."))
        return result


def size_rules_out(quant: Quant, hw: Hardware) -> bool:
    """Whether the file size alone proves the quantization cannot fit in RAM and GPU memory together."""
    room = usable_ram(hw) if hw.unified_memory else usable_ram(hw) + usable_vram(hw)
    return quant.size > room


def scaled_info(info: GgufInfo, total_bytes: int) -> GgufInfo:
    """Another quantization of the same model, estimated by scaling every tensor to the new file size."""
    factor = total_bytes / max(1, info.tensor_bytes + info.data_offset)
    tensors = tuple(TensorInfo(t.name, t.type_name, t.shape, t.offset, int(t.nbytes * factor), t.shard)
                    for t in info.tensors)
    return GgufInfo(info.version, info.metadata, tensors, info.data_offset, total_bytes, info.alignment,
                    info.source + " (estimated)", (total_bytes,))


def listing_age_words(listing: RepoListing, now: float | None = None) -> str:
    """"just now", "3 hours ago", "12 days ago"."""
    age = listing.age_s(now or time.time())
    if age < 90:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if age >= size:
            n = int(age // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"
