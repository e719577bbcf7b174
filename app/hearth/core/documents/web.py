"""HTML: the visible text, in sections by heading (``page.html §Pricing``), with the standard library's parser.

Scripts, styles and other invisible parts are dropped; block elements become line breaks, table cells are
separated by `` | `` and list items start with ``- `` so the structure survives as plain text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hearth.core.documents.markdown import unique_heading
from hearth.core.documents.model import AnchorKind, Section

_HIDDEN = frozenset({"script", "style", "noscript", "template", "head", "svg", "math", "iframe", "object", "select"})
_BLOCK = frozenset(
    (
        "p", "div", "br", "hr", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "thead", "tbody", "tfoot",
        "section", "article", "aside", "header", "footer", "nav", "main", "figure", "figcaption", "blockquote", "pre",
        "form", "fieldset", "legend", "details", "summary", "address", "caption", "h1", "h2", "h3", "h4", "h5", "h6",
    )
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_VOID = frozenset(
    ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr")
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANKS = re.compile(r"\n[ \t]*(\n[ \t]*)+")
_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)


def html_charset(data: bytes) -> str | None:
    """The encoding a page declares in a ``<meta>`` tag near its top, if any."""
    m = _CHARSET.search(data[:4096])
    return m.group(1).decode("ascii") if m else None


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.parts: list[list[str]] = [[]]  # text of each section; parts[0] is the text before any heading
        self.headings: list[str] = []
        self._hidden: list[str] = []  # stack of open invisible elements
        self._in_title = False
        self._heading: list[str] | None = None
        self._pre = 0

    def _out(self, text: str) -> None:
        if self._heading is not None:
            self._heading.append(text)
        self.parts[-1].append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag == "body":
            # Pages often leave <head> unclosed; the body is visible whatever came before.
            self._hidden = [t for t in self._hidden if t != "head"]
            return
        if tag in _HIDDEN:
            if tag not in _VOID:
                self._hidden.append(tag)
            return
        if self._hidden:
            return
        if tag in _HEADINGS:
            self.parts.append([])
            self.headings.append("")
            self._heading = []
        if tag == "pre":
            self._pre += 1
        if tag in _BLOCK:
            self._out("\n")
        if tag == "li":
            self._out("- ")
        elif tag in ("td", "th"):
            self._out(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _HIDDEN:
            # Close up to the matching element; tolerate sloppy nesting.
            if tag in self._hidden:
                while self._hidden and self._hidden.pop() != tag:
                    pass
            return
        if self._hidden:
            return
        if tag == "pre" and self._pre:
            self._pre -= 1
        if tag in _HEADINGS and self._heading is not None:
            self.headings[-1] = " ".join("".join(self._heading).split())
            self._heading = None
        if tag in _BLOCK:
            self._out("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr") and not self._hidden:
            self._out("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if self._hidden:
            return
        self._out(data if self._pre else _SPACES.sub(" ", data.replace("\n", " ")))


def _tidy(text: str) -> str:
    lines = [line.strip() if line.strip() else "" for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def html_sections(text: str) -> tuple[list[Section], str]:
    """The visible text of an HTML page in sections, and the page's title ("" if none)."""
    collector = _TextCollector()
    collector.feed(text)
    collector.close()
    title = " ".join(collector.title.split())
    sections: list[Section] = []
    seen: dict[str, int] = {}
    intro = _tidy("".join(collector.parts[0]))
    if intro:
        if title:
            sections.append(Section(AnchorKind.HEADING, intro, heading=unique_heading(title, seen)))
        else:
            sections.append(Section(AnchorKind.WHOLE, intro))
    for heading, part in zip(collector.headings, collector.parts[1:], strict=True):
        body = _tidy("".join(part))
        if body:
            sections.append(Section(AnchorKind.HEADING, body, heading=unique_heading(heading, seen)))
    return sections, title
