"""One extracted document: its sections with anchors, and the passages cut from them.

Only sections are serialized (``to_dict``); passages are cut again on load, deterministically, so a stored document
costs the size of its text once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from hearth.core.documents.chunking import cut_passages
from hearth.core.documents.model import ChunkOptions, DocumentKind, Passage, Section

FORMAT_VERSION = 1


@dataclass(frozen=True)
class ExtractedDocument:
    """The text of one file, with anchors, ready to store (``to_dict``) and to retrieve from.

    Attributes:
        name: the file name shown in labels (``report.pdf``).
        sha256: hex digest of the file's bytes: the key to store and re-use extracted text.
        kind: what the file holds.
        size_bytes: the file's size.
        sections: the text, by anchor, in document order.
        page_count: pages in the file (PDF), else 0.
        pages_without_text: 1-based pages that have pictures but no text (scanned pages).
        warnings: plain-words notes about what was not read perfectly (replaced bytes, unreadable pages...).
        chunking: how passages are cut.
        passages: the sections cut into passages (computed, not serialized).
    """

    name: str
    sha256: str
    kind: DocumentKind
    size_bytes: int
    sections: tuple[Section, ...]
    page_count: int = 0
    pages_without_text: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()
    chunking: ChunkOptions = field(default_factory=ChunkOptions)
    passages: tuple[Passage, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "passages", cut_passages(self.name, self.sections, self.chunking))

    @property
    def needs_ocr(self) -> bool:
        """True when some pages are pictures without text: offer their images to a vision model."""
        return bool(self.pages_without_text)

    @property
    def text(self) -> str:
        """All the text, sections separated by blank lines."""
        return "\n\n".join(s.shown_text() for s in self.sections)

    @property
    def char_count(self) -> int:
        return sum(len(s.text) + len(s.preamble) for s in self.sections)

    def renamed(self, name: str) -> ExtractedDocument:
        """The same document under another display name (two attachments called ``report.pdf``)."""
        return dataclasses.replace(self, name=name)

    def section_label(self, index: int) -> str:
        return self.sections[index].span_label(self.name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dictionary; ``from_dict`` gives back an equal document."""
        return {
            "format": FORMAT_VERSION,
            "name": self.name,
            "sha256": self.sha256,
            "kind": self.kind.value,
            "size_bytes": self.size_bytes,
            "page_count": self.page_count,
            "pages_without_text": list(self.pages_without_text),
            "warnings": list(self.warnings),
            "chunking": {"target_chars": self.chunking.target_chars, "overlap_chars": self.chunking.overlap_chars},
            "sections": [s.to_dict() for s in self.sections],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExtractedDocument:
        """Rebuild a document saved with ``to_dict``.

        Raises:
            ValueError: the dictionary is from a newer, unknown format.
        """
        version = int(data.get("format", 0))
        if version != FORMAT_VERSION:
            raise ValueError(f"unknown extracted-document format {version}")
        chunking = data.get("chunking") or {}
        return cls(
            name=str(data["name"]),
            sha256=str(data["sha256"]),
            kind=DocumentKind(data["kind"]),
            size_bytes=int(data["size_bytes"]),
            sections=tuple(Section.from_dict(s) for s in data["sections"]),
            page_count=int(data.get("page_count", 0)),
            pages_without_text=tuple(int(p) for p in data.get("pages_without_text", ())),
            warnings=tuple(str(w) for w in data.get("warnings", ())),
            chunking=ChunkOptions(**chunking),
        )
