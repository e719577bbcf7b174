"""What extraction produces: a document's sections (text with anchors) and the passages cut from them.

A *section* is the unit a reader would point at: a PDF page, the text under a heading, a run of lines of a text
file, the rows of a table. A *passage* is a slice of one section, a few hundred tokens long, small enough to rank
and to put in a prompt; passages never cross sections, so a PDF passage always belongs to exactly one page.

The whole document (``ExtractedDocument``, in ``hearth.core.documents.document``) holds its sections and the
passages ``chunking`` cuts from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class DocumentKind(str, Enum):
    """What a file holds, as detected from its name and its content."""

    PDF = "pdf"
    DOCX = "docx"
    TEXT = "text"
    MARKDOWN = "markdown"
    HTML = "html"
    CSV = "csv"
    JSON = "json"
    CODE = "code"
    IMAGE = "image"


class AnchorKind(str, Enum):
    """How a section is pointed at in a label."""

    PAGE = "page"  # report.pdf p.12
    HEADING = "heading"  # notes.md §Intro
    LINES = "lines"  # main.py lines 40-80
    ROWS = "rows"  # data.csv rows 2-40
    PARAGRAPHS = "paragraphs"  # memo.docx ¶3-9
    WHOLE = "whole"  # page.html


# Anchor kinds whose label is a range of numbered lines of the section text (one line = one line/row/paragraph).
_NUMBERED_WORDS = {AnchorKind.LINES: ("line ", "lines "), AnchorKind.ROWS: ("row ", "rows "),
                   AnchorKind.PARAGRAPHS: ("¶", "¶")}


@dataclass(frozen=True)
class Section:
    """A part of a document with one anchor.

    Attributes:
        kind: how the section is pointed at (page, heading, numbered lines...).
        text: the section's text. For numbered kinds each line is one line/row/paragraph of the source.
        page: the 1-based page number (PDF), else None.
        heading: the heading's text (heading sections), else None.
        first_line: the number of the text's first line/row/paragraph in the source (numbered kinds).
        preamble: text shown before every passage of the section (a table's header row), not part of ``text``.
    """

    kind: AnchorKind
    text: str
    page: int | None = None
    heading: str | None = None
    first_line: int = 1
    preamble: str = ""

    @property
    def numbered(self) -> bool:
        return self.kind in _NUMBERED_WORDS

    def line_at(self, offset: int) -> int:
        """The source line/row/paragraph number of the character at ``offset`` (numbered kinds)."""
        return self.first_line + self.text.count("\n", 0, max(0, offset))

    def anchor(self, first: int | None = None, last: int | None = None) -> str:
        """The anchor part of a label; ``first``/``last`` are line numbers for numbered kinds."""
        if self.kind is AnchorKind.PAGE:
            return f"p.{self.page}"
        if self.kind is AnchorKind.HEADING:
            return f"§{self.heading}"
        if self.kind is AnchorKind.WHOLE:
            return ""
        one, many = _NUMBERED_WORDS[self.kind]
        first = self.first_line if first is None else first
        last = first if last is None else last
        return f"{one}{first}" if first == last else f"{many}{first}-{last}"

    def span_label(self, doc_name: str, start: int = 0, end: int | None = None) -> str:
        """The label of ``text[start:end]``, e.g. ``main.py lines 40-80``."""
        end = len(self.text) if end is None else end
        if self.numbered:
            first = start
            while first < end - 1 and self.text[first].isspace():
                first += 1
            last = end - 1
            while last > first and self.text[last].isspace():
                last -= 1
            anchor = self.anchor(self.line_at(first), self.line_at(last))
        else:
            anchor = self.anchor()
        return f"{doc_name} {anchor}" if anchor else doc_name

    def shown_text(self, start: int = 0, end: int | None = None) -> str:
        """``text[start:end]`` as given to a model: with the preamble (a header row) first when there is one."""
        body = self.text[start:end].strip()
        return f"{self.preamble}\n{body}" if self.preamble else body

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind.value, "text": self.text}
        if self.page is not None:
            data["page"] = self.page
        if self.heading is not None:
            data["heading"] = self.heading
        if self.first_line != 1:
            data["first_line"] = self.first_line
        if self.preamble:
            data["preamble"] = self.preamble
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Section:
        return cls(
            kind=AnchorKind(data["kind"]),
            text=str(data["text"]),
            page=data.get("page"),
            heading=data.get("heading"),
            first_line=int(data.get("first_line", 1)),
            preamble=str(data.get("preamble", "")),
        )


@dataclass(frozen=True)
class Passage:
    """A slice of one section, the unit that retrieval ranks.

    Attributes:
        index: position among the document's passages (0-based).
        section: index of the section it belongs to.
        start: offset of its first character in the section's text.
        end: offset just past its last character.
        label: how the prompt and the user refer to it, e.g. ``report.pdf p.12``.
        text: what the model is given (with the section's preamble, if any).
    """

    index: int
    section: int
    start: int
    end: int
    label: str
    text: str


@dataclass(frozen=True)
class ChunkOptions:
    """How sections are cut into passages. ~1,200 characters is ~300 tokens of English prose."""

    target_chars: int = 1200
    overlap_chars: int = 200

    def __post_init__(self) -> None:
        if self.target_chars < 100 or not 0 <= self.overlap_chars < self.target_chars // 2:
            raise ValueError("target_chars must be >= 100 and overlap_chars below half of it")
