"""Finding the citations in an answer and checking them against the labels the model was given.

The model is asked to cite ``[report.pdf p.12]``. Models vary the form (``[report.pdf, page 12]``,
``[p. 12]``, ``[report.pdf pp. 12-13]``, several labels in one bracket separated by ``;``), so citations are
normalized before matching. A citation whose page, section or lines were not among the passages given is kept
with no labels (``known`` False): the GUI shows it as plain text, not as a clickable chip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_BRACKET = re.compile(r"\[([^\[\]\n]{1,300})\](?!\()")
_PAREN = re.compile(r"\(([^()\n]{1,300})\)")
_ANCHOR = re.compile(
    r"(?:^|\s)(?:p\.(?P<p1>\d+)(?:-(?P<p2>\d+))?|§\s*(?P<heading>.+)|(?P<unit>lines?|rows?|¶)\s*(?P<a>\d+)(?:-(?P<b>\d+))?)$"
)
_FILE_NAME = re.compile(r"\.[a-z0-9]{1,5}$")


@dataclass(frozen=True)
class Citation:
    """One citation in an answer.

    Attributes:
        text: the citation as written (inside the brackets; one part when a bracket holds several).
        start, end: span of the whole bracketed expression in the answer (shared by the parts of one bracket).
        labels: the given labels it refers to; empty when it refers to nothing that was given (invented).
    """

    text: str
    start: int
    end: int
    labels: tuple[str, ...]

    @property
    def known(self) -> bool:
        """True when it points at passages the model was really given (clickable)."""
        return bool(self.labels)


def _normalize(text: str) -> str:
    text = text.strip().lower().replace("–", "-").replace("—", "-")
    text = re.sub(r"\s*-\s*", "-", text)
    text = re.sub(r"\b(?:pages?|pp\.?|pg\.?|p\.?)\s*(?=\d)", "p.", text)
    text = re.sub(r"\bsection\s+", "§", text)
    text = re.sub(r"\b(lines?|rows?)\s*(?=\d)", r"\1 ", text)
    # "report.pdf, p.12" is one citation; "p.12, p.13" are two.
    text = re.sub(r"(\.[a-z][a-z0-9]{0,4})[,:]\s*(?=p\.\d|§|lines? |rows? |¶)", r"\1 ", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class _Anchor:
    pages: tuple[int, int] | None = None
    heading: str | None = None
    unit: str | None = None
    lines: tuple[int, int] | None = None


def _split(normalized: str) -> tuple[str, _Anchor]:
    m = _ANCHOR.search(normalized)
    if not m:
        return normalized, _Anchor()
    name = normalized[: m.start()].strip()
    if m.group("p1"):
        first = int(m.group("p1"))
        return name, _Anchor(pages=(first, int(m.group("p2") or first)))
    if m.group("heading"):
        return name, _Anchor(heading=m.group("heading").strip())
    unit = {"line": "lines", "row": "rows"}.get(m.group("unit"), m.group("unit"))
    first = int(m.group("a"))
    return name, _Anchor(unit=unit, lines=(first, int(m.group("b") or first)))


@dataclass(frozen=True)
class _Given:
    label: str
    name: str
    anchor: _Anchor


def _covers(given: list[_Given], first: int, last: int) -> list[str]:
    """Labels whose ranges together cover first..last (all of it), else []."""
    hit = [g for g in given if g.anchor.lines and g.anchor.lines[0] <= last and g.anchor.lines[1] >= first]
    covered: set[int] = set()
    for g in hit:
        assert g.anchor.lines is not None
        covered.update(range(max(first, g.anchor.lines[0]), min(last, g.anchor.lines[1]) + 1))
    return [g.label for g in hit] if len(covered) == last - first + 1 else []


def _resolve(text: str, given: list[_Given], aliases: dict[str, str]) -> tuple[str, ...] | None:
    """The labels a citation refers to; () when it refers to nothing given; None when it is not a citation."""
    normalized = _normalize(text)
    exact = [g.label for g in given if _normalize(g.label) == normalized]
    if exact:
        return tuple(dict.fromkeys(exact))
    cited_name, anchor = _split(normalized)
    name = aliases.get(cited_name) if cited_name else None
    if cited_name and name is None:
        # Names a document that was not given ("[other.pdf p.3]": invented), or is no citation at all ("[1]").
        return () if anchor != _Anchor() or _FILE_NAME.search(cited_name) else None
    pool = [g for g in given if name is None or g.name == name]
    if anchor == _Anchor():
        return tuple(dict.fromkeys(g.label for g in pool))
    if anchor.pages is not None:
        first, last = anchor.pages
        if last < first or last - first > 50:
            return ()
        found: list[str] = []
        for page in range(first, last + 1):
            labels = [g.label for g in pool if g.anchor.pages and g.anchor.pages[0] <= page <= g.anchor.pages[1]]
            if not labels:
                return ()
            found.extend(labels)
        return tuple(dict.fromkeys(found))
    if anchor.heading is not None:
        return tuple(dict.fromkeys(g.label for g in pool if g.anchor.heading == anchor.heading))
    assert anchor.lines is not None
    return tuple(_covers([g for g in pool if g.anchor.unit == anchor.unit], *anchor.lines))


def _parts(inner: str, given: list[_Given], aliases: dict[str, str]) -> list[tuple[str, tuple[str, ...] | None]]:
    """A bracket's citations: one, or several separated by ";" or "," (a label that contains them stays whole)."""
    whole = _resolve(inner, given, aliases)
    if whole:
        return [(inner.strip(), whole)]
    normalized = _normalize(inner)
    for separator in (";", ","):
        if separator in normalized:
            pieces = [p for p in inner.split(separator) if p.strip()]
            resolved = [(p.strip(), _resolve(p, given, aliases)) for p in pieces]
            if any(r is not None for _, r in resolved):
                return [(p, r) for p, r in resolved if r is not None]
    return [(inner.strip(), whole)]


def extract_citations(answer_text: str, given_labels: Iterable[str]) -> list[Citation]:
    """Citations in an answer, in order, each marked with the given labels it refers to.

    Args:
        answer_text: the model's answer.
        given_labels: the labels of the passages the model was given (``RetrievalResult.labels``).

    Square brackets are citations when they name a given document or look like a page/section/line reference
    (``[1]`` or ``[sic]`` are not). Parentheses count only when they name a given document.
    """
    labels = list(dict.fromkeys(given_labels))
    given: list[_Given] = []
    for label in labels:
        name, anchor = _split(_normalize(label))
        given.append(_Given(label, name, anchor))
    names = sorted({g.name for g in given if g.name}, key=len, reverse=True)
    # A model may drop the extension ("[report p.12]"); a stem shared by two documents stays ambiguous.
    aliases: dict[str, str] = {}
    for n in names:
        stem = n.rsplit(".", 1)[0] if "." in n else n
        aliases.setdefault(stem, n)
    aliases.update({n: n for n in names})
    found: list[Citation] = []
    for pattern, strict in ((_BRACKET, False), (_PAREN, True)):
        for m in pattern.finditer(answer_text):
            if strict and not any(n in _normalize(m.group(1)) for n in names):
                continue
            for text, resolved in _parts(m.group(1), given, aliases):
                if resolved is not None:
                    found.append(Citation(text, m.start(), m.end(), resolved))
    found.sort(key=lambda c: c.start)
    return found
