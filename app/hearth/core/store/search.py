"""Full-text search over every message (SQLite FTS5), ranked by relevance, newest first among equals.

What the user types is never passed to FTS5 as syntax: words become quoted terms (all must match), text in double
quotes is a phrase, and the last word also matches as a prefix while the user is still typing it. So ``c++``,
``AND``, a lone quote or ``*`` search for what they say instead of raising a syntax error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hearth.core.store.db import Database
from hearth.core.store.records import Role

# Control characters cannot occur in a message's visible text, so the GUI can split on them and escape the rest.
HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"
ELLIPSIS = "…"
SNIPPET_TOKENS = 16

_CHUNK = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class SearchHit:
    """One matching message.

    Attributes:
        conversation_id, message_id: where to jump (``MessageTree.select(message_id)`` shows its branch).
        conversation_title: for the result list.
        role: who wrote the message.
        snippet: the matching passage; matches are wrapped in ``HIGHLIGHT_START``/``HIGHLIGHT_END``, and cut text
            is marked with "…".
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
    terms: list[str] = []
    chunks = list(_CHUNK.finditer(text))
    for i, match in enumerate(chunks):
        phrase, word = match.group(1), match.group(2)
        chunk = phrase if phrase is not None else word.replace('"', " ")
        if not _WORD.search(chunk):
            continue
        term = '"' + chunk.replace('"', '""') + '"'
        still_typing = i == len(chunks) - 1 and word is not None and not text[-1:].isspace()
        terms.append(term + "*" if still_typing else term)
    return " ".join(terms) if terms else None


class Search:
    """Searches the messages of conversations that are not deleted."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def messages(
        self, text: str, *, limit: int = 50, offset: int = 0, conversation_id: int | None = None
    ) -> list[SearchHit]:
        """Messages matching ``text``, best first (bm25), newer first among equal scores.

        Args:
            text: what the user typed.
            limit, offset: a page of results.
            conversation_id: search one conversation only.
        """
        query = fts_query(text)
        if query is None:
            return []
        scope = "AND m.conversation_id = ?" if conversation_id is not None else ""
        params: list[object] = [query]
        if conversation_id is not None:
            params.append(conversation_id)
        params += [limit, offset]
        # The ranking runs over ids only; snippets are made for the page that is returned, not for every match.
        sql = f"""
            WITH ranked AS (
                SELECT m.id AS id, f.rank AS score
                FROM message_fts f
                JOIN messages m ON m.id = f.rowid
                JOIN conversations c ON c.id = m.conversation_id
                WHERE message_fts MATCH ? {scope} AND c.deleted_at IS NULL
                ORDER BY f.rank, m.created DESC, m.id DESC
                LIMIT ? OFFSET ?
            )
            SELECT m.id, m.conversation_id, c.title, m.role, m.created, r.score,
                   snippet(message_fts, 0, ?, ?, ?, ?) AS snippet
            FROM ranked r
            JOIN message_fts ON message_fts.rowid = r.id AND message_fts MATCH ?
            JOIN messages m ON m.id = r.id
            JOIN conversations c ON c.id = m.conversation_id
            ORDER BY r.score, m.created DESC, m.id DESC
        """
        params += [HIGHLIGHT_START, HIGHLIGHT_END, ELLIPSIS, SNIPPET_TOKENS, query]
        with self._db.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [
            SearchHit(
                conversation_id=r["conversation_id"],
                conversation_title=r["title"],
                message_id=r["id"],
                role=Role(r["role"]),
                snippet=r["snippet"],
                created=r["created"],
                score=r["score"],
            )
            for r in rows
        ]

    def count(self, text: str) -> int:
        """How many messages match (for "1,234 results")."""
        query = fts_query(text)
        if query is None:
            return 0
        with self._db.read() as conn:
            return int(
                conn.execute(
                    "SELECT count(*) FROM message_fts f JOIN messages m ON m.id = f.rowid"
                    " JOIN conversations c ON c.id = m.conversation_id"
                    " WHERE message_fts MATCH ? AND c.deleted_at IS NULL",
                    (query,),
                ).fetchone()[0]
            )
