"""Cutting sections into passages of a few hundred tokens that overlap slightly.

Passages end at natural boundaries: lines for numbered text (code, tables, paragraphs of a Word file), sentences
and blank lines for prose. A piece longer than a passage (a minified line, a sentence without stops) is split at
whitespace, or anywhere as a last resort. The next passage starts with the last units of the previous one (up to
``overlap_chars``), so a fact that straddles a boundary is whole in at least one passage.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from hearth.core.documents.model import ChunkOptions, Passage, Section

# A sentence ends after . ! ? (and closing quotes/brackets) followed by whitespace; a blank line ends a paragraph.
_PROSE_BREAK = re.compile(r"(?<=[.!?])[\"'’”)\]]*\s+|\n[ \t]*\n\s*")
_NEWLINE = re.compile(r"\n")


def _line_units(text: str) -> list[tuple[int, int]]:
    units: list[tuple[int, int]] = []
    pos = 0
    for m in _NEWLINE.finditer(text):
        units.append((pos, m.end()))
        pos = m.end()
    if pos < len(text):
        units.append((pos, len(text)))
    return units


def _prose_units(text: str) -> list[tuple[int, int]]:
    units: list[tuple[int, int]] = []
    pos = 0
    for m in _PROSE_BREAK.finditer(text):
        if m.end() > pos:
            units.append((pos, m.end()))
            pos = m.end()
    if pos < len(text):
        units.append((pos, len(text)))
    return units


def _split_long(text: str, units: list[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """Split units longer than ``limit`` at the last whitespace before the limit (or hard, if there is none)."""
    out: list[tuple[int, int]] = []
    for start, end in units:
        while end - start > limit:
            cut = text.rfind(" ", start + limit // 2, start + limit)
            cut = start + limit if cut < 0 else cut + 1
            out.append((start, cut))
            start = cut
        if end > start:
            out.append((start, end))
    return out


def _pack(units: Sequence[tuple[int, int]], target: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy packing of consecutive units into spans of at most ``target`` characters, overlapping by whole units."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(units)
    while i < n:
        start = units[i][0]
        j = i + 1
        while j < n and units[j][1] - start <= target:
            j += 1
        spans.append((start, units[j - 1][1]))
        if j >= n:
            break
        # Step back over whole units that fit in the overlap; always move forward at least one unit.
        k = j
        while k - 1 > i and units[j - 1][1] - units[k - 1][0] <= overlap:
            k -= 1
        i = k
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def section_spans(section: Section, options: ChunkOptions) -> list[tuple[int, int]]:
    """Character spans of ``section.text`` that become passages (whitespace-trimmed, never empty)."""
    text = section.text
    budget = max(100, options.target_chars - len(section.preamble))
    units = _line_units(text) if section.numbered else _prose_units(text)
    units = _split_long(text, units, budget)
    spans = []
    for start, end in _pack(units, budget, options.overlap_chars):
        start, end = _trim(text, start, end)
        if end > start:
            spans.append((start, end))
    return spans


def cut_passages(doc_name: str, sections: Sequence[Section], options: ChunkOptions) -> tuple[Passage, ...]:
    """All passages of a document, in order, each labelled with its page, heading or line range."""
    passages: list[Passage] = []
    for s_index, section in enumerate(sections):
        newlines: list[int] = []
        if section.numbered:
            newlines = [m.start() for m in _NEWLINE.finditer(section.text)]
        for start, end in section_spans(section, options):
            if section.numbered:
                # bisect over newline offsets: counting per passage would be quadratic on a large text file.
                first = section.first_line + bisect.bisect_left(newlines, start)
                last = section.first_line + bisect.bisect_left(newlines, end - 1)
                anchor = section.anchor(first, last)
                label = f"{doc_name} {anchor}"
            else:
                label = section.span_label(doc_name, start, end)
            passages.append(
                Passage(
                    index=len(passages),
                    section=s_index,
                    start=start,
                    end=end,
                    label=label,
                    text=section.shown_text(start, end),
                )
            )
    return tuple(passages)
