"""Benchmark: PDF extraction throughput, GUI-thread stalls while extracting, retrieval latency at 10,000 chunks.

Each number comes with a baseline measured in the same run on the same machine:

* extraction pages/s vs a bare pypdf ``extract_text`` loop (what our detection, cleaning and chunking cost);
* the longest stall of a 5 ms timer loop (standing in for the GUI event loop) while a worker thread extracts,
  vs the same loop idle;
* FTS5 BM25 search latency vs a brute-force Python scan scoring every chunk, and the index build time.

Run: ``python tests/bench/bench_documents.py --json out.json`` (``--pages``/``--chunks`` to change sizes).
Import ``run(pages=..., chunks=...)`` for a smoke run.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import re
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "app") not in sys.path:
    sys.path.insert(0, str(ROOT / "app"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hearth.core.documents import AnchorKind, DocumentKind, ExtractedDocument, Section, extract_bytes  # noqa: E402
from hearth.core.retrieval import PassageIndex, query_terms, select_context  # noqa: E402
from tests.bench import print_and_save  # noqa: E402
from tests.fixtures.documents import filler, make_pdf, report_pages  # noqa: E402

QUESTIONS = (
    "How many megawatts did the Zanzibar reactor produce?",
    "What colour was the Quillfeather bridge painted?",
    "Who was appointed chief archivist?",
    "What did the budget committee decide about travel policy?",
    "Summarize the maintenance schedule risks",
)


def _pypdf_baseline(data: bytes) -> int:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return sum(1 for page in reader.pages if page.extract_text() is not None)


def _best_of(repeats: int, fn: Any, *args: Any) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def _timer_stall(work: Any | None, min_seconds: float) -> tuple[float, float]:
    """Longest lateness (ms) of a 5 ms sleep loop while ``work`` runs in a thread (or for ``min_seconds`` idle)."""
    done = threading.Event()
    if work is not None:
        thread = threading.Thread(target=lambda: (work(), done.set()), daemon=True)
        thread.start()
    else:
        threading.Timer(min_seconds, done.set).start()
    worst = 0.0
    lateness = []
    while not done.is_set():
        start = time.perf_counter()
        time.sleep(0.005)
        late = (time.perf_counter() - start - 0.005) * 1000
        lateness.append(late)
        worst = max(worst, late)
    return worst, statistics.median(lateness) if lateness else 0.0


def bench_extraction(pages: int, repeats: int) -> dict[str, Any]:
    data = make_pdf(report_pages(pages))
    baseline_s = _best_of(repeats, _pypdf_baseline, data)
    ours_s = _best_of(repeats, extract_bytes, data, "bench.pdf")
    doc = extract_bytes(data, "bench.pdf")
    stall_ms, median_ms = _timer_stall(lambda: extract_bytes(data, "bench.pdf"), 0)
    idle_ms, idle_median_ms = _timer_stall(None, min(ours_s, 2.0))
    return {
        "pages": pages,
        "pdf_bytes": len(data),
        "passages": len(doc.passages),
        "pypdf_pages_per_s": round(pages / baseline_s, 1),
        "hearth_pages_per_s": round(pages / ours_s, 1),
        "hearth_vs_pypdf_ratio": round(baseline_s / ours_s, 3),
        "timer_max_stall_ms_during_extraction": round(stall_ms, 2),
        "timer_median_lateness_ms_during_extraction": round(median_ms, 2),
        "timer_max_stall_ms_idle": round(idle_ms, 2),
        "timer_median_lateness_ms_idle": round(idle_median_ms, 2),
    }


def _synthetic_document(chunks: int) -> ExtractedDocument:
    """A PDF-like document of ``chunks`` passages (two per page), with the known facts on their pages."""
    sections = []
    for page in range(1, chunks // 2 + 1):
        text = filler(page, 8) + "\n\n" + filler(page + 10**6, 8)
        if page in (7, 12, 27):
            text += "\n" + report_pages(27)[page - 1].split("\n")[-2]
        sections.append(Section(AnchorKind.PAGE, text, page=page))
    return ExtractedDocument("big.pdf", "0" * 64, DocumentKind.PDF, 0, tuple(sections), page_count=len(sections))


def _brute_force(question: str, texts: list[list[str]], limit: int) -> list[int]:
    terms = query_terms(question)
    scored = []
    for i, words in enumerate(texts):
        counts = Counter(words)
        score = sum(counts[t] for t in terms)
        if score:
            scored.append((-score, i))
    scored.sort()
    return [i for _, i in scored[:limit]]


def bench_retrieval(chunks: int, repeats: int) -> dict[str, Any]:
    doc = _synthetic_document(chunks)
    index = PassageIndex()
    build_s = _best_of(1, index.add, doc)
    search_ms = []
    for question in QUESTIONS:
        for _ in range(repeats):
            start = time.perf_counter()
            index.search(question, limit=64)
            search_ms.append((time.perf_counter() - start) * 1000)
    select_ms = []
    for question in QUESTIONS:
        start = time.perf_counter()
        select_context(question, [doc], 3000, ranker=index)
        select_ms.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    select_context(QUESTIONS[0], [doc], 3000)
    cold_select_ms = (time.perf_counter() - start) * 1000
    index.close()
    # Baseline: score every chunk in Python by query-term counts (words pre-split, as an index would keep them).
    words = [re.findall(r"\w+", p.text.lower()) for p in doc.passages]
    brute_ms = []
    for question in QUESTIONS:
        for _ in range(repeats):
            start = time.perf_counter()
            _brute_force(question, words, 64)
            brute_ms.append((time.perf_counter() - start) * 1000)
    search = statistics.median(search_ms)
    brute = statistics.median(brute_ms)
    return {
        "chunks": len(doc.passages),
        "questions": len(QUESTIONS),
        "fts_index_build_ms": round(build_s * 1000, 1),
        "fts_search_median_ms": round(search, 2),
        "fts_search_max_ms": round(max(search_ms), 2),
        "brute_force_scan_median_ms": round(brute, 2),
        "brute_force_scan_max_ms": round(max(brute_ms), 2),
        "brute_force_vs_fts_median_ratio": round(brute / search, 1),
        "brute_force_vs_fts_worst_ratio": round(max(brute_ms) / max(search_ms), 1),
        "select_context_median_ms_with_index": round(statistics.median(select_ms), 2),
        "select_context_max_ms_with_index": round(max(select_ms), 2),
        "select_context_ms_cold_including_index_build": round(cold_select_ms, 1),
    }


def run(pages: int = 300, chunks: int = 10_000, repeats: int = 3) -> dict[str, Any]:
    """Run both benchmarks; small sizes make a smoke run."""
    return {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "extraction": bench_extraction(pages, repeats),
        "retrieval": bench_retrieval(chunks, repeats),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    results = run(args.pages, args.chunks, args.repeats)
    return print_and_save(results, args.json)


if __name__ == "__main__":
    sys.exit(main())
