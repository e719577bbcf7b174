"""Passages budgeted by reading time and relevance, on a real multi-page PDF manual."""

from __future__ import annotations

import pytest

from hearth.core.chat.budget import attachment_budget
from hearth.core.documents import ExtractedDocument, extract_bytes
from hearth.core.retrieval import (
    Mode,
    ReadingBudget,
    RetrievalResult,
    build_prompt,
    estimate_tokens,
    estimated_prompt_speed,
    reading_budget,
    select_context,
)
from hearth.core.retrieval.reading import MIN_READ_TOKENS, READ_TO_WRITE_RATIO
from tests.fixtures.documents import MANUAL_ANSWER, MANUAL_ANSWER_PAGE, make_pdf, manual_pages

N_CTX = 8192
QUESTION = "How do I reset the filter reminder light?"


@pytest.fixture(scope="module")
def manual() -> ExtractedDocument:
    return extract_bytes(make_pdf(manual_pages(36)), "aurora-manual.pdf")


def _space() -> int:
    return attachment_budget(N_CTX, max_tokens=1024)


def _pages(result: RetrievalResult) -> set[str]:
    return {block.label for block in result.blocks}


def test_slow_machine_reads_about_ten_seconds() -> None:
    budget = reading_budget(N_CTX, 150.0)
    assert budget.tokens == 1500 and budget.reason == "about 10 s of reading at 150 tokens/s"
    assert reading_budget(N_CTX, 20.0).tokens == MIN_READ_TOKENS, "always a page or two, however slow"


def test_fast_machine_is_held_to_half_the_context() -> None:
    budget = reading_budget(N_CTX, 5000.0)
    assert budget.tokens == N_CTX // 2 and budget.reason == "half the context"
    assert reading_budget(N_CTX, None).tokens == N_CTX // 2, "nothing measured: half the context"


def test_reading_more_doubles_the_time_and_lifts_the_ceiling() -> None:
    once = reading_budget(N_CTX, 150.0, more=1)
    assert once.tokens == N_CTX // 2 and once.more == 1, "never less than the first ask could have taken"
    assert once.min_relative_score < reading_budget(N_CTX, 150.0).min_relative_score
    assert reading_budget(N_CTX, 150.0, more=2).tokens == N_CTX
    assert reading_budget(N_CTX, 5000.0, more=1).tokens == 100_000, "fast: twice the time, past half the context"
    assert reading_budget(N_CTX, None, more=1).tokens == N_CTX // 2
    assert reading_budget(N_CTX, 20.0, more=1).tokens >= reading_budget(N_CTX, 20.0).tokens


def test_prompt_speed_prefers_measurements_to_guesses() -> None:
    assert estimated_prompt_speed(bench=300.0, measured=200.0, expected_writing=10.0) == 300.0
    assert estimated_prompt_speed(measured=200.0, expected_writing=10.0) == 200.0
    assert estimated_prompt_speed(expected_writing=10.0) == 10.0 * READ_TO_WRITE_RATIO
    assert estimated_prompt_speed() is None


def test_manual_question_sends_at_most_half_the_context_and_keeps_the_answer_page(manual: ExtractedDocument) -> None:
    assert len(manual.sections) == 36
    space = _space()
    unlimited = select_context(QUESTION, [manual], space)
    assert unlimited.tokens > N_CTX // 2, "without the reading budget the manual would fill most of the context"
    for speed in (None, 150.0, 5000.0):
        result = select_context(QUESTION, [manual], space, reading=reading_budget(N_CTX, speed))
        assert result.tokens <= N_CTX // 2
        assert f"aurora-manual.pdf p.{MANUAL_ANSWER_PAGE}" in _pages(result), speed
        assert MANUAL_ANSWER.split(",")[0] in build_prompt(result)
        assert result.choices[0].mode is Mode.PASSAGES and result.can_read_more
        assert result.limit



def test_weak_matches_are_left_out(manual: ExtractedDocument) -> None:
    question = "What is the clean air delivery rate?"  # "air" is on every page; the rate on a few
    fast = reading_budget(N_CTX, 5000.0)
    strict = select_context(question, [manual], _space(), reading=fast)
    loose = select_context(question, [manual], _space(), reading=ReadingBudget(fast.tokens, 0.0, fast.reason))
    assert strict.tokens < loose.tokens
    # The last chapter (pages 29-36) holds the rate; a neighbouring passage may reach back one page.
    assert all(int(label.rsplit("p.", 1)[1]) >= 28 for label in _pages(strict)), _pages(strict)
    assert "330 cubic metres per hour" in build_prompt(strict)


def test_read_more_sends_more_of_the_document(manual: ExtractedDocument) -> None:
    first = select_context(QUESTION, [manual], _space(), reading=reading_budget(N_CTX, 150.0))
    more = select_context(QUESTION, [manual], _space(), reading=reading_budget(N_CTX, 150.0, more=1))
    assert more.tokens > first.tokens and more.more == 1
    assert f"aurora-manual.pdf p.{MANUAL_ANSWER_PAGE}" in _pages(more)
    stored = RetrievalResult.from_dict(more.to_dict())
    assert stored.more == 1 and stored.limit == more.limit


def test_a_pinned_document_is_not_held_to_the_reading_budget(manual: ExtractedDocument) -> None:
    short = extract_bytes(make_pdf(manual_pages(8)), "quick-start.pdf")
    whole = estimate_tokens(short.text)
    assert whole > 1500
    result = select_context(QUESTION, [short], _space(), pinned=[short.sha256], reading=reading_budget(N_CTX, 150.0))
    assert result.choices[0].mode is Mode.WHOLE and result.choices[0].pinned
    unpinned = select_context(QUESTION, [short], _space(), reading=reading_budget(N_CTX, 150.0))
    assert unpinned.choices[0].mode is Mode.PASSAGES and unpinned.tokens <= 1500
