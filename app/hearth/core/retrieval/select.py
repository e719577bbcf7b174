"""Deciding what of the attachments goes into the prompt, within a token budget.

1. Every document whole, when all of them fit.
2. Otherwise pinned documents whole (if they fit), then small documents whole while each takes no more than its
   fair share of what is left, and the rest as passages. What is not pinned may be held to a smaller cap than the
   space left (``hearth.core.retrieval.reading``: what the machine reads in about 10 s, at most half the context),
   and matches far weaker than the best are left out.
3. Passages: pages the question names ("page 12"), then for each document its best match, then the best BM25
   matches overall, then the neighbours of matches (the text around a match often completes it). A document
   that matches nothing (a question such as "summarize this") gets passages spread evenly over its length.
4. Blocks are ordered by document, then by page and position; adjacent passages are merged into one block.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field

from hearth.core.documents.document import ExtractedDocument
from hearth.core.documents.model import DocumentKind
from hearth.core.retrieval.index import PassageIndex, Ranker
from hearth.core.retrieval.prompt import render_prompt
from hearth.core.retrieval.reading import ReadingBudget
from hearth.core.retrieval.result import ContextBlock, DocumentChoice, Mode, RetrievalResult
from hearth.core.retrieval.tokens import TokenCounter, estimate_tokens

_PAGE_REF = re.compile(r"\b(?:pages?|pp?\.|pg\.?)\s*(\d{1,5})(?:\s*(?:-|–|to|and)\s*(\d{1,5}))?", re.I)
_CHARS_PER_TOKEN_CEILING = 12
# Give up filling after this many passages in a row that do not fit.
_MAX_MISSES = 64


def unique_names(documents: Sequence[ExtractedDocument]) -> list[ExtractedDocument]:
    """Documents with distinct display names: a second ``report.pdf`` becomes ``report (2).pdf``."""
    seen: set[str] = set()
    out = []
    for document in documents:
        name = document.name
        if name.lower() in seen:
            stem, dot, suffix = name.rpartition(".")
            stem, dot, suffix = (stem, dot, suffix) if stem else (name, "", "")
            n = 2
            while f"{stem} ({n}){dot}{suffix}".lower() in seen:
                n += 1
            name = f"{stem} ({n}){dot}{suffix}"
            document = document.renamed(name)
        seen.add(name.lower())
        out.append(document)
    return out


def named_pages(question: str) -> set[int]:
    """Pages a question asks about by number: "page 12", "p. 3", "pages 4-6" (ranges up to 20 pages)."""
    pages: set[int] = set()
    for m in _PAGE_REF.finditer(question):
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else first
        if first <= last <= first + 20:
            pages.update(range(first, last + 1))
        else:
            pages.add(first)
    return pages


def _spread(n: int) -> Iterator[int]:
    """0..n-1 in an order that covers the range evenly first: 0, n/2, n/4, 3n/4, ..."""
    if n <= 0:
        return
    yield 0
    seen = {0}
    step = n
    while len(seen) < n:
        step = max(1, step // 2)
        for i in range(step, n, step):
            if i not in seen:
                seen.add(i)
                yield i


@dataclass
class _Selection:
    """Mutable state of one selection: the budget left and the passages chosen per document."""

    count: TokenCounter
    left: int
    chosen: dict[int, set[int]] = field(default_factory=dict)
    costs: dict[tuple[int, int], int] = field(default_factory=dict)
    ranks: dict[tuple[int, int], int] = field(default_factory=dict)  # (document, passage): order of relevance

    def cost(self, documents: Sequence[ExtractedDocument], d: int, p: int) -> int:
        key = (d, p)
        if key not in self.costs:
            passage = documents[d].passages[p]
            self.costs[key] = self.count(f"[{passage.label}]\n{passage.text}\n\n")
        return self.costs[key]

    def take(self, documents: Sequence[ExtractedDocument], d: int, p: int, *, ranked: bool = False) -> bool:
        """Choose a passage if it fits; True when it is (now or already) chosen.

        ``ranked``: it was chosen for matching the question; its rank is the order of such choices."""
        picked = self.chosen.setdefault(d, set())
        if p not in picked:
            cost = self.cost(documents, d, p)
            if cost > self.left:
                return False
            picked.add(p)
            self.left -= cost
        if ranked:
            self.ranks.setdefault((d, p), len(self.ranks))
        return True


def _whole_blocks(document: ExtractedDocument) -> list[ContextBlock]:
    all_passages: dict[int, list[int]] = {}
    for passage in document.passages:
        all_passages.setdefault(passage.section, []).append(passage.index)
    return [
        ContextBlock(document.name, document.sha256, section.span_label(document.name), section.shown_text(),
                     i, 0, len(section.text), tuple(all_passages.get(i, ())))
        for i, section in enumerate(document.sections)
    ]


def _whole_cost(document: ExtractedDocument, budget_tokens: int, count: TokenCounter) -> int:
    """Tokens the whole document takes; estimated without the tokenizer when it is clearly far over the budget.

    No tokenizer in use averages more than ~12 characters a token, so a document with more characters than 12 per
    budget token cannot fit, and tokenizing megabytes to learn that would stall every question.
    """
    if document.char_count > _CHARS_PER_TOKEN_CEILING * max(1, budget_tokens):
        return estimate_tokens(document.text)
    return sum(count(b.render() + "\n\n") for b in _whole_blocks(document))


def _passage_blocks(document: ExtractedDocument, chosen: Collection[int],
                    ranks: dict[int, int] | None = None) -> list[ContextBlock]:
    """Chosen passages as blocks in document order, overlapping or touching passages of a section merged."""
    blocks: list[ContextBlock] = []
    spans: list[tuple[int, int, int, list[int]]] = []  # section, start, end, passages
    for p in sorted(chosen, key=lambda i: (document.passages[i].section, document.passages[i].start)):
        passage = document.passages[p]
        if spans and spans[-1][0] == passage.section and passage.start <= spans[-1][2] + 1:
            at, start, end, members = spans[-1]
            spans[-1] = (at, start, max(end, passage.end), [*members, p])
        else:
            spans.append((passage.section, passage.start, passage.end, [p]))
    for section_index, start, end, members in spans:
        section = document.sections[section_index]
        if len(members) == 1:
            passage = document.passages[members[0]]
            label, text = passage.label, passage.text
        else:
            label, text = section.span_label(document.name, start, end), section.shown_text(start, end)
        member_ranks = [ranks[m] for m in members if ranks and m in ranks]
        blocks.append(ContextBlock(document.name, document.sha256, label, text, section_index, start, end,
                                   tuple(members), min(member_ranks) if member_ranks else None))
    return blocks


def select_context(
    question: str,
    documents: Sequence[ExtractedDocument],
    budget_tokens: int,
    *,
    count_tokens: TokenCounter = estimate_tokens,
    pinned: Collection[str] = (),
    ranker: Ranker | None = None,
    reading: ReadingBudget | None = None,
) -> RetrievalResult:
    """Choose what of the attached documents goes into the prompt.

    Args:
        question: the user's question (ranks passages; it is also part of the prompt and of its cost).
        documents: the attachments, in the order the user added them.
        budget_tokens: tokens the whole user message may take (see ``hearth.core.chat.budget``).
        count_tokens: the model's tokenizer, or ``estimate_tokens``.
        pinned: sha256 of documents the user wants whole; honoured when they fit.
        ranker: an index to search (e.g. a ``PassageIndex`` kept for the conversation); None builds a temporary
            in-memory one when passages are needed.
        reading: the limits by time and relevance for what is not pinned (``reading_budget``); pinned documents
            are limited by ``budget_tokens`` alone. None: only the space limits.

    Returns:
        The blocks for the prompt and, per document, what was used. ``build_prompt(result)`` gives the text.
    """
    documents = unique_names(documents)
    overhead = count_tokens(render_prompt(question, [], [
        DocumentChoice(d.name, d.sha256, Mode.PASSAGES, len(d.passages), len(d.passages)) for d in documents
    ]))
    whole_cost = [_whole_cost(d, budget_tokens, count_tokens) for d in documents]
    left = budget_tokens - overhead
    pinned_set = set(pinned)
    modes: dict[int, Mode] = {}
    for d, document in enumerate(documents):
        if document.sha256 in pinned_set and whole_cost[d] <= left:
            modes[d] = Mode.WHOLE
            left -= whole_cost[d]
    limit = ""
    if reading is not None and reading.tokens is not None and reading.tokens - overhead < left:
        left = reading.tokens - overhead
        limit = reading.reason
    rest = sorted((d for d in range(len(documents)) if d not in modes), key=lambda d: whole_cost[d])
    if sum(whole_cost[d] for d in rest) <= left:
        modes.update(dict.fromkeys(rest, Mode.WHOLE))
        left -= sum(whole_cost[d] for d in rest)
    else:
        for n, d in enumerate(rest):
            if whole_cost[d] > left / (len(rest) - n):
                break
            modes[d] = Mode.WHOLE
            left -= whole_cost[d]
    selection = _Selection(count_tokens, max(0, left))
    partial = [d for d in range(len(documents)) if d not in modes]
    if partial:
        _choose_passages(question, documents, partial, selection, ranker,
                         reading.min_relative_score if reading is not None else 0.0)
    blocks: list[ContextBlock] = []
    choices: list[DocumentChoice] = []
    for d, document in enumerate(documents):
        total = len(document.passages)
        is_pinned = document.sha256 in set(pinned)
        if modes.get(d) is Mode.WHOLE:
            blocks.extend(_whole_blocks(document))
            choices.append(DocumentChoice(document.name, document.sha256, Mode.WHOLE, total, total, is_pinned,
                                          whole_cost[d]))
            continue
        chosen = selection.chosen.get(d, set())
        blocks.extend(_passage_blocks(document, chosen, {p: r for (dd, p), r in selection.ranks.items() if dd == d}))
        mode = Mode.PASSAGES if chosen else Mode.NONE
        choices.append(DocumentChoice(document.name, document.sha256, mode, len(chosen), total, is_pinned,
                                      whole_cost[d]))
    tokens = count_tokens(render_prompt(question, blocks, choices))
    return RetrievalResult(question, tuple(blocks), tuple(choices), tokens, budget_tokens, limit,
                           reading.more if reading is not None else 0)


def _choose_passages(
    question: str,
    documents: Sequence[ExtractedDocument],
    partial: Sequence[int],
    selection: _Selection,
    ranker: Ranker | None,
    min_relative_score: float = 0.0,
) -> None:
    own_index = ranker is None
    index: Ranker = PassageIndex() if ranker is None else ranker
    try:
        by_sha: dict[str, list[int]] = {}
        for d in partial:
            index.add(documents[d])
            by_sha.setdefault(documents[d].sha256, []).append(d)
        average = max(1, sum(selection.cost(documents, d, 0) for d in partial if documents[d].passages)
                      // max(1, len(partial)))
        capacity = selection.left // average + 1
        hits = index.search(question, limit=max(64, 4 * capacity), documents=list(by_sha))
    finally:
        if own_index and isinstance(index, PassageIndex):
            index.close()
    if hits and min_relative_score > 0:
        # BM25 scores are negative, lower is better: keep the hits within the fraction of the best one's strength.
        strongest = min(hit.score for hit in hits)
        if strongest < 0:
            hits = [hit for hit in hits if hit.score <= strongest * min_relative_score]
    ranked: list[tuple[int, int]] = [(d, hit.index) for hit in hits for d in by_sha.get(hit.sha256, ())
                                     if hit.index < len(documents[d].passages)]
    order: list[tuple[int, int]] = []
    named: set[tuple[int, int]] = set()  # passages on pages the question names
    pages = named_pages(question)
    if pages:
        for d in partial:
            if documents[d].kind is DocumentKind.PDF:
                for passage in documents[d].passages:
                    if documents[d].sections[passage.section].page in pages:
                        order.append((d, passage.index))
                        named.add((d, passage.index))
    matched = {d for d, _ in ranked}
    for d in partial:
        best = next((p for dd, p in ranked if dd == d), None)
        if best is not None:
            order.append((d, best))
        elif documents[d].passages:
            order.append((d, 0))
    order.extend(ranked)
    order.extend((d, n) for d, p in ranked for n in (p - 1, p + 1) if 0 <= n < len(documents[d].passages))
    misses = 0
    for d, p in order:
        if selection.left <= 0 or misses >= _MAX_MISSES:
            break
        misses = 0 if selection.take(documents, d, p, ranked=d in matched or (d, p) in named) else misses + 1
    # Documents nothing matched: passages spread evenly over each, taking turns so that all get some.
    spreads = [(d, _spread(len(documents[d].passages))) for d in partial if d not in matched]
    misses = 0
    while spreads and selection.left > 0 and misses < _MAX_MISSES:
        for d, positions in list(spreads):
            position = next(positions, None)
            if position is None:
                spreads.remove((d, positions))
                continue
            misses = 0 if selection.take(documents, d, position) else misses + 1
