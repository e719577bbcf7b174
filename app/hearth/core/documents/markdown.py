"""Markdown: sections by heading (``notes.md §Intro``), with fenced code blocks left alone."""

from __future__ import annotations

import re

from hearth.core.documents.model import AnchorKind, Section

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_ATX_EMPTY = re.compile(r"^ {0,3}#{1,6}[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"[*_`]+")


def heading_text(raw: str) -> str:
    """A heading as plain words: links become their text, emphasis and code marks are dropped."""
    return " ".join(_EMPHASIS.sub("", _LINK.sub(r"\1", raw)).split())


def unique_heading(heading: str, seen: dict[str, int]) -> str:
    """``Example``, then ``Example (2)``...: labels must tell sections apart."""
    heading = heading or "(untitled)"
    count = seen.get(heading.lower(), 0) + 1
    seen[heading.lower()] = count
    return heading if count == 1 else f"{heading} ({count})"


def markdown_sections(text: str) -> list[Section]:
    """Split Markdown into a preamble (numbered lines) and one section per heading, the heading line included."""
    lines = text.split("\n")
    # (line index where the section starts, heading or None for the preamble)
    starts: list[tuple[int, str | None]] = [(0, None)]
    fence: str | None = None
    # YAML front matter ("---" ... "---" at the top) is metadata, not headings.
    skip_until = 0
    if lines and lines[0].strip() == "---":
        skip_until = next((i + 1 for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), 0)
    for i, line in enumerate(lines):
        if i < skip_until:
            continue
        fence_match = _FENCE.match(line)
        if fence_match:
            marker = fence_match.group(1)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
            continue
        if fence is not None:
            continue
        atx = _ATX.match(line)
        if atx and not _ATX_EMPTY.match(line):
            starts.append((i, heading_text(atx.group(2))))
        elif (_SETEXT.match(line) and i > skip_until and lines[i - 1].strip()
              and not _ATX.match(lines[i - 1]) and not _FENCE.match(lines[i - 1])):
            # "Title\n=====": the heading starts on the line before the underline.
            if starts[-1][0] == i - 1:
                starts.pop()
            starts.append((i - 1, heading_text(lines[i - 1])))
    sections: list[Section] = []
    seen: dict[str, int] = {}
    for n, (first, heading) in enumerate(starts):
        last = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        body = "\n".join(lines[first:last])
        if not body.strip():
            continue
        if heading is None:
            sections.append(Section(AnchorKind.LINES, body, first_line=first + 1))
        else:
            sections.append(Section(AnchorKind.HEADING, body, heading=unique_heading(heading, seen)))
    return sections
