"""Full-text search over every message (SQLite FTS5), ranked by relevance, newest first among equals.

What the user types is never passed to FTS5 as syntax: words become quoted terms (all must match), text in double
quotes is a phrase, and the last word also matches as a prefix while the user is still typing it. So ``c++``,
``AND``, a lone quote or ``*`` search for what they say instead of raising a syntax error.

Ranking is bm25 over the newest ``candidate_cap`` (2,000) matching messages. For most words that is every match;
for a word found in half of all messages it is the most relevant of the recent ones. This keeps every search to one
pass over the index, a few milliseconds at 200,000 messages, where scoring all 100,000 matches of a common word
takes over a second on a slow machine (see ``tests/bench/bench_store.py``). ``count`` still counts every match.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from hearth.core.store.db import Database
from hearth.core.store.records import Role
from hearth.core.store.snippets import (
    ELLIPSIS,
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    QueryTerm,
    make_snippet,
    parse_query,
)
from hearth.core.thinking import without_thinking_blocks

__all__ = ["ELLIPSIS", "HIGHLIGHT_END", "HIGHLIGHT_START", "Search", "SearchHit", "fts_query"]

CANDIDATE_CAP = 2000
_MAX_ROWID = 2**63 - 1


@dataclass(frozen=True)
class SearchHit:
    """One matching message.

    Attributes:
        conversation_id, message_id: where to jump (``MessageTree.select(message_id)`` shows its branch).
        conversation_title: for the result list.
        role: who wrote the message.
        snippet: the matching passage; matches are wrapped in ``HIGHLIGHT_START``/``HIGHLIGHT_END`` (control
            characters, never in visible text) and cut ends are marked with "…".
        created: when the message was written.
        score: FTS5's bm25 rank (lower is better).
    """

    conversation_id: int
    conversation_title: str
    message_id: int
    role: Role
    snippet: str
    created: float
    score: float

    def snippet_parts(self) -> list[tuple[str, bool]]:
        """The snippet as ``(text, highlighted)`` pieces, for rendering without parsing markers."""
        parts: list[tuple[str, bool]] = []
        highlighted = False
        for piece in re.split(f"({HIGHLIGHT_START}|{HIGHLIGHT_END})", self.snippet):
            if piece == HIGHLIGHT_START:
                highlighted = True
            elif piece == HIGHLIGHT_END:
                highlighted = False
            elif piece:
                parts.append((piece, highlighted))
        return parts


def fts_query(text: str) -> str | None:
    """The FTS5 query for what the user typed, or None when it has nothing to search for."""
    return _fts(parse_query(text))


def _fts(terms: list[QueryTerm]) -> str | None:
    # Terms hold only letters, digits and spaces, so quoting them needs no escaping.
    return " ".join(f'"{t.text}"' + ("*" if t.prefix else "") for t in terms) or None


class Search:
    """Searches the messages of conversations that are not deleted."""

    def __init__(self, db: Database, *, candidate_cap: int = CANDIDATE_CAP) -> None:
        self._db = db
        self._cap = candidate_cap

    def messages(
        self, text: str, *, limit: int = 50, offset: int = 0, conversation_id: int | None = None
    ) -> list[SearchHit]:
        """Messages matching ``text``, best first (bm25), newer first among equal scores.

        Args:
            text: what the user typed.
            limit, offset: a page of results (pages reach as far as the ranked candidates).
            conversation_id: search one conversation only.
        """
        terms = parse_query(text)
        query = _fts(terms)
        if query is None or limit <= 0:
            return []
        with self._db.read() as conn:
            bounds = (0, _MAX_ROWID)
            if conversation_id is not None:
                lo, hi = conn.execute(
                    "SELECT min(id), max(id) FROM messages WHERE conversation_id = ?", (conversation_id,)
                ).fetchone()
                if lo is None:
                    return []
                bounds = (int(lo), int(hi))
            # One pass over the index: the newest matches with their scores.
            candidates = conn.execute(
                "SELECT rowid, rank FROM message_fts WHERE message_fts MATCH ? AND rowid BETWEEN ? AND ?"
                " ORDER BY rowid DESC LIMIT ?",
                (query, bounds[0], bounds[1], self._cap),
            ).fetchall()
            # Equal scores: the newer message first (ids follow creation; imported conversations get new ids).
            ranked = sorted(((float(score), -int(rowid)) for rowid, score in candidates))
            ids = [-neg_id for _, neg_id in ranked]
            scores = {-neg_id: score for score, neg_id in ranked}
            hits = self._visible(conn, ids, offset + limit, conversation_id)
        page = hits[offset : offset + limit]
        return [
            SearchHit(
                conversation_id=row["conversation_id"],
                conversation_title=row["title"],
                message_id=row["id"],
                role=Role(row["role"]),
                snippet=make_snippet(without_thinking_blocks(row["content"]), terms),
                created=row["created"],
                score=scores[row["id"]],
            )
            for row in page
        ]

    def count(self, text: str) -> int:
        """How many messages match in conversations not deleted (for "1,234 results")."""
        query = fts_query(text)
        if query is None:
            return 0
        with self._db.read() as conn:
            total = int(
                conn.execute("SELECT count(*) FROM message_fts WHERE message_fts MATCH ?", (query,)).fetchone()[0]
            )
            # Conversations in the undo window are few and small: subtract their matches one by one.
            hidden = {
                int(r[0])
                for r in conn.execute(
                    "SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                    " WHERE c.deleted_at IS NOT NULL"
                )
            }
            if hidden:
                matching = conn.execute(
                    "SELECT rowid FROM message_fts WHERE message_fts MATCH ? AND rowid BETWEEN ? AND ?",
                    (query, min(hidden), max(hidden)),
                )
                total -= sum(1 for r in matching if r[0] in hidden)
        return total

    @staticmethod
    def _visible(
        conn: sqlite3.Connection, ids: list[int], wanted: int, conversation_id: int | None
    ) -> list[sqlite3.Row]:
        """The rows of the first ``wanted`` ids (in rank order) that are in visible conversations (and scope)."""
        found: list[sqlite3.Row] = []
        scope = " AND m.conversation_id = ?" if conversation_id is not None else ""
        start, step = 0, wanted + 20
        while start < len(ids) and len(found) < wanted:
            chunk = ids[start : start + step]
            marks = ", ".join("?" for _ in chunk)
            rows = conn.execute(
                f"SELECT m.id, m.conversation_id, m.role, m.content, m.created, c.title FROM messages m"
                f" JOIN conversations c ON c.id = m.conversation_id"
                f" WHERE m.id IN ({marks}) AND c.deleted_at IS NULL{scope}",
                (*chunk, *([conversation_id] if conversation_id is not None else [])),
            ).fetchall()
            by_id = {row["id"]: row for row in rows}
            found += [by_id[i] for i in chunk if i in by_id]
            start += step
            step = min(step * 4, 2000)  # hidden rows pushed some out: look further, in bigger steps
        return found[:wanted]
