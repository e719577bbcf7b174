"""Search terms as the user typed them, and the highlighted passage shown for each hit.

The passage is cut here rather than by FTS5's ``snippet()``: asking FTS5 for a page of snippets re-runs the query
once per hit, and a prefix query ("ello*") re-expands every term that starts with it each time (over a second for
50 hits at 200,000 messages). Words are split and folded the way the index's ``unicode61 remove_diacritics 2``
tokenizer does (letters and digits; case and accents ignored), so what is highlighted is what matched.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"
ELLIPSIS = "…"
SNIPPET_TOKENS = 16

_CHUNK = re.compile(r'"([^"]*)"|(\S+)')
_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class QueryTerm:
    """One thing to find: a word or a quoted phrase; ``prefix`` when its last word is still being typed."""

    text: str
    prefix: bool

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(fold(w) for w in _TOKEN.findall(self.text))


def parse_query(text: str) -> list[QueryTerm]:
    """The terms in what the user typed: words, and phrases in double quotes. All must match.

    The last word, unless followed by a space, also matches as a prefix (the user is still typing it); a single
    letter does not, as it would match nearly everything.
    """
    terms: list[QueryTerm] = []
    chunks = list(_CHUNK.finditer(text))
    for i, match in enumerate(chunks):
        phrase, word = match.group(1), match.group(2)
        chunk = phrase if phrase is not None else word
        words = _TOKEN.findall(chunk)
        if not words:
            continue
        still_typing = i == len(chunks) - 1 and word is not None and not text[-1:].isspace()
        terms.append(QueryTerm(" ".join(words), prefix=still_typing and len(words[-1]) >= 2))
    return terms


def fold(word: str) -> str:
    """A word as the index compares it: without accents, case-folded."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def make_snippet(text: str, terms: list[QueryTerm], *, tokens: int = SNIPPET_TOKENS) -> str:
    """The passage of ``text`` (about ``tokens`` words) with the most matches, matches wrapped in markers.

    Cut ends are marked with "…". Without any match (e.g. only a stem matched), the opening words are shown.
    """
    spans = [(m.start(), m.end(), fold(m.group())) for m in _TOKEN.finditer(text)]
    if not spans:
        return text[:200]
    hits = _hits(spans, terms)
    start = _best_window(hits, len(spans), tokens)
    end = min(len(spans), start + tokens)
    marked = {i for first, last, _ in hits for i in range(first, last) if start <= i < end}
    out: list[str] = [ELLIPSIS] if start > 0 else []
    pos = spans[start][0] if start > 0 else 0
    for i in range(start, end):
        s, e, _ = spans[i]
        out.append(text[pos:s])
        out.append(f"{HIGHLIGHT_START}{text[s:e]}{HIGHLIGHT_END}" if i in marked else text[s:e])
        pos = e
    out.append(ELLIPSIS if end < len(spans) else text[pos:])
    return "".join(out).strip()


def _hits(spans: list[tuple[int, int, str]], terms: list[QueryTerm]) -> list[tuple[int, int, int]]:
    """(first token, end token, term index) of every occurrence of every term."""
    found: list[tuple[int, int, int]] = []
    folded = [w for _, _, w in spans]
    for index, term in enumerate(terms):
        words = term.words
        if not words:
            continue
        for i in range(len(folded) - len(words) + 1):
            if all(folded[i + k] == w for k, w in enumerate(words[:-1])):
                last = folded[i + len(words) - 1]
                if last == words[-1] or (term.prefix and last.startswith(words[-1])):
                    found.append((i, i + len(words), index))
    return sorted(found)


def _best_window(hits: list[tuple[int, int, int]], n_tokens: int, size: int) -> int:
    """The first token of the window showing the most distinct terms, then the most hits, earliest first."""
    if not hits:
        return 0
    lead = size // 4  # a little context before the first hit in the window
    best, best_key = 0, (-1, -1)
    for first, _, _ in hits:
        start = max(0, min(first - lead, n_tokens - size))
        inside = [h for h in hits if h[0] >= start and h[1] <= start + size]
        key = (len({h[2] for h in inside}), len(inside))
        if key > best_key:
            best, best_key = start, key
    return best
