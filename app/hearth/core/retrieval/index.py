"""Ranking passages for a question with SQLite FTS5 (BM25): no extra service, in memory or in a file.

``PassageIndex`` keys documents by sha256, so a file-backed index survives restarts and a document attached again
is not indexed twice. The ``Ranker`` protocol is the seam for other rankers (embeddings from a small GGUF through
the engine, for instance): ``select_context`` only needs ``add`` and ``search``.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

from hearth.core.documents.document import ExtractedDocument
from hearth.core.errors import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS indexed_documents (
    sha256 TEXT PRIMARY KEY,
    chunking TEXT NOT NULL,
    passages INTEGER NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS passage_text USING fts5(
    body, anchor, sha256 UNINDEXED, idx UNINDEXED,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
"""

# Words that say nothing about which passage is relevant. BM25 already discounts common words within the indexed
# text; dropping these keeps short questions from matching every passage.
_STOPWORDS = frozenset(
    (
        "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do", "does", "for",
        "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not",
        "of", "on", "or", "our", "please", "say", "says", "said", "should", "so", "tell", "than", "that", "the",
        "their", "them", "then", "there", "these", "they", "this", "those", "to", "us", "was", "we", "were", "what",
        "when", "where", "which", "who", "whom", "why", "will", "with", "would", "you", "your", "about", "any", "all",
        "also",
    )
)
_WORD = re.compile(r"\w+", re.UNICODE)
_MAX_TERMS = 32


@dataclass(frozen=True)
class Hit:
    """A passage that matches a question: ``index`` into the document's passages; lower ``score`` ranks higher."""

    sha256: str
    index: int
    score: float


class Ranker(Protocol):
    """What ``select_context`` needs from a ranker."""

    def add(self, document: ExtractedDocument) -> None: ...

    def search(self, question: str, *, limit: int, documents: Collection[str] | None = None) -> list[Hit]: ...


def query_terms(question: str) -> list[str]:
    """The words of a question worth searching for, lower-cased, without stopwords, in order, at most 32."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(question.lower()):
        if word in _STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        seen.setdefault(word, None)
    return list(seen)[:_MAX_TERMS]


def _anchor_words(label: str, name: str) -> str:
    # "report.pdf p.12" -> "p 12"; the file name would match every passage of the document alike.
    return label[len(name):].strip() if label.startswith(name) else label


class PassageIndex:
    """An FTS5 index of passages, by document sha256.

    Args:
        path: a SQLite file to keep the index in; None keeps it in memory.

    Thread-safe: one connection, used under a lock (the GUI searches from a worker thread).

    Raises:
        StoreError: the file cannot be opened or SQLite lacks FTS5.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(path) if path is not None else ":memory:", check_same_thread=False)
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError("The search index for attachments could not be opened.",
                             hint="Check free disk space; attachments will be re-indexed.",
                             details=repr(exc)) from exc

    def __enter__(self) -> PassageIndex:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def contains(self, sha256: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM indexed_documents WHERE sha256 = ?", (sha256,)).fetchone()
        return row is not None

    def add(self, document: ExtractedDocument) -> None:
        """Index a document's passages, unless this document (same bytes, same chunking) is indexed already."""
        chunking = f"{document.chunking.target_chars}/{document.chunking.overlap_chars}"
        rows = [(p.text, _anchor_words(p.label, document.name), document.sha256, p.index)
                for p in document.passages]
        with self._lock, self._db:
            known = self._db.execute("SELECT chunking FROM indexed_documents WHERE sha256 = ?",
                                     (document.sha256,)).fetchone()
            if known is not None and known[0] == chunking:
                return
            self._db.execute("DELETE FROM passage_text WHERE sha256 = ?", (document.sha256,))
            self._db.executemany("INSERT INTO passage_text (body, anchor, sha256, idx) VALUES (?, ?, ?, ?)", rows)
            self._db.execute("INSERT OR REPLACE INTO indexed_documents VALUES (?, ?, ?)",
                             (document.sha256, chunking, len(rows)))

    def add_all(self, documents: Iterable[ExtractedDocument]) -> None:
        for document in documents:
            self.add(document)

    def remove(self, sha256: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM passage_text WHERE sha256 = ?", (sha256,))
            self._db.execute("DELETE FROM indexed_documents WHERE sha256 = ?", (sha256,))

    def search(self, question: str, *, limit: int, documents: Collection[str] | None = None) -> list[Hit]:
        """The passages that best match the question by BM25, best first.

        Args:
            question: the user's words.
            limit: how many hits at most.
            documents: only these documents (sha256); None searches all.
        """
        terms = query_terms(question)
        if not terms or limit <= 0:
            return []
        match = " OR ".join(f'"{term}"' for term in terms)
        sql = "SELECT sha256, idx, bm25(passage_text, 1.0, 0.5) AS score FROM passage_text WHERE passage_text MATCH ?"
        params: list[object] = [match]
        if documents is not None:
            wanted = sorted(set(documents))
            if not wanted:
                return []
            sql += f" AND sha256 IN ({','.join('?' * len(wanted))})"
            params.extend(wanted)
        sql += " ORDER BY score LIMIT ?"
        params.append(limit)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [Hit(str(sha), int(idx), float(score)) for sha, idx, score in rows]
