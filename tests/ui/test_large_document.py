"""A 500-page PDF dropped on the real window is read in the background: the event loop keeps turning (no visible
freeze while it is ingested: ``FREEZE_MS``), and the answer's context holds the right passage with its page."""

from __future__ import annotations

import os
from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.fixtures.documents import FACTS, make_pdf, report_pages
from tests.ui.lateness import FREEZE_MS, LatenessProbe
from tests.ui.window_support import Harness, build

STALL_LIMIT_MS = FREEZE_MS
PAGES = 500


def ingest(qtbot: QtBot, h: Harness, pdf: Path) -> float:
    """Send a question with ``pdf`` attached; the worst lateness while it is read, stored and the prompt prepared."""
    probe = LatenessProbe()
    h.window.composer.add_files([pdf])
    probe.start()
    h.send(qtbot, "What did the Zanzibar reactor produce?")
    qtbot.waitUntil(h.attachments_read, timeout=180_000)
    worst = probe.stop()
    assert probe.ticks > 0, "the event loop turned while the PDF was read"
    h.wait_idle(qtbot)
    return worst


def test_a_500_page_pdf_never_stalls_the_window(qtbot: QtBot, tmp_path: Path, gemma_path: Path) -> None:
    pdf = tmp_path / "annual-report.pdf"
    make_pdf(report_pages(PAGES), pdf)
    stalls = []
    for attempt in range(2):  # the better of two: the machine's other work can delay any one tick
        h = build(qtbot, tmp_path / f"run{attempt}", gemma_path)
        try:
            stalls.append(ingest(qtbot, h, pdf))
            user, answer = h.controller.branch()
            (attachment,) = h.store.attachments.for_message(user.id)
            assert attachment.file_name == "annual-report.pdf" and attachment.file.page_count == PAGES
            assert answer.run_info is not None
            retrieval = answer.run_info.extra.get("retrieval")
            assert retrieval is not None
            (choice,) = retrieval["choices"]
            assert choice["mode"] == "passages" and choice["passages_total"] >= PAGES, "500 pages do not fit 2,048"
            assert any("annual-report.pdf p.12" in str(block) for block in retrieval["blocks"])
            assert "417 megawatts" in str(retrieval) and FACTS[12].startswith("The Zanzibar")
        finally:
            h.close()
        if stalls[-1] < STALL_LIMIT_MS:
            break
    if os.environ.get("HEARTH_STALL_REPORT"):
        print(f"500-page PDF ingest: worst event-loop lateness {stalls} ms")
    assert min(stalls) < STALL_LIMIT_MS, f"the window stalled {stalls} ms while a {PAGES}-page PDF was read"
