"""Cutting sections into passages: bounded size, full coverage, slight overlap, labels from line numbers."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hearth.core.documents import AnchorKind, ChunkOptions, Section
from hearth.core.documents.chunking import cut_passages, section_spans

OPTIONS = ChunkOptions(target_chars=300, overlap_chars=60)
_text = st.text(alphabet=st.sampled_from("abc de.\n !?"), max_size=3000)


def _covered(text: str, spans: list[tuple[int, int]]) -> set[int]:
    return {i for start, end in spans for i in range(start, end)}


@settings(max_examples=60, deadline=None)
@given(text=_text, numbered=st.booleans())
def test_passages_cover_all_text_and_stay_within_the_target(text: str, numbered: bool) -> None:
    section = Section(AnchorKind.LINES if numbered else AnchorKind.PAGE, text, page=None if numbered else 1)
    spans = section_spans(section, OPTIONS)
    covered = _covered(text, spans)
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    assert all(0 < end - start <= OPTIONS.target_chars for start, end in spans)
    assert spans == sorted(spans)


def test_neighbouring_passages_overlap_a_little() -> None:
    text = " ".join(f"Sentence number {i} says something." for i in range(60))
    spans = section_spans(Section(AnchorKind.PAGE, text, page=3), OPTIONS)
    assert len(spans) > 3
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert 0 < end - start <= OPTIONS.overlap_chars


def test_a_line_without_spaces_is_cut_hard() -> None:
    text = "x" * 1000
    spans = section_spans(Section(AnchorKind.LINES, text), OPTIONS)
    assert [end - start for start, end in spans] == [300, 300, 300, 100]


def test_line_labels_follow_first_line_and_preamble_is_shown() -> None:
    text = "\n".join(f"row {n} | value" for n in range(2, 102))
    section = Section(AnchorKind.ROWS, text, first_line=2, preamble="name | value")
    passages = cut_passages("t.csv", [section], OPTIONS)
    assert passages[0].label.startswith("t.csv rows 2-")
    assert passages[-1].label.endswith("-101")
    for passage in passages:
        first, last = (int(n) for n in passage.label.removeprefix("t.csv rows ").split("-"))
        body = passage.text.split("\n")[1:]
        assert passage.text.startswith("name | value\n")
        assert body[0] == f"row {first} | value" and body[-1] == f"row {last} | value"


def test_single_line_label_and_whole_label() -> None:
    assert cut_passages("a.py", [Section(AnchorKind.LINES, "\n\nx = 1\n", first_line=1)], OPTIONS)[0].label == \
        "a.py line 3"
    assert cut_passages("a.html", [Section(AnchorKind.WHOLE, "hello")], OPTIONS)[0].label == "a.html"


def test_options_are_checked() -> None:
    with pytest.raises(ValueError):
        ChunkOptions(target_chars=50)
    with pytest.raises(ValueError):
        ChunkOptions(target_chars=400, overlap_chars=300)
