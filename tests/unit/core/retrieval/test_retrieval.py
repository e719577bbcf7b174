"""Choosing what goes into the prompt, the prompt's labels, and checking citations, on documents the tests make."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth.core.documents import ExtractedDocument, extract_bytes, extract_document
from hearth.core.retrieval import (
    Mode,
    PassageIndex,
    RetrievalResult,
    build_prompt,
    estimate_tokens,
    extract_citations,
    named_pages,
    query_terms,
    select_context,
)
from tests.fixtures.documents import FACTS, make_docx, make_large_text, make_pdf, report_pages


@pytest.fixture(scope="module")
def report() -> ExtractedDocument:
    return extract_bytes(make_pdf(report_pages(40)), "report.pdf")


@pytest.fixture(scope="module")
def memo(tmp_path_factory: pytest.TempPathFactory) -> ExtractedDocument:
    return extract_document(make_docx(tmp_path_factory.mktemp("docx") / "memo.docx"))


QUESTIONS = {
    7: "What colour was the Quillfeather bridge painted?",
    12: "How many megawatts did the Zanzibar reactor produce?",
    27: "Who was appointed chief archivist of the library?",
}


@pytest.mark.parametrize("page", sorted(QUESTIONS))
def test_the_right_page_is_chosen_for_a_known_fact(report: ExtractedDocument, page: int) -> None:
    result = select_context(QUESTIONS[page], [report], 1500)
    assert result.choices[0].mode is Mode.PASSAGES
    assert f"report.pdf p.{page}" in result.labels
    fact_blocks = [b for b in result.blocks if " ".join(FACTS[page].split()) in " ".join(b.text.split())]
    assert [b.label for b in fact_blocks] == [f"report.pdf p.{page}"]
    assert result.tokens <= result.budget_tokens
    summary = result.choices[0].summary
    assert summary.endswith(f"of {len(report.passages)} passages") and summary != "whole document"


def test_whole_document_when_it_fits(report: ExtractedDocument) -> None:
    result = select_context("anything", [report], 100_000)
    assert [c.summary for c in result.choices] == ["whole document"]
    assert result.labels == tuple(f"report.pdf p.{n}" for n in range(1, 41))
    assert result.tokens <= 100_000


def test_blocks_are_in_page_order_and_adjacent_passages_merge(report: ExtractedDocument) -> None:
    result = select_context(QUESTIONS[12] + " " + QUESTIONS[7], [report], 3000)
    pages = [report.sections[b.section].page for b in result.blocks]
    assert pages == sorted(pages)
    assert all(b.text in report.sections[b.section].text for b in result.blocks)
    merged = [b for b in result.blocks if len(b.passages) > 1]
    assert all(b.passages == tuple(sorted(b.passages)) for b in merged)


def test_budget_is_respected_with_any_counter(report: ExtractedDocument) -> None:
    def words(text: str) -> int:
        return len(text.split())

    for budget in (300, 800, 2000):
        result = select_context(QUESTIONS[12], [report], budget, count_tokens=words)
        assert result.tokens <= budget
    tiny = select_context(QUESTIONS[12], [report], 50)
    assert tiny.choices[0].mode is Mode.NONE and not tiny.blocks
    assert "no room" in tiny.choices[0].summary


def test_pinned_document_stays_whole_when_it_fits(report: ExtractedDocument, memo: ExtractedDocument) -> None:
    budget = 1200
    plain = select_context(QUESTIONS[12], [report, memo], budget)
    assert plain.choices[1].mode is Mode.WHOLE  # small enough for its fair share anyway
    short = extract_bytes(make_pdf(report_pages(3)), "short.pdf")  # ~1,300 tokens: more than a fair half
    unpinned = select_context(QUESTIONS[12], [short, report], 2500)
    assert unpinned.choices[0].mode is Mode.PASSAGES
    pinned = select_context(QUESTIONS[12], [short, report], 2500, pinned={short.sha256})
    assert pinned.choices[0].mode is Mode.WHOLE and pinned.choices[0].summary == "whole document (pinned)"
    assert pinned.choices[1].mode is Mode.PASSAGES and "report.pdf p.12" in pinned.labels
    assert pinned.tokens <= 2500
    too_big = select_context(QUESTIONS[12], [report], budget, pinned={report.sha256})
    assert too_big.choices[0].mode is Mode.PASSAGES
    assert too_big.choices[0].summary.startswith("pinned, but too long for this model's context:")


def test_small_documents_whole_and_the_big_one_as_passages(report: ExtractedDocument,
                                                          memo: ExtractedDocument) -> None:
    result = select_context("What is the travel budget of the Lisbon office?", [report, memo], 2000)
    assert [c.mode for c in result.choices] == [Mode.PASSAGES, Mode.WHOLE]
    assert "memo.docx §Budget" in result.labels
    assert [b.name for b in result.blocks] == sorted((b.name for b in result.blocks), key=["report.pdf",
                                                                                           "memo.docx"].index)


def test_docx_and_large_text_facts_are_found(tmp_path: Path, memo: ExtractedDocument) -> None:
    log = extract_document(make_large_text(tmp_path / "server.log", lines=20_000, fact_line=12_345))
    result = select_context("When does the backup password rotation happen?", [log, memo], 1500)
    fact = [b for b in result.blocks if "ninth Tuesday" in b.text]
    assert len(fact) == 1
    first, last = (int(n) for n in fact[0].label.removeprefix("server.log lines ").split("-"))
    assert first <= 12_345 <= last
    walnut = select_context("What are the standing desks made of?", [log, memo], 400)
    assert any("walnut" in b.text and b.label == "memo.docx §Equipment" for b in walnut.blocks)


def test_named_pages_come_first(report: ExtractedDocument) -> None:
    assert named_pages("What is on page 20, and pp. 3-4?") == {3, 4, 20}
    result = select_context("What does page 33 say?", [report], 600)
    assert "report.pdf p.33" in result.labels


def test_a_question_without_keywords_spreads_over_the_document(report: ExtractedDocument) -> None:
    assert query_terms("What is this about?") == []
    result = select_context("What is this about?", [report], 2500)
    pages = sorted({report.sections[b.section].page or 0 for b in result.blocks})
    assert len(pages) >= 4 and pages[0] == 1 and pages[-1] >= 25


def test_duplicate_names_are_told_apart(report: ExtractedDocument) -> None:
    other = extract_bytes(make_pdf(["Another report entirely."]), "report.pdf")
    result = select_context("report", [report, other], 100_000)
    assert [c.name for c in result.choices] == ["report.pdf", "report (2).pdf"]
    assert "report (2).pdf p.1" in result.labels


def test_prompt_labels_passages_and_asks_for_citations(report: ExtractedDocument) -> None:
    result = select_context(QUESTIONS[12], [report], 1500)
    prompt = build_prompt(result)
    assert prompt.endswith("Question: " + QUESTIONS[12])
    assert "[report.pdf p.12]\n" in prompt
    assert "cite the passage's label exactly as written, in square brackets, for example [report.pdf p." in prompt
    assert f"of the {len(report.passages)} passages of report.pdf are included" in prompt
    nothing = select_context("hello", [], 1000)
    assert build_prompt(nothing) == "hello"


def test_result_round_trips_for_storage(report: ExtractedDocument) -> None:
    result = select_context(QUESTIONS[7], [report], 1500)
    assert RetrievalResult.from_dict(result.to_dict()) == result
    assert result.blocks_for("report.pdf p.7")


def test_file_index_is_reused_by_hash(tmp_path: Path, report: ExtractedDocument) -> None:
    path = tmp_path / "index.sqlite"
    with PassageIndex(path) as index:
        index.add(report)
        hits = index.search(QUESTIONS[12], limit=3)
        assert report.passages[hits[0].index].label == "report.pdf p.12"
    with PassageIndex(path) as again:
        assert again.contains(report.sha256)
        result = select_context(QUESTIONS[27], [report], 1500, ranker=again)
        assert "report.pdf p.27" in result.labels
        again.remove(report.sha256)
        assert not again.contains(report.sha256) and again.search(QUESTIONS[12], limit=3) == []


def test_token_estimate() -> None:
    assert estimate_tokens("a" * 35) == 10
    assert estimate_tokens("日本語") == 3


GIVEN = ["report.pdf p.12", "report.pdf p.13", "main.py lines 40-80", "notes.md §Set up, part 2", "guide.html"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("It made 417 MW [report.pdf p.12].", [("report.pdf p.12", True)]),
        ("See [report.pdf, page 12].", [("report.pdf, page 12", True)]),
        ("See [p. 12; report.pdf p.13].", [("p. 12", True), ("report.pdf p.13", True)]),
        ("See [report.pdf pp. 12-13].", [("report.pdf pp. 12-13", True)]),
        ("See [report p.13].", [("report p.13", True)]),
        ("See (report.pdf p.12).", [("report.pdf p.12", True)]),
        ("Invented [report.pdf p.99] and [other.pdf p.2].", [("report.pdf p.99", False), ("other.pdf p.2", False)]),
        ("Mixed [p.12, p.99].", [("p.12", True), ("p.99", False)]),
        ("Lines [main.py lines 45-50] but not [main.py lines 70-95].",
         [("main.py lines 45-50", True), ("main.py lines 70-95", False)]),
        ("Heading [notes.md §Set up, part 2].", [("notes.md §Set up, part 2", True)]),
        ("Whole page [guide.html].", [("guide.html", True)]),
        ("Not citations: [1], [sic], [link](http://x), (see above).", []),
    ],
)
def test_citations_are_found_and_checked(answer: str, expected: list[tuple[str, bool]]) -> None:
    found = extract_citations(answer, GIVEN)
    assert [(c.text, c.known) for c in found] == expected
    for citation in found:
        assert answer[citation.start] in "[(" and answer[citation.end - 1] in "])"
        assert all(label in GIVEN for label in citation.labels)


def test_index_is_usable_from_a_worker_thread(report: ExtractedDocument) -> None:
    import threading

    found: list[str] = []
    with PassageIndex() as index:
        index.add(report)

        def search() -> None:
            found.extend(report.passages[h.index].label for h in index.search(QUESTIONS[27], limit=1))

        worker = threading.Thread(target=search)
        worker.start()
        worker.join(timeout=30)
    assert found == ["report.pdf p.27"]
